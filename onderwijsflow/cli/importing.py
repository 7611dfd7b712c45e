"""Commands that load data from files a coordinator keeps in Excel: ``import regions``."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import emit_json, json_option, say

#: Files with more rows than this get a progress bar (on a terminal).
PROGRESS_FROM = 200


@click.group("import")
def import_group() -> None:
    """Load many regions at once from a CSV file."""


@import_group.command("regions")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_settings
def import_regions(settings: Settings, file: Path, as_json: bool) -> None:
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
    Importing the same file again changes nothing. With --json:
    {"created": [...], "updated": [...], "unchanged": [...]} (slugs).
    """
    from onderwijsflow.errors import UsageError

    try:
        with _ProgressBar(enabled=sys.stderr.isatty()) as bar:
            result = settings.app.import_regions(file, progress=bar)
    except UsageError as err:
        problems = err.details.get("problems") or []
        if len(problems) < 2:
            raise
        # Every bad row on a line of its own, so the whole sheet can be fixed in one go.
        for line in (err.message, *problems[1:]):
            click.echo(f"error: {line}", err=True)
        raise click.exceptions.Exit(err.exit_code) from None
    if as_json:
        emit_json({key: result[key] for key in ("created", "updated", "unchanged", "rows", "file")})
        return
    say(f"{file.name}: {len(result['created'])} created, {len(result['updated'])} updated, "
        f"{len(result['unchanged'])} unchanged")


class _ProgressBar:
    """A rich progress bar on stderr, shown only on a terminal and for large files.

    Used as the `progress` callback of ``import_regions``; rich is imported only when a
    bar is actually shown, so small imports and scripts pay nothing for it.
    """

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            if not self.enabled or total <= PROGRESS_FROM:
                return
            self._start(total)
        self._progress.update(self._task, completed=done)

    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self._progress = Progress(console=Console(stderr=True), transient=True)
        self._progress.start()
        self._task = self._progress.add_task("importing regions", total=total)

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()


COMMANDS = [import_group]
