"""The national report as plain data: states, blocking requirements, deadlines and gaps.

Everything comes from one read transaction and a constant number of queries, however many
regions there are: each table (regions, partners, roles, documents, facts, cases, open
milestones) is read once with plain SQL (no ORM objects), and the rows are grouped in
Python. The region snapshots the requirements see are built by the snapshot builder that
serves ``check`` (:mod:`onderwijsflow.snapshot`), so the report says what ``check`` says,
for every region at once (design §7: 10,000 regions under 1 s).

Cost control: only pass/fail counts here, and a built-in check declares what decides it
(partner kinds, roles, document kinds, the case's parameters and moments: see
:func:`onderwijsflow.engine.checks.check_reads`). Partners, roles and documents are read as
keys of exactly that (:mod:`onderwijsflow.snapshot.keyed`), which most regions share, so
such a check runs once per distinct value of its inputs rather than once per region; the
rest (facts, records, the network, plug-ins) run for every case, and a case's outcome is
kept per distinct (shared inputs, outcomes of the rest). A case's parameters and milestone
moments are worked out once per distinct (version, state, parameters, and where a milestone
counts from it, moment of entering the state). The work per case is its key and the checks
that read what is its region's alone.

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
from onderwijsflow.service.snapshot import case_moments, decode_json, driver_run, raw, utc
from onderwijsflow.snapshot.keyed import REGION_INPUTS, Keyed, read_keyed
from onderwijsflow.store.statuses import OPEN_MILESTONES, MilestoneStatus
from onderwijsflow.store.tables import Milestone, metadata

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
    """A case as the report reads it: JSON parameters as text, `entered` and `decided_on` as
    the driver gives them (SQLite: text; PostgreSQL: a datetime and a date)."""

    id: int
    region_id: int
    workflow: str
    workflow_version: int
    round: str | None
    params: str | None
    state: str
    entered: Any
    decided_on: Any

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
            plans = _plans(network)
            keyed = read_keyed(driver_run(session), driver_run(session, batch=2000), moment,
                               network.cases, narrow=all(p.declared for p in plans.values()),
                               dated=any("documents" in p.reads for p in plans.values()))
            report = _compute(network, moment, horizon, within, plans, keyed)
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


#: The cases, as :class:`_Case` reads them (JSON as text, moments as the driver gives them).
_CASES = ("SELECT id, region_id, workflow, workflow_version, round, CAST(params AS TEXT), state, "
          "state_entered_at, decided_on FROM cases ORDER BY id")
_REGIONS = "SELECT id, slug, name, coordinator FROM regions ORDER BY slug"


def _load(session: Session, now: dt.datetime, horizon: dt.datetime) -> _Network:
    """A handful of selects, one per table, whatever the number of regions."""
    milestone = metadata.tables[Milestone.__tablename__].c
    # Plain tuples, their repeated texts (workflow, state, round, a round's parameters) shared:
    # a country's cases are held for the whole report (at 50,000 regions some 60 MB less).
    cases = [_Case(cid, rid, intern(workflow), version, intern(round_) if round_ else round_,
                   intern(params) if params else params, intern(state), entered, decided)
             for cid, rid, workflow, version, round_, params, state, entered, decided
             in driver_run(session, batch=5000)(_CASES, ())]
    return _Network(
        regions=[_Region(*row) for row in driver_run(session)(_REGIONS, ())],
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
             plans: dict[_PlanKey, _Plan], keyed: Keyed) -> dict[str, Any]:
    """The report's ``dict`` from the loaded rows, the plans and the regions' snapshots."""
    for case in network.cases:
        network.by_region.setdefault(case.region_id, []).append(case)
    finals = {key: _final_states(m.definition) for key, m in network.machines.items()}
    active = {r.id for r in network.regions
              if _is_active(network.by_region.get(r.id, []), finals)}
    blocking, blocked, missing, led = _blocking(network, plans, keyed)
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


def _blocker_rows(lacking: dict[_Need, list[str]], names_of: dict[str, str]) -> list[dict[str, Any]]:
    """One row per requirement label (merging workflows that share it), most regions first.

    `lacking` holds per need the slugs of the regions that lack it, in runs each in slug
    order (so that sorting them is merging). `regions` holds the slugs (for scripts),
    `region_names` the names people read.
    """
    merged: dict[str, tuple[set[str], set[str], list[str]]] = {}
    for (label, requirement, workflow), regions in lacking.items():
        names, workflows, slugs = merged.setdefault(label, (set(), set(), []))
        names.add(requirement)
        workflows.add(workflow)
        slugs += regions
    regions_of = {label: list(dict.fromkeys(sorted(slugs)))  # sorted runs merge; each once
                  for label, (_names, _workflows, slugs) in merged.items()}
    return [{"label": label, "requirements": sorted(names), "workflows": sorted(workflows),
             "count": len(regions_of[label]), "regions": regions_of[label],
             "region_names": sorted([names_of.get(s, s) for s in regions_of[label]])}
            for label, (names, workflows, _slugs) in sorted(
                merged.items(), key=lambda item: (-len(regions_of[item[0]]), item[0]))]


#: A plan's key: (workflow, version, state).
_PlanKey = tuple[str, int, str]


def _plans(network: _Network) -> dict[_PlanKey, _Plan]:
    """The plan of every (workflow, version, state) that a case is in."""
    keys = {(c.workflow, c.workflow_version, c.state) for c in network.cases}
    return {key: _Plan.of(network.machines[key[:2]], key[2]) for key in keys}


def _blocking(network: _Network, plans: dict[_PlanKey, _Plan], keyed: Keyed,
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
    missing: list[dict[str, Any]] = []
    known: dict[Hashable, _Known] = {}
    # Per outcome (cases with equal outcomes share the object), the regions that have it.
    held_back: dict[int, tuple[_Outcome, list[str]]] = {}
    led_keys: dict[int, bool] = {}  # per roles list (regions alike share one), by identity
    led: set[int] = set()
    roles = keyed.snapshots.roles
    for region in network.regions:
        region_id = region.id
        held = roles.get(region_id, ())
        has_lead = led_keys.get(id(held))
        if has_lead is None:
            has_lead = led_keys[id(held)] = any(r.role in LEAD_ROLES for r in held)
        if has_lead:
            led.add(region_id)
        cases = network.by_region.get(region_id)
        if not cases:
            continue
        ctx: RegionContext | None = None
        region_keys: dict[tuple[str, ...], Hashable] = {}
        for case in cases:
            key = (case.workflow, case.workflow_version, case.state)
            plan = plans[key]
            if not plan.steps:
                continue
            # What is known for the cases whose shared inputs equal this one's.
            regional = region_keys.get(plan.region_inputs)
            if regional is None:
                regional = region_keys[plan.region_inputs] = tuple(
                    [keyed.input_key(name, region_id) for name in plan.region_inputs])
            inputs = (key, regional, plan.case_key(case))
            found = known.get(inputs)
            if found is None:
                found = known[inputs] = _Known()
            outcome = found.outcomes.get(()) if not plan.own else None
            if outcome is None:
                if ctx is None:
                    ctx = keyed.snapshots.context(region_id, region.slug)
                ctx.focus(case.id)
                ctx.params, ctx.milestones = plan.moments(case)
                outcome = plan.evaluate(ctx, found)
                if plan.each_checks:
                    missing.extend(_missing_values(plan, outcome[0], ctx, region, case))
            if outcome[1]:
                lacks = held_back.get(id(outcome))
                if lacks is None:
                    lacks = held_back[id(outcome)] = (outcome, [])
                lacks[1].append(region.slug)
    lacking: dict[_Need, list[str]] = defaultdict(list)
    for (_passed, unmet), slugs in held_back.values():
        for need in unmet:
            lacking[need] += slugs
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


#: What evaluating a case gives: whether each evaluated requirement passes, and the needs
#: of the next steps due now that are unmet.
_Outcome = tuple[dict[str, bool], list[_Need]]


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
            `_SHARED_INPUTS`): evaluated once per distinct value of the inputs they read,
            the region's (`region_inputs`) and the case's (`case_inputs`).
        own: the other requirements (name, compiled check): evaluated for every case.
        declared: whether every requirement declares what it reads (no plug-in check that
            does not), so that partners, roles and documents may be read narrow.
        reads: what the requirements that declare it read, together.
    """

    definition: WorkflowDef
    state: str
    steps: list[tuple[list[tuple[str, Compiled]], list[_Step]]]
    relative: bool
    each_checks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cache: dict[tuple[Any, Any, Any], tuple[dict[str, Any], dict[str, dt.datetime]]] = field(
        default_factory=dict)
    shared: frozenset[str] = frozenset()
    region_inputs: tuple[str, ...] = ()
    case_inputs: frozenset[str] = frozenset()
    own: tuple[tuple[str, Compiled], ...] = ()
    declared: bool = True
    reads: frozenset[str] = frozenset()

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
        names = {n for gates, needs in steps for n, _ in gates} | {
            need[1] for _, needs in steps for need, _ in needs}
        reads = {n: check_reads(compiled[n]) for n in sorted(names)}
        shared = frozenset(n for n, r in reads.items() if r is not None and r <= _SHARED_INPUTS)
        inputs = set().union(*(reads[n] or () for n in shared))
        relative = any(m.every is not None or (isinstance(m.due, DueDef) and m.due.after is not None)
                       for m in definition.milestones if state in m.active_in)
        return cls(definition, state, steps, relative, list(each.items()), shared=shared,
                   region_inputs=tuple(sorted(inputs & REGION_INPUTS)),
                   case_inputs=frozenset(inputs - REGION_INPUTS),
                   own=tuple((n, compiled[n]) for n in reads if n not in shared),
                   declared=all(r is not None for r in reads.values()),
                   reads=frozenset().union(*(r for r in reads.values() if r is not None)))

    def evaluate(self, ctx: RegionContext, known: _Known) -> _Outcome:
        """Whether each requirement of the next steps due now passes, and those that do not.

        As ``check`` does, only the steps whose gates hold count, and each requirement is
        evaluated once. `known` holds what is known for the cases whose shared inputs equal
        this one's: the outcomes of the plan's `shared` checks, and per outcome of its `own`
        checks (evaluated here, whether or not their gates hold: checks only read) the whole
        outcome, which those decide.
        """
        own = {name: check(ctx).passed for name, check in self.own}
        found = known.outcomes.get(tuple(own.values()))
        if found is not None:
            return found
        shared = known.passed

        def passes(name: str, check: Compiled) -> bool:
            result = own.get(name)
            if result is None:
                result = shared.get(name)
                if result is None:
                    result = shared[name] = check(ctx).passed
            return result

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
        found = known.outcomes[tuple(own.values())] = (passed, unmet)
        return found

    def case_key(self, case: _Row) -> Hashable:
        """The key of the case's own inputs that the shared checks read: its parameters (the
        JSON text: equal text, equal parameters) and what its moments are worked out from."""
        return (case.params if "params" in self.case_inputs else None,
                self.moments_key(case) if "milestones" in self.case_inputs else None)

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
    requirement passes, and the whole outcome per outcome of the plan's own checks."""

    passed: dict[str, bool] = field(default_factory=dict)
    outcomes: dict[tuple[bool, ...], _Outcome] = field(default_factory=dict)


