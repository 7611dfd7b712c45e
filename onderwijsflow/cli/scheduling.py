"""Commands on time: scheduler tick/run/status/resend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import emit_json, esc, json_option, say, table
from onderwijsflow.i18n import N_, _, label_for, ngettext

if TYPE_CHECKING:  # the scheduler is imported when a command runs, not for --help
    from onderwijsflow.scheduler.tick import Scheduler


#: How a person reads the status of a delivery (`scheduler status`; the codes stay in JSON).
DELIVERY_LABELS: dict[str, str] = {
    "pending": N_("waiting"),
    "claimed": N_("claimed by a worker"),
    "sending": N_("being sent"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "unknown": N_("uncertain"),
}


def delivery_label(status: str) -> str:
    """A delivery's status as a person reads it."""
    return label_for(DELIVERY_LABELS, status)


@click.group()
def scheduler() -> None:
    """Reminders and deadline actions: one pass, the worker, and deliveries."""


def _scheduler(settings: Settings) -> Scheduler:
    from onderwijsflow.scheduler.tick import Scheduler

    return Scheduler(settings.app)


@scheduler.command("tick")
@json_option
@pass_settings
def tick(settings: Settings, as_json: bool) -> None:
    """One pass: send due reminders, act on passed deadlines, deliver the outbox."""
    report = _scheduler(settings).tick()
    if as_json:
        emit_json(report.as_dict())
        return
    say(ngettext(
        "{queued} reminder queued, {skipped} skipped (coalesced), {overdue} overdue, "
        "{sent} delivered, {retrying} to retry, {failed} failed, {unknown} uncertain",
        "{queued} reminders queued, {skipped} skipped (coalesced), {overdue} overdue, "
        "{sent} delivered, {retrying} to retry, {failed} failed, {unknown} uncertain",
        report.queued).format(
            queued=report.queued, skipped=report.skipped, overdue=report.overdue,
            sent=report.sent, retrying=report.retrying, failed=report.failed,
            unknown=report.unknown))
    if report.escalated:
        say("  " + ngettext("{n} failed or uncertain delivery reported to the operators",
                            "{n} failed or uncertain deliveries reported to the operators",
                            report.escalated).format(n=report.escalated))
    if report.anchors:
        say("  " + _("today's audit anchor queued for the auditors"))
    if report.anchor_problem:
        say("  " + _("no audit anchor mailed: {problem}").format(problem=report.anchor_problem))
    for moved in report.transitions:
        say("  " + _("moved by the scheduler: {move}").format(move=moved))
    no_address = esc(_("no e-mail address:"))
    for missing in report.missing:
        say(f"  [yellow]{no_address}[/yellow] {esc(missing)}", markup=True)


@scheduler.command("run")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between passes (earlier when something falls due sooner).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines as text, or as one JSON object per line (journald, ELK).")
@pass_settings
def run(settings: Settings, interval: float, log_format: str) -> None:
    """The long-running worker; stops cleanly on SIGTERM or Ctrl-C."""
    from onderwijsflow.scheduler.worker import Worker, configure_logging

    configure_logging(log_format)
    Worker(_scheduler(settings), interval=interval).run_forever()


@scheduler.command("status")
@json_option
@pass_settings
def status(settings: Settings, as_json: bool) -> None:
    """Pending reminders, and pending, failed and uncertain deliveries."""
    result = _scheduler(settings).status()
    if as_json:
        emit_json(result)
        return
    pending = result["reminders_pending"]
    say(ngettext("{n} reminder pending", "{n} reminders pending", pending).format(n=pending))
    counts = {status: n for status, n in result["counts"].items() if n}
    if counts:  # the labels the table uses, so that the figures read as the rows do
        say(", ".join(f"{delivery_label(status)}: {n}" for status, n in counts.items()))
    if result["operators"]:
        say(_("reported to the operators: {escalated}; not yet: {not_escalated}").format(
            escalated=result["escalated"], not_escalated=result["not_escalated"]))
    table(_("Deliveries needing attention"),
          [_("id"), _("status"), _("region"), _("channel"), _("subject"), _("attempts"),
           _("error")],
          [(d["id"], delivery_label(d["status"]), d["region"] or "-", d["channel"], d["subject"],
            d["attempts"], d["error"]) for d in result["deliveries"]],
          empty=_("No deliveries need attention."))


@scheduler.command("resend")
@click.argument("delivery_id", metavar="ID", type=int)
@json_option
@pass_settings
def resend(settings: Settings, delivery_id: int, as_json: bool) -> None:
    """Deliberately send delivery ID (unknown or failed) again at the next pass."""
    result = _scheduler(settings).resend(delivery_id)
    if as_json:
        emit_json(result)
    else:
        say(_("delivery {id} ({previous}) queued again").format(
            id=delivery_id, previous=delivery_label(result["previous"])))



@click.command()
@click.option("--within", metavar="DURATION", help="Only milestones due within this ISO duration (P4W).")
@click.option("--region", metavar="SLUG", help="Only this region's milestones.")
@click.option("--ics", "ics_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write an iCalendar file (one event per milestone, alarms at reminders).")
@json_option
@pass_settings
def deadlines(settings: Settings, within: str | None, region: str | None, ics_file: str | None,
              as_json: bool) -> None:
    """Coming and overdue milestones; iCalendar export."""
    from onderwijsflow.clock import wall_clock
    from onderwijsflow.deadline_rules import status_label
    from onderwijsflow.definition.durations import Duration
    from onderwijsflow.errors import UsageError
    from onderwijsflow.lean.deadlines import read_deadlines
    from onderwijsflow.lean.reader import lean_read

    try:
        span = Duration.parse(within) if within else None
    except ValueError as err:
        raise UsageError(f"--within: {err}") from None
    # The lean path (sqlite3, no ORM) when it can: it runs on the wall clock, as the full
    # path does without --now (with --now, the application's clock and the full path).
    lean = lean_read(settings.options, lambda reader: read_deadlines(
        reader, parse=Duration.parse, within=span, region=region))
    if lean is not None:
        rows, now = lean[0], wall_clock
    else:
        from onderwijsflow.scheduler.deadlines import deadlines as list_deadlines

        rows, now = list_deadlines(settings.app, within=span, region=region), settings.app.now
    written = 0
    if ics_file:
        from pathlib import Path

        from onderwijsflow.scheduler.ical import events, to_ics

        target = Path(ics_file)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(to_ics(rows, stamp=now()))
        tmp.replace(target)
        written = len(events(rows))
    if as_json:
        emit_json({"deadlines": rows})
        return
    from onderwijsflow.cli.output import short_time

    table(_("Deadlines"), [_("due"), _("status"), _("region"), _("workflow"), _("milestone")],
          [(short_time(r["due"]), status_label(r["status"]), r["region_name"], _workflow(r),
            r["label"]) for r in rows],
          empty=_("No deadlines within {within}.").format(within=within) if within
          else _("No deadlines."))
    if ics_file:
        say(ngettext("wrote {n} event to {file}", "wrote {n} events to {file}", written)
            .format(n=written, file=ics_file))


def _workflow(row: Mapping[str, Any]) -> str:
    """The workflow's title, with the round when the case has one."""
    if row["round"]:
        return _("{workflow} ({round})").format(workflow=row["workflow_title"], round=row["round"])
    return str(row["workflow_title"])


COMMANDS = [scheduler, deadlines]
