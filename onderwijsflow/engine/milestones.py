"""When a milestone falls due: pure date arithmetic over a case's parameters and history.

Rules (design §3): a date without a time is the end of that day, Europe/Amsterdam; with
`termijnenwet: true` a deadline on a Saturday, Sunday or Dutch public holiday moves to the
next working day (Algemene termijnenwet).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from onderwijsflow.clock import END_OF_DAY, LOCAL, local_moment, to_local
from onderwijsflow.deadline_rules import next_working_day
from onderwijsflow.definition.durations import Duration
from onderwijsflow.definition.model import DueDef, MilestoneDef


def due_moment(
    milestone: MilestoneDef,
    params: dict[str, Any],
    entered_at: datetime | None,
    decided_on: date | None = None,
) -> datetime | None:
    """The first due moment (UTC) of `milestone`, or None when it has no date yet.

    Args:
        params: the case's parameters (dates as `date` or ISO text).
        entered_at: when the case entered one of the milestone's `active_in` states;
            None when it is not in them (relative and recurring milestones then have no date).
        decided_on: the decision date of the move that entered the state, for
            ``due: {after: ..., from: decision}``: the period ends at the end of the day that
            lies the duration after the decision date (unless `time:` says otherwise).
    """
    due = milestone.due
    if milestone.every is not None:
        if entered_at is None:
            return None
        if isinstance(due, DueDef) and due.param is not None:
            return _anchored(milestone.every, params.get(due.param), due.time, entered_at)
        return add_local(milestone.every, entered_at)
    if isinstance(due, date):
        return _at(due, None, milestone.termijnenwet)
    if isinstance(due, DueDef) and due.param is not None:
        raw = params.get(due.param)
        if raw is None:
            return None
        day = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        return _at(day, due.time, milestone.termijnenwet)
    if isinstance(due, DueDef) and due.after is not None and due.from_ == "decision":
        if entered_at is None:
            return None
        # A case that entered its state before decisions were recorded (one migrated from an
        # older version) counts from the day it entered, as the older version did.
        day = due.after.add_to(decided_on or to_local(entered_at).date())
        assert isinstance(day, date)
        return _at(day, due.time, milestone.termijnenwet)
    if isinstance(due, DueDef) and due.after is not None and entered_at is not None:
        moment = add_local(due.after, entered_at)
        if due.time is not None or milestone.termijnenwet:
            local = to_local(moment)
            return _at(local.date(), due.time or local.time(), milestone.termijnenwet)
        return moment
    return None


def _anchored(every: Duration, raw: Any, at: Any, entered_at: datetime) -> datetime | None:
    """The first moment `every` after the anchor date `raw` (and its multiples) that lies
    after `entered_at`: a half-yearly check-in counted from the start of the activity
    period, whenever the case entered the state."""
    if raw is None:
        return None
    day = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    anchor = local_moment(day, at or END_OF_DAY)
    moment = add_local(every, anchor)
    for _ in range(10_000):  # a bound, not a limit anyone meets: 5,000 years of half-years
        if moment > entered_at:
            break
        moment = add_local(every, moment)
    return moment


def add_local(duration: Duration, moment: datetime) -> datetime:
    """`moment` plus `duration` on the Amsterdam calendar: six months after 1 March 00:30
    is 1 September 00:30 local, whatever summer time did in between."""
    local = to_local(moment).replace(tzinfo=None)
    shifted = duration.add_to(local)
    assert isinstance(shifted, datetime)
    return shifted.replace(tzinfo=LOCAL).astimezone(UTC)


def _at(day: date, at: Any, termijnenwet: bool) -> datetime:
    if termijnenwet:
        day = next_working_day(day)
    return local_moment(day, at or END_OF_DAY)
