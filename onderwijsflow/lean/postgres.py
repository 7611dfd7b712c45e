"""A PostgreSQL database opened for reading with psycopg alone, values as SQLite gives them.

The lean reader's queries are written for SQLite's ``sqlite3``: ``?`` placeholders, and
moments, dates and JSON that arrive as text. This connection runs the same queries on
PostgreSQL: placeholders become ``%s``, and psycopg is told to hand JSON, dates and
timestamps over as their text (in UTC), which the reader parses exactly as it parses
SQLite's. One read-only, repeatable-read transaction holds every query of a command, as
SQLite's one transaction does. The policy of a PostgreSQL database (group roles, the login
being the database's user) is the service's: the reader offers this connection only where no
role or actor is asked about.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["PostgresReading", "connect_postgres"]

#: The schemes of the URLs `store.db` serves with psycopg 3.
_SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")
#: The types read as text, as SQLite stores them.
_AS_TEXT = ("json", "jsonb", "date", "timestamp", "timestamptz")


class PostgresReading:
    """A psycopg connection in one read-only transaction, speaking the lean reader's SQL."""

    dialect = "postgresql"

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        """The cursor of `sql` (``?`` placeholders); the first query begins the transaction."""
        return self._connection.execute(sql.replace("?", "%s"), tuple(parameters))

    def close(self) -> None:
        """End the transaction (nothing was written) and close the connection."""
        self._connection.close()


def connect_postgres(url: str) -> PostgresReading | None:
    """A read-only connection to the PostgreSQL database `url` names, or None when it is not
    one (the caller then decides). The URL's query (``options``, ``sslmode``, ...) is passed
    to libpq as the service's engine passes it.

    Raises:
        psycopg.Error: the server cannot be reached or refuses the login.
    """
    scheme = next((s for s in _SCHEMES if url.startswith(s)), None)
    if scheme is None:
        return None
    import psycopg
    from psycopg.types.string import TextLoader

    conninfo = "postgresql://" + url[len(scheme):]
    if "connect_timeout=" not in url:  # as the service's engine
        conninfo += ("&" if "?" in conninfo else "?") + "connect_timeout=10"
    connection = psycopg.connect(conninfo, autocommit=True)
    try:
        connection.execute("SET TIME ZONE 'UTC'")
        for name in _AS_TEXT:
            connection.adapters.register_loader(name, TextLoader)
        connection.autocommit = False
        connection.read_only = True
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    except Exception:
        connection.close()
        raise
    return PostgresReading(connection)
