"""Alembic environment: run the migrations on the connection onderwijsflow hands in.

`onderwijsflow.store.migrate.upgrade` builds the alembic Config in code (there is no
alembic.ini) and passes an open connection, inside its transaction, as
``config.attributes["connection"]``. Without one (the alembic command line, with
``sqlalchemy.url`` set) a Database is opened for the URL. SQLite needs batch mode
(``render_as_batch``) because it cannot alter most table properties in place.
"""

from alembic import context
from sqlalchemy.engine import Connection

from onderwijsflow.store.tables import metadata

config = context.config
target_metadata = metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the given connection, or one opened for ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    from onderwijsflow.store.db import Database

    database = Database(config.get_main_option("sqlalchemy.url") or "")
    try:
        with database.connect() as connection, connection.begin():
            _configure_and_run(connection)
    finally:
        database.dispose()


def run_migrations_offline() -> None:
    """Write the SQL for ``sqlalchemy.url``'s dialect instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
