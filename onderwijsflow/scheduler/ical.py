"""iCalendar export of milestones, so a coordinator can subscribe from Outlook.

What keeps a subscribed or re-imported calendar right (RFC 5545):

- a UID from the region, workflow, round and milestone (see `scheduler.deadlines`), the same
  in every database, so a re-export updates the event instead of duplicating it;
- SEQUENCE and LAST-MODIFIED from the milestone's stored history: they go up when the due
  moment moves; DTSTAMP is the moment of the export;
- a due date without a time of day (see `deadlines.all_day`) is an all-day event
  (``DTSTART;VALUE=DATE``, DTEND the next day); a due moment with a time is a one-hour
  event in UTC (every client shows it in its own time zone; no VTIMEZONE to get wrong:
  Outlook reads the RDATE lists a generated Europe/Amsterdam VTIMEZONE has poorly);
- an alarm at each moment the scheduler sends an e-mail reminder (09:00 local, on the day the
  scheduler computes), as an absolute ``TRIGGER;VALUE=DATE-TIME``, soonest first; alarms that
  already went off and alarms of a milestone that is no longer upcoming are left out;
- the text in the reader's language: labels, never slugs or status codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, cast

from onderwijsflow import i18n
from onderwijsflow.clock import LOCAL, to_local
from onderwijsflow.deadline_rules import UID_DOMAIN, end_of_day, status_label
from onderwijsflow.i18n import _

PRODID = "-//onderwijsflow//deadlines//NL"
#: How long a timed deadline occupies the calendar.
TIMED_LENGTH = dt.timedelta(hours=1)


def events(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows that become events: one per UID, the latest version of each (a one-off
    milestone whose case entered its state again has an older, closed occurrence too)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        kept = latest.get(row["uid"])
        if kept is None or row["occurrence"] > kept["occurrence"]:
            latest[row["uid"]] = row
    return sorted(latest.values(), key=lambda r: (r["due_utc"], r["uid"]))


def to_ics(rows: Sequence[Mapping[str, Any]], *, stamp: dt.datetime) -> bytes:
    """An iCalendar document of `rows` (from `scheduler.deadlines.deadlines`).

    Args:
        stamp: the moment of the export (the application's clock): DTSTAMP, and the moment
            before which alarms have gone off already.
    """
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("onderwijsflow deadlines"))
    cal.add("x-wr-timezone", str(LOCAL))
    cal.add("uid", f"deadlines@{UID_DOMAIN}")  # stable: a re-export updates the subscription
    for row in events(rows):
        due = dt.datetime.fromisoformat(row["due_utc"])
        summary = _("{milestone} — {region}").format(milestone=row["label"],
                                                     region=row["region_name"])
        event = Event()
        event.add("uid", row["uid"])
        event.add("dtstamp", stamp)
        event.add("sequence", row["sequence"])
        event.add("last-modified", dt.datetime.fromisoformat(row["last_modified"]))
        event.add("summary", summary)
        if row["all_day"]:
            day = to_local(due).date()
            event.add("dtstart", day)
            event.add("dtend", day + dt.timedelta(days=1))
        else:
            event.add("dtstart", due.astimezone(dt.UTC))
            event.add("dtend", due.astimezone(dt.UTC) + TIMED_LENGTH)
        event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
        event.add("description", description(row, due))
        event.add("categories", [row["workflow_title"]])
        if row["status"] == "upcoming":
            moments = sorted(dt.datetime.fromisoformat(m) for m in row["reminders_at"])
            for moment in (m for m in moments if m >= stamp):
                alarm = Alarm()
                alarm.add("action", "DISPLAY")
                alarm.add("description", _("Reminder: {summary}, due {moment}").format(
                    summary=summary, moment=_due_text(due)))
                # VALUE=DATE-TIME said explicitly: without it a reader expects a duration.
                alarm.add("trigger", moment.astimezone(dt.UTC),
                          parameters={"VALUE": "DATE-TIME"})
                event.add_component(alarm)
        cal.add_component(event)
    return cast(bytes, cal.to_ical())  # icalendar's to_ical() is unannotated


def description(row: Mapping[str, Any], due: dt.datetime) -> str:
    """The event's text: region, workflow and round, the case's state, milestone, due moment."""
    if row["round"]:
        workflow = _("{workflow}, round {round}").format(workflow=row["workflow_title"],
                                                         round=row["round"])
    else:
        workflow = row["workflow_title"]
    lines = [
        _("Region: {name} ({slug})").format(name=row["region_name"], slug=row["region"]),
        _("Workflow: {workflow}").format(workflow=workflow),
        _("Current state: {state}").format(state=row["state_label"]),
        _("Milestone: {label} ({status})").format(label=row["label"],
                                                  status=status_label(row["status"])),
        _("Due: {moment}").format(moment=_due_text(due)),
    ]
    return "\n".join(lines)


def _due_text(due: dt.datetime) -> str:
    if end_of_day(due):
        return _("{day}, end of the day").format(day=i18n.format_date(to_local(due).date()))
    return i18n.format_datetime(due)
