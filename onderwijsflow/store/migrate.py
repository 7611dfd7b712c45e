"""Create, upgrade and check the database schema.

`upgrade` runs the shipped alembic migrations in-process (only ``onderwijsflow init`` does
that: importing alembic costs about 300 ms). Every other command calls `ensure_current`,
which reads the stored revision with one plain query and compares it with
`migrations.HEAD`, so that an old or new database gets a clear sentence instead of a
confusing SQL error halfway through a command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from onderwijsflow.errors import DatabaseError
from onderwijsflow.i18n import _
from onderwijsflow.store.db import Database, lock_for_migration
from onderwijsflow.store.migrations import HEAD, REVISIONS

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD", "alembic_config", "current_revision", "ensure_current", "upgrade"]

#: Where alembic finds env.py and versions/, as a package resource.
SCRIPT_LOCATION = "onderwijsflow.store:migrations"

#: Key of the PostgreSQL advisory lock that makes concurrent `init` runs take turns.
_PG_LOCK_KEY = 0x6F6E6477  # "ondw"


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the schema to the code's head revision, creating it on an empty database.

    Runs in one transaction: on failure nothing changes. Concurrent calls take turns (the
    SQLite write lock, a PostgreSQL advisory lock), and the later one finds nothing to do.

    Returns:
        The revision before (None for an empty database) and after.

    Raises:
        DatabaseError: the database cannot be reached, or its schema is newer than the code.
    """
    from alembic import command

    with db.connect() as connection, connection.begin():
        lock_for_migration(connection, _PG_LOCK_KEY)
        before = _revision(connection)
        if before is not None and before not in REVISIONS:
            raise DatabaseError(_newer_message(before))
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = _revision(connection)
    assert after is not None, "alembic upgrade left no revision"
    return before, after


def current_revision(db: Database) -> str | None:
    """The schema revision stored in the database, or None when it has no schema yet.

    A SQLite file that does not exist is not created by asking (a command run in the
    wrong directory must not leave an empty database behind).

    Raises:
        DatabaseError: the database cannot be reached.
    """
    path = db.sqlite_path
    if path is not None and not path.exists():
        return None
    with db.connect(write=False) as connection, connection.begin():
        return _revision(connection)


def ensure_current(db: Database) -> None:
    """Check that the database schema is the one this code was written for.

    Raises:
        DatabaseError: no schema, an older one (run ``init``) or a newer one (upgrade
            onderwijsflow), with a sentence that says which.
    """
    revision = current_revision(db)
    if revision == HEAD:
        return
    if revision is None:
        raise DatabaseError(
            _("the database at {url} has no onderwijsflow schema yet; run 'onderwijsflow init'")
            .format(url=db.display_url)
        )
    if revision in REVISIONS:
        raise DatabaseError(
            _("the database schema (rev {revision}) is older than this version of onderwijsflow "
              "(rev {head}); run 'onderwijsflow init' to upgrade").format(revision=revision, head=HEAD)
        )
    raise DatabaseError(_newer_message(revision))


def alembic_config() -> Config:
    """An alembic Config for the shipped migrations, built in code (no alembic.ini).

    Alembic is imported here, not at module level, so that `ensure_current` stays cheap.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    return config


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if rows else None


def _newer_message(revision: str) -> str:
    if revision.isdigit() and int(revision) > int(HEAD):
        return _(
            "the database schema (rev {revision}) is newer than this version of onderwijsflow "
            "(rev {head}); upgrade onderwijsflow"
        ).format(revision=revision, head=HEAD)
    return _(
        "the database schema has revision {revision}, which no version of onderwijsflow "
        "made; is this an onderwijsflow database?"
    ).format(revision=repr(revision))
