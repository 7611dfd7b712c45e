"""The JSON shapes of design §4, as the library returns them and ``--json`` prints them.

Scripts rely on these keys (more may be added, none removed or renamed), so they are typed:
mypy checks every place that builds one. Values are JSON-safe: moments are Europe/Amsterdam
ISO 8601 text, dates ISO text.
"""

from __future__ import annotations

from typing import Any, TypedDict


class UnmetJson(TypedDict):
    """A requirement that does not hold, in the sentence of its check."""

    requirement: str
    label: str
    detail: str


#: ``advance --json``: what a trigger did (or would do, or why not). The functional form,
#: because two keys (``from``, ``to``) are Python keywords.
AdvanceJson = TypedDict("AdvanceJson", {
    "region": str,
    "workflow": str,
    "trigger": str,
    "from": str,
    "to": str,
    "ok": bool,
    "dry_run": bool,
    "unmet": list[UnmetJson],
    "overridden": list[str],
    "refusal": str | None,
    "code": str,
    "evidence": list[dict[str, Any]],
    "decision": dict[str, Any] | None,
})


class TriggerJson(TypedDict):
    """One trigger possible from the case's state, with what it lacks."""

    trigger: str
    label: str
    dest: str
    allowed: bool
    permitted: bool
    unmet: list[dict[str, Any]]


class StepJson(TypedDict):
    """One step of the way to a target state."""

    trigger: str
    label: str
    dest: str
    unmet: list[dict[str, Any]]


class _CheckBase(TypedDict):
    region: str
    workflow: str
    round: str | None
    state: str
    state_label: str
    triggers: list[TriggerJson]


class CheckJson(_CheckBase, total=False):
    """``check --json``; `target` and `path` with ``--to``."""

    target: str
    path: list[StepJson]


class CaseJson(TypedDict):
    """A case as ``region show`` lists it."""

    state: str
    version: int
    opened: str
    round: str | None
    entered: str
    decided_on: str | None
    facts: dict[str, Any]


class RoleJson(TypedDict):
    """A person in a role."""

    role: str
    person: str
    email: str | None


class DocumentJson(TypedDict):
    """A document as ``region show`` lists it."""

    kind: str
    title: str
    ref: str | None
    date: str | None


class RegionJson(TypedDict):
    """``region show --json``."""

    slug: str
    name: str
    provinces: list[str]
    sectors: list[str]
    coordinator: str | None
    cases: dict[str, CaseJson]
    partners: list[dict[str, Any]]
    roles: list[RoleJson]
    documents: list[DocumentJson]
    facts: dict[str, Any]


class _HistoryBase(TypedDict):
    region: str
    events: list[dict[str, Any]]


class HistoryJson(_HistoryBase, total=False):
    """``history --json``; with ``--as-of`` also the moment and each case's state then."""

    as_of: str
    state: dict[str, str]
    versions: dict[str, int]


class RecordJson(TypedDict):
    """One record."""

    id: int | None
    kind: str
    workflow: str | None
    round: str | None
    fields: dict[str, Any]
    at: str
    actor: str
    event_seq: int | None


class RecordsJson(TypedDict):
    """``record list --json``."""

    region: str
    records: list[RecordJson]


class DeadlineJson(TypedDict):
    """One milestone as ``deadlines --json`` lists it (``{"deadlines": [...]}``)."""

    region: str
    region_name: str
    workflow: str
    workflow_title: str
    round: str | None
    state: str
    state_label: str
    milestone: str
    label: str
    due: str
    due_utc: str
    all_day: bool
    #: ``upcoming``, ``overdue`` or ``met``.
    status: str
    case_id: int
    occurrence: int
    recurring: bool
    reminders: list[str]
    reminders_at: list[str]
    uid: str
    sequence: int
    last_modified: str


class MigrationJson(TypedDict):
    """``workflow migrate --json``."""

    workflow: str
    to_version: int
    dry_run: bool
    cases: list[dict[str, Any]]
    refused: list[dict[str, Any]]
