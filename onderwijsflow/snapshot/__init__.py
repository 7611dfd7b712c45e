"""Region snapshots read with plain SQL, through whichever driver the caller holds.

The checks evaluate a :class:`~onderwijsflow.engine.context.RegionContext`; this package
reads one (or many) out of the database's rows. Its queries are plain SQL with ``?``
placeholders, run by a :data:`~onderwijsflow.snapshot.rows.Run` the caller supplies: the
service's SQLAlchemy connection (SQLite or PostgreSQL, see `service.snapshot`) or the
standard library's ``sqlite3`` on the `check` command's lean path. One definition of the
queries serves both, and nothing here imports SQLAlchemy.
"""
