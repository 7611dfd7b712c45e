"""The lean read path (issue 12): `region show`, `region list`, `history` and `audit verify`
read with sqlite3.

Every command here runs twice on the demo's database: as is (the lean path) and with the
shipped configuration given as a file (``--config``, which the lean path leaves to the full
path), and the two outputs must be the same bytes, in Dutch and English, as tables and as
JSON, errors included. That the lean path was taken is checked in process (the application
is never built) and in a child process (neither SQLModel, SQLAlchemy nor pydantic imported).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from onderwijsflow.resources import shipped
from tests.support import Run, cli_imports, demo_database, invoke

pytestmark = pytest.mark.shipped_workflows

SHIPPED_CONFIG = shipped("config") / "onderwijsflow.yaml"

#: The read commands the lean path answers (with the region the demo tells most about).
COMMANDS = [
    ("region", "show", "duinzicht"),
    ("region", "show", "waddenkust"),
    ("region", "list"),
    ("region", "list", "--state", "actief"),
    ("region", "list", "--workflow", "subsidie"),
    ("region", "list", "--state", "no-such-state"),
    ("history", "duinzicht"),
    ("history", "duinzicht", "--all"),
    ("history", "waddenkust", "--all", "--limit", "7"),
    ("history", "waddenkust", "--kind", "fact_set", "--kind", "document_added"),
    ("history", "heideveld", "--workflow", "subsidie", "--all"),
    ("history", "heideveld", "--event", "3"),
    ("history", "lindedal", "--event", "12"),
    ("history", "duinzicht", "--kind", "no_such_kind"),
    ("audit", "verify"),
    ("audit", "verify", "duinzicht"),
]

#: Invocations the lean path leaves to the full path: the output (an error, mostly) is the same.
FALLBACKS = [
    ("region", "show", "duinzich"),  # unknown: the full path suggests the right slug
    ("region", "show", "nope"),
    ("history", "nope"),
    ("history", "duinzicht", "--limit", "0"),
    ("history", "duinzicht", "--event", "999"),
    ("history", "duinzicht", "--as-of", "2024-10-01"),
    ("history", "duinzicht", "--since", "2025-01-01", "--all"),
    ("audit", "verify", "nope"),
    ("audit", "verify", "duinzich"),
]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's database, made by ``onderwijsflow demo`` in a child process."""
    return demo_database(tmp_path_factory.mktemp("lean"))


def _env(url: str, lang: str | None) -> dict[str, str | None]:
    env: dict[str, str | None] = {f"ONDERWIJSFLOW_{name}": None
                                  for name in ("DB", "CONFIG", "WORKFLOWS", "ACTOR", "NOW", "LANG")}
    env.update({"ONDERWIJSFLOW_DB": url, "ONDERWIJSFLOW_LANG": lang, "COLUMNS": "160"})
    return env


@pytest.fixture
def no_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Building the application fails: a command that needs it did not take the lean path."""
    from onderwijsflow.cli import Settings

    def refuse(self: Settings) -> None:
        raise AssertionError("the full path was taken")

    monkeypatch.setattr(Settings, "app", property(refuse))
    yield


def _lean(url: str, args: tuple[str, ...], lang: str | None) -> Run:
    return invoke(args, _env(url, lang))


def _full(url: str, args: tuple[str, ...], lang: str | None) -> Run:
    return invoke(("--config", str(SHIPPED_CONFIG), *args), _env(url, lang))


def _same(lean: Run, full: Run) -> None:
    assert (lean.code, lean.out, lean.err) == (full.code, full.out, full.err), \
        f"lean:\n{lean}\nfull:\n{full}"


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_lean_output_is_the_full_output(demo_db: Path, args: tuple[str, ...], lang: str,
                                        as_json: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{demo_db}"
    args = (*args, "--json") if as_json else args
    full = _full(url, args, lang)
    assert full.code == 0, str(full)
    from onderwijsflow.cli import Settings

    def refuse(self: Settings) -> None:
        raise AssertionError("the full path was taken")

    with monkeypatch.context() as patch:
        patch.setattr(Settings, "app", property(refuse))
        lean = _lean(url, args, lang)
    _same(lean, full)


def test_the_configured_language_is_the_default(demo_db: Path, no_app: None) -> None:
    """Without --lang or ONDERWIJSFLOW_LANG the shipped configuration's language (Dutch)."""
    url = f"sqlite:///{demo_db}"
    lean = _lean(url, ("region", "show", "duinzicht"), None)
    assert lean.code == 0 and "coördinator" in lean.out, str(lean)


