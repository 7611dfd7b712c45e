"""Identity and policy on SQLite (issue 9): who acts is the login, the rules live in the database.

Every test here makes a production database unless it says ``init --practice``: the
``production`` mark switches off the test suite's practice default (``conftest``). The CLI
runs in process on a real SQLite file; the operating-system login is whoever runs the tests.
"""

from __future__ import annotations

import getpass
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from support import ENV_VARS, Run, invoke

pytestmark = pytest.mark.production

LOGIN = getpass.getuser()


class Cli:
    """``onderwijsflow`` in process on one database, with exactly the options a test gives."""

    def __init__(self, db: Path, config: Path) -> None:
        self.db = db
        self.config = config

    def __call__(self, *args: str, config: Path | None = None) -> Run:
        env: dict[str, str | None] = {f"ONDERWIJSFLOW_{name}": None for name in ENV_VARS}
        env.update({"ONDERWIJSFLOW_DB": f"sqlite:///{self.db}", "ONDERWIJSFLOW_LANG": "en",
                    "ONDERWIJSFLOW_CONFIG": str(config or self.config), "COLUMNS": "200"})
        return invoke(args, env)

    def ok(self, *args: str, config: Path | None = None) -> Run:
        run = self(*args, config=config)
        assert run.code == 0, str(run)
        return run

    def refused(self, *args: str, config: Path | None = None) -> str:
        """A command refused with exit 3 and one sentence."""
        run = self(*args, config=config)
        assert run.code == 3, str(run)
        return run.sentence()

    def events(self, slug: str) -> list[dict]:
        return list(self.ok("history", slug, "--all", "--json").json()["events"])


@pytest.fixture
def loose(tmp_path: Path) -> Path:
    """The configuration an attacker chooses: simulated clock on, and they are an admin."""
    path = tmp_path / "loose.yaml"
    path.write_text("simulated_clock: true\n"
                    "actors:\n"
                    f"  {LOGIN}: {{roles: [admin, coordinator, override]}}\n"
                    "  joost: {roles: [admin, coordinator, override]}\n", encoding="utf-8")
    return path


@pytest.fixture
def make(tmp_path: Path, loose: Path) -> Callable[..., Cli]:
    def build(name: str = "x.db") -> Cli:
        return Cli(tmp_path / name, loose)
    return build


def test_a_production_database_refuses_a_simulated_clock_whatever_the_config_says(
        make: Callable[..., Cli]) -> None:
    cli = make()
    cli.ok("init")
    assert "simulated clock" in cli.refused("--now", "2019-01-01T09:00", "region", "create",
                                            "twente", "--name", "Twente")
    assert "production" in cli.refused("--now", "2019-01-01T09:00", "region", "list")
    assert cli.ok("region", "list", "--json").json() == {"regions": []}


def test_a_production_database_refuses_another_actor_and_names_the_login(
        make: Callable[..., Cli]) -> None:
    cli = make()
    cli.ok("init")
    sentence = cli.refused("--actor", "joost", "region", "create", "twente", "--name", "Twente")
    assert f"'{LOGIN}'" in sentence and "joost" in sentence
    assert cli.ok("region", "list", "--json").json() == {"regions": []}
    cli.ok("--actor", LOGIN, "region", "create", "twente", "--name", "Twente")
    cli.ok("partner", "add", "twente", "Pabo Oost", "--kind", "lerarenopleiding")
    assert {event["actor"] for event in cli.events("twente")} == {LOGIN}


def test_backdate_is_refused_in_a_production_database(make: Callable[..., Cli]) -> None:
    cli = make()
    cli.ok("init")
    assert "practice" in cli.refused("--backdate", "replay", "region", "list")


def test_init_practice_cannot_turn_a_production_database_into_a_practice_one(
        make: Callable[..., Cli]) -> None:
    cli = make()
    cli.ok("init")
    cli.ok("region", "create", "twente", "--name", "Twente")
    assert "production" in cli.refused("init", "--practice")
    assert cli.ok("policy", "show", "--json").json()["practice"] is False


