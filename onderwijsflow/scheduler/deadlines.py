"""Coming and overdue milestones (`deadlines`), read straight from the planned occurrences.

Besides the keys of design §4, each row carries what a calendar needs to keep an event right
when it is exported again (`onderwijsflow.scheduler.ical`):

- `uid`: region slug, workflow, round and milestone (and, for a recurring milestone, the
  occurrence), never a database id, so the same milestone has the same UID in a copy of the
  database or after a restore;
- `sequence` and `last_modified`: derived from the stored occurrences. A milestone whose due
  moment changes is not updated in place: its row is retired and a new row is planned (a
  workflow migration that moves it, a case that enters the milestone's state again), so the
  rows of one milestone are its history. `sequence` counts the changes of the due moment in
  that history; `last_modified` is the latest planning or closing moment in it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlmodel import col, select

from onderwijsflow.deadline_rules import deadline_row, deadline_status, reminder_moments
from onderwijsflow.shapes import DeadlineJson
from onderwijsflow.store.statuses import OPEN_MILESTONES, MilestoneStatus
from onderwijsflow.store.tables import Case, Milestone, Region

if TYPE_CHECKING:
    from sqlmodel import Session

    from onderwijsflow.definition.durations import Duration
    from onderwijsflow.service import Onderwijsflow

def deadlines(
    app: Onderwijsflow, *, within: Duration | None = None, region: str | None = None
) -> list[DeadlineJson]:
    """Milestones that are upcoming (within `within`, if given), overdue, or met.

    Returns:
        Rows with the keys of design §4 (`region, workflow, milestone, due, status`), plus
        `label`, `region_name`, `round`, `workflow_title`, `state`, `state_label`, `due_utc`,
        `all_day` (a due date without a time of day), `reminders` (offsets) and `reminders_at`
        (the moments the scheduler sends them, UTC), `case_id`, `occurrence`, `recurring`,
        `uid`, `sequence` and `last_modified` (UTC), soonest first.
    """
    now = app.now()
    with app.reading() as session:
        query = (
            select(Milestone, Region)
            .join(Region, col(Region.id) == Milestone.region_id)
            .where(col(Milestone.status).in_((*OPEN_MILESTONES, MilestoneStatus.MET)))
            # The id last: occurrences due at the same moment in one region keep one order,
            # on every database and on both paths of `deadlines`.
            .order_by(col(Milestone.due_at), col(Region.slug), col(Milestone.id))
        )
        if region is not None:
            found = app.region_in(session, region)
            query = query.where(Milestone.region_id == found.id)
        if within is not None:
            query = query.where(Milestone.due_at <= within.add_to(now))
        rows = list(session.exec(query))
        history = _history(session, {ms.case_id for ms, _reg in rows})
        out: list[DeadlineJson] = []
        for ms, reg in rows:
            status = deadline_status(ms.status, ms.due_at, now)
            if status == MilestoneStatus.MET and within is not None and ms.due_at < now:
                continue
            case = session.get(Case, ms.case_id)
            assert case is not None
            definition = app.catalog.machine(session, case.workflow, case.workflow_version).definition
            spec = next((m for m in definition.milestones if m.name == ms.name), None)
            recurring = spec is not None and spec.every is not None
            moments = list(reminder_moments(spec, ms.due_at, app.config.reminder_time)) if spec else []
            out.append(deadline_row(
                ms, history[(ms.case_id, ms.name)], region=reg.slug, region_name=reg.name,
                workflow_title=definition.title, round_=case.round, state=case.state,
                state_label=definition.state_label(case.state), status=status,
                label=spec.label if spec else None, recurring=recurring, reminders=moments))
        return out


def _history(session: Session, case_ids: set[int]) -> dict[tuple[int, str], list[Milestone]]:
    """Every stored occurrence (retired ones too) of the milestones of `case_ids`, by case
    and milestone, in the order they were planned."""
    found: dict[tuple[int, str], list[Milestone]] = defaultdict(list)
    if not case_ids:
        return found
    for row in session.exec(
        select(Milestone).where(col(Milestone.case_id).in_(case_ids))
        .order_by(col(Milestone.case_id), col(Milestone.name), col(Milestone.occurrence))
    ):
        found[(row.case_id, row.name)].append(row)
    return found
