"""Floors: the same kind of work done by the bare layer underneath (sqlite3, psycopg)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def sqlite_floor(work: Path, rows: int, size: int) -> tuple[float, float]:
    """Inserts per second with sqlite3 alone, WAL + synchronous=FULL: committing each row, and once."""
    results = []
    payload = "x" * size
    for name, per_row in (("floor_each.db", True), ("floor_once.db", False)):
        (work / name).unlink(missing_ok=True)
        conn = sqlite3.connect(work / name, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL, "
                     "seq INTEGER NOT NULL, payload TEXT NOT NULL, UNIQUE (region_id, seq))")
        start = time.perf_counter()
        if per_row:
            for i in range(rows):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO events (region_id, seq, payload) VALUES (?, ?, ?)",
                             (i, 1, payload))
                conn.execute("COMMIT")
        else:
            conn.execute("BEGIN IMMEDIATE")
            for i in range(rows):
                conn.execute("INSERT INTO events (region_id, seq, payload) VALUES (?, ?, ?)",
                             (i, 1, payload))
            conn.execute("COMMIT")
        results.append(rows / (time.perf_counter() - start))
        conn.close()
    return results[0], results[1]


def commit_floor(url: str, work: Path, rows: int, size: int) -> tuple[float, float]:
    """Inserts per second by the bare driver of `url`'s database, committing each row, and once:
    `sqlite_floor` for SQLite, psycopg into the schema of a PostgreSQL `url`."""
    if url.startswith("sqlite"):
        return sqlite_floor(work, rows, size)
    from sqlalchemy import create_engine

    from onderwijsflow.store.db import Database

    payload = "x" * size
    engine = create_engine(Database(url).url)
    results = []
    try:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("CREATE TABLE bench_commit_floor (id SERIAL PRIMARY KEY, region_id INTEGER "
                           "NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL, UNIQUE (region_id, seq))")
            raw.commit()
            insert = "INSERT INTO bench_commit_floor (region_id, seq, payload) VALUES (%s, %s, %s)"
            start = time.perf_counter()
            for i in range(rows):
                cursor.execute(insert, (i, 1, payload))
                raw.commit()
            results.append(rows / (time.perf_counter() - start))
            start = time.perf_counter()
            for i in range(rows):
                cursor.execute(insert, (i, 2, payload))
            raw.commit()
            results.append(rows / (time.perf_counter() - start))
            cursor.execute("DROP TABLE bench_commit_floor")
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()
    return results[0], results[1]

def insert_floor(url: str, work: Path, rows: int, size: int) -> float:
    """Rows per second inserted by the bare driver in one transaction (executemany), on the
    same kind of database: sqlite3 in WAL with synchronous=FULL, or psycopg into the schema."""
    payload = "x" * size
    params = [(i, 1, payload) for i in range(rows)]
    create = ("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL, "
              "seq INTEGER NOT NULL, payload TEXT NOT NULL, UNIQUE (region_id, seq))")
    if url.startswith("sqlite"):
        path = work / f"insert-floor-{rows}.db"
        path.unlink(missing_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(create)
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO bench_floor (region_id, seq, payload) VALUES (?, ?, ?)", params)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return rows / elapsed
    from sqlalchemy import create_engine

    from onderwijsflow.store.db import Database

    engine = create_engine(Database(url).url)
    try:
        with engine.begin() as pg:
            pg.exec_driver_sql(create.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY"))
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            start = time.perf_counter()
            cursor.executemany("INSERT INTO bench_floor (region_id, seq, payload) VALUES (%s, %s, %s)",
                               params)
            raw.commit()
            elapsed = time.perf_counter() - start
            cursor.execute("DROP TABLE bench_floor")
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()
    return rows / elapsed


