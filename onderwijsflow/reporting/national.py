"""The national report as plain data: states, blocking requirements, deadlines and gaps.

Everything comes from one read transaction and a constant number of queries, however many
regions there are: each table (regions, partners, roles, documents, facts, cases, open
milestones) is read once with a plain Core select (no ORM objects), and the rows are grouped
in Python. The region snapshots the requirements see are built from those rows as
:mod:`onderwijsflow.service.snapshot` builds them for one region, so the report says what
``check`` says, for every region at once (design §7: 10,000 regions under 1 s).

Cost control: the cases of one round share their parameters, so a case's parameters and
milestone moments are read from the JSON text and worked out once per distinct (version,
state, parameters, and where a milestone counts from it, moment of entering the state) and
shared, read-only, by the snapshots; what a next step requires is worked out once per
(version, state). Only pass/fail counts here, and a built-in check declares what decides it
(partner kinds, roles, document kinds, the case's parameters and moments: see
:func:`onderwijsflow.engine.checks.check_reads`), so such a check runs once per distinct value
of those inputs rather than once per region; the rest (facts, records, the network, plug-ins)
run for every case. The work per region is building its snapshot and the keys of its inputs.

A region is *closed* when all its cases are in a final state (rejected, withdrawn, merged,
dissolved); closed regions are counted, but not listed as lacking a coordinator or a lead.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from sys import intern
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import select

from onderwijsflow.clock import iso_local
from onderwijsflow.definition.durations import Duration
from onderwijsflow.definition.model import DueDef
from onderwijsflow.engine.checks import Compiled, check_reads
from onderwijsflow.engine.context import RegionContext
from onderwijsflow.errors import UsageError
from onderwijsflow.i18n import _
from onderwijsflow.service.collector import collector_paused
from onderwijsflow.service.snapshot import (
    Snapshots,
    as_text,
    case_moments,
    decode_json,
    raw,
    stream_snapshots,
    utc,
)
from onderwijsflow.store.statuses import OPEN_MILESTONES, MilestoneStatus
from onderwijsflow.store.tables import Case, Milestone, Region, metadata

if TYPE_CHECKING:
    from sqlmodel import Session

    from onderwijsflow.definition.model import MilestoneDef, WorkflowDef
    from onderwijsflow.engine.checks import CheckResult
    from onderwijsflow.engine.machine import WorkflowMachine
    from onderwijsflow.service import Onderwijsflow

__all__ = ["LEAD_ROLES", "national_report", "next_step_requirements"]

#: The roles that give a region its executive capacity (``uitvoeringskracht``).
LEAD_ROLES = frozenset({"programmamanager", "projectleider"})

#: Checks that say *when* a step may be taken rather than what the region lacks: a moment,
#: or another case of the region getting somewhere (whose own steps are counted there).
_GATE_CHECKS = ("before", "after", "case")


#: Rows of a Core select, read by attribute (``row.slug``) or unpacked.
_Rows = Sequence[Any]
#: One such row.
_Row = Any


class _Region(NamedTuple):
    """A region as the report reads it."""

    id: int
    slug: str
    name: str
    coordinator: str | None


class _Case(NamedTuple):
    """A case as the report reads it (JSON parameters as text, `entered` as the driver gives it)."""

    id: int
    region_id: int
    workflow: str
    workflow_version: int
    round: str | None
    params: str | None
    state: str
    entered: Any
    decided_on: dt.date | None

#: What a region may lack: (requirement label, requirement name, workflow).
_Need = tuple[str, str, str]
#: One requirement of a next step: what it means when unmet, and its compiled check.
_Step = tuple[_Need, "Callable[[RegionContext], CheckResult]"]


@dataclass
class _Network:
    """Every row the report needs: regions, cases, open milestones and the snapshot rows."""

    regions: _Rows
    cases: _Rows
    milestones: Iterable[Any]  # streamed: read once, by `_deadlines`
    machines: dict[tuple[str, int], WorkflowMachine] = field(default_factory=dict)
    by_region: dict[int, list[_Row]] = field(default_factory=dict)

    def definition(self, case: _Row) -> WorkflowDef:
        """The workflow version a case runs on."""
        return self.machines[(case.workflow, case.workflow_version)].definition


#: How far ahead milestones count as upcoming when the caller does not say.
DEFAULT_WITHIN = "P6W"


def national_report(
    app: Onderwijsflow, *, now: dt.datetime | None = None, weeks: int | None = None,
    within: Duration | None = None,
) -> dict[str, Any]:
    """The national picture of every region, as JSON-safe data.

    Args:
        app: the application (its database, catalog and clock).
        now: the moment of the report; the application's clock by default.
        within: how far ahead milestones count as upcoming (``deadlines --within``);
            six weeks by default.
        weeks: the same in whole weeks (0 for none: only what is overdue); the older form.

    Returns:
        ``{"generated_at", "weeks", "within", "horizon", "totals", "workflows", "blocking",
        "overdue", "upcoming", "without_coordinator", "without_lead", "missing_values",
        "overdue_conversations"}``: regions per state per workflow (and round), the
        requirements that hold back most regions, milestones overdue and due up to the
        horizon, and the active regions without a coordinator or without a programmamanager
        or projectleider. Times are Europe/Amsterdam ISO 8601 text; `within` is the ISO 8601
        duration and `weeks` the same in weeks (a whole number, or a decimal for ``P1M``).

    Raises:
        UsageError: `weeks` is negative, or both `weeks` and `within` are given.
    """
    if weeks is not None and within is not None:
        raise UsageError(_("give how far ahead to look once: weeks or within, not both"))
    if weeks is not None and weeks < 0:
        raise UsageError(_("weeks must be 0 or more, got {weeks}").format(weeks=weeks))
    if within is None:
        within = (Duration.parse(DEFAULT_WITHIN) if weeks is None
                  else Duration(delta=dt.timedelta(weeks=weeks), text=f"P{weeks}W"))
    moment = now or app.now()
    horizon = _as_moment(within.add_to(moment))
    with collector_paused():
        with app.reading() as session:
            network = _load(session, moment, horizon)
            for key in {(c.workflow, c.workflow_version) for c in network.cases}:
                network.machines[key] = app.catalog.machine(session, *key)
            covered = _coverage(session)
            # Computed while reading: the snapshots stream in region by region.
            report = _compute(network, moment, horizon, within,
                              stream_snapshots(session, sorted(r.id for r in network.regions),
                                               moment, network.cases))
        if covered is not None:
            report["coverage"] = covered
        return report


def _coverage(session: Session) -> dict[str, Any] | None:
    """The network's coverage, when reference data is loaded (else no such section)."""
    from onderwijsflow.network.coverage import coverage
    from onderwijsflow.network.store import latest_year
    from onderwijsflow.store.network import Municipality

    return coverage(session) if latest_year(session, Municipality) is not None else None