def test_default_language_matches_the_full_path(demo_db: Path) -> None:
    url = f"sqlite:///{demo_db}"
    for args in (("region", "show", "duinzicht"), ("history", "duinzicht")):
        _same(_lean(url, args, None), _full(url, args, None))


@pytest.mark.parametrize("args", FALLBACKS, ids=" ".join)
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_fallbacks_give_the_full_paths_answer(demo_db: Path, args: tuple[str, ...],
                                              lang: str) -> None:
    url = f"sqlite:///{demo_db}"
    _same(_lean(url, args, lang), _full(url, args, lang))


def test_no_orm_nor_pydantic_is_imported(demo_db: Path) -> None:
    """In a fresh process the lean path imports neither SQLModel, SQLAlchemy nor pydantic."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    for args in (["region", "show", "duinzicht"], ["region", "list"],
                 ["history", "duinzicht", "--all"], ["history", "duinzicht", "--event", "2"],
                 ["region", "show", "duinzicht", "--json"]):
        out, imported = cli_imports(demo_db, *args, env=env)
        heavy = sorted(name for name in imported
                       if name.split(".")[0] in {"sqlmodel", "sqlalchemy", "pydantic", "alembic"}
                       or name.startswith("onderwijsflow.service"))
        assert not heavy, f"{args}: {heavy[:5]}"
        assert out


def test_a_read_only_database(demo_db: Path, tmp_path: Path, no_app: None) -> None:
    """``mode=ro`` in the URL: read without writing, as the full path does."""
    copy = tmp_path / "copy.db"
    shutil.copy(demo_db, copy)
    before = copy.read_bytes()
    url = f"sqlite:///{copy}?mode=ro"
    lean = _lean(url, ("region", "show", "duinzicht"), "en")
    assert lean.code == 0 and "Regio Duinzicht" in lean.out, str(lean)
    assert copy.read_bytes() == before


def test_a_read_only_database_matches_the_full_path(demo_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(demo_db, copy)
    for url in (f"sqlite:///{copy}?mode=ro", f"sqlite:///{copy}?mode=ro&uri=true",
                f"sqlite:///{copy}?immutable=1"):
        for args in (("region", "list"), ("history", "beekdal", "--all", "--json")):
            _same(_lean(url, args, "nl"), _full(url, args, "nl"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any file: nothing is unwritable")
def test_an_unwritable_file(demo_db: Path, tmp_path: Path, no_app: None) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    copy = folder / "copy.db"
    shutil.copy(demo_db, copy)
    copy.chmod(0o444)
    folder.chmod(0o555)
    try:
        lean = _lean(f"sqlite:///{copy}", ("region", "show", "duinzicht"), "en")
        assert lean.code == 0, str(lean)
    finally:
        folder.chmod(0o755)


def test_an_old_schema_falls_back(demo_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old.db"
    shutil.copy(demo_db, copy)
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    url = f"sqlite:///{copy}"
    lean, full = _lean(url, ("region", "list"), "en"), _full(url, ("region", "list"), "en")
    _same(lean, full)
    assert lean.code == 1 and "older" in lean.err


def test_no_database_falls_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    _same(_lean(url, ("region", "show", "x"), "en"), _full(url, ("region", "show", "x"), "en"))
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    url = f"sqlite:///{empty}"
    _same(_lean(url, ("history", "x"), "nl"), _full(url, ("history", "x"), "nl"))


def test_changed_workflow_files_fall_back(demo_db: Path, tmp_path: Path) -> None:
    """A workflow file the database has not stored may not be valid: the full path decides
    (here it shows the changed label)."""
    folder = tmp_path / "workflows"
    shutil.copytree(shipped("workflows"), folder)
    path = folder / "regiovorming.yaml"
    text = path.read_text(encoding="utf-8")
    assert "label: In vorming" in text
    path.write_text(text.replace("label: In vorming", "label: Nog in vorming", 1), encoding="utf-8")
    url = f"sqlite:///{demo_db}"
    args = ("--workflows", str(folder), "region", "show", "duinzicht")
    lean, full = _lean(url, args, "nl"), _full(url, args, "nl")
    _same(lean, full)
    assert "Nog in vorming" in lean.out
    # JSON needs no labels: the lean path answers it whatever the files say.
    (folder / "broken.yaml").write_text("workflow: [", encoding="utf-8")
    json_args = ("--workflows", str(folder), "region", "show", "duinzicht", "--json")
    _same(_lean(url, json_args, "nl"), _full(url, json_args, "nl"))
    _same(_lean(url, args, "nl"), _full(url, args, "nl"))  # an error, from the full path


def test_options_the_lean_path_leaves_alone() -> None:
    from onderwijsflow.lean.reader import open_reader

    base = {"db": None, "config": None, "workflows": None, "actor": None, "now": None,
            "backdate": None}
    assert open_reader({**base, "db": "postgresql://x@127.0.0.1/none"}) is None
    assert open_reader({**base, "db": "sqlite://"}) is None
    assert open_reader({**base, "now": "2025-01-01"}) is None
    assert open_reader({**base, "config": str(SHIPPED_CONFIG)}) is None
    assert open_reader({**base, "backdate": "why"}) is None
    assert open_reader({**base, "unknown": 1}) is None


def test_an_actor_in_a_practice_database(demo_db: Path) -> None:
    """The demo's database is a practice one: --actor is allowed, on both paths alike."""
    url = f"sqlite:///{demo_db}"
    args = ("--actor", "someone-else", "region", "show", "beekdal")
    _same(_lean(url, args, "en"), _full(url, args, "en"))


