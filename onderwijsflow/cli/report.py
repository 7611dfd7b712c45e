"""The ``report`` command: the national picture in a terminal table, Markdown, CSV, JSON or HTML."""

from __future__ import annotations

from typing import Any

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import json_option

#: As :data:`onderwijsflow.reporting.render.FORMATS` (not imported here, to keep start-up cheap).
FORMATS = ["table", "md", "csv", "json", "html"]


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="table (terminal, the default), md, csv, json or html (a self-contained page).")
@click.option("--weeks", default=6, show_default=True, type=click.IntRange(min=0),
              help="Milestones due within this many weeks count as upcoming.")
@click.option("--output", metavar="FILE", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of stdout.")
@json_option
@pass_settings
def report(settings: Settings, fmt: str | None, weeks: int, output: str | None, as_json: bool) -> None:
    """The national picture: regions per state, blocking requirements, deadlines, gaps.

    --json is --format json: one JSON document on stdout. With --output FILE the chosen
    format goes to FILE, and --json still prints the report as JSON on stdout.
    """
    from onderwijsflow.errors import UsageError

    if as_json and output is None and fmt not in (None, "json"):
        raise UsageError(f"--json prints JSON on stdout; write --format {fmt} to a file with --output")
    fmt = fmt or ("json" if as_json else "table")
    from onderwijsflow.reporting.national import national_report
    from onderwijsflow.reporting.render import render

    data = national_report(settings.app, weeks=weeks)
    if output is not None:
        _write(output, render(data, fmt), bom=fmt == "csv")
    if as_json:
        from onderwijsflow.cli.output import emit_json

        emit_json(data)
    elif output is not None:
        click.echo(f"wrote the {fmt} report to {output}", err=True)
    elif fmt == "table":
        _print_tables(data)
    else:
        click.echo(render(data, fmt), nl=False)


def _write(path: str, text: str, *, bom: bool) -> None:
    """Write `text` to `path` in one step (a temporary file, then a rename).

    A CSV file starts with a byte-order mark, so that Excel reads it as UTF-8.

    Raises:
        OnderwijsflowError: the file cannot be written (one sentence, exit 1).
    """
    from pathlib import Path

    from onderwijsflow.errors import OnderwijsflowError

    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
            handle.write(text)
        tmp.replace(target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise OnderwijsflowError(f"cannot write the report to {path}: {err.strerror or err}") from None


def _print_tables(data: dict[str, Any]) -> None:
    from onderwijsflow.cli.output import console
    from onderwijsflow.reporting.render import rich_renderables

    out = console()
    for renderable in rich_renderables(data):
        out.print(renderable)


COMMANDS = [report]
