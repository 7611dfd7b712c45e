"""`deadlines` on the lean path: the rows `scheduler.deadlines.deadlines` returns, read with
``sqlite3`` or psycopg and the verified workflow texts (:mod:`onderwijsflow.lean.labels`).

The full path reads the stored milestone occurrences and adds what the workflow definitions
say of them (title, state and milestone labels, whether a milestone recurs, its reminder
offsets); so does this module, with the same SQL, ordered to the last column (due moment,
region, id), so that rows due at the same moment come in one order on both paths and both
databases. Both paths apply the same rules (:mod:`onderwijsflow.deadline_rules`:
reminder moments, working days, UIDs and sequences, status). Anything this module does not
read exactly as pydantic would (an unusual value in a milestone's spec or in the
configuration's `reminder_time`), an unknown region, a case whose workflow version is not
there: None, and the full path answers.

Nothing here imports sqlalchemy, sqlmodel or pydantic.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from onderwijsflow.deadline_rules import deadline_row, deadline_status, reminder_moments
from onderwijsflow.store.statuses import OPEN_MILESTONES, MilestoneStatus

if TYPE_CHECKING:
    from onderwijsflow.lean.reader import Reader
    from onderwijsflow.shapes import DeadlineJson

__all__ = ["Span", "read_deadlines"]

#: The milestone statuses `deadlines` lists: `OPEN_MILESTONES` and ``met``, bound in this order.
_LISTED = (*OPEN_MILESTONES, MilestoneStatus.MET)

#: The query `scheduler.deadlines.deadlines` has SQLAlchemy send, word for word (on
#: PostgreSQL with ``%s`` placeholders).
_SELECT = (
    "SELECT milestones.id, milestones.case_id, milestones.region_id, milestones.workflow, "
    "milestones.name, milestones.occurrence, milestones.due_at, milestones.status, "
    "milestones.planned_at, milestones.closed_at, milestones.opens_at, regions.id AS id_1, "
    "regions.slug, regions.name AS name_1, regions.provinces, regions.sectors, "
    "regions.coordinator, regions.created_at, regions.event_seq, regions.event_hash \n"
    "FROM milestones JOIN regions ON regions.id = milestones.region_id \n"
    "WHERE milestones.status IN (?, ?, ?)"
)
_ORDER = " ORDER BY milestones.due_at, regions.slug, milestones.id"
_HISTORY = (
    "SELECT milestones.id, milestones.case_id, milestones.region_id, milestones.workflow, "
    "milestones.name, milestones.occurrence, milestones.due_at, milestones.status, "
    "milestones.planned_at, milestones.closed_at, milestones.opens_at \n"
    "FROM milestones \nWHERE milestones.case_id IN ({marks}) "
    "ORDER BY milestones.case_id, milestones.name, milestones.occurrence"
)

#: A `reminder_time` the lean path reads as pydantic does; anything else goes the full path.
_TIME = re.compile(r"^\d\d:\d\d(?::\d\d)?$")


class Span(Protocol):
    """What `deadlines` needs of a duration: `definition.durations.Duration`, which the caller
    gives (the lean path does not import the workflow language, see ``tests/test_layers.py``)."""

    @property
    def text(self) -> str: ...

    def add_to(self, moment: datetime | date, sign: int = 1) -> datetime | date: ...

    def before(self, moment: datetime | date) -> datetime | date: ...


class _Occurrence(NamedTuple):
    """One stored milestone row, its moments aware and in UTC (as the ORM gives them)."""

    case_id: int
    workflow: str
    name: str
    occurrence: int
    due_at: datetime
    status: str
    planned_at: datetime
    closed_at: datetime | None
    opens_at: datetime | None


@dataclass(frozen=True)
class _Spec:
    """What `deadlines` uses of a `MilestoneDef`."""

    label: str | None
    recurring: bool
    remind: tuple[Span, ...]
    termijnenwet: bool


def read_deadlines(reader: Reader, *, parse: Callable[[str], Span], within: Span | None = None,
                   region: str | None = None) -> list[DeadlineJson] | None:
    """As `scheduler.deadlines.deadlines` on the wall clock, `parse` reading the reminders'
    offsets (`Duration.parse`); None for an unknown region or anything the full path must
    answer (see the module's docstring)."""
    reminder_time = _reminder_time(reader.configuration)
    if reminder_time is None:
        return None
    now = datetime.now(UTC)
    q = reader.connection.execute
    query = _SELECT
    params: list[Any] = list(_LISTED)
    if region is not None:
        found = q("SELECT id FROM regions WHERE regions.slug = ?", (region,)).fetchone()
        if found is None:
            return None  # the full path says so, suggesting a slug
        query, params = query + " AND milestones.region_id = ?", [*params, found[0]]
    if within is not None:
        query, params = query + " AND milestones.due_at <= ?", [*params, _bound(within.add_to(now))]
    rows = [(_occurrence(row), row[12], row[13]) for row in q(query + _ORDER, params)]
    case_ids = sorted({ms.case_id for ms, _slug, _name in rows})
    history: dict[tuple[int, str], list[_Occurrence]] = defaultdict(list)
    cases: dict[int, tuple[str, int, str | None, str]] = {}
    if case_ids:
        marks = ", ".join("?" * len(case_ids))
        for row in q(_HISTORY.format(marks=marks), case_ids):
            found_row = _occurrence(row)
            history[found_row.case_id, found_row.name].append(found_row)
        for cid, workflow, version, round_, state in q(
                f"SELECT id, workflow, workflow_version, round, state FROM cases WHERE id IN ({marks})",
                case_ids):
            cases[cid] = (str(workflow), int(version), round_, str(state))
    labels = reader.labels()
    if labels is None or not labels.preload({(w, v) for w, v, _r, _s in cases.values()}):
        return None
    out: list[DeadlineJson] = []
    for ms, slug, region_name in rows:
        status = deadline_status(ms.status, ms.due_at, now)
        if status == "met" and within is not None and ms.due_at < now:
            continue
        workflow, version, round_, state = cases[ms.case_id]
        definition = labels.workflow(workflow, version)
        if definition is None or not isinstance(definition.title, str):
            return None  # the full path refuses a version that is not stored
        raw = definition.milestone(ms.name)
        spec = _spec(raw, parse) if raw is not None else None
        recurring = spec is not None and spec.recurring
        moments = list(reminder_moments(spec, ms.due_at, reminder_time)) if spec else []
        out.append(deadline_row(
            ms, history[ms.case_id, ms.name], region=slug, region_name=region_name,
            workflow_title=definition.title, round_=round_, state=state,
            state_label=definition.state_label(state), status=status,
            label=spec.label if spec else None, recurring=recurring, reminders=moments))
    return out


def _reminder_time(data: Mapping[str, Any]) -> time | None:
    """The shipped configuration's `reminder_time` as `Config` reads it (no ``--config`` on
    the lean path); None for a value written otherwise than ``HH:MM[:SS]``."""
    raw = data.get("reminder_time", "09:00")
    if not isinstance(raw, str) or not _TIME.match(raw):
        return None
    return time.fromisoformat(raw)


def _moment(raw: Any) -> datetime:
    """A stored datetime column as the ORM gives it: aware, in UTC (SQLite's text is naive
    UTC; PostgreSQL's, read in UTC, ends in ``+00``)."""
    if not isinstance(raw, str):
        raise ValueError(f"not a stored moment: {raw!r}")
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)


