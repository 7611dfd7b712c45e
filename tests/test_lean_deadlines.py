"""`deadlines` on the lean read path (`onderwijsflow.lean.deadlines`).

As in ``tests/test_lean.py``: every invocation runs on the demo's database as is (the lean
path; building the application fails the test) and with the shipped configuration given as
a file (``--config``, which sends it down the full path), and the outputs must be the same
bytes in Dutch and English, as tables and as JSON, and the same ``--ics`` file (but for its
DTSTAMP, the moment of each export). A child process shows that the lean path imports no
ORM and no pydantic; invocations the lean path leaves alone give the full path's answer.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onderwijsflow.resources import shipped
from tests.support import Run, cli_imports, demo_database
from tests.test_lean import SHIPPED_CONFIG, _env, _full, _lean, _same

pytestmark = pytest.mark.shipped_workflows

COMMANDS = [
    ("deadlines",),
    ("deadlines", "--within", "P4W"),
    ("deadlines", "--within", "P1Y6M"),
    ("deadlines", "--within", "PT1S"),  # the overdue ones only
    ("deadlines", "--region", "duinzicht"),
    ("deadlines", "--region", "waddenkust", "--within", "P2Y"),
    ("deadlines", "--region", "veenhoven"),
]

FALLBACKS = [
    ("deadlines", "--region", "duinzich"),  # unknown: the full path suggests the right slug
    ("deadlines", "--region", "nope"),
    ("deadlines", "--region", "nope", "--within", "P4W"),
    ("deadlines", "--within", "P1X"),  # refused before either path reads
    ("deadlines", "--within", "P0D"),
]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's database, made by ``onderwijsflow demo`` in a child process."""
    return demo_database(tmp_path_factory.mktemp("lean-deadlines"))