def _as_moment(value: dt.datetime | dt.date) -> dt.datetime:
    """A moment moved by a duration is a moment (``Duration.add_to`` keeps the type)."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    return value


def _weeks(moment: dt.datetime, horizon: dt.datetime) -> int | float:
    """The look-ahead in weeks: a whole number when it is one (``P6W``), else one decimal."""
    weeks = (horizon - moment) / dt.timedelta(weeks=1)
    return int(weeks) if weeks == int(weeks) else round(weeks, 1)


# --- reading ------------------------------------------------------------------------------


def _load(session: Session, now: dt.datetime, horizon: dt.datetime) -> _Network:
    """A handful of selects, one per table, whatever the number of regions."""
    run = session.connection().execute
    region, case, milestone = (metadata.tables[t.__tablename__].c for t in (Region, Case, Milestone))
    # Plain tuples, their repeated texts (workflow, state, round, a round's parameters) shared:
    # a country's cases are held for the whole report (at 50,000 regions some 60 MB less).
    selected = run(select(case.id, case.region_id, case.workflow, case.workflow_version, case.round,
                          as_text(case.params, "params"), case.state,
                          raw(case.state_entered_at, "entered"), case.decided_on).order_by(case.id))
    cases = [_Case(cid, rid, intern(workflow), version, intern(round_) if round_ else round_,
                   intern(params) if params else params, intern(state), entered, decided)
             for rows in selected.partitions(5000)  # fetchmany: a driver call per 5,000
             for cid, rid, workflow, version, round_, params, state, entered, decided in rows]
    return _Network(
        regions=[_Region(*row) for row in run(
            select(region.id, region.slug, region.name, region.coordinator).order_by(region.slug))
            .all()],
        cases=cases,
        # Read once, in order, while the report is computed: streamed, not held.
        milestones=session.connection().execution_options(stream_results=True, yield_per=2000).execute(
            select(milestone.case_id, milestone.region_id, milestone.name, milestone.status,
                   raw(milestone.due_at, "due_at"))
            .where(milestone.status.in_(OPEN_MILESTONES), milestone.due_at <= horizon)
            .order_by(milestone.due_at, milestone.id)),
    )


# --- computing ----------------------------------------------------------------------------


def _compute(network: _Network, now: dt.datetime, horizon: dt.datetime, within: Duration,
             snapshots: Iterable[tuple[int, Snapshots]]) -> dict[str, Any]:
    """The report's ``dict`` from the loaded rows and the regions' snapshots (a stream)."""
    for case in network.cases:
        network.by_region.setdefault(case.region_id, []).append(case)
    finals = {key: _final_states(m.definition) for key, m in network.machines.items()}
    active = {r.id for r in network.regions
              if _is_active(network.by_region.get(r.id, []), finals)}
    blocking, blocked, missing, led = _blocking(network, snapshots)
    overdue, upcoming = _deadlines(network, now)
    conversations = [row for row in overdue if row.pop("met_by", None)]
    no_coordinator = [_region_row(r) for r in network.regions
                      if r.id in active and not (r.coordinator or "").strip()]
    no_lead = [_region_row(r) for r in network.regions
               if r.id in active and r.id not in led]
    return {
        "generated_at": iso_local(now),
        "weeks": _weeks(now, horizon),
        "within": within.text,
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
            "missing_values": len(missing),
            "overdue_conversations": len(conversations),
        },
        "workflows": _states(network, finals),
        "blocking": blocking,
        "overdue": overdue,
        "upcoming": upcoming,
        "without_coordinator": no_coordinator,
        "without_lead": no_lead,
        "missing_values": missing,
        "overdue_conversations": conversations,
    }


def _final_states(definition: WorkflowDef) -> frozenset[str]:
    """The names of the final states of a workflow version."""
    return frozenset(name for name, state in definition.states.items() if state.final)


def _is_active(cases: list[_Row], finals: dict[tuple[str, int], frozenset[str]]) -> bool:
    """A region with no case yet, or with at least one case not in a final state."""
    return not cases or any(c.state not in finals[(c.workflow, c.workflow_version)] for c in cases)


def _region_row(region: _Row) -> dict[str, Any]:
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


def _blocker_rows(lacking: dict[_Need, set[str]], names_of: dict[str, str]) -> list[dict[str, Any]]:
    """One row per requirement label (merging workflows that share it), most regions first.

    `regions` holds the slugs (for scripts), `region_names` the names people read.
    """
    merged: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for (label, requirement, workflow), regions in lacking.items():
        names, workflows, slugs = merged.setdefault(label, (set(), set(), set()))
        names.add(requirement)
        workflows.add(workflow)
        slugs |= regions
    ordered = sorted(merged.items(), key=lambda item: (-len(item[1][2]), item[0]))
    return [{"label": label, "requirements": sorted(names), "workflows": sorted(workflows),
             "count": len(slugs), "regions": sorted(slugs),
             "region_names": sorted(names_of.get(s, s) for s in slugs)}
            for label, (names, workflows, slugs) in ordered]


def _blocking(network: _Network, snapshots: Iterable[tuple[int, Snapshots]],
              ) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]], set[int]]:
    """Per requirement label, the regions where it is unmet for a next step that is due now.

    A next step is due now when its gates hold (an accountability step waits for the end of
    the activity period, an application for its window, a region's place in the network for a
    grant in its subsidie case), and it is the
    region's own step: a move that records a decision taken elsewhere (DUS-I's beschikking)
    waits for that body, not for the region. Each case's requirements are evaluated once,
    with the compiled checks that ``WorkflowMachine.evaluate`` runs, on the same snapshot.

    Returns:
        The labels, most regions first; the number of regions held back by any of them;
        per case the values a ``record`` check with ``each:`` still misses (the themes
        without an action); and the ids of the regions with a programmamanager or
        projectleider.
    """
    lacking: dict[_Need, set[str]] = defaultdict(set)
    missing: list[dict[str, Any]] = []
    led: set[int] = set()
    plans: dict[tuple[str, int, str], _Plan] = {}
    known: dict[Hashable, _Known] = {}
    by_id = {r.id: r for r in network.regions}
    for region_id, snapshot in snapshots:  # one region at a time, in id order
        region = by_id[region_id]
        if any(x.role in LEAD_ROLES for x in snapshot.roles.get(region_id, ())):
            led.add(region_id)
        cases = network.by_region.get(region_id)
        if not cases:
            continue
        ctx: RegionContext | None = None
        region_keys: dict[str, Hashable] = {}
        for case in cases:
            key = (case.workflow, case.workflow_version, case.state)
            plan = plans.get(key) or plans.setdefault(key, _Plan.of(network.machines[key[:2]], case.state))
            if not plan.steps:
                continue
            if ctx is None:
                ctx = snapshot.context(region_id, region.slug)
            # What is known for the cases whose shared inputs equal this one's.
            inputs = (key, *[_input_key(name, ctx, case, plan, region_keys) for name in plan.inputs])
            found = known.get(inputs)
            if found is None:
                found = known[inputs] = _Known()
            if found.outcome is not None:
                passed, unmet = found.outcome
            else:
                ctx.focus(case.id)
                ctx.params, ctx.milestones = plan.moments(case)
                passed, unmet = plan.evaluate(ctx, found)
                if plan.each_checks:
                    missing.extend(_missing_values(plan, passed, ctx, region, case))
            for need in unmet:
                lacking[need].add(region.slug)
    blocked = set().union(*lacking.values())
    names_of = {r.slug: r.name for r in network.regions}
    missing.sort(key=lambda row: row["region"])  # by region, each region's cases in order
    return _blocker_rows(lacking, names_of), len(blocked), missing, led


def _missing_values(plan: _Plan, passed: dict[str, bool], ctx: RegionContext, region: _Row,
                    case: _Row) -> list[dict[str, Any]]:
    """For each unmet ``record`` check with ``each:`` of a step due now, the values it lacks."""
    from onderwijsflow.definition.records import field_matches

    out = []
    for name, spec in plan.each_checks:
        if passed.get(name, True):
            continue
        ((field_name, values),) = spec["each"].items()
        found = [r for r in ctx.records_of(spec["kind"])
                 if all(field_matches(r.fields.get(k), v if isinstance(v, list) else [v])
                        for k, v in (spec.get("where") or {}).items())]
        lacking = [v for v in values if not any(field_matches(r.fields.get(field_name), [v])
                                                  for r in found)]
        if lacking:
            out.append({"region": region.slug, "name": region.name, "workflow": case.workflow,
                        "round": case.round or None, "requirement": name,
                        "label": plan.definition.requirements[name].label,
                        "field": field_name, "missing": lacking})
    return out


@dataclass
class _Plan:
    """What evaluating a case in one state of one workflow version takes, worked out once.

    Attributes:
        steps: per next step due now when its `gates` (time and case checks) pass: its other
            requirements as ((label, requirement, workflow), compiled check).
        each_checks: the requirements of those steps that are ``record`` checks with
            ``each:`` (name, parameters), to list the values they miss.
        relative: whether a milestone active in the state counts from entering it.
        cache: the case parameters and milestone moments per (parameters, entered), shared
            by the cases that have them; checks only read them.
        shared: the requirements whose checks read only inputs that regions share (see
            `_SHARED_INPUTS`): evaluated once per distinct value of their `inputs`.
        whole: whether every requirement is shared, so that a case's whole outcome is.
    """

    definition: WorkflowDef
    state: str
    steps: list[tuple[list[tuple[str, Compiled]], list[_Step]]]
    relative: bool
    each_checks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cache: dict[tuple[Any, Any, Any], tuple[dict[str, Any], dict[str, dt.datetime]]] = field(
        default_factory=dict)
    shared: frozenset[str] = frozenset()
    inputs: tuple[str, ...] = ()
    whole: bool = False

    @classmethod
    def of(cls, machine: WorkflowMachine, state: str) -> _Plan:
        """The plan for cases of `machine` in `state`."""
        definition = machine.definition
        labels = definition.requirements
        compiled = machine.loaded.requirements
        final = _final_states(definition)
        steps = []
        each: dict[str, dict[str, Any]] = {}
        for t in definition.transitions_from(state):
            if t.dest in final or t.decision is not None or t.optional or not t.requires:
                continue
            gates = [(n, compiled[n]) for n in t.requires if labels[n].check in _GATE_CHECKS]
            needs = [((labels[n].label, n, definition.workflow), compiled[n])
                     for n in t.requires if labels[n].check not in _GATE_CHECKS]
            steps.append((gates, needs))
            each.update({n: labels[n].with_ for n in t.requires if labels[n].check == "record"
                         and isinstance(labels[n].with_, dict) and labels[n].with_.get("each")})
        relative = any(m.every is not None or (isinstance(m.due, DueDef) and m.due.after is not None)
                       for m in definition.milestones if state in m.active_in)
        names = {n for t in definition.transitions_from(state) for n in t.requires}
        reads = {n: check_reads(compiled[n]) for n in names}
        shared = frozenset(n for n, r in reads.items() if r is not None and r <= _SHARED_INPUTS)
        inputs = tuple(sorted(set().union(*(reads[n] or () for n in shared))))
        return cls(definition, state, steps, relative, list(each.items()), shared=shared,
                   inputs=inputs, whole=shared == names)

    def evaluate(self, ctx: RegionContext, known: _Known) -> tuple[dict[str, bool], list[_Need]]:
        """Whether each requirement of the next steps due now passes, and those that do not.

        As ``check`` does, only the steps whose gates hold count, and each requirement is
        evaluated once. `known` holds the outcomes of the plan's `shared` checks for the
        cases whose shared inputs equal this one's: found there, or worked out and kept
        there; the other checks run for this case. When every check is shared, the whole
        outcome is kept there too.
        """
        shared = known.passed

        def passes(name: str, check: Compiled) -> bool:
            if name not in self.shared:
                return check(ctx).passed
            found = shared.get(name)
            if found is None:
                found = shared[name] = check(ctx).passed
            return found

        passed: dict[str, bool] = {}
        unmet: list[_Need] = []
        for gates, needs in self.steps:
            if not all(passes(name, gate) for name, gate in gates):
                continue
            for need, check in needs:
                if need[1] not in passed:
                    passed[need[1]] = passes(need[1], check)
                if not passed[need[1]]:
                    unmet.append(need)
        if self.whole:
            known.outcome = (passed, unmet)
        return passed, unmet

    def moments_key(self, case: _Row) -> tuple[Any, Any, Any]:
        """What the case's parameters and milestone moments are worked out from."""
        return (case.params, case.entered if self.relative else None,
                case.decided_on if self.relative else None)

    def moments(self, case: _Row) -> tuple[dict[str, Any], dict[str, dt.datetime]]:
        """The case's parameters and milestone moments, as ``for_case`` fills them in."""
        key = self.moments_key(case)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._compute(*key)
        return found

    def _compute(self, params: str | None, entered: Any,
                 decided_on: Any) -> tuple[dict[str, Any], dict[str, dt.datetime]]:
        values = dict(decode_json(params) or {})
        decided = dt.date.fromisoformat(decided_on) if isinstance(decided_on, str) else decided_on
        return values, case_moments(self.definition, self.state, values, utc(entered), decided)


