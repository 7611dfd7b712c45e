"""Plan and retire milestones when a case enters a state (design §3, "milestones").

Called inside the transaction that moves the case, so a transition and its milestones
are one unit: a reminder can never be lost between the two.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select, update

from onderwijsflow.clock import to_local
from onderwijsflow.deadline_rules import reminder_moments
from onderwijsflow.definition.model import MilestoneDef, WorkflowDef
from onderwijsflow.engine.milestones import due_moment
from onderwijsflow.store.statuses import OPEN_REMINDERS, MilestoneStatus, ReminderStatus
from onderwijsflow.store.tables import Case, Milestone, Reminder

if TYPE_CHECKING:
    pass



def on_enter(
    session: Session,
    case: Case,
    definition: WorkflowDef,
    *,
    state: str,
    entered_at: dt.datetime,
    reminder_time: dt.time,
    closing: MilestoneStatus = MilestoneStatus.MET,
    previous: str | None = None,
) -> list[Milestone]:
    """Retire milestones the new `state` leaves and plan those it enters.

    Args:
        closing: the status a left milestone gets (``met``, or ``overdue`` when the
            scheduler's own overdue action moved the case).
        previous: the state the case left (None when it was just opened); a case can only
            have pending milestones while in some `active_in`, so otherwise none are read.

    Returns:
        The milestone occurrences planned now.
    """
    watched = {s for m in definition.milestones for s in m.active_in}
    if previous in watched:
        pending = {
            m.name: m
            for m in session.exec(
                select(Milestone).where(Milestone.case_id == case.id,
                                        Milestone.status == MilestoneStatus.PENDING)
            )
        }
    else:
        pending = {}
    by_name = {m.name: m for m in definition.milestones}
    for name, row in pending.items():
        spec = by_name.get(name)
        if spec is None or state not in spec.active_in:
            close(session, row, closing, entered_at)
    planned = []
    for spec in definition.milestones:
        if state in spec.active_in and spec.name not in pending:
            new = plan(session, case, spec, entered_at, reminder_time, occurrence=None)
            if new is not None:
                planned.append(new)
    return planned


def plan(
    session: Session,
    case: Case,
    spec: MilestoneDef,
    entered_at: dt.datetime,
    reminder_time: dt.time,
    *,
    occurrence: int | None,
    due: dt.datetime | None = None,
    opens_at: dt.datetime | None = None,
) -> Milestone | None:
    """Store one occurrence of `spec` and its reminder rows; None when it has no date.

    Args:
        opens_at: the start of the occurrence's window (a record added inside it meets the
            occurrence); default `entered_at`. A recurring occurrence opens when the previous
            one fell due.
    """
    due = due or due_moment(spec, case.params or {}, entered_at, case.decided_on)
    if due is None:
        return None
    if occurrence is None:
        last = session.exec(
            select(Milestone.occurrence)
            .where(Milestone.case_id == case.id, Milestone.name == spec.name)
            .order_by(col(Milestone.occurrence).desc())
        ).first()
        occurrence = (last or 0) + 1
    assert case.id is not None  # a case is flushed before its milestones are planned
    row = Milestone(case_id=case.id, region_id=case.region_id, workflow=case.workflow,
                    name=spec.name, occurrence=occurrence, due_at=due, planned_at=entered_at,
                    opens_at=opens_at or entered_at)
    session.add(row)
    session.flush()
    assert row.id is not None
    for offset, moment in reminder_moments(spec, due, reminder_time):
        session.add(Reminder(milestone_id=row.id, region_id=case.region_id, kind="reminder",
                             offset=offset, due_at=moment, updated_at=entered_at))
    final_kind = "rollover" if spec.every is not None else "overdue"
    session.add(Reminder(milestone_id=row.id, region_id=case.region_id, kind=final_kind,
                         due_at=due, updated_at=entered_at))
    return row


def in_window(row: Milestone, day: dt.date) -> bool:
    """Does `day` (local) fall inside the occurrence's window, its opening and due days included?"""
    opens = to_local(row.opens_at or row.planned_at).date()
    return opens <= day <= to_local(row.due_at).date()


def meet(
    session: Session, case: Case, spec: MilestoneDef, row: Milestone, at: dt.datetime,
    reminder_time: dt.time,
) -> Milestone | None:
    """A record met occurrence `row`: close it (no more reminders, no overdue notice).

    A recurring milestone keeps its rhythm: the next occurrence is planned from this one's
    due moment, as the rollover would have done.

    Returns:
        The next occurrence, when one was planned.
    """
    close(session, row, MilestoneStatus.MET, at)
    if spec.every is None:
        return None
    from onderwijsflow.engine.milestones import add_local

    return plan(session, case, spec, at, reminder_time, occurrence=row.occurrence + 1,
                due=add_local(spec.every, row.due_at), opens_at=row.due_at)


def close(session: Session, row: Milestone, status: MilestoneStatus, at: dt.datetime) -> None:
    """End a milestone occurrence and retire its open reminders."""
    row.status = status
    row.closed_at = at
    session.add(row)
    session.execute(
        update(Reminder)
        .where(col(Reminder.milestone_id) == row.id, col(Reminder.status).in_(OPEN_REMINDERS))
        .values(status=ReminderStatus.RETIRED, updated_at=at, claimed_by=None, lease_until=None)
    )
