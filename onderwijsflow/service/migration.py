"""Moving running cases to a new workflow version (language 1.1, ``migrates_from``).

The regulation changes every year; without a migration, next year's workflow could only
apply to new cases. A migration is explicit and audited, never a side effect of editing a
file. The dry run is the point: per case it shows the new state, the requirements of the
next steps that become unmet or met, and the milestones added, removed or moved. Applying is
one transaction for all selected cases and refuses as a whole when any case cannot move.

Like `advance`, it decides on a read snapshot and writes with a compare-and-set on every
case: a case that moved meanwhile makes the whole migration a :class:`Conflict`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from onderwijsflow.clock import iso_local
from onderwijsflow.definition.model import DueDef
from onderwijsflow.engine.context import RegionContext
from onderwijsflow.engine.machine import RequirementResult, WorkflowMachine
from onderwijsflow.engine.milestones import add_local, due_moment
from onderwijsflow.errors import NotFound, Refused, UsageError
from onderwijsflow.i18n import _, ngettext
from onderwijsflow.service.cases import CaseOps, _typed_params
from onderwijsflow.service.planning import close, plan
from onderwijsflow.service.snapshot import for_case, region_context
from onderwijsflow.shapes import MigrationJson
from onderwijsflow.store.db import compare_and_set_case
from onderwijsflow.store.statuses import MilestoneStatus
from onderwijsflow.store.tables import Case, Milestone, Region


@dataclass
class _Move:
    """One case's planned migration: where it goes and what changes for it."""

    case: Case
    region: Region
    to_state: str
    params: dict[str, Any]
    mapping: dict[str, str]
    report: dict[str, Any]
    added: list[tuple[str, dt.datetime]] = field(default_factory=list)
    moved: list[tuple[Milestone, dt.datetime]] = field(default_factory=list)
    removed: list[Milestone] = field(default_factory=list)


