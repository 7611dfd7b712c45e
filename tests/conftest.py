"""Shared fixtures: real databases, never mocks.

SQLite tests run on a real file in the test's temporary directory. PostgreSQL tests run
when ``ONDERWIJSFLOW_TEST_PG`` holds a URL (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
each test gets a schema of its own, dropped afterwards, so tests are independent and can
run in parallel.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

PG_ENV = "ONDERWIJSFLOW_TEST_PG"

#: The tests of mechanics read the English source texts; the tests of the Dutch a coordinator
#: reads say ``--lang nl`` (or set the variable) themselves.
os.environ["ONDERWIJSFLOW_LANG"] = "en"

#: The workflows as shipped until December 2024 (regiovorming v1, subsidie v1) and their
#: configuration (the rounds' parameters), frozen: the tests of the engine, store, scheduler
#: and report use them as their fixture, so that a change of the shipped content does not
#: churn tests of mechanics. Tests of the shipped content are marked ``shipped_workflows``
#: and see the real `workflows/` and `config/`.
LEGACY_WORKFLOWS = Path(__file__).resolve().parent / "data" / "workflows-2024"
LEGACY_CONFIG = Path(__file__).resolve().parent / "data" / "config-2024"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "shipped_workflows: the test reads the shipped workflows/, not the frozen set")
    config.addinivalue_line(
        "markers", "production: the databases the test creates are production databases")


@pytest.fixture(autouse=True, scope="module")
def frozen_workflows(request: pytest.FixtureRequest) -> Iterator[None]:
    """Default the application's workflows and configuration to the frozen set (see there).

    Module-scoped (and autouse, so it comes before a module's own fixtures): a module of tests
    of the shipped content says ``pytestmark = pytest.mark.shipped_workflows``.
    """
    if request.node.get_closest_marker("shipped_workflows"):
        yield
        return
    import onderwijsflow.config as config
    import onderwijsflow.service.base as base

    def frozen(name: str) -> Path:
        return LEGACY_WORKFLOWS if name == "workflows" else LEGACY_CONFIG

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(base, "shipped", frozen)
        patch.setattr(config, "shipped", frozen)
        yield


@pytest.fixture(autouse=True, scope="session")
def practice_databases() -> Iterator[None]:
    """The databases the tests create are practice databases (issue 9), as ``init --practice``
    makes them: the tests move a simulated clock and act as anne, joost and piet. Session-wide,
    so that module-scoped fixtures' databases are practice ones too. A test of production
    databases says ``init(practice=False)`` or is marked ``production`` (see below)."""
    from onderwijsflow.service.base import Base

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Base, "default_practice", True)
        yield


@pytest.fixture(autouse=True)
def production_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test marked ``production`` creates production databases, as plain ``init`` does."""
    if request.node.get_closest_marker("production") is None:
        yield
        return
    from onderwijsflow.service.base import Base

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Base, "default_practice", False)
        yield


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """A test that chose a language (``--lang nl`` in-process) leaves none behind."""
    yield
    from onderwijsflow import i18n

    i18n.set_language(None)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """The URL of a (not yet existing) SQLite file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'onderwijsflow.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of an empty schema of its own in the test PostgreSQL database.

    Skips the test when ``ONDERWIJSFLOW_TEST_PG`` is not set.
    """
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    from sqlalchemy import create_engine, text

    from onderwijsflow.store.db import Database

    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(Database(base).url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in base else "?"
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _make_practice(database) -> None:  # type: ignore[no-untyped-def]
    """Turn a just-migrated database into a practice database (what ``init --practice`` does)."""
    from sqlalchemy import text

    with database.connect() as connection, connection.begin():
        connection.execute(text("UPDATE policy SET practice = :yes WHERE id = 1"), {"yes": True})


def _migrated(url: str) -> Iterator:
    from onderwijsflow.store.db import Database
    from onderwijsflow.store.migrate import upgrade

    database = Database(url)
    try:
        upgrade(database)
        _make_practice(database)
        yield database
    finally:
        database.dispose()


@pytest.fixture
def db(sqlite_url: str) -> Iterator:
    """A migrated Database on a real SQLite file."""
    yield from _migrated(sqlite_url)


@pytest.fixture
def pg_db(pg_url: str) -> Iterator:
    """A migrated Database on PostgreSQL (skipped without ``ONDERWIJSFLOW_TEST_PG``)."""
    yield from _migrated(pg_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest) -> Iterator:
    """A migrated Database, once on SQLite and once on PostgreSQL (when configured)."""
    url_fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    yield from _migrated(request.getfixturevalue(url_fixture))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, empty database: a SQLite file, then a PostgreSQL schema of its own.

    The PostgreSQL run skips (visibly) without ``ONDERWIJSFLOW_TEST_PG``; its schema is
    dropped when the test ends.
    """
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture(scope="session")
def bytecode_cache(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the CLI processes of a test run keep their compiled modules.

    The environment may set ``PYTHONDONTWRITEBYTECODE``; every process would then compile the
    package again, a third of its start-up. The processes keep their bytecode under
    ``PYTHONPYCACHEPREFIX`` instead: pytest's cache directory (reused by later runs), or a
    temporary directory when the cache is switched off.
    """
    cache = getattr(pytestconfig, "cache", None)
    return cache.mkdir("onderwijsflow-bytecode") if cache is not None else tmp_path_factory.mktemp("bytecode")


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """Start real SMTP servers (aiosmtpd) on free local ports: ``start(handler, **options)``
    gives the running controller; all are stopped when the test ends."""
    from aiosmtpd.controller import Controller
    from support import free_port

    started: list[Controller] = []

    def start(handler: object, **options: Any) -> Controller:
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()
