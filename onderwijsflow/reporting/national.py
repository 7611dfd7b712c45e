"""The national report as plain data: states, blocking requirements, deadlines and gaps.

Everything comes from one read transaction and a constant number of queries, however many
regions there are: each table (regions, partners, roles, documents, facts, cases, open
milestones) is read once with a plain Core select (no ORM objects), and the rows are grouped
in Python. The region snapshots the requirements see are built from those rows as
:mod:`onderwijsflow.service.snapshot` builds them for one region, so the report says what
``check`` says, for every region at once (design §7: 10,000 regions under 1 s).

Cost control: JSON and time columns arrive as the driver gives them (text on SQLite) and are
decoded once per distinct value, since the cases of one round share their parameters; each
case's parameters and milestone moments are worked out once per distinct (version, state,
parameters) and shared, read-only, by the snapshots.

A region is *closed* when all its cases are in a final state (rejected, withdrawn, merged,
dissolved); closed regions are counted, but not listed as lacking a coordinator or a lead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, type_coerce
from sqlmodel import Session, col, select

from onderwijsflow.clock import iso_local
from onderwijsflow.definition.model import DueDef, coerce_value
from onderwijsflow.engine.context import DocumentInfo, PartnerInfo, RegionContext, RoleInfo
from onderwijsflow.engine.milestones import due_moment
from onderwijsflow.errors import UsageError
from onderwijsflow.store.tables import Case, Document, Fact, Milestone, Partner, Region, RoleAssignment

if TYPE_CHECKING:
    from sqlalchemy import Row

    from onderwijsflow.definition.model import MilestoneDef, WorkflowDef
    from onderwijsflow.engine.checks import CheckResult
    from onderwijsflow.engine.machine import WorkflowMachine
    from onderwijsflow.service import Onderwijsflow

__all__ = ["LEAD_ROLES", "national_report", "next_step_requirements"]

#: The roles that give a region its executive capacity (``uitvoeringskracht``).
LEAD_ROLES = frozenset({"programmamanager", "projectleider"})

#: Milestone statuses that may still be an open obligation.
_OPEN_MILESTONES = ("pending", "overdue")

#: (requirement name, label, compiled check) of one next step.
_Step = tuple[str, str, "Callable[[RegionContext], CheckResult]"]


@dataclass
class _Network:
    """Every row the report needs, read in bulk and grouped by region id."""

    regions: list[Row[Any]]
    partners: dict[int, list[PartnerInfo]]
    roles: dict[int, list[RoleInfo]]
    documents: dict[int, list[DocumentInfo]]
    facts: dict[int, dict[str, Any]]
    cases: list[Row[Any]]
    milestones: list[Row[Any]]
    machines: dict[tuple[str, int], WorkflowMachine] = field(default_factory=dict)
    by_region: dict[int, list[Row[Any]]] = field(default_factory=dict)
    #: Work done once per distinct key during one report (see `_case_moments`).
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def definition(self, case: Row[Any]) -> WorkflowDef:
        """The workflow version a case runs on."""
        return self.machines[(case.workflow, case.workflow_version)].definition

    def once(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """`compute()`, worked out once per `key` for this report."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


def national_report(
    app: Onderwijsflow, *, now: dt.datetime | None = None, weeks: int = 6
) -> dict[str, Any]:
    """The national picture of every region, as JSON-safe data.

    Args:
        app: the application (its database, catalog and clock).
        now: the moment of the report; the application's clock by default.
        weeks: how far ahead milestones count as upcoming.

    Returns:
        ``{"generated_at", "weeks", "horizon", "totals", "workflows", "blocking", "overdue",
        "upcoming", "without_coordinator", "without_lead"}``: regions per state per workflow
        (and round), the requirements that hold back most regions, milestones overdue and
        due within `weeks` weeks, and the active regions without a coordinator or without a
        programmamanager or projectleider. Times are Europe/Amsterdam ISO 8601 text.

    Raises:
        UsageError: `weeks` is negative.
    """
    if weeks < 0:
        raise UsageError(f"weeks must be 0 or more, got {weeks}")
    moment = now or app.now()
    horizon = moment + dt.timedelta(weeks=weeks)
    with app._read() as session:
        network = _load(session, horizon)
        for key in {(c.workflow, c.workflow_version) for c in network.cases}:
            network.machines[key] = app.catalog.machine(session, *key)
    return _compute(network, moment, horizon, weeks)


