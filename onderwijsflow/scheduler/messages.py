"""The text of reminders and overdue notices: Dutch, plain, and useful.

A reminder that only repeats a date is easy to ignore; this one also says what the case
still misses for its next step, from the same requirement evaluation the engine uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from onderwijsflow.clock import to_local
from onderwijsflow.engine.machine import TriggerReadiness

_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december")


@dataclass(frozen=True)
class Notice:
    """What a message is about, before it is addressed to anyone."""

    kind: str  # "reminder" or "overdue"
    region_name: str
    region_slug: str
    workflow: str
    milestone_label: str
    due_at: dt.datetime
    now: dt.datetime
    state_label: str
    next_steps: tuple[TriggerReadiness, ...] = ()


def dutch_moment(moment: dt.datetime) -> str:
    """``dinsdag 15 oktober 2024, 16:00`` in Europe/Amsterdam."""
    local = to_local(moment)
    text = f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}"
    if (local.hour, local.minute) == (23, 59):
        return f"{text}, einde van de dag"
    return f"{text}, {local:%H:%M}"


def days_left(due_at: dt.datetime, now: dt.datetime) -> int:
    """Calendar days from today to the due date, both local."""
    return (to_local(due_at).date() - to_local(now).date()).days


def subject(notice: Notice) -> str:
    """The subject line."""
    if notice.kind == "overdue":
        return f"Verlopen: {notice.milestone_label} – {notice.region_name}"
    left = days_left(notice.due_at, notice.now)
    when = "vandaag" if left == 0 else "morgen" if left == 1 else f"over {left} dagen"
    return f"Herinnering: {notice.milestone_label} {when} – {notice.region_name}"


def body(notice: Notice) -> str:
    """The plain-text body."""
    left = days_left(notice.due_at, notice.now)
    lines = [
        "Beste betrokkene,",
        "",
        f"Onderwijsregio: {notice.region_name} ({notice.region_slug})",
        f"Traject: {notice.workflow}, huidige status: {notice.state_label}",
        f"Mijlpaal: {notice.milestone_label}",
        f"Uiterste moment: {dutch_moment(notice.due_at)}",
    ]
    if notice.kind == "overdue":
        lines.append("Deze termijn is verstreken.")
    else:
        lines.append(f"Nog {left} dag{'en' if left != 1 else ''} te gaan.")
    lines += ["", *_missing(notice.next_steps), "", "Met vriendelijke groet,", "onderwijsflow"]
    return "\n".join(lines) + "\n"


def _missing(steps: tuple[TriggerReadiness, ...]) -> list[str]:
    if not steps:
        return ["Er is geen volgende stap vanuit deze status."]
    lines = []
    for step in steps:
        label = step.label
        if step.allowed:
            lines.append(f"Volgende stap '{label}': alle voorwaarden zijn vervuld.")
            continue
        lines.append(f"Volgende stap '{label}': nog niet mogelijk. Wat ontbreekt:")
        lines += [f"  - {r.label}: {r.detail}" for r in step.unmet]
    return lines
