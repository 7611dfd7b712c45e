"""PostgreSQL through the real command line, and databases that cannot be used (issue 4, item 1).

The PostgreSQL tests run ``python -m onderwijsflow --db URL ...`` against a schema of their
own in the database ``ONDERWIJSFLOW_TEST_PG`` names (fixture `pg_url`) and skip, saying
why, without it. ``init`` creates the schema, the events table refuses UPDATE, DELETE and
TRUNCATE, and a coordinator's day (create a region, be refused with the unmet requirement
named, fix it, advance, look back with ``history --as-of``, ``audit verify``) works as on
SQLite.

A database that cannot be reached, or whose schema is older or newer than the code, gets
one sentence on stderr and exit 1, never a traceback; ``init`` upgrades an older schema and
refuses a newer one. Those checks run on SQLite and on PostgreSQL (fixture `backend_url`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc, inspect, text
from sqlalchemy.engine import make_url
from support import frozen_child

from onderwijsflow.service import Onderwijsflow
from onderwijsflow.store.db import Database
from onderwijsflow.store.migrate import HEAD, alembic_config, current_revision

REPO = Path(__file__).resolve().parents[1]

#: What `dien_aanvraag_in` (regiovorming) needs, in the order the workflow lists them.
APPLICATION_REQUIREMENTS = [
    "schoolbestuur_betrokken",
    "lerarenopleiding_betrokken",
    "samenwerking_vastgelegd",
    "arbeidsmarktanalyse_aanwezig",
]

TABLES = {"workflow_versions", "regions", "partners", "role_assignments", "documents", "facts",
          "cases", "events", "milestones", "reminders", "outbox", "alembic_version"}


# --- running the CLI ---------------------------------------------------------------------


@dataclass
class Run:
    """One finished ``onderwijsflow`` process."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def one_sentence(self) -> str:
        """The error: exactly one line on stderr, ``error: ...``, no traceback."""
        assert "Traceback" not in self.err, self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("error: "), self.err
        return lines[0].removeprefix("error: ")