# --- reading ------------------------------------------------------------------------------


def _load(session: Session, horizon: dt.datetime) -> _Network:
    """Seven selects, one per table, whatever the number of regions."""
    rows = session.connection().execute
    return _Network(
        regions=rows(select(Region.id, Region.slug, Region.name, Region.coordinator)
                     .order_by(col(Region.slug))).all(),
        partners=_grouped(rows(select(Partner.region_id, Partner.name, Partner.kind, Partner.sector)
                               .order_by(col(Partner.id))), PartnerInfo),
        roles=_grouped(rows(select(RoleAssignment.region_id, RoleAssignment.role, RoleAssignment.person,
                                   RoleAssignment.email).order_by(col(RoleAssignment.id))), RoleInfo),
        documents=_grouped(rows(select(Document.region_id, Document.kind, Document.title, Document.ref,
                                       Document.date).order_by(col(Document.id))), DocumentInfo),
        facts=_facts(rows(select(Fact.region_id, Fact.name, Fact.type, type_coerce(Fact.value, String)))),
        cases=rows(select(Case.id, Case.region_id, Case.workflow, Case.workflow_version, Case.round,
                          type_coerce(Case.params, String).label("params"), Case.state,
                          type_coerce(Case.state_entered_at, String).label("entered"))
                   .order_by(col(Case.id))).all(),
        milestones=rows(select(Milestone.case_id, Milestone.region_id, Milestone.name,
                               Milestone.status, Milestone.due_at)
                        .where(col(Milestone.status).in_(_OPEN_MILESTONES), Milestone.due_at < horizon)
                        .order_by(col(Milestone.due_at), col(Milestone.id))).all(),
    )


def _grouped(rows: Iterable[Row[Any]], make: Callable[..., Any]) -> dict[int, list[Any]]:
    """``region_id -> [make(*rest)]`` from rows whose first column is the region id."""
    out: dict[int, list[Any]] = defaultdict(list)
    for region_id, *rest in rows:
        out[region_id].append(make(*rest))
    return out


