"""The store's side of region snapshots: the service's connection runs the shared queries.

The queries and how their rows become snapshots live in :mod:`onderwijsflow.snapshot` (plain
SQL, shared with the `check` command's lean path); this module runs them on the session's
connection, through the driver itself (SQLite's text and PostgreSQL's native values alike,
which the builders decode), and adds what needs the ORM: a region's cases as entities.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any, Protocol

from sqlalchemy import String, cast, type_coerce
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from onderwijsflow.definition.model import stored_value
from onderwijsflow.engine.context import RegionContext
from onderwijsflow.snapshot import rows
from onderwijsflow.snapshot.focus import case_moments, for_case
from onderwijsflow.snapshot.rows import CaseRef, Snapshots, decode_json, utc
from onderwijsflow.snapshot.sql import Run
from onderwijsflow.store.tables import Case, Fact, Region

__all__ = ["CaseRef", "RegionRef", "Snapshots", "as_text", "case_moments", "decode_json",
           "driver_run", "for_case", "load_fact", "raw", "read_snapshots", "region_cases",
           "region_context", "region_contexts", "utc"]


class RegionRef(Protocol):
    """A region as the builder needs it: an ORM `Region` or a selected row."""

    @property
    def id(self) -> int | None: ...

    @property
    def slug(self) -> str: ...


def driver_run(session: Session, *, batch: int | None = None) -> Run:
    """Run the snapshot's SQL on the session's connection, through the driver itself.

    The driver's own cursor, in the session's transaction: its rows are the driver's tuples,
    which the builders decode (no SQLAlchemy row per row: a fifth of reading every region).

    Args:
        batch: stream the rows, fetched this many at a time (on PostgreSQL a server-side
            cursor, which SQLAlchemy names and closes), for the national report; None:
            every row at once.
    """
    connection = session.connection()
    if connection.dialect.paramstyle != "qmark":  # psycopg: %s, and server-side streaming
        if batch is not None:
            streaming = connection.execution_options(stream_results=True)
            return lambda sql, params: chain.from_iterable(
                streaming.exec_driver_sql(sql.replace("?", "%s"), tuple(params)).partitions(batch))
        return lambda sql, params: connection.exec_driver_sql(sql.replace("?", "%s"),
                                                              tuple(params)).all()
    driver = connection.connection.dbapi_connection
    assert driver is not None  # a checked-out connection

    def run(sql: str, params: Sequence[Any]) -> Iterable[Sequence[Any]]:
        cursor = driver.cursor()
        cursor.execute(sql, tuple(params))
        return cursor.fetchall() if batch is None else _fetched(cursor, batch)

    return run


def _fetched(cursor: Any, batch: int) -> Iterator[Sequence[Any]]:
    """A cursor's rows, fetched `batch` at a time."""
    try:
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def read_snapshots(
    session: Session, region_ids: Sequence[int] | None, now: dt.datetime,
    cases: Iterable[CaseRef] | None = None,
) -> Snapshots:
    """The snapshot rows of the regions `region_ids` (None: every region) at `now`."""
    return rows.read_snapshots(driver_run(session), region_ids, now, cases)


def region_contexts(
    session: Session, regions: Sequence[RegionRef], now: dt.datetime,
    cases: Iterable[CaseRef] | None = None,
) -> dict[int, RegionContext]:
    """Snapshots of `regions` (a batch: `advance-all`, the tick), keyed by region id."""
    refs = [(r.id, r.slug) for r in regions if r.id is not None]
    found = read_snapshots(session, [rid for rid, _ in refs], now, cases)
    return {rid: found.context(rid, slug) for rid, slug in refs}


def region_context(
    session: Session, region: Region, now: dt.datetime, cases: list[Case] | None = None
) -> RegionContext:
    """Everything the checks may read about `region`, at `now`."""
    assert region.id is not None  # a region read from the database
    return region_contexts(session, [region], now, cases)[region.id]


def region_cases(session: Session, region: Region) -> list[Case]:
    """The region's cases, oldest first."""
    return list(session.exec(orm_select(Case).where(Case.region_id == region.id).order_by(col(Case.id))))


def load_fact(fact: Fact) -> Any:
    """The typed value of a stored fact (decimals and dates are stored as text)."""
    if fact.value is None:
        return None
    return stored_value(fact.type, fact.value)


# --- columns as the driver gives them ------------------------------------------------------


def raw(column: Any, name: str) -> Any:
    """`column` as the driver returns it, under `name` (SQLite: text; PostgreSQL: a datetime)."""
    return type_coerce(column, String).label(name)


def as_text(column: Any, name: str) -> Any:
    """A JSON `column` as its text on every database (see :func:`decode_json`)."""
    return cast(column, String).label(name)
