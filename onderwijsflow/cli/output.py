"""Output for people (rich tables) and scripts (one JSON document), shared by all commands.

Only click is imported at module level: rich loads when something is actually shown.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """The ``--json`` flag every reading and writing command takes."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else."
    )(func)


def decision_options(func: F) -> F:
    """``--decided-by``, ``--decision-date``, ``--decision-ref``: a decision taken elsewhere."""
    for name, meta, text in reversed((
        ("--decided-by", "BODY", "The body that took the decision (see the workflow's bodies)."),
        ("--decision-date", "YYYY-MM-DD", "The date of the decision (not of recording it)."),
        ("--decision-ref", "REF", "The decision's reference (letter or register number)."),
    )):
        func = click.option(name, metavar=meta, help=text)(func)
    return func


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(data: Any) -> None:
    """Print `data` as one JSON document."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_default))


def console() -> Any:
    """A rich console on stdout (wide enough for tables when not a terminal)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160, highlight=False, soft_wrap=False)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
          empty: str | None = None) -> None:
    """Show rows as a rich table; with `empty`, no rows is that one line instead of a frame."""
    from rich.box import HEAVY_HEAD
    from rich.table import Table
    from rich.text import Text

    rows = list(rows)
    if not rows and empty is not None:
        say(empty)
        return

    grid = Table(title=title, title_justify="left", show_lines=False,
                 box=None if plain() else HEAVY_HEAD, pad_edge=not plain())
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*(Text("" if v is None else str(v)) for v in row))
    console().print(grid)


def plain() -> bool:
    """No box drawing when the output goes to a file or a pipe, or when NO_COLOR is set
    (https://no-color.org); rich already leaves out colours and escape codes there."""
    import os

    return not sys.stdout.isatty() or "NO_COLOR" in os.environ


def say(text: str, *, markup: bool = False) -> None:
    """One line for people; user data is printed as given unless `markup` is asked for."""
    console().print(text, markup=markup)


def esc(value: object) -> str:
    """`value` as text that rich markup shows literally."""
    from rich.markup import escape

    return escape(str(value))


def short_time(iso: str | None) -> str:
    """``15-10-2024 16:00`` (Dutch) or ``2024-10-15 16:00`` from an ISO local time, for tables."""
    if not iso:
        return ""
    from onderwijsflow import i18n

    stamp = iso[:16].replace("T", " ")
    if i18n.current() == "nl" and len(stamp) >= 10 and stamp[4] == "-":
        stamp = f"{stamp[8:10]}-{stamp[5:7]}-{stamp[:4]}{stamp[10:]}"
    return stamp


class ProgressBar:
    """A rich progress bar on stderr, fed as a ``progress(done, total)`` callback.

    Shown only when `enabled` (a terminal, not --json) and the work has more than `above`
    items; rich is imported only when a bar is actually shown.
    """

    def __init__(self, label: str, *, enabled: bool, above: int = 0) -> None:
        self.label = label
        self.enabled = enabled
        self.above = above
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            if not self.enabled or total <= self.above:
                return
            from rich.console import Console
            from rich.progress import Progress

            self._progress = Progress(console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total)
        self._progress.update(self._task, completed=done)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