def test_the_lean_rules_follow_the_full_ones() -> None:
    """What the lean path repeats of other modules stays equal to them."""
    from onderwijsflow import yamlsafe
    from onderwijsflow.lean import labels, reader
    from onderwijsflow.service import history

    assert labels.fast_loader().yaml_implicit_resolvers == \
        yamlsafe.LineLoader.yaml_implicit_resolvers
    assert labels._MAX_BYTES == yamlsafe.MAX_BYTES
    assert reader.STATUS_KINDS == history.STATUS_KINDS
    from onderwijsflow.store import audit, roles

    assert reader._EVENT_COLUMNS == audit.HASHED_FIELDS
    assert reader._STATE_KINDS == audit.STATE_KINDS
    assert reader.POLICY_HASHED == roles.POLICY_HASHED


def test_yaml_1_2_as_the_loader_reads_it() -> None:
    from onderwijsflow import yamlsafe
    from onderwijsflow.lean.labels import load_yaml

    text = "states:\n  no: {label: 'Nee'}\n  yes: {label: Ja}\ntime: 16:00\nn: 0o17\nb: true\n"
    assert load_yaml(text) == yamlsafe.parse(text).data


def test_an_unwritable_file_as_root_sees_it(demo_db: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that cannot be written (simulated: root may write anything) is opened
    ``immutable`` by both paths, and reads the same."""
    import onderwijsflow.lean.sqlite as lean_sqlite
    import onderwijsflow.store.db as store_db

    copy = tmp_path / "copy.db"
    shutil.copy(demo_db, copy)
    before = copy.read_bytes()
    monkeypatch.setattr(lean_sqlite, "_can_write", lambda path: False)
    monkeypatch.setattr(store_db, "_can_write", lambda path: False)
    url = f"sqlite:///{copy}"
    for args in (("region", "show", "duinzicht"), ("history", "duinzicht", "--all", "--json")):
        full = _full(url, args, "en")
        assert full.code == 0, str(full)
        from onderwijsflow.cli import Settings

        def refuse(self: Settings) -> None:
            raise AssertionError("the full path was taken")

        with monkeypatch.context() as patch:
            patch.setattr(Settings, "app", property(refuse))
            lean = _lean(url, args, "en")
        _same(lean, full)
    assert copy.read_bytes() == before
    assert not (tmp_path / "copy.db-shm").exists()


@pytest.mark.parametrize("damage", [
    "UPDATE events SET actor = 'mallory' WHERE id = 5",
    "UPDATE cases SET state = 'actief' WHERE id = (SELECT min(id) FROM cases "
    "WHERE state != 'actief')",
    "UPDATE regions SET event_seq = event_seq + 1 WHERE slug = 'duinzicht'",
], ids=["event", "case", "head"])
def test_a_damaged_log_is_the_full_paths_to_name(demo_db: Path, tmp_path: Path,
                                                 damage: str) -> None:
    """The lean path only ever proves an intact log; a problem is named by the full path."""
    copy = tmp_path / "damaged.db"
    shutil.copy(demo_db, copy)
    with sqlite3.connect(copy) as connection:
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                          "AND tbl_name = 'events'").fetchall():
            connection.execute(f'DROP TRIGGER "{name}"')
        assert connection.execute(damage).rowcount == 1
    url = f"sqlite:///{copy}"
    for args in (("audit", "verify"), ("audit", "verify", "--json"),
                 ("audit", "verify", "duinzicht")):
        for lang in ("nl", "en"):
            _same(_lean(url, args, lang), _full(url, args, lang))
    assert _lean(url, ("audit", "verify"), "en").code != 0


def test_a_case_on_an_older_workflow_version_reads_its_stored_labels(tmp_path: Path) -> None:
    """A case still on a version the files no longer have (regiovorming 1, made with the
    frozen 2024 workflows) is labelled from the version's stored text, read before the
    connection closes: the lean output is the full output (it once failed with "Cannot
    operate on a closed database")."""
    from tests.support import frozen_child

    db = tmp_path / "old.db"
    url = f"sqlite:///{db}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    frozen = frozen_child({**base, "ONDERWIJSFLOW_DB": url})
    for args in (("init",), ("region", "create", "twente", "--name", "Twente")):
        subprocess.run([sys.executable, "-m", "onderwijsflow", *args], cwd=tmp_path, env=frozen,
                       check=True, capture_output=True)
    # The shipped files stored too, as an upgraded installation has them.
    subprocess.run([sys.executable, "-m", "onderwijsflow", "--db", url, "init"], cwd=tmp_path,
                   env=base, check=True, capture_output=True)
    shown = _lean(url, ("region", "show", "twente"), "en")
    assert shown.code == 0 and "regiovorming" in shown.out, str(shown)
    _same(shown, _full(url, ("region", "show", "twente"), "en"))


def test_a_second_region_show_reads_no_yaml(tmp_path: Path) -> None:
    """The first lean start parses the workflow files and configuration; the next one reads
    them from the cache and never imports PyYAML."""
    from tests.support import library

    db = tmp_path / "cache.db"
    with library(db) as app:
        app.init()
        app.create_region("oost", name="Oost", sectors=["PO"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    (out, first), (again, second) = (cli_imports(db, "region", "show", "oost", env=env)
                                     for _ in range(2))
    assert "sqlalchemy" not in first | second, "the lean path answered"
    assert "yaml" in first and "yaml" not in second
    assert out == again and "Oost" in again


# --- PostgreSQL: the same path through psycopg ----------------------------------------------

PG_COMMANDS = [
    ("region", "show", "oost"),
    ("region", "list"),
    ("region", "list", "--workflow", "regiovorming"),
    ("history", "oost"),
    ("history", "oost", "--all"),
    ("history", "oost", "--event", "2"),
    ("audit", "verify"),
    ("audit", "verify", "oost"),
]
#: On PostgreSQL these take the service: `check` needs the database's group roles, `--actor`
#: the database's login.
PG_SERVICE_ONLY = [
    ("check", "oost"),
    ("--actor", "anne", "region", "show", "oost"),
    ("region", "show", "noord"),
]


@pytest.fixture
def pg_regions(pg_url: str) -> str:
    """Two regions on a PostgreSQL schema of their own, with partners, people, documents,
    facts and a transition, made through the library."""
    import datetime as dt

    from onderwijsflow.service import Onderwijsflow

    app = Onderwijsflow.open(db=pg_url, actor="anne", practice=True)
    try:
        app.init()
        app.create_region("oost", name="Regio Oost", provinces=["Gelderland"], sectors=["PO", "VO"],
                          coordinator="anne@re.example")
        app.add_partner("oost", "Stichting PO Oost", kind="schoolbestuur", sector="PO")
        app.add_partner("oost", "Pabo Oost", kind="lerarenopleiding")
        app.assign_role("oost", "projectleider", "Gea", email="gea@example.org")
        app.add_document("oost", "intentieverklaring", title="Intentieverklaring",
                         on=dt.date(2024, 6, 1))
        app.set_fact("oost", "leerlingen_po", 16000)
        app.create_region("west", name="Regio West", sectors=["MBO"])
    finally:
        app.close()
    return pg_url


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_postgresql_reads_lean_with_the_same_output(pg_regions: str, lang: str, as_json: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from onderwijsflow.cli import Settings

    for args in PG_COMMANDS:
        args = (*args, "--json") if as_json else args
        full = _full(pg_regions, args, lang)
        assert full.code == 0, str(full)
        with monkeypatch.context() as patch:
            patch.setattr(Settings, "app", property(lambda self: pytest.fail("full path taken")))
            lean = _lean(pg_regions, args, lang)
        _same(lean, full)


def test_postgresql_leaves_the_rest_to_the_service(pg_regions: str) -> None:
    for args in PG_SERVICE_ONLY:
        _same(_lean(pg_regions, args, "en"), _full(pg_regions, args, "en"))


def test_postgresql_lean_path_imports_no_orm(pg_regions: str) -> None:
    out, imported = cli_imports(pg_regions, "region", "show", "oost")
    assert "onderwijsflow.lean.postgres" in imported
    assert not {"sqlalchemy", "sqlmodel", "pydantic"} & imported
    assert "Regio Oost" in out