def test_a_practice_database_allows_the_clock_and_actors_but_time_only_moves_forward(
        make: Callable[..., Cli]) -> None:
    cli = make()
    assert "practice" in cli.ok("init", "--practice").out
    cli.ok("--now", "2024-10-01T09:00", "--actor", "joost", "region", "create", "twente",
           "--name", "Twente")
    sentence = cli.refused("--now", "2024-09-01T09:00", "--actor", "joost", "partner", "add",
                           "twente", "Pabo", "--kind", "lerarenopleiding")
    assert "--backdate" in sentence
    assert len(cli.events("twente")) == 2  # region_created and case_opened only
    cli.ok("--now", "2024-09-01T09:00", "--actor", "joost", "--backdate", "replay of 2024",
           "partner", "add", "twente", "Pabo", "--kind", "lerarenopleiding")
    last = cli.events("twente")[-1]
    assert last["actor"] == "joost"
    assert last["data"]["backdated"] == "replay of 2024"
    cli.ok("audit", "verify")


def test_the_first_user_must_be_an_admin_and_only_admins_change_users_and_policy(
        make: Callable[..., Cli]) -> None:
    cli = make()
    cli.ok("init", "--practice")
    assert "administrator" in cli.refused("user", "add", "anne", "--role", "coordinator")
    cli.ok("user", "add", LOGIN, "--role", "admin")
    cli.ok("user", "add", "anne", "--role", "coordinator", "--email", "anne@example.org")
    # The configuration says joost is an admin; the database knows no joost.
    assert "administrator" in cli.refused("--actor", "joost", "user", "add", "piet", "--role",
                                          "admin")
    assert "administrator" in cli.refused("--actor", "anne", "policy", "write-scope", "own")
    assert "no coordinator or admin role" in cli.refused(
        "--actor", "joost", "region", "create", "twente", "--name", "Twente")
    users = cli.ok("user", "list", "--json").json()["users"]
    assert [(u["name"], u["roles"], u["active"]) for u in users] == [
        ("anne", ["coordinator"], True), (LOGIN, ["admin"], True)]
    events = cli.ok("policy", "events", "--json").json()
    assert events["ok"] and [e["kind"] for e in events["events"]] == [
        "practice_created", "user_added", "user_added"]


def test_stored_users_win_over_the_configuration_in_production(make: Callable[..., Cli],
                                                               tmp_path: Path) -> None:
    cli = make()
    cli.ok("init")
    cli.ok("user", "add", LOGIN, "--role", "admin")
    cli.ok("user", "add", "anne", "--role", "coordinator")
    assert "last administrator" in cli.refused("user", "remove", LOGIN)
    cli.ok("user", "add", "boss", "--role", "admin")
    cli.ok("user", "remove", LOGIN)  # the login is now nobody, whatever the file says
    assert "no coordinator or admin role" in cli.refused("region", "create", "twente",
                                                         "--name", "Twente")
    assert "administrator" in cli.refused("user", "add", LOGIN, "--role", "admin")
    listed = {u["name"]: u["active"] for u in cli.ok("user", "list", "--json").json()["users"]}
    assert listed == {"anne": True, "boss": True, LOGIN: False}


def test_removing_a_user_keeps_the_name_in_the_history(make: Callable[..., Cli]) -> None:
    cli = make()
    cli.ok("init", "--practice")
    cli.ok("user", "add", LOGIN, "--role", "admin")
    cli.ok("user", "add", "anne", "--role", "coordinator")
    cli.ok("--actor", "anne", "region", "create", "twente", "--name", "Twente")
    cli.ok("user", "remove", "anne")
    assert "no coordinator" in cli.refused("--actor", "anne", "partner", "add", "twente", "Pabo",
                                           "--kind", "lerarenopleiding")
    assert {e["actor"] for e in cli.events("twente")} == {"anne"}
    assert cli("user", "remove", "anne").code == 4


