"""Coming and overdue milestones (`deadlines`), read straight from the planned occurrences."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from onderwijsflow.clock import iso_local
from onderwijsflow.scheduler.planning import reminder_moments
from onderwijsflow.store.tables import Milestone, Region

if TYPE_CHECKING:
    from onderwijsflow.definition.durations import Duration
    from onderwijsflow.service import Onderwijsflow


def deadlines(
    app: Onderwijsflow, *, within: Duration | None = None, region: str | None = None
) -> list[dict[str, Any]]:
    """Milestones that are upcoming (within `within`, if given), overdue, or met.

    Returns:
        Rows with the keys of design §4 (`region, workflow, milestone, due, status`), plus
        `label`, `due_utc`, `reminders` (local moments) and `case_id`, soonest first.
    """
    now = app.now()
    with app._read() as session:
        query = (
            select(Milestone, Region)
            .join(Region, col(Region.id) == Milestone.region_id)
            .where(col(Milestone.status).in_(("pending", "overdue", "met")))
            .order_by(col(Milestone.due_at), col(Region.slug))
        )
        if region is not None:
            found = app._region(session, region)
            query = query.where(Milestone.region_id == found.id)
        if within is not None:
            query = query.where(Milestone.due_at <= within.add_to(now))
        rows = list(session.exec(query))
        out = []
        for ms, reg in rows:
            spec = _spec(app, session, ms)
            status = _status(ms, now)
            if status == "met" and within is not None and ms.due_at < now:
                continue
            out.append({
                "region": reg.slug,
                "region_name": reg.name,
                "workflow": ms.workflow,
                "milestone": ms.name,
                "label": (spec.label if spec else None) or ms.name,
                "due": iso_local(ms.due_at),
                "due_utc": ms.due_at.isoformat(),
                "status": status,
                "case_id": ms.case_id,
                "occurrence": ms.occurrence,
                "reminders": [o for o, _ in reminder_moments(spec, ms.due_at, app.config.reminder_time)]
                if spec else [],
            })
        return out


def _status(ms: Milestone, now: dt.datetime) -> str:
    if ms.status == "pending":
        return "overdue" if ms.due_at < now else "upcoming"
    return ms.status


def _spec(app: Onderwijsflow, session: Any, ms: Milestone) -> Any:
    from onderwijsflow.store.tables import Case

    case = session.get(Case, ms.case_id)
    machine = app.catalog.machine(session, case.workflow, case.workflow_version)
    return next((m for m in machine.definition.milestones if m.name == ms.name), None)
