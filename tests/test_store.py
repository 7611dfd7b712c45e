"""The store: connections, pragmas, transactions, migrations and optimistic locking."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from onderwijsflow.errors import Conflict, DatabaseError
from onderwijsflow.store import migrate
from onderwijsflow.store.db import Database, compare_and_set_case
from onderwijsflow.store.migrations import HEAD, REVISIONS
from onderwijsflow.store.tables import Case, Fact, Region, metadata

NOW = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)


def _region(db: Database, slug: str = "zuidoost-brabant") -> int:
    with db.session() as session:
        region = Region(slug=slug, name=slug.title(), provinces=["Noord-Brabant"], sectors=["PO"])
        session.add(region)
        session.flush()
        assert region.id is not None
        return region.id


def _case(db: Database, region_id: int, workflow: str = "regiovorming") -> int:
    with db.session() as session:
        case = Case(
            region_id=region_id,
            workflow=workflow,
            workflow_version=1,
            state="verkenning",
            state_entered_at=NOW,
            opened_at=NOW,
        )
        session.add(case)
        session.flush()
        assert case.id is not None
        return case.id


# --- connections -------------------------------------------------------------------------


def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(db: Database) -> None:
    with db.session() as session:
        connection = session.connection()
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 2
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 30000


def test_sqlite_foreign_keys_are_enforced(db: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session() as session:
        session.add(Fact(region_id=999, name="x", value=1, type="integer", updated_at=NOW))


def test_sqlite_write_session_takes_the_lock_and_readers_still_read(db: Database) -> None:
    import sqlite3

    region_id = _region(db)
    with db.session() as writer:
        writer.exec(select(Region)).all()  # a mere read, yet BEGIN IMMEDIATE took the lock
        other = sqlite3.connect(db.url.database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
        with db.session(write=False) as reader:
            assert reader.get(Region, region_id) is not None


def test_session_commits_on_success_and_rolls_back_on_error(any_db: Database) -> None:
    with any_db.session() as session:
        session.add(Region(slug="kept", name="Kept"))
    with pytest.raises(RuntimeError), any_db.session() as session:
        session.add(Region(slug="lost", name="Lost"))
        session.flush()
        raise RuntimeError("boom")
    with any_db.session(write=False) as session:
        assert session.exec(select(Region.slug)).all() == ["kept"]


def test_objects_stay_usable_after_the_session(any_db: Database) -> None:
    with any_db.session() as session:
        region = Region(slug="utrecht", name="Utrecht", sectors=["PO", "VO"])
        session.add(region)
    assert region.sectors == ["PO", "VO"]
    assert region.created_at.tzinfo is not None


def test_datetimes_come_back_aware_utc(any_db: Database) -> None:
    region_id = _region(any_db)
    case_id = _case(any_db, region_id)
    with any_db.session(write=False) as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.opened_at == NOW
        assert case.opened_at.utcoffset().total_seconds() == 0


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="timezone"), db.session() as session:
        session.add(Region(slug="naive", name="N", created_at=datetime(2024, 1, 1)))


@pytest.mark.parametrize(
    ("url", "drivername"),
    [
        ("postgresql://u@localhost/db", "postgresql+psycopg"),
        ("postgres://u@localhost/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@localhost/db", "postgresql+psycopg"),
        ("sqlite:///:memory:", "sqlite"),
    ],
)
def test_urls_are_normalized(url: str, drivername: str) -> None:
    database = Database(url)
    try:
        assert database.url.drivername == drivername
        assert database.is_sqlite == (drivername == "sqlite")
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@localhost/db", "is not supported"),
        ("no url at all", "is not a database URL"),
        ("sqlite:////no/such/directory/x.db", "the directory /no/such/directory does not exist"),
    ],
)
def test_bad_urls_are_refused_in_one_sentence(url: str, message: str) -> None:
    with pytest.raises(DatabaseError, match=message) as caught:
        Database(url)
    assert "\n" not in str(caught.value)


def test_unreachable_database_is_one_sentence_without_password() -> None:
    database = Database("postgresql://someone:s3cret@127.0.0.1:1/nothing")
    try:
        with pytest.raises(DatabaseError) as caught, database.session():
            pass
    finally:
        database.dispose()
    message = str(caught.value)
    assert message.startswith(
        "cannot reach the database at postgresql+psycopg://someone@127.0.0.1:1/nothing: "
    )
    assert "s3cret" not in message
    assert "\n" not in message
    assert "Connection refused" in message


def test_a_file_that_is_not_a_database_is_one_sentence(tmp_path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database, just notes\n" * 100)
    database = Database(f"sqlite:///{path}")
    try:
        with pytest.raises(DatabaseError, match="file is not a database") as caught:
            migrate.current_revision(database)
    finally:
        database.dispose()
    assert str(caught.value).startswith(f"cannot open the database at sqlite:///{path}: ")


# --- migrations ----------------------------------------------------------------------------


def test_upgrade_creates_the_schema_on_an_empty_database(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        assert migrate.current_revision(database) is None
        assert migrate.upgrade(database) == (None, HEAD)
        assert migrate.current_revision(database) == HEAD
        assert migrate.upgrade(database) == (HEAD, HEAD)
        migrate.ensure_current(database)
    finally:
        database.dispose()


def test_migrated_schema_matches_the_table_classes(any_db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with any_db.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_head_matches_the_alembic_scripts() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert scripts.get_heads() == [HEAD]
    history = [script.revision for script in scripts.walk_revisions()]
    assert tuple(reversed(history)) == REVISIONS


def test_ensure_current_on_an_empty_database(any_db: Database) -> None:
    with any_db.connect() as connection, connection.begin():
        connection.execute(text("DROP TABLE alembic_version"))
    with pytest.raises(DatabaseError) as caught:
        migrate.ensure_current(any_db)
    assert str(caught.value).endswith("has no onderwijsflow schema yet; run 'onderwijsflow init'")


def test_ensure_current_on_a_missing_file_leaves_no_file_behind(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        with pytest.raises(DatabaseError, match="has no onderwijsflow schema yet"):
            migrate.ensure_current(database)
        assert database.sqlite_path is not None
        assert not database.sqlite_path.exists()
    finally:
        database.dispose()


def test_ensure_current_on_an_older_schema(db: Database, monkeypatch) -> None:
    monkeypatch.setattr(migrate, "REVISIONS", (*REVISIONS, "9998"))
    monkeypatch.setattr(migrate, "HEAD", "9998")
    with pytest.raises(DatabaseError) as caught:
        migrate.ensure_current(db)
    assert str(caught.value) == (
        f"the database schema (rev {HEAD}) is older than this version of onderwijsflow "
        "(rev 9998); run 'onderwijsflow init' to upgrade"
    )


def _stamp(db: Database, revision: str) -> None:
    with db.connect() as connection, connection.begin():
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_ensure_current_on_a_newer_schema(db: Database) -> None:
    _stamp(db, "9999")
    with pytest.raises(DatabaseError) as caught:
        migrate.ensure_current(db)
    assert str(caught.value) == (
        f"the database schema (rev 9999) is newer than this version of onderwijsflow "
        f"(rev {HEAD}); upgrade onderwijsflow"
    )
    with pytest.raises(DatabaseError, match="is newer than this version"):
        migrate.upgrade(db)


def test_ensure_current_on_a_foreign_schema(db: Database) -> None:
    _stamp(db, "ae1027a6acf")
    with pytest.raises(DatabaseError, match="is this an onderwijsflow database"):
        migrate.ensure_current(db)


def test_importing_the_store_imports_neither_alembic_nor_more_than_needed() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import onderwijsflow.store.db\n"
        "assert 'onderwijsflow.store.tables' not in sys.modules, 'tables imported'\n"
        "import onderwijsflow.store.migrate, onderwijsflow.store.audit\n"
        "assert 'alembic' not in sys.modules, 'alembic imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_concurrent_upgrades_take_turns(pg_url: str) -> None:
    databases = [Database(pg_url) for _ in range(3)]
    results: list[tuple[str | None, str]] = []
    errors: list[BaseException] = []

    def run(database: Database) -> None:
        try:
            results.append(migrate.upgrade(database))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in databases:
        database.dispose()
    assert errors == []
    assert sorted(results, key=lambda result: result[0] or "") == [
        (None, HEAD),
        (HEAD, HEAD),
        (HEAD, HEAD),
    ]


# --- optimistic locking ----------------------------------------------------------------


def test_compare_and_set_changes_the_case_and_counts_up(any_db: Database) -> None:
    case_id = _case(any_db, _region(any_db))
    later = datetime(2024, 11, 1, tzinfo=UTC)
    with any_db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.lock_version == 0
        compare_and_set_case(session, case_id, 0, state="pilot", state_entered_at=later)
        assert (case.state, case.lock_version, case.state_entered_at) == ("pilot", 1, later)
        assert case not in session.dirty
    with any_db.session(write=False) as session:
        stored = session.get(Case, case_id)
        assert stored is not None
        assert (stored.state, stored.lock_version, stored.state_entered_at) == ("pilot", 1, later)


def test_compare_and_set_with_a_stale_version_is_a_conflict(any_db: Database) -> None:
    case_id = _case(any_db, _region(any_db))
    with any_db.session() as first:
        seen = first.get(Case, case_id)
        assert seen is not None
        stale = seen.lock_version
    with any_db.session() as second:
        compare_and_set_case(second, case_id, stale, state="pilot")
    with pytest.raises(Conflict, match="nothing was written, try again"), any_db.session() as s:
        compare_and_set_case(s, case_id, stale, state="afgewezen")
    with any_db.session(write=False) as session:
        stored = session.get(Case, case_id)
        assert stored is not None
        assert (stored.state, stored.lock_version) == ("pilot", stale + 1)


def test_compare_and_set_on_a_missing_case_is_a_conflict(db: Database) -> None:
    with pytest.raises(Conflict), db.session() as session:
        compare_and_set_case(session, 12345, 0, state="x")


def test_concurrent_compare_and_set_lets_exactly_one_win(any_db: Database) -> None:
    case_id = _case(any_db, _region(any_db))
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def advance(target: str) -> None:
        barrier.wait()
        try:
            with any_db.session() as session:
                case = session.get(Case, case_id)
                assert case is not None
                compare_and_set_case(session, case_id, case.lock_version, state=target)
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    # Each thread reads, then writes: with a stale read the guard must refuse.
    threads = [threading.Thread(target=advance, args=(f"s{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with any_db.session(write=False) as session:
        stored = session.get(Case, case_id)
        assert stored is not None
    assert stored.lock_version == outcomes.count("won")
    assert len(outcomes) == 4
