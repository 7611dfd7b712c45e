"""The lean read path: `region show`, `region list`, `history`, `audit verify` and
`deadlines` at their floor.

These commands read through :mod:`onderwijsflow.lean.reader` (the standard library's
``sqlite3``, Babel and rich, and PyYAML only until a text's parse is cached by
:mod:`onderwijsflow.textcache`; `deadlines` through :mod:`onderwijsflow.lean.deadlines`
on top of it) instead of the service layer, which imports SQLModel, the ORM and pydantic.
On PostgreSQL the reader runs the same SQL through psycopg (:mod:`onderwijsflow.lean.postgres`)
for `region show`, `region list`, `history`, `audit verify` and `deadlines`. The lean path
handles the common case and answers None for anything else (a configuration file, ``--now``,
``--backdate``, ``--actor`` other than the login in a production database (on PostgreSQL any
``--actor``), an unknown region, a schema that is not current, workflow files the database
has not stored, an audit log with any problem, an anchor); the command then runs the full
path, which gives the same output or the same error. Nothing here may
import sqlalchemy, sqlmodel or pydantic (``tests/test_lean.py`` and
``tests/test_lean_deadlines.py`` check it).

:mod:`onderwijsflow.values` (typed fact values) and :mod:`onderwijsflow.chain` (the
audit log's canonical JSON and hashes) are pure code moved here from the workflow language
and the store, which re-export them. `check` has a lean path of its own, which evaluates
the requirements with the engine: :mod:`onderwijsflow.readiness.lean` (SQLite only: on
PostgreSQL the roles are the database's groups).
"""
