"""Use cases on cases: open one, advance it, and ask what it still needs.

Advancing is optimistic: the decision is taken on a read snapshot, then written in one
short transaction that first checks nothing in the region changed meanwhile (the region's
audit head and the case's lock version). The loser of a race gets :class:`Conflict` and
nothing is written; on SQLite the write transaction is ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from onderwijsflow.definition.model import WorkflowDef, coerce_value, dump_value
from onderwijsflow.errors import Conflict, NotFound, Refused, UsageError
from onderwijsflow.i18n import _, ngettext
from onderwijsflow.readiness.answer import check_json
from onderwijsflow.service.base import Base
from onderwijsflow.service.decisions import DecisionInput, DecisionRecord, check_reason, validate_decision
from onderwijsflow.service.planning import on_enter
from onderwijsflow.service.snapshot import for_case, region_cases, region_context
from onderwijsflow.shapes import AdvanceJson, CheckJson
from onderwijsflow.store.audit import EventBatch
from onderwijsflow.store.db import compare_and_set_case, counts_each_row_of_executemany
from onderwijsflow.store.statuses import MilestoneStatus
from onderwijsflow.store.tables import Case, Region

if TYPE_CHECKING:
    from onderwijsflow.engine.machine import Decision, WorkflowMachine


class CaseBatch(EventBatch):
    """Events plus case moves of one bulk batch, each kind written with one statement.

    The moves are still compare-and-set (``WHERE lock_version = :v``): if any case changed
    under the batch, the whole batch is a :class:`Conflict` and nothing of it is written.
    """

    def __init__(self) -> None:
        super().__init__()
        self.moves: list[dict[str, Any]] = []

    def write(self, session: Session) -> None:
        """Move the cases, then write the events and region heads."""
        if self.moves:
            from sqlalchemy import bindparam, update

            cases = Case.__table__  # type: ignore[attr-defined]
            result = session.execute(
                update(cases)
                .where(cases.c.id == bindparam("cid"), cases.c.lock_version == bindparam("v"))
                .values(state=bindparam("state"), state_entered_at=bindparam("entered"),
                        decided_on=bindparam("decided"), lock_version=cases.c.lock_version + 1),
                self.moves,
            )
            if counts_each_row_of_executemany(session) and result.rowcount != len(self.moves):  # type: ignore[attr-defined]
                raise Conflict(_("cases changed while advancing them; nothing of this batch was "
                                 "written, try again"))
            self.moves.clear()
        super().write(session)


class CaseOps(Base):
    """Opening, advancing and checking cases."""

    # --- opening ----------------------------------------------------------------------

    def start_case(
        self,
        slug: str,
        workflow: str,
        *,
        params: dict[str, str] | None = None,
        round: str | None = None,
    ) -> dict[str, Any]:
        """Open a case of `workflow` for a region; a round fills the params from the config.

        Raises:
            NotFound: unknown region, workflow or round.
            Refused: the region already has that case.
            UsageError: missing or malformed parameters.
        """
        merged: dict[str, Any] = {}
        if round is not None:
            found = self.config.rounds.get(round)
            if found is None:
                raise NotFound(_("no round '{round}' in the configuration").format(round=round))
            if found.workflow != workflow:
                raise UsageError(_("round '{round}' is for workflow '{expected}', not '{workflow}'")
                                 .format(round=round, expected=found.workflow, workflow=workflow))
            merged.update(found.params)
        merged.update(params or {})
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            case = self._open_case(session, region, workflow, merged, round or "")
            return {"region": slug, "workflow": workflow, "round": round,
                    "state": case.state, "version": case.workflow_version,
                    "params": case.params, "warnings": self._passed_already(session, case)}

    def _passed_already(self, session: Session, case: Case) -> list[str]:
        """Sentences for the milestones of a just-opened case whose moment has passed
        (a case opened after the application deadline says so at once)."""
        from onderwijsflow.store.tables import Milestone

        definition = self.catalog.current(case.workflow).definition
        labels = {m.name: m.label or m.name for m in definition.milestones}
        late = session.exec(select(Milestone).where(
            Milestone.case_id == case.id, Milestone.status == MilestoneStatus.PENDING,
            Milestone.due_at < self.now()).order_by(col(Milestone.due_at)))
        return [_("{milestone} ({moment}) has already passed").format(
                    milestone=labels.get(m.name, m.name), moment=_moment(m.due_at))
                for m in late]

    def _open_case(
        self, session: Session, region: Region, workflow: str, params: dict[str, Any], round_: str
    ) -> Case:
        machine = self.catalog.current(workflow)
        typed = _typed_params(machine.definition, params)
        exists = session.exec(
            select(Case.id).where(
                Case.region_id == region.id, Case.workflow == workflow, Case.round == round_
            )
        ).first()
        if exists:
            if round_:
                raise Refused(_("region '{slug}' already has a {workflow} case for round {round}")
                              .format(slug=region.slug, workflow=workflow, round=round_))
            raise Refused(_("region '{slug}' already has a {workflow} case").format(
                slug=region.slug, workflow=workflow))
        now = self.now()
        assert region.id is not None
        case = Case(
            region_id=region.id, workflow=workflow, workflow_version=machine.definition.version,
            round=round_, params=typed, state=machine.definition.initial,
            state_entered_at=now, opened_at=now, lock_version=0,
        )
        session.add(case)
        session.flush()
        self.record_event(
            session, region, "case_opened", case_id=case.id, workflow=workflow,
            to_state=case.state,
            data={"version": case.workflow_version, "round": round_ or None, "params": typed},
        )
        on_enter(session, case, machine.definition, state=case.state, entered_at=now,
                 reminder_time=self.config.reminder_time)
        return case

    # --- finding the case -------------------------------------------------------------

    def _case(
        self,
        session: Session,
        region: Region,
        workflow: str | None,
        round_: str | None,
        trigger: str | None = None,
        cases: list[Case] | None = None,
    ) -> tuple[Case, WorkflowMachine]:
        """The one case a command is about; ambiguity is a usage error, not a guess.

        Args:
            cases: the region's cases, when the caller has read them already.
        """
        cases = region_cases(session, region) if cases is None else cases
        if workflow is not None:
            if workflow not in {c.workflow for c in cases}:
                self.catalog.current(workflow)  # an unknown workflow is NotFound, with a suggestion
            cases = [c for c in cases if c.workflow == workflow]
        if round_ is not None:
            cases = [c for c in cases if c.round == round_]
        machines = {c.id: self.catalog.machine(session, c.workflow, c.workflow_version) for c in cases}
        if trigger is not None and workflow is None:
            cases = [c for c in cases if trigger in machines[c.id].definition.triggers]
            if not cases:
                raise NotFound(_("no case of region '{slug}' has a trigger '{trigger}'")
                               .format(slug=region.slug, trigger=trigger))
        if not cases:
            raise NotFound(_no_case(region.slug, workflow, round_))
        if len(cases) > 1:
            if trigger is not None:
                possible = [c for c in cases
                            if machines[c.id].definition.transition(c.state, trigger)]
                if len(possible) == 1:
                    return possible[0], machines[possible[0].id]
            names = ", ".join(
                _("{workflow} (round {round})").format(workflow=c.workflow, round=c.round)
                if c.round else c.workflow for c in cases)
            if len({c.workflow for c in cases}) == 1:
                raise UsageError(_("region '{slug}' has several cases ({cases}); name one with "
                                   "--round").format(slug=region.slug, cases=names))
            raise UsageError(_("region '{slug}' has several cases ({cases}); name one with "
                               "--workflow (and --round)").format(slug=region.slug, cases=names))
        return cases[0], machines[cases[0].id]

    # --- advancing --------------------------------------------------------------------

    def advance(
        self,
        slug: str,
        trigger: str,
        *,
        workflow: str | None = None,
        round: str | None = None,
        reason: str | None = None,
        dry_run: bool = False,
        override: bool = False,
        decided_by: str | None = None,
        decision_date: str | date | None = None,
        decision_ref: str | None = None,
    ) -> AdvanceJson:
        """Fire `trigger` on the region's case; refused attempts are audited too.

        Args:
            decided_by, decision_date, decision_ref: the decision a transition with
                ``decision:`` records (the body that took it, its date and reference).

        Returns:
            The JSON shape of design §4 (`region, workflow, trigger, from, to, ok, dry_run,
            unmet`), plus `evidence`, `refusal` and `decision`.

        Raises:
            UsageError: a decision is missing or wrong (nothing is written or audited).
            Refused: after auditing the attempt (unless a dry run).
            Conflict: the region changed between reading and writing; nothing was written.
        """
        check_reason(reason)
        given = DecisionInput(decided_by, decision_date, decision_ref)
        denied = None if dry_run else self._writer_problem()
        if override:
            denied = denied or self._override_problem(reason)
        with self.reading() as session:
            region = self.region_in(session, slug)
            case, machine, decision = self._decide(session, region, workflow, round, trigger,
                                                   override=override, denied=denied)
            ruling = self._ruling(machine, decision, given, required=not dry_run)
            seen = (region.event_seq, case.lock_version)
        result = _decision_json(slug, decision, dry_run, ruling)
        if dry_run:
            return result
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            if region.event_seq != seen[0]:
                conflict = Conflict(_("region '{slug}' changed while you worked on it; nothing "
                                      "was written, try again").format(slug=slug))
                if decision.ok:
                    raise conflict
                # A refusal decided on a snapshot the region has since left would be audited
                # with a state and evidence that are no longer true: decide again on what is
                # there now (the region is locked, so nothing changes it any more). Should the
                # trigger now be allowed, the region changed under the user: exit 5 as well.
                case, machine, decision = self._decide(session, region, workflow, round, trigger,
                                                       override=override, denied=denied)
                if decision.ok:
                    raise conflict
                ruling = self._ruling(machine, decision, given, required=True)
                seen = (region.event_seq, case.lock_version)
                result = _decision_json(slug, decision, dry_run, ruling)
            assert case.id is not None
            self.commit_decision(session, region, case.id, seen[1], machine, decision,
                                  reason=reason, override=override, ruling=ruling)
        if not decision.ok:
            raise Refused(_refusal_sentence(slug, decision), result=result)
        return result

    def _decide(
        self,
        session: Session,
        region: Region,
        workflow: str | None,
        round_: str | None,
        trigger: str,
        *,
        override: bool,
        denied: str | None,
    ) -> tuple[Case, WorkflowMachine, Decision]:
        """Fire `trigger` on the region's case as the data in `session` stands; writes nothing."""
        cases = region_cases(session, region)
        case, machine = self._case(session, region, workflow, round_, trigger, cases)
        ctx = for_case(region_context(session, region, self.now(), cases), case, machine.definition)
        decision = machine.fire(case.state, trigger, ctx, actor_roles=self._roles(),
                                override=override)
        if denied and decision.code in ("ok", "unmet", "not_permitted"):
            # Not permitted: still an attempt, audited like any other refusal.
            decision.ok, decision.code, decision.refusal = False, "not_permitted", denied
            decision.overridden = []
        return case, machine, decision

    def _ruling(self, machine: WorkflowMachine, decision: Decision, given: DecisionInput,
                *, required: bool, bulk: bool = False) -> DecisionRecord | None:
        """The outside decision this move records (checked before anything is written).

        Args:
            bulk: one decision given for many cases: a case whose transition records none
                (an older version) simply records none.
        """
        transition = machine.definition.transition(decision.source, decision.trigger)
        if transition is None or (bulk and transition.decision is None):
            return None
        return validate_decision(machine.definition, transition, given, self.now(),
                                 required=required)

    def _override_problem(self, reason: str | None) -> str | None:
        """Why this actor may not override now (a missing reason is a usage error)."""
        if not reason or not reason.strip():
            raise UsageError(_("--override needs a --reason saying why the requirements are "
                               "passed"))
        roles = self._roles()
        if roles is not None and "override" not in roles:
            return _("actor '{actor}' has no override role").format(actor=self.actor)
        return None

    def commit_decision(
        self,
        session: Session,
        region: Region,
        case_id: int,
        lock_version: int,
        machine: WorkflowMachine,
        decision: Decision,
        *,
        reason: str | None,
        override: bool = False,
        actor: str | None = None,
        closing: MilestoneStatus = MilestoneStatus.MET,
        batch: CaseBatch | None = None,
        ruling: DecisionRecord | None = None,
    ) -> None:
        """Write a decision: a refused event, or the move with its evidence and milestones.

        Args:
            batch: bulk work collects the events and case updates here and writes them
                with a few statements at the end of its batch.
            ruling: the outside decision the move records; its date becomes the case's
                `decided_on`, from which periods such as the objection period count. A move
                without a decision keeps the date of the case's last decision.
        """
        evidence = decision.evidence()
        outside = ruling.as_json() if ruling else None
        common: dict[str, Any] = {
            "case_id": case_id, "workflow": decision.workflow, "trigger": decision.trigger,
            "from_state": decision.source, "reason": reason, "actor": actor,
        }
        if not decision.ok:
            self.record_event(session, region, "refused", to_state=decision.dest, **common,
                         data={"code": decision.code, "refusal": decision.refusal,
                               "evidence": evidence, "decision": outside}, batch=batch)
            return
        now = self.now()
        case = session.get(Case, case_id)
        assert case is not None and decision.dest is not None
        decided_on = ruling.date if ruling else case.decided_on
        if batch is None:
            compare_and_set_case(session, case_id, lock_version, state=decision.dest,
                                 state_entered_at=now, decided_on=decided_on)
        else:
            batch.moves.append({"cid": case_id, "v": lock_version, "state": decision.dest,
                                "entered": now, "decided": decided_on})
        self.record_event(
            session, region, "transition", to_state=decision.dest, **common,
            data={"evidence": evidence, "override": override,
                  "overridden": decision.overridden, "decision": outside}, batch=batch,
        )
        # Mirror the compare-and-set in the loaded row without marking it dirty.
        set_committed_value(case, "state", decision.dest)
        set_committed_value(case, "state_entered_at", now)
        set_committed_value(case, "decided_on", decided_on)
        set_committed_value(case, "lock_version", lock_version + 1)
        on_enter(session, case, machine.definition, state=decision.dest, entered_at=now,
                 reminder_time=self.config.reminder_time, closing=closing,
                 previous=decision.source)

    # --- readiness --------------------------------------------------------------------

    def check(
        self,
        slug: str,
        *,
        workflow: str | None = None,
        round: str | None = None,
        target: str | None = None,
    ) -> CheckJson:
        """Every trigger possible now with its unmet requirements; with `target`, the way there.

        Returns:
            The JSON shape of design §4 (`region, workflow, state, triggers`), plus `path`
            (the shortest way to `target`, each step with what it lacks) when asked.
        """
        with self.reading() as session:
            region = self.region_in(session, slug)
            cases = region_cases(session, region)
            case, machine = self._case(session, region, workflow, round, cases=cases)
            ctx = for_case(region_context(session, region, self.now(), cases), case,
                           machine.definition)
            return check_json(slug, case, machine, ctx, self._roles(), target)


