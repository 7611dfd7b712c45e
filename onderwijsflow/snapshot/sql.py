"""How the snapshot's plain SQL runs: a caller-supplied runner and chunked ``IN`` lists."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["CHUNK", "Run", "select_in"]

#: Runs one SQL statement (``?`` placeholders) with its parameters and gives its rows.
Run = Callable[[str, Sequence[Any]], Iterable[Sequence[Any]]]
#: Parameters per ``IN (...)`` list: far below SQLite's and PostgreSQL's limits.
CHUNK = 900


def select_in(run: Run, select: str, column: str, values: Sequence[Any] | None, *,
              order: str = "", where: str = "", params: Sequence[Any] = ()) -> list[Sequence[Any]]:
    """The rows of `select` (optionally ``WHERE where``) with `column` IN `values` (None:
    unrestricted), chunked, each chunk ``ORDER BY order``."""
    tail = f" ORDER BY {order}" if order else ""
    if values is None:
        return list(run(select + (f" WHERE {where}" if where else "") + tail, tuple(params)))
    out: list[Sequence[Any]] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start:start + CHUNK]
        condition = f"{column} IN ({', '.join('?' * len(chunk))})"
        sql = f"{select} WHERE {where + ' AND ' if where else ''}{condition}{tail}"
        out += run(sql, (*params, *chunk))
    return out