@dataclass
class _Known:
    """What is known for the cases of one plan with equal shared inputs: whether each shared
    requirement passes, and the whole outcome when every requirement is shared."""

    passed: dict[str, bool] = field(default_factory=dict)
    outcome: tuple[dict[str, bool], list[_Need]] | None = None


def _role_key(ctx: RegionContext) -> Hashable:
    """The roles, with each person as the order of first appearance: who holds what counts
    (how many people hold a role), not their names."""
    people: dict[str, int] = {}
    return tuple([(r.role, people.setdefault(r.person, len(people))) for r in ctx.roles])


#: For each input a check may read (`check_reads`) that regions share, the hashable key of
#: its value in a region's snapshot, keeping exactly what a check's outcome can depend on.
_REGION_KEYS: dict[str, Callable[[RegionContext], Hashable]] = {
    "partners": lambda ctx: tuple([(x.kind, x.sector) for x in ctx.partners]),
    "roles": _role_key,
    "document_kinds": lambda ctx: tuple([d.kind for d in ctx.documents]),
    "documents": lambda ctx: tuple([(d.kind, d.date, d.added) for d in ctx.documents]),
    "cases": lambda ctx: tuple([(w, tuple(states)) for w, states in ctx.cases.items()]),
    "rounds": lambda ctx: tuple([(w, tuple(rounds.items())) for w, rounds in ctx.rounds.items()]),
    "now": lambda ctx: ctx.now,
}
#: The inputs of the checks a plan evaluates once per distinct value rather than per case:
#: the region-wide ones above, and the case's parameters and milestone moments (which the
#: cases of a round share). Not facts (figures such as pupil numbers differ per region, and
#: a key holding them would share nothing), records or the network (no cheap key): checks
#: reading those, and plug-ins (which may read anything), run for every case.
_SHARED_INPUTS = frozenset({*_REGION_KEYS, "params", "milestones"})