def _refusal_sentence(slug: str, decision: Decision) -> str:
    if decision.code == "unmet":
        n = len(decision.unmet)
        names = ", ".join(r.requirement for r in decision.unmet)
        # Translators: English keeps "requirement(s)" in both forms; Dutch says 1 voorwaarde / 4 voorwaarden.
        return ngettext("{slug}: '{trigger}' refused, {n} requirement(s) unmet: {names}",
                        "{slug}: '{trigger}' refused, {n} requirement(s) unmet: {names}", n).format(
            slug=slug, trigger=decision.trigger, n=n, names=names)
    return _("{slug}: '{trigger}' refused: {refusal}").format(
        slug=slug, trigger=decision.trigger, refusal=decision.refusal)


def _decision_json(slug: str, decision: Decision, dry_run: bool,
                   ruling: DecisionRecord | None = None) -> AdvanceJson:
    return {
        "region": slug,
        "workflow": decision.workflow,
        "trigger": decision.trigger,
        "from": decision.source,
        "to": decision.dest if decision.ok and decision.dest else decision.source,
        "ok": decision.ok,
        "dry_run": dry_run,
        "unmet": [{"requirement": r.requirement, "label": r.label, "detail": r.detail}
                  for r in decision.unmet],
        "overridden": decision.overridden,
        "refusal": decision.refusal,
        "code": decision.code,
        "evidence": decision.evidence(),
        "decision": ruling.as_json() if ruling else None,
    }


