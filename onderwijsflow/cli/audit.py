"""Commands on the audit log."""

from __future__ import annotations

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import emit_json, json_option, say


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
        say(f"audit log intact: {report['events']} events in {report['regions']} regions")
    if not report["ok"]:
        first = report["broken"][0]
        raise IntegrityError(
            f"audit log broken at event {first['seq']} of region '{first['region']}': "
            f"{first['reason']}"
        )


COMMANDS = [audit]
