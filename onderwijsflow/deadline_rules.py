"""The rules of deadlines that need neither the ORM nor the workflow language.

Working days (Algemene termijnenwet), when reminders go out, and how a calendar knows a
deadline (its UID, sequence and last change) and shows it (status, all-day): pure code over
dates and plain rows, shared by the engine, the service's planning, the `deadlines` command
on both its paths and the calendar export, so that each rule is written once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Protocol

from onderwijsflow.clock import iso_local, local_moment, to_local
from onderwijsflow.i18n import N_, label_for
from onderwijsflow.shapes import DeadlineJson
from onderwijsflow.store.statuses import MilestoneStatus

__all__ = ["STATUS_LABELS", "UID_DOMAIN", "Occurrence", "Offset", "Reminding", "all_day",
           "deadline_row", "deadline_status", "end_of_day", "is_working_day", "lineage", "next_working_day",
           "previous_working_day", "reminder_moments", "status_label", "uid"]

#: The host part of every event UID: the same in every database, so a copy keeps its UIDs.
UID_DOMAIN = "onderwijsflow"

#: How a person reads the `status` codes of a deadline (the codes stay in JSON).
STATUS_LABELS: dict[str, str] = {
    "upcoming": N_("upcoming"),
    "overdue": N_("overdue"),
    "met": N_("met"),
}


# --- working days ------------------------------------------------------------------------------


#: The version of the rule below: part of the cached holidays' key, so a change here
#: is never answered from an old cache.
_HOLIDAY_RULE = "termijnenwet-1"


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[dt.date]:
    """The *algemeen erkende feestdagen* of the Algemene termijnenwet (art. 3) in `year`.

    The `holidays` package lists Dutch public holidays, but has Bevrijdingsdag only in
    lustrum years (2025, 2030); the termijnenwet counts the fifth of May every year and
    puts Good Friday on a par with the holidays (art. 3(2)).

    Asking `holidays` for a country imports every country it knows (about 80 ms, the
    largest part of a first deadline computation), so a year's days are kept in the user's
    cache, keyed by the source of the package's Dutch calendar and its version: a new
    `holidays` release is asked again.
    """
    from onderwijsflow.textcache import cached_parse

    return frozenset(cached_parse(_holiday_source(year), lambda _source: _dutch_holidays(year)))


def _holiday_source(year: int) -> str:
    """What decides a year's holidays: the year, this rule and `holidays`' Dutch calendar."""
    import importlib.util
    from pathlib import Path

    parts = [f"{_HOLIDAY_RULE} NL {year}"]
    spec = importlib.util.find_spec("holidays")  # a top-level package: found, not imported
    if spec is not None and spec.submodule_search_locations:
        package = Path(next(iter(spec.submodule_search_locations)))
        for name in ("version.py", "countries/netherlands.py"):
            try:
                parts.append((package / name).read_text(encoding="utf-8"))
            except OSError:
                parts.append(f"{name} unreadable")
    return "\n".join(parts)


def _dutch_holidays(year: int) -> list[dt.date]:
    """The days of `_holidays`, worked out by `holidays` (sorted, to be kept as JSON)."""
    import holidays
    from dateutil.easter import easter

    days = set(holidays.country_holidays("NL", years=year, language="nl"))
    days.add(dt.date(year, 5, 5))
    days.add(easter(year) - dt.timedelta(days=2))
    return sorted(days)


def is_working_day(day: dt.date) -> bool:
    """Not a Saturday, Sunday or public holiday in the sense of the Algemene termijnenwet."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_working_day(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def previous_working_day(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, else the last working day before it."""
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


# --- reminders ---------------------------------------------------------------------------------


class Offset(Protocol):
    """A reminder's offset: `definition.durations.Duration`."""

    @property
    def text(self) -> str: ...

    def before(self, moment: dt.datetime | dt.date) -> dt.datetime | dt.date: ...


class Reminding(Protocol):
    """What the reminders of a milestone depend on (a `MilestoneDef`, or its parts)."""

    @property
    def remind(self) -> Sequence[Offset]: ...

    @property
    def termijnenwet(self) -> bool: ...


def reminder_moments(spec: Reminding, due: dt.datetime,
                     reminder_time: dt.time) -> Iterator[tuple[str, dt.datetime]]:
    """(offset, moment) per `remind:` offset: `reminder_time` local on the day the offset
    lies before the due date; under the termijnenwet a non-working day moves back."""
    due_day = to_local(due).date()
    for offset in spec.remind:
        day = offset.before(due_day)
        assert isinstance(day, dt.date)
        if spec.termijnenwet:
            day = previous_working_day(day)
        yield offset.text, local_moment(day, reminder_time)


# --- how a calendar knows and shows a deadline ------------------------------------------------