@pytest.fixture(scope="module")
def future_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's database with every milestone moved by whole weeks, so that the first open
    one fell due two weeks ago: upcoming rows besides overdue ones on the wall clock both
    paths read (the demo's own clock lies in 2025). Two open milestones of one region share
    a due moment: a tie the order (due moment, region) leaves to SQLite."""
    copy = tmp_path_factory.mktemp("lean-deadlines-future") / "future.db"
    shutil.copy(demo_db, copy)

    def moved(raw: str | None, shift: timedelta) -> str | None:
        if raw is None:
            return None
        at = datetime.fromisoformat(raw) + shift
        return f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond:06d}"

    with sqlite3.connect(copy) as connection:
        q = connection.execute
        first = q("SELECT min(due_at) FROM milestones WHERE status IN ('pending', 'overdue')"
                  ).fetchone()[0]
        now = datetime.now(UTC).replace(tzinfo=None)
        shift = timedelta(weeks=(now - datetime.fromisoformat(first)).days // 7 - 2)
        for mid, *moments in q("SELECT id, due_at, planned_at, closed_at, opens_at "
                               "FROM milestones").fetchall():
            q("UPDATE milestones SET due_at = ?, planned_at = ?, closed_at = ?, opens_at = ? "
              "WHERE id = ?", [*(moved(m, shift) for m in moments), mid])
        pair = q("SELECT min(id), max(id) FROM milestones WHERE status = 'pending' "
                 "GROUP BY region_id HAVING count(*) > 1").fetchone()
        q("UPDATE milestones SET due_at = (SELECT due_at FROM milestones WHERE id = ?) "
          "WHERE id = ?", pair)
        # The first of them was moved once: a retired earlier version, as a migration leaves.
        mid, due, planned = q("SELECT id, due_at, planned_at FROM milestones WHERE id = ?",
                              (pair[0],)).fetchone()
        q("UPDATE milestones SET occurrence = occurrence + 1 WHERE id = ?", (mid,))
        q("INSERT INTO milestones (case_id, region_id, workflow, name, occurrence, due_at, "
          "status, planned_at, closed_at, opens_at) SELECT case_id, region_id, workflow, name, "
          "occurrence - 1, ?, 'retired', ?, ?, opens_at FROM milestones WHERE id = ?",
          (moved(due, timedelta(days=-21)), moved(planned, timedelta(days=-30)), planned, mid))
    return copy


def _db(request: pytest.FixtureRequest, name: str) -> str:
    path = request.getfixturevalue(f"{name}_db")
    assert isinstance(path, Path)
    return f"sqlite:///{path}"


def _lean_only(url: str, args: tuple[str, ...], lang: str | None,
               monkeypatch: pytest.MonkeyPatch) -> Run:
    from onderwijsflow.cli import Settings

    def refuse(self: Settings) -> None:
        raise AssertionError("the full path was taken")

    with monkeypatch.context() as patch:
        patch.setattr(Settings, "app", property(refuse))
        return _lean(url, args, lang)


def _full_path_taken(run: Run) -> bool:
    """Did the lean path leave `run` to the full path (which `_lean_only` refuses)?"""
    return run.code != 0 and "the full path was taken" in run.err


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("db", ["demo", "future"])
def test_lean_output_is_the_full_output(request: pytest.FixtureRequest, db: str,
                                        args: tuple[str, ...], lang: str, as_json: bool,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url = _db(request, db)
    args = (*args, "--json") if as_json else args
    full = _full(url, args, lang)
    assert full.code == 0, str(full)
    _same(_lean_only(url, args, lang, monkeypatch), full)


def test_the_comparisons_see_every_kind_of_deadline(future_db: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparisons above cover what matters: upcoming, overdue and met rows, recurring
    ones, reminders, rounds and moved milestones (a sequence above 0)."""
    rows = _lean_only(f"sqlite:///{future_db}", ("deadlines", "--json"), "en",
                      monkeypatch).json()["deadlines"]
    assert {r["status"] for r in rows} == {"upcoming", "overdue", "met"}
    assert any(r["recurring"] for r in rows) and any(r["reminders"] for r in rows)
    assert any(r["round"] for r in rows) and any(r["sequence"] for r in rows)


def _ics(url: str, target: Path, args: tuple[str, ...], lang: str, full: bool,
         monkeypatch: pytest.MonkeyPatch) -> tuple[Run, bytes]:
    run_args = (*args, "--ics", str(target))
    done = _full(url, run_args, lang) if full else _lean_only(url, run_args, lang, monkeypatch)
    data = target.read_bytes()
    target.unlink()
    # DTSTAMP is the moment of the export: the one line two exports may differ in.
    return done, b"\r\n".join(line for line in data.split(b"\r\n")
                              if not line.startswith(b"DTSTAMP:"))


@pytest.mark.parametrize("args", [("deadlines",), ("deadlines", "--json"),
                                  ("deadlines", "--region", "duinzicht", "--within", "P2Y")],
                         ids=" ".join)
@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("db", ["demo", "future"])
def test_the_ics_file_is_the_full_paths(request: pytest.FixtureRequest, db: str, tmp_path: Path,
                                        args: tuple[str, ...], lang: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url = _db(request, db)
    target = tmp_path / "agenda.ics"
    full, full_ics = _ics(url, target, args, lang, True, monkeypatch)
    assert full.code == 0 and b"BEGIN:VEVENT" in full_ics, str(full)
    lean, lean_ics = _ics(url, target, args, lang, False, monkeypatch)
    _same(lean, full)
    assert lean_ics == full_ics


@pytest.mark.parametrize("args", FALLBACKS, ids=" ".join)
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_fallbacks_give_the_full_paths_answer(demo_db: Path, args: tuple[str, ...],
                                              lang: str) -> None:
    url = f"sqlite:///{demo_db}"
    lean, full = _lean(url, args, lang), _full(url, args, lang)
    _same(lean, full)
    assert lean.code != 0


def test_an_unknown_region_takes_the_full_path(demo_db: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The lean path does not answer for an unknown region (the full path names it)."""
    url = f"sqlite:///{demo_db}"
    assert _full_path_taken(_lean_only(url, ("deadlines", "--region", "nope"), "en", monkeypatch))
    assert not _full_path_taken(_lean_only(url, ("deadlines", "--region", "duinzicht"), "en",
                                           monkeypatch))


def test_no_orm_nor_pydantic_is_imported(demo_db: Path, tmp_path: Path) -> None:
    """In a fresh process the lean `deadlines` imports neither SQLModel, SQLAlchemy nor
    pydantic, nor the service layer or the scheduler (the calendar writer aside)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    for args in (["deadlines"], ["deadlines", "--json"],
                 ["deadlines", "--within", "P8W", "--region", "duinzicht"],
                 ["deadlines", "--ics", str(tmp_path / "deadlines.ics")]):
        out, imported = cli_imports(demo_db, *args, env=env)
        heavy = sorted(name for name in imported
                       if name.split(".")[0] in {"sqlmodel", "sqlalchemy", "pydantic", "alembic"}
                       or (name.startswith(("onderwijsflow.service", "onderwijsflow.scheduler.",
                                           "onderwijsflow.definition.model"))
                       and name != "onderwijsflow.scheduler.ical"))
        assert not heavy, f"{args}: {heavy[:5]}"
        assert out


def test_changed_workflow_files_fall_back(demo_db: Path, tmp_path: Path) -> None:
    """A milestone label changed on disk: the database has not stored that text, so the full
    path reads it (and shows the new label)."""
    folder = tmp_path / "workflows"
    shutil.copytree(shipped("workflows"), folder)
    path = folder / "subsidie.yaml"
    text = path.read_text(encoding="utf-8")
    assert "label: Deadline subsidieaanvraag" in text
    path.write_text(text.replace("label: Deadline subsidieaanvraag",
                                 "label: Uiterste dag subsidieaanvraag", 1), encoding="utf-8")
    url = f"sqlite:///{demo_db}"
    args = ("--workflows", str(folder), "deadlines", "--region", "duinzicht")
    lean, full = _lean(url, args, "nl"), _full(url, args, "nl")
    _same(lean, full)
    assert "Uiterste dag subsidieaanvraag" in lean.out


def test_the_configured_reminder_time(demo_db: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The reminders' moments follow the shipped configuration's `reminder_time`; a value
    the lean path does not read as pydantic would (a number) goes the full path."""
    import onderwijsflow.config

    folder = tmp_path / "config"
    folder.mkdir()
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    assert 'reminder_time: "09:00"' in text
    config = folder / "onderwijsflow.yaml"
    monkeypatch.setattr(onderwijsflow.config, "shipped",
                        lambda name: folder if name == "config" else shipped(name))
    url = f"sqlite:///{demo_db}"
    args = ("deadlines", "--region", "duinzicht", "--json")
    config.write_text(text.replace('reminder_time: "09:00"', 'reminder_time: "07:45"'),
                      encoding="utf-8")
    lean = _lean_only(url, args, "en", monkeypatch)
    full = invoke_full(url, args, config)
    _same(lean, full)
    moments = [m for r in lean.json()["deadlines"] for m in r["reminders_at"]]
    assert moments and all(m[11:16] in ("06:45", "05:45") for m in moments), moments
    config.write_text(text.replace('reminder_time: "09:00"', "reminder_time: 28800"),
                      encoding="utf-8")
    assert _full_path_taken(_lean_only(url, args, "en", monkeypatch))


def invoke_full(url: str, args: tuple[str, ...], config: Path) -> Run:
    from tests.support import invoke

    return invoke(("--config", str(config), *args), _env(url, "en"))


def test_the_lean_path_lists_the_statuses_the_full_path_lists() -> None:
    from onderwijsflow.lean import deadlines as lean
    from onderwijsflow.store.statuses import OPEN_MILESTONES, MilestoneStatus

    assert (*OPEN_MILESTONES, MilestoneStatus.MET) == lean._LISTED


def test_the_query_is_the_one_sqlalchemy_sends(demo_db: Path) -> None:
    """The same SQL text, so that SQLite returns rows with equal sort keys in the same order."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from onderwijsflow.lean import deadlines as lean

    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(Engine, "before_cursor_execute", record)
    try:
        done = _full(f"sqlite:///{demo_db}",
                     ("deadlines", "--region", "duinzicht", "--within", "P2Y"), "en")
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert done.code == 0, str(done)
    assert (lean._SELECT + " AND milestones.region_id = ? AND milestones.due_at <= ?"
            + lean._ORDER) in sent
    before, after = lean._HISTORY.split("{marks}")
    assert any(s.startswith(before) and s.endswith(after) for s in sent), sent


def test_unusual_milestone_specs_are_left_to_the_full_path() -> None:
    """Values pydantic would coerce (``termijnenwet: "yes"``) are not guessed at."""
    from onderwijsflow.definition.durations import Duration
    from onderwijsflow.lean.deadlines import _spec

    parse = Duration.parse
    assert _spec({"name": "x", "remind": "P7D", "termijnenwet": True}, parse).remind[0].text \
        == "P7D"
    assert _spec({"name": "x", "every": "P6M"}, parse).recurring
    for bad in ({"termijnenwet": "yes"}, {"label": 3}, {"remind": [7]}, {"every": 30},
                {"remind": "7 dagen"}):
        with pytest.raises(ValueError):
            _spec({"name": "x", **bad}, parse)


# --- PostgreSQL: the same SQL through psycopg --------------------------------------------------


@pytest.fixture
def pg_deadlines(pg_url: str) -> str:
    """Regions on a PostgreSQL schema of their own with subsidie cases of two rounds (their
    milestones overdue and coming on the wall clock), two occurrences of one region due at
    the same moment (a tie the order's last column, the id, settles) and one met."""
    from sqlalchemy import create_engine, text

    from onderwijsflow.service import Onderwijsflow
    from onderwijsflow.store.db import Database

    app = Onderwijsflow.open(db=pg_url, actor="anne", practice=True)
    try:
        app.init()
        for slug, name in (("oost", "Regio Oost"), ("west", "Regio West"), ("zuid", "Regio Zuid")):
            app.create_region(slug, name=name, sectors=["PO"], coordinator=f"{slug}@re.example")
            app.start_case(slug, "subsidie", round="2025")
        app.start_case("oost", "subsidie", round="2026")
    finally:
        app.close()
    engine = create_engine(Database(pg_url).url)
    try:
        with engine.begin() as connection:
            q = connection.execute
            def pending(slug: str) -> list[int]:
                return [row[0] for row in q(text(
                    "SELECT milestones.id FROM milestones JOIN regions ON regions.id = "
                    "milestones.region_id WHERE regions.slug = :slug AND status = 'pending' "
                    "ORDER BY milestones.id DESC"), {"slug": slug})]

            tied, met = pending("oost"), pending("west")
            assert len(tied) >= 2 and met, (tied, met)
            q(text("UPDATE milestones SET due_at = :at WHERE id IN (:a, :b)"),
              {"at": datetime.now(UTC) + timedelta(days=10), "a": tied[0], "b": tied[1]})
            q(text("UPDATE milestones SET status = 'met', closed_at = :at WHERE id = :a"),
              {"at": datetime.now(UTC), "a": met[0]})
    finally:
        engine.dispose()
    return pg_url


PG_COMMANDS = [
    ("deadlines",),
    ("deadlines", "--within", "P4W"),
    ("deadlines", "--within", "PT1S"),
    ("deadlines", "--region", "oost"),
    ("deadlines", "--region", "west", "--within", "P2Y"),
]


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_postgresql_deadlines_lean_are_the_full_output(pg_deadlines: str, lang: str, as_json: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen = set()
    for args in PG_COMMANDS:
        args = (*args, "--json") if as_json else args
        full = _full(pg_deadlines, args, lang)
        assert full.code == 0, str(full)
        _same(_lean_only(pg_deadlines, args, lang, monkeypatch), full)
        seen.add(full.out.count("\n"))
    assert max(seen) > 5  # rows were compared, not only empty answers


def test_postgresql_deadlines_lean_path_imports_no_orm(pg_deadlines: str) -> None:
    out, imported = cli_imports(pg_deadlines, "deadlines", "--region", "oost")
    assert "onderwijsflow.lean.postgres" in imported
    assert not {"sqlalchemy", "sqlmodel", "pydantic"} & imported
    assert "Regio Oost" in out