#: The inputs of the checks a plan evaluates once per distinct value rather than per case:
#: a region's partners, roles, documents, cases and the moment (keyed by
#: :mod:`onderwijsflow.snapshot.keyed`), and the case's parameters and milestone moments
#: (which the cases of a round share). Not facts (figures such as pupil numbers differ per
#: region, and a key holding them would share nothing), records or the network (no cheap
#: key): checks reading those, and plug-ins (which may read anything), run for every case.
_SHARED_INPUTS = frozenset({*REGION_INPUTS, "params", "milestones"})


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
    for case_id, region_id, name, status, due_at in network.milestones:  # unpacked: a
        case = cases.get(case_id)  # row's attributes cost more than the rest of the loop
        if case is None:
            continue
        spec_key = (case.workflow, case.workflow_version, name)
        if spec_key not in specs:
            specs[spec_key] = _milestone_spec(network.definition(case), name)
        spec = specs[spec_key]
        if status == MilestoneStatus.OVERDUE and (spec is None or case.state not in spec.active_in):
            continue
        due = utc(due_at)
        late = due is not None and due < now
        row = _deadline_row(name, case, spec, regions[region_id], due, "overdue" if late else "upcoming")
        (overdue if late else upcoming).append(row)
    return overdue, upcoming


def _milestone_spec(definition: WorkflowDef, name: str) -> MilestoneDef | None:
    return next((m for m in definition.milestones if m.name == name), None)


def _deadline_row(
    milestone: str, case: _Row, spec: MilestoneDef | None, region: _Row, due: dt.datetime | None,
    status: str,
) -> dict[str, Any]:
    row = {
        "region": region.slug,
        "name": region.name,
        "workflow": case.workflow,
        "round": case.round or None,
        "milestone": milestone,
        "label": (spec.label if spec else None) or milestone,
        "due": _local(due) if due else None,
        "status": status,
    }
    if spec is not None and spec.met_by is not None and status == "overdue":
        row["met_by"] = spec.met_by.record  # a conversation not held: listed on its own too
    return row


@lru_cache(maxsize=4096)
def _local(moment: dt.datetime) -> str | None:
    return iso_local(moment)
