"""Commands on time: scheduler tick/run/status/resend."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import emit_json, esc, json_option, say, table

if TYPE_CHECKING:  # the scheduler is imported when a command runs, not for --help
    from onderwijsflow.scheduler.tick import Scheduler


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
    say(f"{report.queued} reminder(s) queued, {report.skipped} skipped (coalesced), "
        f"{report.overdue} overdue, {report.sent} delivered, {report.retrying} to retry, "
        f"{report.failed} failed, {report.unknown} uncertain")
    for moved in report.transitions:
        say(f"  moved by the scheduler: {moved}")
    for missing in report.missing:
        say(f"  [yellow]no e-mail address:[/yellow] {esc(missing)}", markup=True)


@scheduler.command("run")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between passes (earlier when something falls due sooner).")
@pass_settings
def run(settings: Settings, interval: float) -> None:
    """The long-running worker; stops cleanly on SIGTERM or Ctrl-C."""
    import logging

    from onderwijsflow.scheduler.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    say(f"{result['reminders_pending']} reminder(s) pending")
    table("Deliveries needing attention", ["id", "status", "region", "channel", "subject",
                                           "attempts", "error"],
          [(d["id"], d["status"], d["region"], d["channel"], d["subject"], d["attempts"],
            d["error"]) for d in result["deliveries"]],
          empty="No deliveries need attention.")


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
        say(f"delivery {delivery_id} ({result['previous']}) queued again")



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
    from onderwijsflow.definition.durations import Duration
    from onderwijsflow.errors import UsageError
    from onderwijsflow.scheduler.deadlines import deadlines as list_deadlines

    try:
        span = Duration.parse(within) if within else None
    except ValueError as err:
        raise UsageError(f"--within: {err}") from None
    rows = list_deadlines(settings.app, within=span, region=region)
    if ics_file:
        from pathlib import Path

        from onderwijsflow.scheduler.ical import to_ics

        target = Path(ics_file)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(to_ics(rows))
        tmp.replace(target)
    if as_json:
        emit_json({"deadlines": rows})
        return
    from onderwijsflow.cli.output import short_time

    table("Deadlines", ["due", "status", "region", "workflow", "milestone"],
          [(short_time(r["due"]), r["status"], r["region"], r["workflow"], r["label"]) for r in rows],
          empty="No deadlines" + (f" within {within}" if within else "") + ".")
    if ics_file:
        say(f"wrote {len(rows)} events to {ics_file}")


COMMANDS = [scheduler, deadlines]