def _input_key(name: str, ctx: RegionContext, case: _Row, plan: _Plan,
               region_keys: dict[str, Hashable]) -> Hashable:
    """The key of input `name` (one of `_SHARED_INPUTS`) for `case`; region-wide keys are
    worked out once per region, in `region_keys`."""
    if name == "params":
        params: str | None = case.params  # the JSON text: equal text, equal parameters
        return params
    if name == "milestones":
        return plan.moments_key(case)  # what the plan works the moments out from
    found = region_keys.get(name)
    if found is None:
        found = region_keys[name] = _REGION_KEYS[name](ctx)
    return found


# --- (c) milestones overdue and coming --------------------------------------------------------


def _deadlines(network: _Network, now: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open milestones due up to the horizon (as ``deadlines --within``), overdue or upcoming.

    A ``pending`` milestone is overdue once its moment passed (whether or not the scheduler
    has acted yet). One the scheduler already marked ``overdue`` still counts while its case
    is in one of its ``active_in`` states: the obligation is still open (e.g. a provisional
    status not yet reviewed); once the case moved on, it is history, not a deadline.
    """
    cases = {c.id: c for c in network.cases}
    regions = {r.id: r for r in network.regions}
    specs: dict[tuple[str, int, str], MilestoneDef | None] = {}
    overdue: list[dict[str, Any]] = []
    upcoming: list[dict[str, Any]] = []
    for ms in network.milestones:
        case = cases.get(ms.case_id)
        if case is None:
            continue
        spec_key = (case.workflow, case.workflow_version, ms.name)
        if spec_key not in specs:
            specs[spec_key] = _milestone_spec(network.definition(case), ms.name)
        spec = specs[spec_key]
        if ms.status == MilestoneStatus.OVERDUE and (spec is None or case.state not in spec.active_in):
            continue
        due = utc(ms.due_at)
        late = due is not None and due < now
        row = _deadline_row(ms, case, spec, regions[ms.region_id], due, "overdue" if late else "upcoming")
        (overdue if late else upcoming).append(row)
    return overdue, upcoming


def _milestone_spec(definition: WorkflowDef, name: str) -> MilestoneDef | None:
    return next((m for m in definition.milestones if m.name == name), None)


def _deadline_row(
    ms: _Row, case: _Row, spec: MilestoneDef | None, region: _Row, due: dt.datetime | None,
    status: str,
) -> dict[str, Any]:
    row = {
        "region": region.slug,
        "name": region.name,
        "workflow": case.workflow,
        "round": case.round or None,
        "milestone": ms.name,
        "label": (spec.label if spec else None) or ms.name,
        "due": _local(due) if due else None,
        "status": status,
    }
    if spec is not None and spec.met_by is not None and status == "overdue":
        row["met_by"] = spec.met_by.record  # a conversation not held: listed on its own too
    return row


@lru_cache(maxsize=4096)
def _local(moment: dt.datetime) -> str | None:
    return iso_local(moment)
