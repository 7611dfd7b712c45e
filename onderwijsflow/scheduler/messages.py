"""The text of reminders and overdue notices: plain, useful, in the reader's language.

A reminder that only repeats a date is easy to ignore; this one also says what the case
still misses for its next step, from the same requirement evaluation the engine uses.
The text is written in the current language (`onderwijsflow.i18n.current`: ``--lang``,
``ONDERWIJSFLOW_LANG`` or the configuration's ``language:``, Dutch by default) when the
scheduler queues the message; the labels of workflows, states and milestones are shown as
the workflow files write them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from onderwijsflow import i18n
from onderwijsflow.clock import to_local
from onderwijsflow.engine.machine import TriggerReadiness
from onderwijsflow.i18n import _, ngettext
from onderwijsflow.store.statuses import DeliveryStatus


@dataclass(frozen=True)
class Notice:
    """What a message is about, before it is addressed to anyone.

    `workflow` is the workflow's slug and `workflow_title` its title (the slug when empty);
    `round` the case's round, if any. `team` and `signature` sign the message (the
    configuration's ``notify.team`` and ``notify.signature``).
    """

    kind: str  # "reminder" or "overdue"
    region_name: str
    region_slug: str
    workflow: str
    milestone_label: str
    due_at: dt.datetime
    now: dt.datetime
    state_label: str
    next_steps: tuple[TriggerReadiness, ...] = ()
    workflow_title: str = ""
    round: str = ""
    team: str = ""
    signature: str | None = None


def due_moment(moment: dt.datetime) -> str:
    """``dinsdag 15 oktober 2024, 16:00`` in Europe/Amsterdam; the end of a day as such."""
    local = to_local(moment)
    if (local.hour, local.minute) == (23, 59):
        return _("{day}, end of the day").format(day=i18n.format_date(local.date()))
    return i18n.format_datetime(moment)


def days_left(due_at: dt.datetime, now: dt.datetime) -> int:
    """Calendar days from today to the due date, both local."""
    return (to_local(due_at).date() - to_local(now).date()).days


def when(days: int) -> str:
    """How long until the due day, in words: "vandaag", "morgen", "over 14 dagen"."""
    if days == 0:
        return _("today")
    if days == 1:
        return _("tomorrow")
    return _in_days(days, i18n.locale())


@lru_cache(maxsize=512)
def _in_days(days: int, cldr: str) -> str:
    """"over 14 dagen" (Babel's words: some 35 µs, for the same few numbers of days)."""
    from babel.dates import format_timedelta

    # Days, never "in 1 month" for 32 days: the reader counts in days to a deadline.
    return format_timedelta(dt.timedelta(days=days), granularity="day", threshold=10**9,
                            add_direction=True, locale=cldr)


def workflow_name(notice: Notice) -> str:
    """The workflow's title, with the round: "Subsidietraject onderwijsregio, ronde 2025"."""
    title = notice.workflow_title or notice.workflow
    if not notice.round:
        return title
    return _("{workflow}, round {round}").format(workflow=title, round=notice.round)


def subject(notice: Notice) -> str:
    """The subject line."""
    if notice.kind == "overdue":
        return _("Overdue: {milestone} – {region}").format(
            milestone=notice.milestone_label, region=notice.region_name)
    return _("Reminder: {milestone} {when} – {region}").format(
        milestone=notice.milestone_label, when=when(days_left(notice.due_at, notice.now)),
        region=notice.region_name)


def body(notice: Notice) -> str:
    """The plain-text body."""
    left = days_left(notice.due_at, notice.now)
    if notice.kind == "overdue":
        opening = _("The milestone '{milestone}' of {region} was not met in time.")
    else:
        opening = _("The milestone '{milestone}' of {region} is due {when}.")
    lines = [
        _("Dear colleague,"),
        "",
        opening.format(milestone=notice.milestone_label, region=notice.region_name,
                       when=when(left)),
        "",
        _("Region: {region} ({slug})").format(region=notice.region_name, slug=notice.region_slug),
        _("Workflow: {workflow}").format(workflow=workflow_name(notice)),
        _("Current state: {state}").format(state=notice.state_label),
        _("Milestone: {milestone}").format(milestone=notice.milestone_label),
        _("Due: {moment}").format(moment=due_moment(notice.due_at)),
    ]
    if notice.kind == "overdue":
        lines.append(_("This deadline has passed."))
    else:
        lines.append(ngettext("{n} day to go.", "{n} days to go.", left).format(n=left))
    lines += ["", *_missing(notice.next_steps), "", _("Kind regards,")]
    if notice.team:
        lines.append(notice.team)
    if notice.signature:
        lines += notice.signature.splitlines()
    lines += ["", _("This message was sent automatically by onderwijsflow.")]
    return "\n".join(lines) + "\n"


def _missing(steps: tuple[TriggerReadiness, ...]) -> list[str]:
    if not steps:
        return [_("There is no next step from this state.")]
    lines = []
    for step in steps:
        if step.allowed:
            lines.append(_("Next step '{step}': all requirements are met.").format(step=step.label))
            continue
        lines.append(_("Next step '{step}': not yet possible. What is missing:")
                     .format(step=step.label))
        lines += [f"  - {r.label}: {r.detail}" for r in step.unmet]
    return lines


# --- to the operators and the auditors ---------------------------------------------------------

def alert(rows: list[dict[str, Any]], *, database: str, now: dt.datetime) -> tuple[str, str]:
    """Subject and body of the alert to the operators about deliveries that ended badly.

    Each of `rows` is an outbox row (``id``, ``status``, ``channel``, ``subject``,
    ``recipients``, ``error``) with its region's slug in ``region`` (None for none).
    """
    subject_line = ngettext(
        "onderwijsflow: {n} delivery failed or uncertain",
        "onderwijsflow: {n} deliveries failed or uncertain", len(rows)).format(n=len(rows))
    lines = [
        ngettext("{n} message of onderwijsflow ({database}) did not certainly reach its "
                 "recipients ({moment}):",
                 "{n} messages of onderwijsflow ({database}) did not certainly reach their "
                 "recipients ({moment}):", len(rows)).format(
            n=len(rows), database=database, moment=i18n.format_datetime(now)),
        "",
    ]
    for row in rows:
        status = _("failed") if row["status"] == DeliveryStatus.FAILED else _("uncertain")
        lines.append(_("- delivery {id} ({status}), region {region}, via {channel}: {subject}").format(
            id=row["id"], status=status, region=row.get("region") or "-", channel=row["channel"],
            subject=row["subject"]))
        lines.append("    " + _("to: {recipients}").format(
            recipients=", ".join(row["recipients"]) or "-"))
        if row.get("error"):
            lines.append("    " + _("reason: {error}").format(error=row["error"]))
    lines += [
        "",
        _("An uncertain message may have arrived: check with its recipients before sending it "
          "again. See 'onderwijsflow scheduler status'; 'onderwijsflow scheduler resend ID' "
          "sends one again."),
        "",
        _("This message was sent automatically by onderwijsflow."),
    ]
    return subject_line, "\n".join(lines) + "\n"


def anchor(document: dict[str, Any], *, day: dt.date) -> tuple[str, str]:
    """Subject and body of the daily audit anchor mail (the anchor itself is attached)."""
    subject_line = _("onderwijsflow audit anchor of {day}").format(day=i18n.format_date(day))
    lines = [
        _("The attached file is the audit anchor of {database}, taken {taken}: the head of "
          "every region's audit chain ({regions} regions, {events} events).").format(
            database=document.get("database", "-"), taken=document.get("taken_at", "-"),
            regions=document.get("regions", 0), events=document.get("events", 0)),
        "",
        _("Root: {root}").format(root=document.get("root", "-")),
        "",
        _("Keep it outside the database. To check the log against it later:"),
        "  onderwijsflow audit verify --anchor FILE",
        "",
        _("This message was sent automatically by onderwijsflow."),
    ]
    return subject_line, "\n".join(lines) + "\n"
