"""Commands that load data from files a coordinator keeps in Excel: ``import regions``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import ProgressBar, emit_json, json_option, say
from onderwijsflow.i18n import _, format_number

#: Files with more rows than this get a progress bar (on a terminal).
PROGRESS_FROM = 200


@click.group("import")
def import_group() -> None:
    """Load many regions at once from a CSV file."""


@import_group.command("regions", short_help="Create or update regions from a CSV file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would be created and changed; write nothing.")
@json_option
@pass_settings
def import_regions(settings: Settings, /, file: Path, dry_run: bool, as_json: bool) -> None:
    """Create or update the regions of FILE, a CSV saved from Excel, all or nothing.

    One row per region; the first line names the columns (any order, any case):

    \b
      slug         required  zuidoost-brabant
      name         required  Zuidoost-Brabant
      provinces              Noord-Brabant|Limburg
      sectors                PO|VO|MBO
      coordinator            e-mail address of the RE coordinator
      partners               Naam:kind[:sector]|...  e.g. Pabo Oost:lerarenopleiding
      people                 role:Naam[:e-mail]|...  e.g. programmamanager:Jan Jansen:jan@example.org
      fact:NAME              a fact declared in a workflow, e.g. fact:leerlingen_po

    List items are separated by | or by a line break in the cell. Comma or semicolon
    separated, UTF-8 with or without BOM ("CSV UTF-8" in Excel).

    Every row is checked first and every bad row is reported with its line number; then
    nothing is written. A region that exists is updated additively: new partners and
    people are added, changed facts, names and coordinators are set, nothing is removed.
    Importing the same file again changes nothing. With --dry-run the whole import is done
    and then rolled back: the report says what would be created and changed. With --json:
    {"created": [...], "updated": [...], "unchanged": [...], "dry_run": ...} (slugs).
    """
    with ProgressBar(_("importing regions"), enabled=sys.stderr.isatty(),
                     above=PROGRESS_FROM) as bar:
        result = settings.app.import_regions(file, progress=bar, dry_run=dry_run)
    if as_json:
        emit_json({key: result[key]
                   for key in ("created", "updated", "unchanged", "rows", "file", "dry_run")})
        return
    counts = {"file": file.name, **{key: format_number(len(result[key]))
                                    for key in ("created", "updated", "unchanged")}}
    if dry_run:
        say(_("[dry run] {file}: {created} would be created, {updated} would be updated, "
              "{unchanged} unchanged; nothing was written").format(**counts))
    else:
        say(_("{file}: {created} created, {updated} updated, {unchanged} unchanged").format(**counts))


COMMANDS = [import_group]
