"""iCalendar export of milestones, so a coordinator can subscribe from Outlook.

Every event has a stable UID (milestone occurrence id and host), so a re-export updates
the subscribed calendar instead of duplicating it (engineering notes, icalendar 7).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from onderwijsflow.definition.durations import Duration

PRODID = "-//onderwijsflow//deadlines//NL"


def to_ics(rows: list[dict[str, Any]], *, domain: str = "onderwijsflow") -> bytes:
    """An iCalendar document with one event per milestone and an alarm per reminder offset."""
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "onderwijsflow deadlines")
    cal.add("x-wr-timezone", "Europe/Amsterdam")
    cal.add("uid", f"deadlines@{domain}")  # stable: a re-export updates the subscription
    for row in rows:
        due = dt.datetime.fromisoformat(row["due_utc"])
        event = Event()
        event.add("uid", f"milestone-{row['case_id']}-{row['milestone']}-{row['occurrence']}@{domain}")
        event.add("summary", f"{row['label']} – {row['region_name']}")
        event.add("dtstart", due)
        event.add("dtend", due)
        event.add("dtstamp", due)
        event.add("description", f"Onderwijsregio {row['region_name']} ({row['region']}), "
                                 f"traject {row['workflow']}, status: {row['status']}")
        event.add("categories", [row["workflow"]])
        for offset in row["reminders"]:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{row['label']} – {row['region_name']} ({offset} vooraf)")
            alarm.add("trigger", -_as_timedelta(offset, due))
            event.add_component(alarm)
        cal.add_component(event)
    return cast(bytes, cal.to_ical())  # icalendar's to_ical() is unannotated


def _as_timedelta(offset: str, due: dt.datetime) -> dt.timedelta:
    """An alarm trigger is a fixed duration; months become the calendar gap before `due`."""
    before = Duration.parse(offset).before(due)
    assert isinstance(before, dt.datetime)  # a datetime moved stays a datetime
    return due - before
