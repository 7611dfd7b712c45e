"""The ``report`` command: the national picture as a terminal table, Markdown, CSV, JSON, HTML
or an Excel workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import json_option
from onderwijsflow.i18n import _

#: As :data:`onderwijsflow.reporting.render.FORMATS` plus ``FILE_FORMATS`` (not imported here,
#: to keep start-up cheap).
FORMATS = ["table", "md", "csv", "json", "html", "xlsx"]

#: As :data:`onderwijsflow.reporting.export.SECTIONS` and ``DIALECTS``.
SECTIONS = ["samenvatting", "statussen", "voorwaarden", "themas", "peilgesprekken", "verlopen",
            "komend", "zonder-coordinator", "zonder-projectleiding"]
DIALECTS = ["excel-nl", "excel"]

#: The base name of the CSV files when --out names a directory.
CSV_BASE = "overzicht"


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="table (terminal, the default), md, csv, json, html (a self-contained page) "
                   "or xlsx (an Excel workbook, one sheet per table; needs --out).")
@click.option("--within", metavar="DURATION", default=None,
              help="Milestones due within this ISO 8601 duration count as upcoming, as for "
                   "deadlines (P6W, P14D, P3M) [default: P6W].")
@click.option("--weeks", type=click.IntRange(min=0), default=None, hidden=True,
              help="Deprecated: --within PnW.")
@click.option("--out", "--output", "output", metavar="PATH", type=click.Path(),
              help="Write the report to PATH instead of stdout. CSV is one table per file: "
                   "--out DIR/ (an existing directory, or ending in /) writes DIR/overzicht-TABLE.csv, "
                   "--out NAME.csv writes NAME-TABLE.csv (NAME-samenvatting.csv, NAME-statussen.csv, "
                   "NAME-voorwaarden.csv, ...; TABLE as for --section), with --section the one file "
                   "PATH.")
@click.option("--section", type=click.Choice(SECTIONS), default=None,
              help="CSV: only this table. Without it and without --out, every table is printed in "
                   "turn: a row with its title, its header and rows, an empty line before the next.")
@click.option("--dialect", type=click.Choice(DIALECTS), default=None,
              help="CSV flavour: excel-nl (';' between cells, decimal comma; the default in "
                   "Dutch) or excel (',' and a decimal point; the default in English).")
@json_option
@pass_settings
def report(settings: Settings, fmt: str | None, within: str | None, weeks: int | None,
           output: str | None, section: str | None, dialect: str | None, as_json: bool) -> None:
    """The national picture: regions per state, blocking requirements, deadlines, gaps.

    --json is --format json: one JSON document on stdout. With --out PATH the chosen format
    goes to PATH, and --json still prints the report as JSON on stdout. CSV files start with a
    byte-order mark so that Excel reads them as UTF-8; text that a spreadsheet would take for a
    formula is written with a leading quote.
    """
    from onderwijsflow.errors import UsageError

    if as_json and output is None and fmt not in (None, "json"):
        raise UsageError(_("--json prints JSON on stdout; write --format {format} to a file with --out")
                         .format(format=fmt))
    fmt = fmt or ("json" if as_json else "table")
    if fmt == "xlsx" and output is None:
        raise UsageError(_("--format xlsx writes a workbook: name the file with --out FILE.xlsx"))
    if section is not None and fmt != "csv":
        raise UsageError(_("--section chooses one table of --format csv"))
    span = _within(within, weeks)
    from onderwijsflow.reporting.national import national_report

    data = national_report(settings.app, within=span)
    written: list[Path] = []
    if output is not None:
        written = _write_report(data, fmt, output, section=section, dialect=dialect)
    if as_json:
        from onderwijsflow.cli.output import emit_json
        from onderwijsflow.reporting.render import public

        emit_json(public(data))
    elif output is not None:
        if len(written) == 1:
            click.echo(_("wrote the {format} report to {path}").format(format=fmt, path=written[0]),
                       err=True)
        else:
            click.echo(_("wrote the {format} report to {count} files in {directory}: {files}").format(
                format=fmt, count=len(written), directory=written[0].parent,
                files=", ".join(p.name for p in written)), err=True)
    elif fmt == "table":
        _print_tables(data)
    elif fmt == "csv":
        from onderwijsflow.reporting.export import to_csv

        click.echo(to_csv(data, section=section, dialect=dialect), nl=False)
    else:
        from onderwijsflow.reporting.render import render

        click.echo(render(data, fmt), nl=False)


def _within(within: str | None, weeks: int | None) -> Any:
    """The look-ahead: --within as an ISO 8601 duration, or the deprecated --weeks N (with a
    note on stderr); zero durations (P0D) are allowed: only what is overdue."""
    import re

    from onderwijsflow.definition.durations import Duration
    from onderwijsflow.errors import UsageError

    if weeks is not None:
        if within is not None:
            raise UsageError(_("--weeks is the old form of --within; give only --within"))
        click.echo(_("note: --weeks is deprecated; use --within P{weeks}W").format(weeks=weeks), err=True)
        within = f"P{weeks}W"
    if within is None:
        return None
    if re.fullmatch(r"P(?:0+[YMWD])+(?:T(?:0+[HMS])+)?|PT(?:0+[HMS])+", within.strip()):
        return Duration(text=within.strip())
    try:
        return Duration.parse(within)
    except ValueError as err:
        raise UsageError(_("--within: {error}").format(error=err)) from None


def _write_report(data: dict[str, Any], fmt: str, output: str, *, section: str | None,
                  dialect: str | None) -> list[Path]:
    """Write the report in `fmt` to `output`; return the files written.

    CSV is one file per table (only the `section`, if given): in the directory `output` (an
    existing directory, or a path ending in a separator, made if missing) as
    ``overzicht-TABLE.csv``, or next to `output` as ``NAME-TABLE.csv`` for ``NAME.csv``; a
    `section` to a path that is not a directory is that file.
    """
    if fmt == "xlsx":
        from onderwijsflow.reporting.export import to_xlsx

        files = {Path(output): to_xlsx(data)}
    elif fmt == "csv":
        from onderwijsflow.reporting.export import SECTIONS as TABLES
        from onderwijsflow.reporting.export import file_names, to_csv

        def encoded(name: str) -> bytes:
            # A byte-order mark, so that Excel reads the file as UTF-8.
            return to_csv(data, section=name, dialect=dialect).encode("utf-8-sig")

        if section is not None and not _names_directory(output):
            files = {Path(output): encoded(section)}
        else:
            directory, base = _csv_base(output)
            chosen = TABLES if section is None else (section,)
            files = {directory / file: encoded(name) for name, file in file_names(base, chosen).items()}
    else:
        from onderwijsflow.reporting.render import render

        files = {Path(output): render(data, fmt).encode("utf-8")}
    _write(files, output)
    return list(files)


def _names_directory(output: str) -> bool:
    """Whether ``--out`` `output` is a directory: an existing one, or a path ending in ``/``."""
    import os

    return output.endswith(("/", os.sep)) or Path(output).is_dir()


def _csv_base(output: str) -> tuple[Path, str]:
    """The directory and base name of the CSV files for ``--out`` `output`."""
    from onderwijsflow.errors import OnderwijsflowError

    target = Path(output)
    if _names_directory(output):
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OnderwijsflowError(_("cannot write the report to {path}: {reason}").format(
                path=output, reason=err.strerror or err)) from None
        return target, CSV_BASE
    name = target.name[:-4] if target.name.lower().endswith(".csv") else target.name
    return target.parent, name


def _write(files: dict[Path, bytes], output: str) -> None:
    """Write every file in one step each: all temporary files first, then each renamed.

    Raises:
        OnderwijsflowError: a file cannot be written (one sentence, exit 1); no temporary
            file is left, and no target is touched unless every temporary file was written.
    """
    from onderwijsflow.errors import OnderwijsflowError

    temporary = {target: target.with_name(target.name + ".tmp") for target in files}
    try:
        for target, content in files.items():
            temporary[target].write_bytes(content)
        for target, tmp in temporary.items():
            tmp.replace(target)
    except OSError as err:
        for tmp in temporary.values():
            tmp.unlink(missing_ok=True)
        path = err.filename if isinstance(err.filename, str) and len(files) > 1 else output
        if path.endswith(".tmp"):
            path = path[:-4]
        raise OnderwijsflowError(_("cannot write the report to {path}: {reason}").format(
            path=path, reason=err.strerror or err)) from None


def _print_tables(data: dict[str, Any]) -> None:
    from onderwijsflow.cli.output import console
    from onderwijsflow.reporting.render import rich_renderables

    out = console()
    for renderable in rich_renderables(data):
        out.print(renderable)


COMMANDS = [report]