def status_label(status: str) -> str:
    """A deadline's status as a person reads it, in the current language."""
    return label_for(STATUS_LABELS, status)


def deadline_status(status: str, due_at: dt.datetime, now: dt.datetime) -> str:
    """A stored milestone status as `deadlines` lists it: pending is upcoming or overdue."""
    if status == MilestoneStatus.PENDING:
        return "overdue" if due_at < now else "upcoming"
    return status


def all_day(due: dt.datetime) -> bool:
    """Does `due` name a day rather than a moment? A calendar shows such a milestone as an
    all-day event.

    A date without a time of day is the end of that day (`clock.END_OF_DAY`, 23:59:59 local);
    a workflow that writes ``time: "23:59"`` means the same (the e-mail reminder says "einde
    van de dag"), and ``time: "00:00"`` (the day something begins) names that day too.
    """
    local = to_local(due)
    return (local.hour, local.minute) in ((23, 59), (0, 0))


def end_of_day(due: dt.datetime) -> bool:
    """Is `due` the end of its day (23:59 local)?"""
    local = to_local(due)
    return (local.hour, local.minute) == (23, 59)


def uid(region: str, workflow: str, round_: str | None, milestone: str,
        occurrence: int | None) -> str:
    """``leiden.subsidie.2025.deadline_aanvraag@onderwijsflow`` (no round: left out; a
    recurring milestone adds its occurrence, ``....peilgesprek.3@onderwijsflow``)."""
    parts = [region, workflow, round_ or "", milestone, str(occurrence) if occurrence else ""]
    return ".".join(p for p in parts if p) + f"@{UID_DOMAIN}"


class Occurrence(Protocol):
    """A stored milestone row as :func:`lineage` and :func:`deadline_row` read it (an ORM
    `Milestone` or a tuple)."""

    @property
    def case_id(self) -> int: ...

    @property
    def workflow(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def occurrence(self) -> int: ...

    @property
    def due_at(self) -> dt.datetime: ...

    @property
    def planned_at(self) -> dt.datetime: ...

    @property
    def closed_at(self) -> dt.datetime | None: ...

    @property
    def opens_at(self) -> dt.datetime | None: ...


def lineage(rows: Sequence[Occurrence], ms: Occurrence,
            recurring: bool) -> tuple[int, int, dt.datetime]:
    """(occurrence, sequence, last modified) of `ms` as a calendar sees it.

    A one-off milestone is one calendar event whatever happened to it: every row of it is a
    version of that event. A recurring milestone is one event per occurrence; an occurrence
    is known by the start of its window (`opens_at`), which a move keeps while the row (and
    its `occurrence` number) is replaced, so it is counted by distinct windows.

    Args:
        rows: every stored occurrence of the milestone (retired ones too), in planned order.
    """
    def window(row: Occurrence) -> dt.datetime:
        return row.opens_at or row.planned_at

    if recurring:
        windows = sorted({window(r) for r in rows})
        ordinal = windows.index(window(ms)) + 1
        versions = [r for r in rows if window(r) == window(ms) and r.occurrence <= ms.occurrence]
    else:
        ordinal = 1
        versions = [r for r in rows if r.occurrence <= ms.occurrence]
    sequence = sum(1 for before, after in pairwise(versions) if after.due_at != before.due_at)
    modified = max([r.planned_at for r in versions] + [r.closed_at for r in versions if r.closed_at])
    return ordinal, sequence, modified


def deadline_row(ms: Occurrence, history: Sequence[Occurrence], *, region: str, region_name: str,
                 workflow_title: str, round_: str | None, state: str, state_label: str,
                 status: str, label: str | None, recurring: bool,
                 reminders: Sequence[tuple[str, dt.datetime]]) -> DeadlineJson:
    """One row of `deadlines` (design §4 and the calendar's fields) for the stored
    occurrence `ms`, `history` being every occurrence of its milestone (see :func:`lineage`)
    and `reminders` its (offset, moment) pairs."""
    ordinal, sequence, modified = lineage(history, ms, recurring)
    return {
        "region": region,
        "region_name": region_name,
        "workflow": ms.workflow,
        "workflow_title": workflow_title,
        "round": round_ or None,
        "state": state,
        "state_label": state_label,
        "milestone": ms.name,
        "label": label or ms.name,
        "due": iso_local(ms.due_at),
        "due_utc": ms.due_at.isoformat(),
        "all_day": all_day(ms.due_at),
        "status": status,
        "case_id": ms.case_id,
        "occurrence": ms.occurrence,
        "recurring": recurring,
        "reminders": [offset for offset, _moment in reminders],
        "reminders_at": [moment.isoformat() for _offset, moment in reminders],
        "uid": uid(region, ms.workflow, round_, ms.name, ordinal if recurring else None),
        "sequence": sequence,
        "last_modified": modified.isoformat(),
    }