@pytest.fixture(scope="session")
def bytecode_cache(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where child processes keep compiled modules (see tests/test_concurrency.py)."""
    cache = getattr(pytestconfig, "cache", None)
    return cache.mkdir("onderwijsflow-bytecode") if cache is not None else tmp_path_factory.mktemp("bytecode")


@pytest.fixture
def cli(tmp_path: Path, bytecode_cache: Path):
    """Start ``onderwijsflow --db URL [--config FILE] [--now T] ARGS...`` processes.

    ``start(url, *args)`` returns the process; ``finish(process)`` its `Run`, and
    ``run(url, *args)`` does both. Independent commands start together and are then finished,
    because each process start costs about a second.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["ONDERWIJSFLOW_ACTOR"] = "anne"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(bytecode_cache)
    frozen_child(env)
    workdir = tmp_path / "work"
    workdir.mkdir()
    started: list[subprocess.Popen[str]] = []

    class Cli:
        @staticmethod
        def start(url: str, *args: str, config: Path | None = None,
                  now: str | None = None) -> subprocess.Popen[str]:
            options = ["--db", url]
            if config is not None:
                options += ["--config", str(config)]
            if now is not None:
                options += ["--now", now]
            process = subprocess.Popen([sys.executable, "-m", "onderwijsflow", *options, *args],
                                       cwd=workdir, env=env, text=True, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
            started.append(process)
            return process

        @staticmethod
        def finish(process: subprocess.Popen[str]) -> Run:
            out, err = process.communicate(timeout=120)
            return Run(tuple(map(str, process.args)), process.returncode, out, err)

        @classmethod
        def run(cls, url: str, *args: str, **options: Any) -> Run:
            return cls.finish(cls.start(url, *args, **options))

    yield Cli
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def migrated_to(url: str, revision: str) -> None:
    """Create the schema of `revision` (an older one), as an older onderwijsflow did."""
    from alembic import command

    database = Database(url)
    try:
        with database.connect() as connection, connection.begin():
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        database.dispose()


def stamp(url: str, revision: str) -> None:
    database = Database(url)
    try:
        with database.session() as session:
            session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    finally:
        database.dispose()


def revision_of(url: str) -> str | None:
    database = Database(url)
    try:
        return current_revision(database)
    finally:
        database.dispose()


def initialised(url: str) -> None:
    """The current schema, made in process (cheaper than a CLI start)."""
    app = Onderwijsflow.open(db=url)
    try:
        app.init()
    finally:
        app.close()


# --- PostgreSQL through the CLI ----------------------------------------------------------


def test_init_creates_the_schema_on_postgresql(pg_url: str, cli) -> None:
    first = cli.run(pg_url, "init", "--json")
    assert first.code == 0, first.err
    assert first.err == ""
    result = first.json()
    assert (result["from_revision"], result["revision"]) == (None, HEAD)
    assert result["workflows_stored"] == ["regiovorming v1", "subsidie v1"]
    assert "postgresql+psycopg://" in result["database"]

    database = Database(pg_url)
    try:
        with database.connect() as connection:
            inspector = inspect(connection)
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            assert schema.startswith("test_")  # the test's own schema, not public
            assert set(inspector.get_table_names()) >= TABLES
            triggers = set(connection.execute(text(
                "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = 'events' AND n.nspname = current_schema() AND NOT t.tgisinternal"
            )).scalars())
            assert triggers == {"events_no_update_or_delete", "events_no_truncate",
                                "events_actor_is_login"}
    finally:
        database.dispose()

    again = cli.run(pg_url, "init", "--json")
    assert again.code == 0, again.err
    assert (again.json()["from_revision"], again.json()["revision"]) == (HEAD, HEAD)
    assert again.json()["workflows_stored"] == []


def test_postgresql_refuses_to_update_delete_or_truncate_events(pg_url: str, cli) -> None:
    assert cli.run(pg_url, "init").code == 0
    created = cli.run(pg_url, "region", "create", "twente", "--name", "Twente")
    assert created.code == 0, created.err

    database = Database(pg_url)
    try:
        for statement in ("UPDATE events SET actor = 'mallory'",
                          "UPDATE events SET to_state = 'gesubsidieerd' WHERE kind = 'case_opened'",
                          "DELETE FROM events",
                          "DELETE FROM events WHERE seq = 2",
                          "TRUNCATE events",
                          "TRUNCATE events CASCADE"):
            with database.connect() as connection:
                transaction = connection.begin()
                with pytest.raises(exc.IntegrityError, match="events are append-only"):
                    connection.execute(text(statement))
                transaction.rollback()
        with database.session(write=False) as session:
            rows = session.execute(text("SELECT seq, kind, actor FROM events ORDER BY seq")).all()
    finally:
        database.dispose()
    assert [tuple(row) for row in rows] == [(1, "region_created", "anne"), (2, "case_opened", "anne")]
    verify = cli.run(pg_url, "audit", "verify")
    assert verify.code == 0, verify.err


def test_a_coordinators_day_on_postgresql(pg_url: str, cli, tmp_path: Path) -> None:
    config = tmp_path / "onderwijsflow.yaml"
    config.write_text("simulated_clock: true\n", encoding="utf-8")

    def run(*args: str, now: str = "2024-09-02T09:00") -> Run:
        return cli.run(pg_url, *args, config=config, now=now)

    assert run("init").code == 0
    created = run("region", "create", "twente", "--name", "Twente", "--coordinator", "re@example.org",
                  "--json")
    assert created.code == 0, created.err
    assert created.json()["cases"]["regiovorming"]["state"] == "verkenning"

    refused = run("advance", "twente", "dien_aanvraag_in", "--json", now="2024-09-05T10:00")
    assert refused.code == 3
    assert refused.one_sentence() == (
        "twente: 'dien_aanvraag_in' refused, 4 requirement(s) unmet: " + ", ".join(APPLICATION_REQUIREMENTS))
    answer = refused.json()
    assert (answer["ok"], answer["code"], answer["to"]) == (False, "unmet", "verkenning")
    assert [u["requirement"] for u in answer["unmet"]] == APPLICATION_REQUIREMENTS
    assert "no school board as partner" in answer["unmet"][0]["detail"]

    # The fix: four independent commands, four coordinators at once.
    fixes = [
        ("partner", "add", "twente", "Stichting Primair Twente", "--kind", "schoolbestuur", "--sector", "PO"),
        ("partner", "add", "twente", "Pabo Twente", "--kind", "lerarenopleiding"),
        ("document", "add", "twente", "intentieverklaring", "--title", "Intentieverklaring"),
        ("document", "add", "twente", "arbeidsmarktanalyse", "--title", "Arbeidsmarktanalyse"),
    ]
    started = [cli.start(pg_url, *args, config=config, now="2024-09-10T10:00") for args in fixes]
    for done in map(cli.finish, started):
        assert (done.code, done.err) == (0, ""), done

    allowed = run("advance", "twente", "dien_aanvraag_in", "--reason", "compleet", "--json",
                  now="2024-09-20T10:00")
    assert allowed.code == 0, allowed.err
    moved = allowed.json()
    assert (moved["from"], moved["to"], moved["ok"], moved["unmet"]) == (
        "verkenning", "aanvraag_ingediend", True, [])
    assert all(r["passed"] for r in moved["evidence"])

    looks = [cli.start(pg_url, *args, config=config) for args in (
        ("history", "twente", "--as-of", "2024-09-15", "--json"),
        ("history", "twente", "--as-of", "2024-09-20", "--json"),
        ("history", "twente", "--all", "--json"),
        ("audit", "verify", "--json"),
    )]
    before, after, everything, verify = map(cli.finish, looks)
    for done in (before, after, everything, verify):
        assert done.code == 0, done
    assert before.json()["state"] == {"regiovorming": "verkenning"}
    assert before.json()["events"] == []
    assert after.json()["state"] == {"regiovorming": "aanvraag_ingediend"}
    [transition] = after.json()["events"]
    assert (transition["from"], transition["to"], transition["actor"], transition["reason"]) == (
        "verkenning", "aanvraag_ingediend", "anne", "compleet")
    assert transition["at"].startswith("2024-09-20T10:00")
    kinds = [e["kind"] for e in everything.json()["events"]]
    assert kinds[:3] == ["region_created", "case_opened", "refused"]
    assert sorted(kinds[3:7]) == ["document_added", "document_added", "partner_added", "partner_added"]
    assert kinds[7:] == ["transition"]
    assert [e["seq"] for e in everything.json()["events"]] == list(range(1, 9))
    verified = verify.json()
    assert {k: verified[k] for k in ("ok", "regions", "events", "broken")} == {
        "ok": True, "regions": 1, "events": 8, "broken": []}
    assert verified["case_mismatches"] == [] and verified["problems"] == []


# --- databases that cannot be used, on both -----------------------------------------------


def unreachable(url: str, tmp_path: Path) -> tuple[str, str]:
    """A database like `url` that cannot be used, and the start of what the CLI must say."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        missing = tmp_path / "no-such-directory" / "onderwijsflow.db"
        return f"sqlite:///{missing}", f"cannot open the database at sqlite:///{missing}: the directory"
    dead = parsed.set(port=1).render_as_string(hide_password=False)
    return dead, "cannot reach the database at postgresql+psycopg://postgres@127.0.0.1:1/"


def test_an_unreachable_database_is_one_sentence(backend_url: str, cli, tmp_path: Path) -> None:
    url, sentence = unreachable(backend_url, tmp_path)
    runs = [cli.start(url, *args) for args in (
        ("region", "list"), ("init",), ("advance", "twente", "dien_aanvraag_in"), ("scheduler", "tick"))]
    for done in map(cli.finish, runs):
        assert done.code == 1, done
        assert done.one_sentence().startswith(sentence), done.err
        assert done.out == ""
    assert not (tmp_path / "no-such-directory").exists()


def test_a_database_without_a_schema_asks_for_init(backend_url: str, cli) -> None:
    done = cli.run(backend_url, "region", "list")
    assert done.code == 1
    assert done.one_sentence().endswith("has no onderwijsflow schema yet; run 'onderwijsflow init'")
    assert revision_of(backend_url) is None  # asking created nothing


def test_an_older_schema_asks_for_init_and_init_upgrades_it(backend_url: str, cli) -> None:
    migrated_to(backend_url, "0001")
    assert revision_of(backend_url) == "0001"

    refused = [cli.start(backend_url, *args) for args in (
        ("region", "list"), ("region", "create", "twente", "--name", "Twente"), ("audit", "verify"))]
    for done in map(cli.finish, refused):
        assert done.code == 1, done
        assert done.one_sentence() == (
            f"the database schema (rev 0001) is older than this version of onderwijsflow (rev {HEAD}); "
            "run 'onderwijsflow init' to upgrade")
    assert revision_of(backend_url) == "0001"  # nothing was changed by refusing

    upgraded = cli.run(backend_url, "init", "--json")
    assert upgraded.code == 0, upgraded.err
    assert (upgraded.json()["from_revision"], upgraded.json()["revision"]) == ("0001", HEAD)
    assert revision_of(backend_url) == HEAD
    created = cli.run(backend_url, "region", "create", "twente", "--name", "Twente")
    assert created.code == 0, created.err


def test_a_stamped_older_revision_gets_the_same_sentence(backend_url: str, cli) -> None:
    initialised(backend_url)
    stamp(backend_url, "0001")
    done = cli.run(backend_url, "region", "list")
    assert done.code == 1
    assert "is older than this version of onderwijsflow" in done.one_sentence()
    assert done.one_sentence().endswith("run 'onderwijsflow init' to upgrade")


def test_a_newer_schema_asks_to_upgrade_onderwijsflow_and_init_leaves_it(
    backend_url: str, cli
) -> None:
    initialised(backend_url)
    stamp(backend_url, "9999")
    runs = [cli.start(backend_url, *args) for args in (
        ("region", "list"), ("init",), ("scheduler", "status"))]
    for done in map(cli.finish, runs):
        assert done.code == 1, done
        assert done.one_sentence() == (
            f"the database schema (rev 9999) is newer than this version of onderwijsflow (rev {HEAD}); "
            "upgrade onderwijsflow")
    assert revision_of(backend_url) == "9999"


def test_a_deadlock_victim_gets_conflict_with_nothing_written(pg_url: str) -> None:
    """PostgreSQL breaks a lock cycle by rolling one transaction back: that one is the loser of
    a race like any other (exit 5, nothing written), not a database failure (exit 1)."""
    from onderwijsflow.errors import Conflict

    app = Onderwijsflow.open(db=pg_url, actor="anne")
    try:
        app.init()
        app.create_region("noord", name="Noord")
        app.create_region("zuid", name="Zuid")
    finally:
        app.close()

    both_hold_one = threading.Barrier(2, timeout=60)
    outcomes: dict[str, BaseException | None] = {}

    def rename(who: str, first: str, second: str) -> None:
        database = Database(pg_url)
        try:
            with database.session() as session:
                for slug in (first, second):
                    session.execute(text("UPDATE regions SET name = :name WHERE slug = :slug"),
                                    {"name": f"{slug} van {who}", "slug": slug})
                    if slug == first:
                        both_hold_one.wait()
            outcomes[who] = None
        except BaseException as err:  # reported to the test thread below
            outcomes[who] = err
        finally:
            database.dispose()

    threads = [threading.Thread(target=rename, args=("anne", "noord", "zuid")),
               threading.Thread(target=rename, args=("bert", "zuid", "noord"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    losers = {who: err for who, err in outcomes.items() if err is not None}
    assert len(outcomes) == 2 and len(losers) == 1, outcomes
    [(loser, error)] = losers.items()
    assert isinstance(error, Conflict), repr(error)
    assert error.exit_code == 5
    assert "nothing was written, try again" in str(error)
    winner = "bert" if loser == "anne" else "anne"
    database = Database(pg_url)
    try:
        with database.session(write=False) as session:
            names = set(session.execute(text("SELECT name FROM regions")).scalars())
    finally:
        database.dispose()
    assert names == {f"noord van {winner}", f"zuid van {winner}"}