def _bound(moment: datetime | date) -> str:
    """`moment` as SQLAlchemy binds an aware datetime on SQLite (UTC, without offset), which
    PostgreSQL reads in the reader's time zone, UTC."""
    assert isinstance(moment, datetime)
    at = moment.astimezone(UTC)
    return (f"{at.year:04d}-{at.month:02d}-{at.day:02d} "
            f"{at.hour:02d}:{at.minute:02d}:{at.second:02d}.{at.microsecond:06d}")


def _occurrence(row: tuple[Any, ...]) -> _Occurrence:
    closed, opens = row[9], row[10]
    return _Occurrence(int(row[1]), str(row[3]), str(row[4]), int(row[5]), _moment(row[6]),
                       str(row[7]), _moment(row[8]), _moment(closed) if closed is not None else None,
                       _moment(opens) if opens is not None else None)


def _durations(raw: Any, parse: Callable[[str], Span]) -> tuple[Span, ...]:
    """A spec's `remind` as `MilestoneDef._remind` reads it (one text or a list of texts)."""
    if isinstance(raw, str):
        return (parse(raw),)
    if isinstance(raw, list | tuple) and all(isinstance(v, str) for v in raw):
        return tuple(parse(v) for v in raw)
    raise ValueError(f"not a list of durations: {raw!r}")


def _spec(raw: Mapping[str, Any], parse: Callable[[str], Span]) -> _Spec:
    """The parts of a milestone's (validated) YAML `deadlines` needs; ValueError for a value
    pydantic would have coerced (the full path then answers)."""
    label, every, termijnenwet = raw.get("label"), raw.get("every"), raw.get("termijnenwet", False)
    if not (label is None or isinstance(label, str)) or not isinstance(termijnenwet, bool):
        raise ValueError("an unusual milestone")
    if not (every is None or isinstance(every, str)):
        raise ValueError("an unusual recurrence")
    remind = raw.get("remind")
    return _Spec(label, every is not None,
                 _durations(remind, parse) if remind is not None else (), termijnenwet)
