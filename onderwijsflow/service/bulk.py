"""`advance-all`: fire one trigger for every matching case, each its own audited decision.

Cases are taken in batches; each batch is one write transaction that locks its regions,
reads their snapshots with a handful of queries, decides every case on the shared machine
and writes the moves and refusals with their events. A batch that fails rolls back whole
and stops the run with its error; the batches before it stay done (and in the history).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, cast

from sqlmodel import col, select

from onderwijsflow.definition.model import WorkflowDef
from onderwijsflow.engine.context import RegionContext
from onderwijsflow.errors import NotFound, Refused
from onderwijsflow.i18n import _
from onderwijsflow.service.cases import CaseBatch, CaseOps, _decision_json
from onderwijsflow.service.collector import collector_paused
from onderwijsflow.service.decisions import DecisionInput, check_reason, validate_decision
from onderwijsflow.service.snapshot import for_case, region_contexts
from onderwijsflow.shapes import AdvanceJson
from onderwijsflow.store.tables import Case, Region


class BulkOps(CaseOps):
    """Operations over many cases at once."""

    def advance_all(
        self,
        trigger: str,
        *,
        workflow: str,
        in_state: str | None = None,
        dry_run: bool = False,
        reason: str | None = None,
        batch: int = 500,
        progress: Callable[[int, int], None] | None = None,
        decided_by: str | None = None,
        decision_date: str | date | None = None,
        decision_ref: str | None = None,
    ) -> dict[str, Any]:
        """Fire `trigger` on every case of `workflow` (in `in_state`, if given).

        Args:
            progress: called with (done, total) after each batch.
            decided_by, decision_date, decision_ref: one decision for every case, as DUS-I
                decides a whole round at once (required when the transition declares one).

        Returns:
            ``{"moved": [...], "refused": [{"region", "unmet", ...}], "dry_run"}``; moved
            entries are the advance JSON of each case.
        """
        check_reason(reason)
        machine = self.catalog.current(workflow)
        if trigger not in machine.definition.triggers:
            raise NotFound(_("workflow '{workflow}' has no trigger '{trigger}'").format(
                workflow=workflow, trigger=trigger))
        if in_state is not None and in_state not in machine.definition.states:
            raise NotFound(_("workflow '{workflow}' has no state '{state}'").format(
                workflow=workflow, state=in_state))
        sources = _sources(machine.definition, trigger)
        if in_state is not None and in_state not in sources:
            # Refused up front: a refusal per case would fill the append-only log for nothing.
            raise Refused(_("'{trigger}' is not possible from state '{state}' of {workflow} (it "
                            "leaves from {sources}); nothing was written").format(
                trigger=trigger, state=in_state, workflow=workflow, sources=", ".join(sources)))
        given = DecisionInput(decided_by, decision_date, decision_ref)
        for transition in machine.definition.transitions:
            if transition.trigger == trigger and (in_state is None or in_state in transition.source):
                validate_decision(machine.definition, transition, given, self.now(),
                                  required=not dry_run)
        if not dry_run:
            self.require_writer()
        ids = self._matching_cases(workflow, (in_state,) if in_state else sources)
        moved: list[AdvanceJson] = []
        refused: list[AdvanceJson] = []
        with collector_paused():
            for start in range(0, len(ids), batch):
                chunk = ids[start:start + batch]
                with self.reading() if dry_run else self.writing() as session:
                    self._decide_batch(session, chunk, trigger, reason, given, moved, refused,
                                       write=not dry_run)
                if progress is not None:
                    progress(min(start + batch, len(ids)), len(ids))
        return {"workflow": workflow, "trigger": trigger, "dry_run": dry_run,
                "matched": len(ids), "moved": moved, "refused": refused}

    def count_matching(self, trigger: str, *, workflow: str, in_state: str | None = None) -> int:
        """How many cases `advance_all` would try (to ask before a large bulk write)."""
        machine = self.catalog.current(workflow)
        sources = (in_state,) if in_state else _sources(machine.definition, trigger)
        return len(self._matching_cases(workflow, sources))

    def _matching_cases(self, workflow: str, states: tuple[str, ...]) -> list[int]:
        """The cases of `workflow` in one of `states` (those the trigger leaves from)."""
        with self.reading() as session:
            query = select(col(Case.id)).where(col(Case.workflow) == workflow,
                                               col(Case.state).in_(states))
            ids = list(session.exec(query.order_by(col(Case.region_id), col(Case.id))))
            return cast(list[int], ids)  # primary keys read back: never NULL

    def _decide_batch(self, session: Any, case_ids: list[int], trigger: str, reason: str | None,
                      given: DecisionInput, moved: list[AdvanceJson], refused: list[AdvanceJson],
                      *, write: bool) -> None:
        cases = list(session.exec(select(Case).where(col(Case.id).in_(case_ids))
                                  .order_by(col(Case.region_id), col(Case.id))))
        region_query = select(Region).where(col(Region.id).in_({c.region_id for c in cases}))
        if write:
            region_query = region_query.order_by(col(Region.id)).with_for_update()
        regions = {r.id: r for r in session.exec(region_query)}
        contexts = region_contexts(session, list(regions.values()), self.now())
        batch = CaseBatch() if write else None
        roles = self._roles()  # the actor's, the same for every case of the batch
        with session.no_autoflush:
            for case in cases:
                result = self._decide_one(session, case, regions[case.region_id],
                                          contexts[case.region_id], trigger, reason, given, batch,
                                          roles)
                (moved if result["ok"] else refused).append(result)
        if batch is not None:
            batch.write(session)

    def _decide_one(self, session: Any, case: Case, region: Region, ctx: RegionContext,
                    trigger: str, reason: str | None, given: DecisionInput,
                    batch: CaseBatch | None, roles: frozenset[str] | None) -> AdvanceJson:
        machine = self.catalog.machine(session, case.workflow, case.workflow_version)
        decision = machine.fire(case.state, trigger, for_case(ctx, case, machine.definition),
                                actor_roles=roles)
        ruling = self._ruling(machine, decision, given, required=batch is not None, bulk=True)
        if batch is not None:
            assert case.id is not None
            self.commit_decision(session, region, case.id, case.lock_version, machine,
                                  decision, reason=reason, batch=batch, ruling=ruling)
            if decision.ok:
                assert decision.dest is not None  # a move always has its destination
                # Later cases of this region see the new state in their `case` checks.
                states = ctx.cases[case.workflow]
                states[states.index(decision.source)] = decision.dest
                if case.round:
                    ctx.rounds.setdefault(case.workflow, {})[case.round] = decision.dest
        return _decision_json(region.slug, decision, batch is None, ruling)


def _sources(definition: WorkflowDef, trigger: str) -> tuple[str, ...]:
    """The states `trigger` leaves from, in file order."""
    found: dict[str, None] = {}
    for t in definition.transitions:
        if t.trigger == trigger:
            found.update(dict.fromkeys(t.source))
    return tuple(found)
