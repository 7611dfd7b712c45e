"""Commands on the audit log."""

from __future__ import annotations

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import emit_json, json_option, say
from onderwijsflow.i18n import _, ngettext


@click.group()
def audit() -> None:
    """Prove the audit log has not been altered."""


@audit.command("verify")
@click.argument("slug", required=False)
@json_option
@pass_settings
def verify(settings: Settings, slug: str | None, as_json: bool) -> None:
    """Verify the hash chain of every region (or of SLUG); names the first broken event."""
    from onderwijsflow.errors import IntegrityError

    report = settings.app.verify_audit(slug)
    if as_json:
        emit_json(report)
    elif report["ok"]:
        events, regions = report["events"], report["regions"]
        say(_("audit log intact: {events} in {regions}").format(
            events=ngettext("{n} event", "{n} events", events).format(n=events),
            regions=ngettext("{n} region", "{n} regions", regions).format(n=regions)))
    if not report["ok"]:
        first = report["broken"][0]
        raise IntegrityError(
            _("audit log broken at event {seq} of region '{region}': {reason}").format(
                seq=first["seq"], region=first["region"], reason=first["reason"])
        )


COMMANDS = [audit]
