"""Commands on the audit log."""

from __future__ import annotations

from typing import Any

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import emit_json, json_option, say
from onderwijsflow.i18n import _, ngettext


@click.group()
def audit() -> None:
    """Prove the audit log has not been altered."""


@audit.command("verify")
@click.argument("slug", required=False)
@click.option("--anchor", "anchor_file", metavar="FILE",
              help="An anchor taken earlier (audit anchor): every region in it must still "
                   "exist and its chain extend the anchored head.")
@json_option
@pass_settings
def verify(settings: Settings, slug: str | None, anchor_file: str | None, as_json: bool) -> None:
    """Verify the hash chain of every region (or of SLUG), and that every case's state is
    the one its history leads to; names each problem."""
    from onderwijsflow.errors import IntegrityError
    from onderwijsflow.lean.reader import lean_read

    # The lean path (sqlite3, no ORM) proves an intact log; any problem, and an anchor, are
    # the full path's to name.
    lean = lean_read(settings.options, lambda reader: reader.verify_audit(slug)) \
        if anchor_file is None else None
    report = lean[0] if lean is not None else settings.app.verify_audit(slug, anchor=anchor_file)
    if as_json:
        emit_json(report)
    elif report["ok"]:
        events, regions = report["events"], report["regions"]
        say(_("audit log intact: {events} in {regions}").format(
            events=ngettext("{n} event", "{n} events", events).format(n=events),
            regions=ngettext("{n} region", "{n} regions", regions).format(n=regions)))
        if report["anchor"] is not None:
            say(_("every chain extends the anchor taken {taken_at} (root {root})").format(
                taken_at=_moment(report["anchor"]["taken_at"]), root=report["anchor"]["root"]))
    if not report["ok"]:
        problems: list[str] = report["problems"]
        if not as_json and len(problems) > 1:
            for problem in problems:
                say(f"- {problem}")
        raise IntegrityError(_first_problem(report) + (
            "" if len(problems) == 1 else ngettext(
                " ({n} more problem, listed above)", " ({n} more problems, listed above)",
                len(problems) - 1).format(n=len(problems) - 1)))


def _first_problem(report: dict[str, Any]) -> str:
    """The first problem as the error sentence (a broken chain as it always was)."""
    if report["broken"]:
        first = report["broken"][0]
        return _("audit log broken at event {seq} of region '{region}': {reason}").format(
            seq=first["seq"], region=first["region"], reason=first["reason"])
    return str(report["problems"][0])


@audit.command("anchor")
@click.option("--out", metavar="FILE",
              help="Also write the anchor to FILE (atomically), to keep outside the database.")
@json_option
@pass_settings
def anchor(settings: Settings, out: str | None, as_json: bool) -> None:
    """Print one root hash over the head of every region's chain, to keep elsewhere.

    Verifies the whole log first. Keep the anchor where the database's owner cannot change
    it (mail it to the auditor, commit it to a separate repository); `audit verify --anchor
    FILE` later proves that no region's log was cut short, rolled back or deleted.
    """
    document = settings.app.audit_anchor(out)
    if as_json:
        emit_json(document)
        return
    say(_("anchor {root}").format(root=document["root"]))
    events, regions = document["events"], document["regions"]
    say(_("taken {taken_at} over {events} in {regions}").format(
        taken_at=_moment(document["taken_at"]),
        events=ngettext("{n} event", "{n} events", events).format(n=events),
        regions=ngettext("{n} region", "{n} regions", regions).format(n=regions)))
    if out is not None:
        say(_("written to {path}; keep it outside the database").format(path=out))


def _moment(iso: str) -> str:
    """The time an anchor was taken, as a person reads it (its text if it is not ISO 8601)."""
    from datetime import datetime

    from onderwijsflow import i18n

    try:
        return i18n.format_datetime(datetime.fromisoformat(iso))
    except ValueError:
        return iso


COMMANDS = [audit]
