"""A SQLite database opened for reading with the standard library, as `store.db` would open it.

Only plain URLs are taken (``sqlite:///PATH``, perhaps with ``mode=ro``, ``immutable=1`` or
``uri=true``); anything else answers None and the caller takes the full path. A file that
cannot be written, or whose URL says ``mode=ro``, is opened read-only by the same rules as
:mod:`onderwijsflow.store.db` (``immutable=1`` when no writer left a ``-shm`` or unread
``-wal``); every connection is ``query_only``: nothing is ever written.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

__all__ = ["Connection", "Rows", "connect_sqlite", "sqlite_path"]


class Rows(Protocol):
    """What the lean path reads of a query's cursor."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of ``sqlite3.Connection`` the lean path uses (see `lean.postgres` for the
    same on PostgreSQL): ``?`` placeholders, values as SQLite stores them."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Rows: ...

    def close(self) -> None: ...

#: The query parameters a lean URL may carry (anything else: the full path decides).
_KNOWN_QUERY = frozenset({"mode", "immutable", "uri"})


def sqlite_path(url: str) -> tuple[Path, dict[str, str]] | None:
    """The file and query of a plain ``sqlite:///PATH[?QUERY]`` URL; None for anything else
    (another database, ``file:`` URIs, %-escapes, ``~``, in-memory, unknown parameters)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    rest = url[len(prefix):]
    database, _sep, query_text = rest.partition("?")
    if (not database or database == ":memory:" or database.startswith(("file:", "~"))
            or any(c in database for c in "%#")):
        return None
    query: dict[str, str] = {}
    for item in filter(None, query_text.split("&")):
        key, sep, value = item.partition("=")
        if not sep or key not in _KNOWN_QUERY or key in query or any(c in item for c in "%#+"):
            return None
        query[key] = value
    if query.get("mode", "ro") != "ro":
        return None
    return Path(database), query


def _true(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _can_write(path: Path) -> bool:
    if not os.access(path, os.W_OK):
        return False
    if os.access(path.absolute().parent, os.W_OK):
        return True
    return all(os.access(_side(path, suffix), os.W_OK) for suffix in ("-wal", "-shm"))


def connect_sqlite(url: str) -> sqlite3.Connection | None:
    """A read-only (``query_only``) connection to the SQLite file `url` names, in autocommit
    mode (the caller begins its transaction); None when the full path must decide: not a
    plain SQLite URL, no such file (the full path names the problem) or a write-ahead log
    that cannot be read here.

    Raises:
        sqlite3.Error: the file cannot be opened.
    """
    found = sqlite_path(url)
    if found is None:
        return None
    path, query = found
    if not path.absolute().parent.is_dir() or not path.is_file():
        return None
    explicit = query.get("mode") == "ro" or _true(query.get("immutable"))
    unwritable = not _can_write(path)
    if explicit or unwritable:
        params = dict(query)
        params["mode"] = "ro"
        params["uri"] = "true"
        if unwritable and not _true(params.get("immutable")) and not _side(path, "-shm").exists():
            wal = _side(path, "-wal")
            if not wal.exists() or wal.stat().st_size == 0:
                params["immutable"] = "1"
            elif not os.access(path.absolute().parent, os.W_OK):
                return None  # the full path explains why it cannot be read
        target = "file:" + quote(str(path.absolute()), safe="/") + "?" + "&".join(
            f"{key}={value}" for key, value in params.items() if key != "uri")
        connection = sqlite3.connect(target, uri=True, timeout=30, isolation_level=None,
                                     check_same_thread=False)
    else:
        connection = sqlite3.connect(str(path), timeout=30, isolation_level=None,
                                     check_same_thread=False)
    try:
        connection.execute("PRAGMA query_only=ON")
    except sqlite3.Error:
        connection.close()
        raise
    return connection