class MigrationOps(CaseOps):
    """``workflow migrate``."""

    def migrate_workflow(
        self,
        name: str,
        *,
        to_version: int,
        dry_run: bool = False,
        region: str | None = None,
    ) -> MigrationJson:
        """Move the running cases of workflow `name` to version `to_version`.

        Args:
            dry_run: report what would change, write nothing.
            region: only this region's case(s).

        Returns:
            ``{"workflow", "to_version", "dry_run", "cases": [...], "refused": [...]}`` (design
            §4); each case lists its new state, `newly_unmet`, `newly_met` and `milestones`.

        Raises:
            NotFound: no such workflow, version or region.
            Refused: some case cannot move (without a dry run); nothing was written.
            Conflict: a case changed while migrating; nothing was written.
        """
        if not dry_run:
            self.require_writer()
        with self.reading() as session:
            target = self._target(session, name, to_version)
            moves, refused = self._plan_all(session, target, region)
        result: MigrationJson = {"workflow": name, "to_version": to_version, "dry_run": dry_run,
                  "cases": [m.report for m in moves], "refused": refused}
        if dry_run:
            return result
        if refused:
            reasons = "; ".join(f"{r['region']}: {r['reason']}" for r in refused)
            raise Refused(ngettext(
                "{n} case cannot move to {workflow} version {version}, so none was migrated: {reasons}",
                "{n} cases cannot move to {workflow} version {version}, so none was migrated: "
                "{reasons}", len(refused)).format(n=len(refused), workflow=name, version=to_version,
                                                  reasons=reasons), result=result)
        if moves:
            with self.writing() as session:
                self._apply(session, target, moves)
        return result

    # --- planning ---------------------------------------------------------------------

    def _target(self, session: Session, name: str, version: int) -> WorkflowMachine:
        current = self.catalog.current(name)
        if current.definition.version == version:
            return current
        try:
            return self.catalog.machine(session, name, version)
        except NotFound:
            raise NotFound(_("workflow '{name}' has no version {version} (the file has version "
                             "{current})").format(name=name, version=version,
                                                  current=current.definition.version)) from None

    def _plan_all(self, session: Session, target: WorkflowMachine,
                  slug: str | None) -> tuple[list[_Move], list[dict[str, Any]]]:
        query = select(Case, Region).join(Region, col(Region.id) == Case.region_id).where(
            Case.workflow == target.name, Case.workflow_version != target.definition.version)
        if slug is not None:
            query = query.where(Region.id == self.region_in(session, slug).id)
        moves: list[_Move] = []
        refused: list[dict[str, Any]] = []
        contexts: dict[int, RegionContext] = {}
        for case, region in session.exec(query.order_by(col(Region.slug), col(Case.id))):
            old = self.catalog.machine(session, case.workflow, case.workflow_version)
            if old.definition.states[case.state].final:
                continue  # a closed case keeps the rules it was closed under
            try:
                move = self._plan_one(session, case, region, old, target, contexts)
            except UsageError as why:
                refused.append({"region": region.slug, "round": case.round or None,
                                "from_version": case.workflow_version, "from_state": case.state,
                                "reason": why.message})
                continue
            moves.append(move)
        return moves, refused

    def _plan_one(self, session: Session, case: Case, region: Region, old: WorkflowMachine,
                  target: WorkflowMachine, contexts: dict[int, RegionContext]) -> _Move:
        """Where `case` goes in `target` and what changes; UsageError says why it cannot."""
        new = target.definition
        if case.workflow_version > new.version:
            raise UsageError(_("the case runs on version {version}, newer than {target}").format(
                version=case.workflow_version, target=new.version))
        migration = new.migration_from(case.workflow_version)
        if migration is None:
            raise UsageError(_("version {target} has no migrates_from for version {version}").format(
                target=new.version, version=case.workflow_version))
        to_state = migration.states.get(case.state, case.state)
        if to_state not in new.states:
            raise UsageError(_("state '{state}' has no counterpart in version {target}; map it under "
                               "migrates_from").format(state=case.state, target=new.version))
        params = self._migrated_params(case, new)
        assert region.id is not None
        if region.id not in contexts:
            contexts[region.id] = region_context(session, region, self.now())
        ctx = contexts[region.id]
        before = _next_steps(old, case.state, for_case(ctx, case, old.definition))[0]
        moved_case = Case(**{**case.model_dump(), "state": to_state, "params": params})
        after, required = _next_steps(target, to_state, for_case(ctx, moved_case, new))
        move = _Move(case, region, to_state, params, dict(migration.states), {})
        self._plan_milestones(session, move, moved_case, target)
        move.report = {
            "region": region.slug, "round": case.round or None,
            "from_version": case.workflow_version, "from_state": case.state,
            "to_state": to_state, "to_state_label": new.state_label(to_state),
            "newly_unmet": [r.as_dict() for name, r in after.items() if name not in before],
            "newly_met": [{**r.as_dict(), "passed": True,
                           "detail": _("met now") if name in required else _("no longer required")}
                          for name, r in before.items() if name not in after],
            "milestones": {
                "added": [{"milestone": n, "due": iso_local(d)} for n, d in move.added],
                "removed": [{"milestone": r.name, "due": iso_local(r.due_at)} for r in move.removed],
                "moved": [{"milestone": r.name, "old": iso_local(r.due_at), "new": iso_local(d)}
                          for r, d in move.moved],
            },
        }
        return move

    def _migrated_params(self, case: Case, new: Any) -> dict[str, Any]:
        """The case's parameters under the new version; a new one comes from the case's round."""
        given = {k: v for k, v in (case.params or {}).items() if k in new.params}
        found = self.config.rounds.get(case.round) if case.round else None
        for key, value in (found.params if found else {}).items():
            if key in new.params:
                given.setdefault(key, value)
        try:
            return _typed_params(new, given)
        except UsageError as err:
            raise UsageError(_("the case's parameters do not fit version {version}: {problem}").format(
                version=new.version, problem=err.message)) from None

    def _plan_milestones(self, session: Session, move: _Move, moved_case: Case,
                         target: WorkflowMachine) -> None:
        pending = {m.name: m for m in session.exec(select(Milestone).where(
            Milestone.case_id == move.case.id, Milestone.status == MilestoneStatus.PENDING))}
        wanted: dict[str, dt.datetime] = {}
        for spec in target.definition.milestones:
            if move.to_state not in spec.active_in:
                continue
            row = pending.get(spec.name)
            due: dt.datetime | None
            anchored = isinstance(spec.due, DueDef) and spec.due.param is not None
            if row is not None and spec.every is not None and anchored:
                # The running occurrence falls on the new rhythm (1 July, 1 January, ...).
                due = due_moment(spec, moved_case.params or {}, row.opens_at or row.planned_at)
            elif row is not None and spec.every is not None:
                due = add_local(spec.every, row.opens_at or row.planned_at)
            else:
                due = due_moment(spec, moved_case.params or {}, moved_case.state_entered_at,
                                 moved_case.decided_on)
            if due is not None:
                wanted[spec.name] = due
        for name, row in pending.items():
            if name not in wanted:
                move.removed.append(row)
            elif wanted[name] != row.due_at:
                move.moved.append((row, wanted[name]))
        move.added = [(name, due) for name, due in wanted.items() if name not in pending]

    # --- applying ---------------------------------------------------------------------

    def _apply(self, session: Session, target: WorkflowMachine, moves: list[_Move]) -> None:
        """Write every move in this one transaction: case, audit event, milestones."""
        region_ids = sorted({m.region.id for m in moves if m.region.id is not None})
        locked = {r.id: r for r in session.exec(
            select(Region).where(col(Region.id).in_(region_ids)).order_by(col(Region.id))
            .with_for_update(key_share=True))}
        now = self.now()
        specs = {m.name: m for m in target.definition.milestones}
        for move in moves:
            case = move.case
            assert case.id is not None
            compare_and_set_case(session, case.id, case.lock_version, state=move.to_state,
                                 workflow_version=target.definition.version, params=move.params)
            self.record_event(session, locked[move.region.id], "migrated", case_id=case.id,
                         workflow=case.workflow, from_state=case.state, to_state=move.to_state,
                         data={"from_version": case.workflow_version,
                               "to_version": target.definition.version,
                               "mapping": move.mapping, "round": case.round or None,
                               "milestones": move.report["milestones"]})
            fresh = session.get(Case, case.id)
            assert fresh is not None
            for row in move.removed:
                close(session, _attached(session, row), MilestoneStatus.RETIRED, now)
            for row, due in move.moved:
                row = _attached(session, row)
                close(session, row, MilestoneStatus.RETIRED, now)
                plan(session, fresh, specs[row.name], now, self.config.reminder_time,
                     occurrence=None, due=due, opens_at=row.opens_at or row.planned_at)
            for name, due in move.added:
                plan(session, fresh, specs[name], now, self.config.reminder_time,
                     occurrence=None, due=due, opens_at=fresh.state_entered_at)


def _attached(session: Session, row: Milestone) -> Milestone:
    found = session.get(Milestone, row.id)
    assert found is not None
    return found


def _next_steps(machine: WorkflowMachine, state: str,
                ctx: RegionContext) -> tuple[dict[str, RequirementResult], set[str]]:
    """The requirements of the next steps from `state` that do not pass (by name), and the
    names of all their requirements."""
    unmet: dict[str, RequirementResult] = {}
    required: set[str] = set()
    for step in machine.readiness(state, ctx):
        required.update(r.requirement for r in step.results)
        for result in step.unmet:
            unmet.setdefault(result.requirement, result)
    return unmet, required


__all__ = ["MigrationOps"]
