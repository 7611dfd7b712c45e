"""The database connection: one engine per URL, one transaction per session.

SQLite is the embedded default and PostgreSQL the multi-user deployment; this module hides
what differs between them. On SQLite every connection gets WAL, ``synchronous=FULL``, a busy
timeout and foreign keys, and every writing transaction starts with ``BEGIN IMMEDIATE``: a
deferred transaction that reads and then writes fails at once with "database is locked"
instead of waiting (see the engineering notes). Read-only sessions use a plain deferred
``BEGIN`` so that long reads (reports, ``audit verify``) do not block writers.

A SQLite file that cannot be written (a copy an auditor received on a read-only medium, a
file or directory without write permission) is opened read-only, as is one whose URL says so
(``sqlite:///file:PATH?mode=ro&uri=true`` or ``sqlite:///PATH?mode=ro``): nothing is written
on open (no WAL switch, no ``synchronous``), the connection is ``query_only``, and a file
that cannot be written and shows no sign of a writer is opened ``immutable`` (on a read-only
medium not even the ``-shm`` file could be created). Reading commands work; a writing one
fails with one sentence before it touches the file.

Importing this module does not import the table classes or alembic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, unquote

from sqlalchemy import create_engine, event, text, update
from sqlalchemy.engine import URL, Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import attributes
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col

from onderwijsflow.errors import Conflict, DatabaseError
from onderwijsflow.i18n import _

__all__ = ["Database", "compare_and_set_case"]

#: Execution option carried by read-only connections; the SQLite `begin` hook reads it.
_READ_ONLY = "onderwijsflow_read_only"

#: SQLSTATEs of a transaction PostgreSQL rolled back because of concurrent work (deadlock
#: detected, serialization failure): nothing of it was written and running it again helps, so
#: the user gets what the loser of any other race gets, `Conflict` (exit 5).
_ROLLED_BACK_FOR_CONCURRENCY = frozenset({"40P01", "40001"})

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)

#: On a read-only database: nothing that writes the file (journal_mode and synchronous do),
#: and a guard that refuses any write statement that gets through.
_SQLITE_READ_ONLY_PRAGMAS = (
    "PRAGMA busy_timeout=30000",
    "PRAGMA query_only=ON",
)


class Database:
    """An engine for one database URL, handing out transactional sessions.

    Args:
        url: ``sqlite:///path/to/file.db`` or ``postgresql://user@host/db``
            (``postgresql://`` and ``postgres://`` are served by psycopg 3). A SQLite URL
            with ``mode=ro`` (``sqlite:///file:PATH?mode=ro&uri=true``) opens the file
            read-only; so does a file that cannot be written.

    Raises:
        DatabaseError: the URL is malformed, names an unsupported database, or a SQLite
            file whose directory does not exist.
    """

    def __init__(self, url: str) -> None:
        given = _normalize(url)
        self._display_url = _display(given)
        self._sqlite_path: Path | None = None
        #: True when nothing may be written: the URL says so, or the file cannot be written.
        self.read_only = False
        self._read_only_asked = False
        if given.get_backend_name() == "sqlite":
            self._sqlite_path = _sqlite_file(given)
            self._read_only_asked = _asks_read_only(given)
            given, self.read_only = _sqlite_open_url(given, self._sqlite_path, self._display_url)
        else:
            self.read_only = self._read_only_asked = _PG_READ_ONLY in str(given.query.get("options") or "")
        self.url = given
        self.engine: Engine = _create_engine(self.url, self._sqlite_path, self.read_only)
        # Shares the engine's pool and event hooks; only marks its connections read-only.
        self._read_engine = self.engine.execution_options(**{_READ_ONLY: True})

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"

    @property
    def is_sqlite(self) -> bool:
        """True for SQLite, False for PostgreSQL."""
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None for PostgreSQL and in-memory SQLite."""
        return self._sqlite_path

    @property
    def display_url(self) -> str:
        """The URL as given, without its password, fit for messages and logs."""
        return self._display_url

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises.

        Args:
            write: False for a read-only transaction; on SQLite it then does not take the
                write lock up front, so it never waits for (or blocks) a writer.

        Yields:
            A session whose objects stay usable after the commit (``expire_on_commit=False``).
            Do not call ``commit()`` on it: the end of the block does that.

        Raises:
            DatabaseError: the database cannot be reached, or fails operationally
                (e.g. it stayed locked longer than the busy timeout), or `write` on a
                read-only database.
            Conflict: PostgreSQL chose this transaction as the victim of a deadlock (or a
                serialization failure) with a concurrent one; it was rolled back whole.
        """
        connection = self.connect(write=write)
        try:
            with Session(bind=connection, expire_on_commit=False) as session:
                try:
                    with session.begin():
                        yield session
                except OperationalError as exc:
                    if getattr(exc.orig, "sqlstate", None) in _ROLLED_BACK_FOR_CONCURRENCY:
                        raise Conflict(_(
                            "another change to the same data was written at the same moment; "
                            "nothing was written, try again"
                        )) from exc
                    raise DatabaseError(_("the database at {url} failed: {reason}").format(
                        url=self.display_url, reason=_reason(exc))) from exc
        finally:
            connection.close()

    def connect(self, *, write: bool = True) -> Connection:
        """A raw connection (not yet in a transaction), for migrations and bulk work.

        Raises:
            DatabaseError: the database cannot be reached or opened, or `write` on a
                read-only database (nothing was written).
        """
        if write and self.read_only:
            message = (_("the database at {url} is read-only; its URL makes every transaction "
                         "read-only, so it can be read but nothing was written")
                       if not self.is_sqlite else
                       _("the database at {url} is read-only; its URL opens it with mode=ro, "
                         "so it can be read but nothing was written") if self._read_only_asked
                       else _("the database at {url} is read-only; the file, its directory or "
                              "the medium cannot be written, so it can be read but nothing was "
                              "written"))
            raise DatabaseError(message.format(url=self.display_url))
        engine = self.engine if write and not self.read_only else self._read_engine
        try:
            return engine.connect()
        except DBAPIError as exc:
            message = (_("cannot open the database at {url}: {reason}") if self.is_sqlite
                       else _("cannot reach the database at {url}: {reason}"))
            raise DatabaseError(message.format(url=self.display_url, reason=_reason(exc))) from exc

    def dispose(self) -> None:
        """Close every pooled connection; the object can still be used afterwards."""
        self.engine.dispose()


def compare_and_set_case(session: Session, case_id: int, expected_lock_version: int, **values: Any) -> None:
    """Change a case only if nobody else changed it since it was read.

    Runs ``UPDATE cases SET ..., lock_version = lock_version + 1 WHERE id = :id AND
    lock_version = :v``. On PostgreSQL (READ COMMITTED) a plain update would let two
    coordinators both commit contradictory transitions; the guard makes the second one
    match no row. A copy of the case already loaded in `session` is brought up to date.

    Args:
        session: the session of the surrounding transaction.
        case_id: the case's primary key.
        expected_lock_version: the `lock_version` the caller read.
        **values: the columns to change, e.g. ``state=..., state_entered_at=...``.

    Raises:
        Conflict: the case changed (or vanished) meanwhile; nothing was written.
    """
    from onderwijsflow.store.tables import Case

    statement = (
        update(Case)
        .where(col(Case.id) == case_id, col(Case.lock_version) == expected_lock_version)
        .values(**values, lock_version=expected_lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    # An UPDATE gives a CursorResult (it has `rowcount`); sqlmodel types execute() as Result.
    result = cast("CursorResult[Any]", session.execute(statement))
    if result.rowcount != 1:
        raise Conflict(_("the case changed while you worked on it; nothing was written, try again"))
    loaded = session.identity_map.get(identity_key(Case, case_id))
    if loaded is not None:
        for name, value in {**values, "lock_version": expected_lock_version + 1}.items():
            attributes.set_committed_value(loaded, name, value)


# --- what differs in SQL between the two databases ------------------------------------------


def dialect_of(session: Session | Connection) -> str:
    """``sqlite`` or ``postgresql``: the database behind a session or connection."""
    return session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name


def insert_ignoring_duplicates(dialect: str, table: Any, key: list[str], **row: Any) -> Any:
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` for `dialect`: two processes that both find a
    row missing both insert it, and on PostgreSQL a plain INSERT would fail the second's command."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(**row).on_conflict_do_nothing(index_elements=key)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).values(**row).on_conflict_do_nothing(index_elements=key)


def writers_serialized(session: Session) -> bool:
    """True when the transaction already excludes every other writer (SQLite's ``BEGIN
    IMMEDIATE``), so a row this session read needs no lock to stay current."""
    return dialect_of(session) == "sqlite"


def counts_each_row_of_executemany(session: Session) -> bool:
    """Whether an executemany UPDATE's rowcount is the sum over its rows (SQLite and psycopg:
    yes; a driver that says no cannot tell a compare-and-set batch that missed a row)."""
    return bool(session.get_bind().dialect.supports_sane_multi_rowcount)


def read_one_snapshot(session: Session) -> None:
    """Make the transaction read one snapshot: REPEATABLE READ on PostgreSQL (READ COMMITTED
    would let heads, events and cases disagree while others write); a SQLite read transaction
    already is one snapshot. Call before the first statement."""
    if dialect_of(session) != "sqlite":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


#: The PostgreSQL session setting `read_only_url` adds: every transaction READ ONLY.
_PG_READ_ONLY = "default_transaction_read_only=on"


def read_only_url(text: str) -> str:
    """The same database, opened so that nothing can be written through it whatever the
    login may do: SQLite read-only (``mode=ro``, as for an auditor's copy), PostgreSQL with
    every transaction ``READ ONLY`` (``default_transaction_read_only``). For the web view."""
    url = _normalize(text)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:") or _asks_read_only(url):
            return url.render_as_string(hide_password=False)
        return url.update_query_dict({"mode": "ro"}).render_as_string(hide_password=False)
    options = url.query.get("options")
    extra = f"-c {_PG_READ_ONLY}"
    joined = f"{options} {extra}" if isinstance(options, str) and options else extra
    return url.update_query_dict({"options": joined}).render_as_string(hide_password=False)


def lock_for_migration(connection: Connection, key: int) -> None:
    """Let one process at a time migrate: a transaction-scoped advisory lock on PostgreSQL;
    SQLite's write lock already does it."""
    if connection.dialect.name != "sqlite":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# --- engine construction ---------------------------------------------------------------


def _normalize(text: str) -> URL:
    """Parse `text` and point PostgreSQL URLs at psycopg 3."""
    try:
        url = make_url(text)
    except ArgumentError:
        raise DatabaseError(
            _("'{url}' is not a database URL; use sqlite:///FILE or postgresql://USER@HOST/DB")
            .format(url=text)
        ) from None
    backend, _sep, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return url
    raise DatabaseError(
        _("the database URL {url} is not supported; use sqlite:///FILE or postgresql://USER@HOST/DB")
        .format(url=_display(url))
    )


class Encoded(dict[str, Any]):
    """A JSON object that already knows its text (an event's canonical `data`, hashed just
    before): written as that text instead of being encoded once more."""

    __slots__ = ("text",)

    def __init__(self, value: dict[str, Any], text: str) -> None:
        super().__init__(value)
        self.text = text


class JsonText(str):
    """The text of a JSON value, written as it is: an event's canonical `data` in a bulk write,
    where nothing reads the value back (decoding it again cost a twentieth of `advance-all`)."""

    __slots__ = ()


def _json_text(value: Any) -> str:
    """The engines' JSON serializer: an `Encoded` value's own text, a `JsonText` itself, else
    ``json.dumps``."""
    if isinstance(value, Encoded):
        return value.text
    return str(value) if isinstance(value, JsonText) else json.dumps(value)


def _create_engine(url: URL, path: Path | None = None, read_only: bool = False) -> Engine:
    if url.get_backend_name() == "sqlite":
        _check_sqlite_directory(url, path)
        engine = create_engine(url, json_serializer=_json_text)
        event.listen(engine, "connect", partial(_sqlite_on_connect, read_only=read_only))
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    # A black-holed host must not hang a command forever (unless the URL says otherwise).
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, json_serializer=_json_text)


def _check_sqlite_directory(url: URL, path: Path | None) -> None:
    if path is None:
        return
    directory = path.absolute().parent
    if not directory.is_dir():
        raise DatabaseError(
            _("cannot open the database at {url}: the directory {directory} does not exist")
            .format(url=_display(url), directory=directory)
        )


def _sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names (plain path or ``file:`` URI), None for in-memory."""
    database = url.database or ""
    if database in ("", ":memory:"):
        return None
    if not database.startswith("file:"):
        return Path(database).expanduser()
    if url.query.get("mode") == "memory":
        return None
    rest = database.removeprefix("file:")
    if rest.startswith("//"):  # file://[localhost]/path
        authority, _slash, tail = rest[2:].partition("/")
        if authority not in ("", "localhost"):
            return None
        rest = "/" + tail
    rest = unquote(rest.partition("?")[0].partition("#")[0])
    if rest in ("", ":memory:"):
        return None
    return Path(rest).expanduser()


def _sqlite_open_url(url: URL, path: Path | None, shown: str) -> tuple[URL, bool]:
    """The URL to connect with, and whether the database is read-only.

    Read-only when the URL says ``mode=ro`` (or ``immutable=1``) or the file exists and
    cannot be written. Such a URL is turned into a SQLite URI (``uri=true``, without which
    the driver ignores ``mode``). A file that cannot be written and shows no sign of a writer
    (no ``-shm``, no unread ``-wal``) is opened ``immutable=1``: on a read-only medium SQLite
    could not open the WAL database otherwise, and elsewhere it would leave ``-wal`` and
    ``-shm`` files behind next to the copy.

    Raises:
        DatabaseError: the file's write-ahead log holds changes SQLite cannot read here.
    """
    query = dict(url.query)
    explicit = _asks_read_only(url)
    unwritable = path is not None and path.exists() and not _can_write(path)
    if not (explicit or unwritable):
        return url, False
    if path is None:  # in-memory: nothing on disk to protect, but keep the promise
        return url.difference_update_query(["mode", "immutable"]), True
    query["mode"] = "ro"
    query["uri"] = "true"
    if unwritable and not _true(query.get("immutable")) and not _side(path, "-shm").exists():
        wal = _side(path, "-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            query["immutable"] = "1"
        elif not os.access(path.absolute().parent, os.W_OK):
            raise DatabaseError(_(
                "cannot open the database at {url} read-only: its write-ahead log {wal} holds "
                "changes that SQLite cannot read where it cannot create {shm}; copy the "
                "database with both files to a writable place"
            ).format(url=shown, wal=wal, shm=_side(path, "-shm")))
    database = url.database or ""
    if not database.startswith("file:"):
        database = "file:" + quote(str(path.absolute()), safe="/")
    return url.set(database=database, query=query), True


def _asks_read_only(url: URL) -> bool:
    """The URL says ``mode=ro`` or ``immutable=1``."""
    return url.query.get("mode") == "ro" or _true(url.query.get("immutable"))


def _side(path: Path, suffix: str) -> Path:
    """The ``-wal`` or ``-shm`` file next to the database."""
    return path.with_name(path.name + suffix)


def _can_write(path: Path) -> bool:
    """Whether SQLite could write `path` in WAL mode: the file, and its ``-wal`` and
    ``-shm`` files (created in the directory, or already there and writable)."""
    if not os.access(path, os.W_OK):
        return False
    if os.access(path.absolute().parent, os.W_OK):
        return True
    return all(os.access(_side(path, suffix), os.W_OK) for suffix in ("-wal", "-shm"))


def _true(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any, *, read_only: bool = False) -> None:
    # isolation_level=None stops the sqlite3 module from issuing its own deferred BEGIN,
    # so that _sqlite_on_begin decides how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_READ_ONLY_PRAGMAS if read_only else _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# --- messages ----------------------------------------------------------------------------


def _display(url: URL) -> str:
    if url.get_backend_name() == "sqlite":  # no password; the path as typed, not %-escaped
        query = "&".join(f"{key}={value}" for key, values in url.query.items()
                         for value in ((values,) if isinstance(values, str) else values))
        where = f"/{url.database}" if url.database else ""
        return f"{url.drivername}://{where}" + (f"?{query}" if query else "")
    # URL.set(password=None) keeps the password, so rebuild the URL without it.
    bare = URL.create(
        url.drivername,
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query={key: value for key, value in url.query.items() if key != "password"},
    )
    return bare.render_as_string(hide_password=False)


def _reason(exc: DBAPIError) -> str:
    """The driver's message as one short clause: first line, no trailing period."""
    message = str(exc.orig) if exc.orig is not None else str(exc)
    lines = [" ".join(line.split()) for line in message.splitlines() if line.strip()]
    first = lines[0] if lines else type(exc.orig).__name__
    return first.removeprefix("connection failed: ").rstrip(".")