def _typed_params(definition: WorkflowDef, given: dict[str, Any]) -> dict[str, Any]:
    """Validate a case's parameters against `params:`; JSON-safe values out."""
    unknown = set(given) - set(definition.params)
    if unknown:
        name = sorted(unknown)[0]
        raise UsageError(_("workflow '{workflow}' has no parameter '{name}'").format(
            workflow=definition.workflow, name=name))
    typed = {}
    for name, spec in definition.params.items():
        raw = given.get(name, spec.default)
        if raw is None:
            if spec.required:
                raise UsageError(
                    _("workflow '{workflow}' needs parameter '{name}' (--param {name}=... or "
                      "--round)").format(workflow=definition.workflow, name=name)
                )
            continue
        try:
            typed[name] = dump_value(coerce_value(spec.type, raw))
        except ValueError as err:
            raise UsageError(_("parameter '{name}': {problem}").format(name=name, problem=err)) from None
    return typed


def _no_case(slug: str, workflow: str | None, round_: str | None) -> str:
    """"region 'x' has no open case", naming the workflow and round asked for."""
    if workflow and round_:
        text = _("region '{slug}' has no {workflow} round {round} case")
    elif workflow:
        text = _("region '{slug}' has no {workflow} case")
    elif round_:
        text = _("region '{slug}' has no round {round} case")
    else:
        text = _("region '{slug}' has no open case")
    return text.format(slug=slug, workflow=workflow, round=round_)


def _moment(moment: datetime) -> str:
    """A moment in a sentence: "dinsdag 15 oktober 2024, 16:00" in Dutch; ISO local time in
    English, as scripts and tests of the English texts have always read it."""
    from onderwijsflow import i18n
    from onderwijsflow.clock import iso_local

    return (iso_local(moment) or "") if i18n.current() == "en" else i18n.format_datetime(moment)
