"""Identity, least privilege and write scope on real PostgreSQL with real login roles (issue 9).

Each test gets a schema owned by an owner role of its own (which runs ``init`` and
``user add``), and login roles with unique names, dropped afterwards. The group roles
(``onderwijsflow_coordinator`` and so on) are cluster-wide and stay. Authentication is trust;
what is tested is what the grants, the actor trigger and row-level security allow.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from support import ENV_VARS, Run, invoke

pytestmark = pytest.mark.production

PG_ENV = "ONDERWIJSFLOW_TEST_PG"


class World:
    """A schema, its owner and the logins of one test."""

    def __init__(self, base: str, tag: str, config: Path) -> None:
        from sqlalchemy.engine import make_url

        self.base = make_url(base)
        self.tag = tag
        self.schema = f"pgr_{tag}"
        self.owner = f"pgr_{tag}_owner"
        self.config = config
        self.logins: list[str] = []

    def name(self, who: str) -> str:
        return f"pgr_{self.tag}_{who}"

    def url(self, login: str) -> str:
        options = quote(f"-csearch_path={self.schema}")
        return (f"postgresql+psycopg://{login}@{self.base.host}:{self.base.port or 5432}/"
                f"{self.base.database}?options={options}")

    def dsn(self, login: str) -> str:
        return (f"host={self.base.host} port={self.base.port or 5432} dbname={self.base.database} "
                f"user={login} options=-csearch_path={self.schema}")

    def cli(self, login: str, *args: str, config: Path | None = None) -> Run:
        env: dict[str, str | None] = {f"ONDERWIJSFLOW_{name}": None for name in ENV_VARS}
        env.update({"ONDERWIJSFLOW_DB": self.url(login), "ONDERWIJSFLOW_LANG": "en",
                    "ONDERWIJSFLOW_CONFIG": str(config or self.config), "COLUMNS": "200"})
        return invoke(args, env)

    def ok(self, login: str, *args: str) -> Run:
        run = self.cli(login, *args)
        assert run.code == 0, str(run)
        return run

    def refused(self, login: str, *args: str) -> str:
        run = self.cli(login, *args)
        assert run.code == 3, str(run)
        return run.sentence()

    def user(self, who: str, *roles: str) -> str:
        login = self.name(who)
        args = [arg for role in roles for arg in ("--role", role)]
        self.ok(self.owner, "user", "add", login, *args, "--email", f"{who}@example.org")
        self.logins.append(login)
        return login

    def sql(self, login: str) -> psycopg.Connection:
        return psycopg.connect(self.dsn(login), autocommit=True)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    config = tmp_path / "loose.yaml"
    config.write_text("simulated_clock: true\nactors: {}\n", encoding="utf-8")
    w = World(base, uuid.uuid4().hex[:10], config)
    superuser = psycopg.connect(w.dsn(w.base.username or "postgres"), autocommit=True)
    try:
        superuser.execute(f'CREATE ROLE "{w.owner}" LOGIN CREATEROLE')
        superuser.execute(f'CREATE SCHEMA "{w.schema}" AUTHORIZATION "{w.owner}"')
        w.ok(w.owner, "init")
        yield w
    finally:
        superuser.execute(f'DROP SCHEMA IF EXISTS "{w.schema}" CASCADE')
        for login in [*w.logins, w.owner]:
            superuser.execute(f'DROP OWNED BY "{login}"')
            superuser.execute(f'DROP ROLE IF EXISTS "{login}"')
        superuser.close()


def _events(w: World, login: str, slug: str) -> list[dict]:
    return list(w.ok(login, "history", slug, "--all", "--json").json()["events"])


def test_a_coordinators_actor_is_the_login_and_another_is_refused(world: World) -> None:
    anne = world.user("anne", "coordinator")
    sentence = world.refused(anne, "--actor", "joost", "region", "create", "twente", "--name", "T")
    assert f"'{anne}'" in sentence and "joost" in sentence
    world.ok(anne, "region", "create", "twente", "--name", "Twente")
    assert {e["actor"] for e in _events(world, anne, "twente")} == {anne}
    # A modified client cannot forge the actor either: the database writes the login.
    with world.sql(anne) as connection, pytest.raises(psycopg.errors.InsufficientPrivilege,
                                                      match="must be the login"):
        connection.execute(
            "INSERT INTO events (region_id, seq, kind, actor, at, recorded_at, data, prev_hash, hash) "
            "SELECT id, event_seq + 1, 'fact_set', 'joost', now(), now(), '{}', event_hash, 'x' "
            "FROM regions WHERE slug = 'twente'")


def test_the_coordinator_login_cannot_rewrite_the_log(world: World) -> None:
    anne = world.user("anne", "coordinator")
    world.ok(anne, "region", "create", "twente", "--name", "Twente")
    attacks = [
        "UPDATE events SET actor = 'joost'",
        "DELETE FROM events",
        "TRUNCATE events",
        "ALTER TABLE events DISABLE TRIGGER ALL",
        "ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete",
        "DROP TRIGGER events_no_update_or_delete ON events",
        "ALTER TABLE events DISABLE ROW LEVEL SECURITY",
        "UPDATE policy SET practice = true",
        "INSERT INTO policy_events (seq, kind, actor, at, recorded_at, data, prev_hash, hash) "
        "VALUES (99, 'x', 'x', now(), now(), '{}', '', '')",
        "UPDATE regions SET created_at = now()",
    ]
    with world.sql(anne) as connection:
        for attack in attacks:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(attack)
        # Rolling the chain head back is refused at commit by the head trigger.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="chain head"):
            connection.execute("UPDATE regions SET event_seq = 1, event_hash = 'x' "
                               "WHERE slug = 'twente'")
    assert world.ok(anne, "audit", "verify", "--json").json()["ok"] is True
    assert len(_events(world, anne, "twente")) == 2


def test_an_auditor_reads_and_cannot_write(world: World) -> None:
    anne = world.user("anne", "coordinator")
    piet = world.user("piet", "auditor")
    world.ok(anne, "region", "create", "twente", "--name", "Twente")
    assert len(_events(world, piet, "twente")) == 2
    assert "no coordinator or admin role" in world.refused(
        piet, "partner", "add", "twente", "Pabo", "--kind", "lerarenopleiding")
    with world.sql(piet) as connection:
        for attack in ("INSERT INTO partners (region_id, name, kind, added_at) "
                       "SELECT id, 'x', 'overig', now() FROM regions",
                       "UPDATE cases SET state = 'x'", "DELETE FROM facts"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(attack)


def test_write_scope_own_is_row_level_security(world: World) -> None:
    anne = world.user("anne", "coordinator")
    bob = world.user("bob", "coordinator")
    lan = world.user("lan", "coordinator", "landelijk")
    world.ok(anne, "region", "create", "twente", "--name", "Twente",
             "--coordinator", "anne@example.org")
    world.ok(bob, "region", "create", "leiden", "--name", "Leiden",
             "--coordinator", "bob@example.org")
    assert "administrator" in world.refused(anne, "policy", "write-scope", "own")
    world.ok(world.owner, "policy", "write-scope", "own")
    # The CLI refuses before trying ...
    sentence = world.refused(anne, "partner", "add", "leiden", "Pabo", "--kind", "lerarenopleiding")
    assert "leiden" in sentence and "own" in sentence
    world.ok(anne, "partner", "add", "twente", "Pabo", "--kind", "lerarenopleiding")
    world.ok(lan, "partner", "add", "leiden", "Gemeente", "--kind", "gemeente")
    # ... and the database refuses in psql, whatever client anne uses.
    with world.sql(anne) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            connection.execute("INSERT INTO partners (region_id, name, kind, added_at) "
                               "SELECT id, 'Sneaky', 'overig', now() FROM regions "
                               "WHERE slug = 'leiden'")
        changed = connection.execute("UPDATE regions SET name = 'Mine' WHERE slug = 'leiden'")
        assert changed.rowcount == 0
        assert connection.execute("DELETE FROM partners WHERE name = 'Gemeente'").rowcount == 0
    assert {p["name"] for p in world.ok(bob, "region", "show", "leiden", "--json")
            .json()["partners"]} == {"Gemeente"}


def test_a_practice_only_option_is_refused_on_production_whatever_the_config(world: World) -> None:
    anne = world.user("anne", "coordinator")
    assert "practice" in world.refused(anne, "--now", "2019-01-01T09:00", "region", "create",
                                       "twente", "--name", "Twente")
    assert "practice" in world.refused(world.owner, "--now", "2019-01-01T09:00", "region", "list")
    assert world.ok(anne, "region", "list", "--json").json() == {"regions": []}


def test_users_are_login_roles_in_groups_and_removal_revokes_login(world: World) -> None:
    anne = world.user("anne", "coordinator", "override")
    listed = {u["name"]: u for u in world.ok(world.owner, "user", "list", "--json").json()["users"]}
    assert listed[anne]["roles"] == ["coordinator", "override"]
    world.ok(anne, "region", "create", "twente", "--name", "Twente")
    world.ok(world.owner, "user", "remove", anne)
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        psycopg.connect(world.dsn(anne)).close()
    assert {e["actor"] for e in _events(world, world.owner, "twente")} == {anne}
    assert world.ok(world.owner, "audit", "verify", "--json").json()["ok"] is True


def test_the_scheduler_logs_in_as_its_own_role_and_appears_as_scheduler(world: World) -> None:
    anne = world.user("anne", "coordinator")
    sched = world.user("sched", "scheduler")
    world.ok(anne, "region", "create", "twente", "--name", "Twente")
    with world.sql(world.owner) as connection:  # a message waiting to be delivered
        connection.execute(
            "INSERT INTO outbox (region_id, channel, message_id, sender, recipients, missing, "
            "subject, body, status, attempts, next_attempt_at, created_at) "
            "SELECT id, 'log', '<m1@x>', 'a@example.org', '[\"b@example.org\"]', '[]', 'S', 'B', "
            "'pending', 0, now() - interval '1 hour', now() FROM regions")
    piet = world.user("piet", "auditor")
    assert "no coordinator or admin role" in world.refused(piet, "scheduler", "tick")
    assert "1 delivered" in world.ok(sched, "scheduler", "tick").out
    with world.sql(sched) as connection:
        connection.execute(
            "INSERT INTO events (region_id, seq, kind, actor, at, recorded_at, data, prev_hash, hash) "
            "SELECT id, 99, 'reminder', 'scheduler', now(), now(), '{}', '', 'x' "
            "FROM regions WHERE slug = 'twente'")
    with world.sql(anne) as connection, pytest.raises(psycopg.errors.InsufficientPrivilege):
        connection.execute(
            "INSERT INTO events (region_id, seq, kind, actor, at, recorded_at, data, prev_hash, hash) "
            "SELECT id, 98, 'reminder', 'scheduler', now(), now(), '{}', '', 'x' "
            "FROM regions WHERE slug = 'twente'")