def test_write_scope_own_keeps_a_coordinator_to_their_regions(make: Callable[..., Cli]) -> None:
    cli = make()
    cli.ok("init", "--practice")
    cli.ok("user", "add", LOGIN, "--role", "admin")
    cli.ok("user", "add", "anne", "--role", "coordinator", "--email", "anne@example.org")
    cli.ok("user", "add", "bob", "--role", "coordinator", "--email", "bob@example.org")
    cli.ok("user", "add", "lan", "--role", "coordinator", "--role", "landelijk")
    cli.ok("region", "create", "twente", "--name", "Twente", "--coordinator", "anne@example.org")
    cli.ok("region", "create", "leiden", "--name", "Leiden", "--coordinator", "bob@example.org")
    cli.ok("policy", "write-scope", "own", "--reason", "one coordinator per region")
    cli.ok("--actor", "anne", "partner", "add", "twente", "Pabo", "--kind", "lerarenopleiding")
    sentence = cli.refused("--actor", "anne", "partner", "add", "leiden", "Pabo", "--kind",
                           "lerarenopleiding")
    assert "leiden" in sentence and "own" in sentence
    assert len(cli.events("leiden")) == 2
    cli.ok("--actor", "bob", "partner", "add", "leiden", "Pabo", "--kind", "lerarenopleiding")
    cli.ok("--actor", "lan", "partner", "add", "twente", "Gemeente Enschede", "--kind", "gemeente")
    assert "administrator" in cli.refused("--actor", "lan", "policy", "write-scope", "all")
    assert cli.ok("policy", "show", "--json").json()["write_scope"] == "own"
    # A new region is the creator's own, or landelijk's to hand out.
    sentence = cli.refused("--actor", "anne", "region", "create", "delft", "--name", "Delft",
                           "--coordinator", "bob@example.org")
    assert "anne@example.org" in sentence and "own" in sentence
    assert "nobody" not in sentence and cli("region", "show", "delft").code == 4
    cli.ok("--actor", "anne", "region", "create", "delft", "--name", "Delft",
           "--coordinator", "anne@example.org")
    cli.ok("--actor", "lan", "region", "create", "gouda", "--name", "Gouda",
           "--coordinator", "bob@example.org")


def test_policy_events_are_append_only_and_chained(make: Callable[..., Cli]) -> None:
    cli = make()
    cli.ok("init")
    cli.ok("user", "add", LOGIN, "--role", "admin")
    cli.ok("policy", "write-scope", "own")
    with sqlite3.connect(cli.db) as connection:
        for statement in ("UPDATE policy_events SET actor = 'x'", "DELETE FROM policy_events"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                connection.execute(statement)
        # Whoever gets round the triggers (drops them) is caught by the chain.
        connection.execute("DROP TRIGGER policy_events_no_update")
        connection.execute("UPDATE policy_events SET data = '{\"to\": \"all\"}' WHERE seq = 2")
    run = cli("policy", "events")
    assert run.code == 1 and "policy chain broken at event 2" in run.sentence()
    # ... and by the verification of the whole log.
    verify = cli("audit", "verify")
    assert verify.code == 1 and "policy log is broken at policy event 2" in verify.sentence()
    assert cli("audit", "verify", "--json").json()["policy_broken"] == [2]


def test_a_config_file_with_simulated_clock_is_still_refused_without_it_in_practice(
        make: Callable[..., Cli], tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text("simulated_clock: false\n", encoding="utf-8")
    cli = make()
    cli.ok("init", "--practice")
    run = cli("--now", "2024-10-01T09:00", "region", "list", config=strict)
    assert run.code == 1 and "simulated_clock" in run.sentence()


def test_a_database_upgraded_from_0003_is_a_production_database_and_0004_downgrades(
        tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import inspect, text

    from onderwijsflow.store.db import Database
    from onderwijsflow.store.migrate import HEAD, alembic_config, current_revision, upgrade

    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with database.connect() as connection, connection.begin():
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
        assert upgrade(database) == ("0003", HEAD)
        with database.connect() as connection, connection.begin():
            row = connection.execute(text("SELECT practice, write_scope FROM policy")).one()
            assert (bool(row.practice), row.write_scope) == (False, "all")
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
            assert not inspect(connection).has_table("policy")
        assert current_revision(database) == "0003"
    finally:
        database.dispose()
