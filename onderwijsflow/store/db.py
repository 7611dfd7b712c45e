"""The database connection: one engine per URL, one transaction per session.

SQLite is the embedded default and PostgreSQL the multi-user deployment; this module hides
what differs between them. On SQLite every connection gets WAL, ``synchronous=FULL``, a busy
timeout and foreign keys, and every writing transaction starts with ``BEGIN IMMEDIATE``: a
deferred transaction that reads and then writes fails at once with "database is locked"
instead of waiting (see the engineering notes). Read-only sessions use a plain deferred
``BEGIN`` so that long reads (reports, ``audit verify``) do not block writers.

Importing this module does not import the table classes or alembic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import create_engine, event, update
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


class Database:
    """An engine for one database URL, handing out transactional sessions.

    Args:
        url: ``sqlite:///path/to/file.db`` or ``postgresql://user@host/db``
            (``postgresql://`` and ``postgres://`` are served by psycopg 3).

    Raises:
        DatabaseError: the URL is malformed, names an unsupported database, or a SQLite
            file whose directory does not exist.
    """

    def __init__(self, url: str) -> None:
        self.url = _normalize(url)
        self.engine: Engine = _create_engine(self.url)
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
        database = self.url.database or ""
        if not self.is_sqlite or database in ("", ":memory:") or database.startswith("file:"):
            return None
        return Path(database).expanduser()

    @property
    def display_url(self) -> str:
        """The URL without its password, fit for messages and logs."""
        return _display(self.url)

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
                (e.g. it stayed locked longer than the busy timeout).
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
            DatabaseError: the database cannot be reached or opened.
        """
        engine = self.engine if write else self._read_engine
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


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        _check_sqlite_directory(url)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    # A black-holed host must not hang a command forever (unless the URL says otherwise).
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _check_sqlite_directory(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    directory = Path(database).expanduser().absolute().parent
    if not directory.is_dir():
        raise DatabaseError(
            _("cannot open the database at {url}: the directory {directory} does not exist")
            .format(url=_display(url), directory=directory)
        )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # isolation_level=None stops the sqlite3 module from issuing its own deferred BEGIN,
    # so that _sqlite_on_begin decides how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# --- messages ----------------------------------------------------------------------------


def _display(url: URL) -> str:
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
    text = str(exc.orig) if exc.orig is not None else str(exc)
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(exc.orig).__name__
    return first.removeprefix("connection failed: ").rstrip(".")