def _facts(rows: Iterable[Row[Any]]) -> dict[int, dict[str, Any]]:
    """Typed fact values per region (as ``load_fact`` types them)."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for region_id, name, kind, value in rows:
        raw = _json(value)
        out[region_id][name] = None if raw is None else coerce_value(kind, raw)
    return out


def _json(value: Any) -> Any:
    """A JSON column's value: SQLite hands over its text, PostgreSQL's driver may decode it."""
    return json.loads(value) if isinstance(value, str) else value


def _utc(value: Any) -> dt.datetime | None:
    """A stored UTC moment, from the driver's datetime or SQLite's text."""
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else _parse_utc(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@lru_cache(maxsize=4096)
def _parse_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# --- computing ----------------------------------------------------------------------------


def _compute(network: _Network, now: dt.datetime, horizon: dt.datetime, weeks: int) -> dict[str, Any]:
    for case in network.cases:
        network.by_region.setdefault(case.region_id, []).append(case)
    finals = {key: _final_states(m.definition) for key, m in network.machines.items()}
    active = {r.id for r in network.regions
              if _is_active(network.by_region.get(r.id, []), finals)}
    blocking, blocked = _blocking(network, now)
    overdue, upcoming = _deadlines(network, now)
    no_coordinator = [_region_row(r) for r in network.regions
                      if r.id in active and not (r.coordinator or "").strip()]
    no_lead = [_region_row(r) for r in network.regions
               if r.id in active and not any(x.role in LEAD_ROLES for x in network.roles.get(r.id, ()))]
    return {
        "generated_at": iso_local(now),
        "weeks": weeks,
        "horizon": iso_local(horizon),
        "totals": {
            "regions": len(network.regions),
            "active_regions": len(active),
            "closed_regions": len(network.regions) - len(active),
            "cases": len(network.cases),
            "blocked_regions": blocked,
            "overdue": len(overdue),
            "upcoming": len(upcoming),
            "without_coordinator": len(no_coordinator),
            "without_lead": len(no_lead),
        },
        "workflows": _states(network, finals),
        "blocking": blocking,
        "overdue": overdue,
        "upcoming": upcoming,
        "without_coordinator": no_coordinator,
        "without_lead": no_lead,
    }


def _final_states(definition: WorkflowDef) -> frozenset[str]:
    return frozenset(name for name, state in definition.states.items() if state.final)


def _is_active(cases: list[Row[Any]], finals: dict[tuple[str, int], frozenset[str]]) -> bool:
    """A region with no case yet, or with at least one case not in a final state."""
    return not cases or any(c.state not in finals[(c.workflow, c.workflow_version)] for c in cases)


def _region_row(region: Row[Any]) -> dict[str, Any]:
    return {"region": region.slug, "name": region.name, "coordinator": region.coordinator}


# --- (a) regions per state ------------------------------------------------------------------


def _states(network: _Network, finals: dict[tuple[str, int], frozenset[str]]) -> list[dict[str, Any]]:
    """Per workflow and round: how many regions are in each state, in definition order.

    States and labels come from the newest version in use; a state only an older version
    has is listed after them.
    """
    counts: dict[tuple[str, str], Counter[tuple[str, int]]] = defaultdict(Counter)
    for case in network.cases:
        counts[(case.workflow, case.round)][(case.state, case.workflow_version)] += 1
    newest = {name: network.machines[(name, version)].definition
              for name, version in sorted(network.machines)}
    out = []
    for (workflow, round_), counter in sorted(counts.items()):
        definition = newest[workflow]
        per_state: Counter[str] = Counter()
        final = set(finals[(workflow, definition.version)])
        for (state, version), n in counter.items():
            per_state[state] += n
            final |= finals[(workflow, version)] & {state}
        names = [*definition.states, *sorted(set(per_state) - set(definition.states))]
        out.append({
            "workflow": workflow,
            "round": round_ or None,
            "title": definition.title,
            "cases": sum(per_state.values()),
            "states": [{"state": name, "label": definition.state_label(name), "final": name in final,
                        "count": per_state[name]} for name in names],
        })
    return out


# --- (b) requirements that block regions ------------------------------------------------------


def next_step_requirements(definition: WorkflowDef, state: str) -> tuple[str, ...]:
    """The requirements of the transitions from `state` to a non-final state, each once.

    These are what ``check`` lists as missing for moving on (endings such as withdrawing
    or dissolving are not a next step, and a way forward without requirements blocks nothing).

    Args:
        definition: the workflow version of the case.
        state: the case's current state.

    Returns:
        Requirement names in file order; empty for a final state or a state whose ways
        forward have no requirements.
    """
    final = _final_states(definition)
    names: dict[str, None] = {}
    for transition in definition.transitions_from(state):
        if transition.dest not in final:
            names.update(dict.fromkeys(transition.requires))
    return tuple(names)


@dataclass
class _Blockers:
    """Per requirement label: the requirement names, workflows and regions that lack it."""

    requirements: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    workflows: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    regions: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, label: str, requirement: str, workflow: str, region: str) -> None:
        """Record that `region` lacks `requirement` (labelled `label`) in `workflow`."""
        self.requirements[label].add(requirement)
        self.workflows[label].add(workflow)
        self.regions[label].add(region)

    def rows(self) -> list[dict[str, Any]]:
        """Most regions first, then by label."""
        labels = sorted(self.regions, key=lambda label: (-len(self.regions[label]), label))
        return [{"label": label, "requirements": sorted(self.requirements[label]),
                 "workflows": sorted(self.workflows[label]), "count": len(self.regions[label]),
                 "regions": sorted(self.regions[label])} for label in labels]


def _blocking(network: _Network, now: dt.datetime) -> tuple[list[dict[str, Any]], int]:
    """Per requirement label, the regions where it is unmet for a next step.

    Each case's next-step requirements are evaluated once, with the compiled checks that
    ``WorkflowMachine.evaluate`` (and so ``readiness``) runs, on the same snapshot.

    Returns:
        The labels, most regions first, and the number of regions held back by any of them.
    """
    blockers = _Blockers()
    for region in network.regions:
        cases = network.by_region.get(region.id, [])
        ctx: RegionContext | None = None
        for case in cases:
            machine = network.machines[(case.workflow, case.workflow_version)]
            steps: list[_Step] = network.once(("steps", case.workflow, case.workflow_version, case.state),
                                              lambda m=machine, s=case.state: _steps(m, s))
            if not steps:
                continue
            ctx = ctx or _context(network, region, cases, now)
            ctx.params, ctx.milestones = _case_moments(network, case)
            for name, label, check in steps:
                if not check(ctx).passed:
                    blockers.add(label, name, case.workflow, region.slug)
    blocked = set().union(*blockers.regions.values()) if blockers.regions else set()
    return blockers.rows(), len(blocked)


def _steps(machine: WorkflowMachine, state: str) -> list[_Step]:
    labels = machine.definition.requirements
    return [(name, labels[name].label, machine.loaded.requirements[name])
            for name in next_step_requirements(machine.definition, state)]


def _context(network: _Network, region: Row[Any], cases: list[Row[Any]], now: dt.datetime) -> RegionContext:
    """The snapshot checks read, built from bulk-loaded rows (as ``region_context`` does)."""
    states: dict[str, list[str]] = {}
    for case in cases:
        states.setdefault(case.workflow, []).append(case.state)
    rid = region.id
    return RegionContext(
        slug=region.slug,
        now=now,
        partners=network.partners.get(rid, []),
        roles=network.roles.get(rid, []),
        documents=network.documents.get(rid, []),
        facts=network.facts.get(rid, {}),
        cases=states,
    )


def _case_moments(network: _Network, case: Row[Any]) -> tuple[dict[str, Any], dict[str, dt.datetime]]:
    """The case's parameters and milestone moments, as ``for_case`` fills them in.

    Shared between cases with the same version, state, parameters and (only where a
    milestone counts from it) moment of entering the state; checks only read them.
    """
    definition = network.definition(case)
    version = (case.workflow, case.workflow_version, case.state)
    relative = network.once(("relative", *version),
                            lambda: _counts_from_entering(definition, case.state))
    params = case.params if isinstance(case.params, str) else json.dumps(case.params, sort_keys=True)
    entered = case.entered if relative else None
    return network.once(("moments", *version, params, entered),  # type: ignore[no-any-return]
                        lambda: _moments(definition, case.state, params, entered))


def _counts_from_entering(definition: WorkflowDef, state: str) -> bool:
    """Whether a milestone active in `state` is dated from entering it (``after``, ``every``)."""
    return any(
        m.every is not None or (isinstance(m.due, DueDef) and m.due.after is not None)
        for m in definition.milestones if state in m.active_in
    )


def _moments(
    definition: WorkflowDef, state: str, params: str | None, entered: Any
) -> tuple[dict[str, Any], dict[str, dt.datetime]]:
    values = dict(_json(params) or {})
    since = _utc(entered)
    moments = {}
    for m in definition.milestones:
        moment = due_moment(m, values, since if state in m.active_in else None)
        if moment is not None:
            moments[m.name] = moment
    return values, moments


# --- (c) milestones overdue and coming --------------------------------------------------------


def _deadlines(network: _Network, now: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open milestones due before the horizon, split into overdue and upcoming.

    A ``pending`` milestone is overdue once its moment passed (whether or not the scheduler
    has acted yet). One the scheduler already marked ``overdue`` still counts while its case
    is in one of its ``active_in`` states: the obligation is still open (e.g. a provisional
    status not yet reviewed); once the case moved on, it is history, not a deadline.
    """
    cases = {c.id: c for c in network.cases}
    regions = {r.id: r for r in network.regions}
    overdue: list[dict[str, Any]] = []
    upcoming: list[dict[str, Any]] = []
    for ms in network.milestones:
        case = cases.get(ms.case_id)
        if case is None:
            continue
        definition = network.definition(case)
        spec = network.once(("spec", case.workflow, case.workflow_version, ms.name),
                            lambda d=definition, n=ms.name: _milestone_spec(d, n))
        if ms.status == "overdue" and (spec is None or case.state not in spec.active_in):
            continue
        late = _utc(ms.due_at) < now  # type: ignore[operator]
        row = _deadline_row(ms, case, spec, regions[ms.region_id], "overdue" if late else "upcoming")
        (overdue if late else upcoming).append(row)
    return overdue, upcoming


def _milestone_spec(definition: WorkflowDef, name: str) -> MilestoneDef | None:
    return next((m for m in definition.milestones if m.name == name), None)


def _deadline_row(
    ms: Row[Any], case: Row[Any], spec: MilestoneDef | None, region: Row[Any], status: str
) -> dict[str, Any]:
    return {
        "region": region.slug,
        "name": region.name,
        "workflow": case.workflow,
        "round": case.round or None,
        "milestone": ms.name,
        "label": (spec.label if spec else None) or ms.name,
        "due": _local(ms.due_at),
        "status": status,
    }


@lru_cache(maxsize=4096)
def _local(moment: dt.datetime) -> str | None:
    return iso_local(moment)
