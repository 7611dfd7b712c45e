"""End to end: the real ``onderwijsflow`` command in a subprocess, on a real SQLite file.

Every test runs ``python -m onderwijsflow`` with ``ONDERWIJSFLOW_DB`` pointing at a file in
the test's temporary directory, a temporary working directory and ``ONDERWIJSFLOW_ACTOR``
set, and checks what a coordinator or a script sees: exit codes (design §4), one-line
errors without tracebacks, the JSON shapes, and what ends up in the database.

A process start costs about a second (the library imports SQLAlchemy and friends), so the
state a test needs before the command under test is prepared through the library, in
process, and independent commands run as processes started together (:meth:`Cli.many`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import copy_sqlite, frozen_child, library, make_ready, with_bytecode_cache

REPO = Path(__file__).resolve().parents[1]
SHIPPED_WORKFLOWS = REPO / "workflows"

#: What `dien_aanvraag_in` (regiovorming) needs, in the order the workflow lists them.
APPLICATION_REQUIREMENTS = [
    "schoolbestuur_betrokken",
    "lerarenopleiding_betrokken",
    "samenwerking_vastgelegd",
    "arbeidsmarktanalyse_aanwezig",
]

# The keys design §4 promises (more may be added, none removed or renamed).
ADVANCE_KEYS = {"region", "workflow", "trigger", "from", "to", "ok", "dry_run", "unmet"}
UNMET_KEYS = {"requirement", "label", "detail"}
CHECK_KEYS = {"region", "workflow", "state", "triggers"}
CHECK_TRIGGER_KEYS = {"trigger", "dest", "allowed", "unmet"}
HISTORY_KEYS = {"region", "events"}
EVENT_KEYS = {"seq", "at", "actor", "workflow", "kind", "trigger", "from", "to", "reason", "hash"}
SHOW_KEYS = {"slug", "name", "cases", "partners", "roles", "documents", "facts"}
SHOW_CASE_KEYS = {"state", "version", "opened"}

SIMULATED_CLOCK = "simulated_clock: true\n"
ACTORS = textwrap.dedent(
    """\
    actors:
      anne: {roles: [coordinator]}
      olaf: {roles: [coordinator, override]}
      piet: {roles: [auditor]}
      adri: {roles: [admin]}
    """
)


# --- running the CLI ---------------------------------------------------------------------


@dataclass
class Run:
    """One finished CLI process."""

    args: Sequence[str]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Stdout as the one JSON document it must be."""
        try:
            return json.loads(self.out)
        except json.JSONDecodeError:
            pytest.fail(f"stdout of {self} is not one JSON document")

    def __str__(self) -> str:
        return (f"onderwijsflow {' '.join(self.args)} -> exit {self.code}\n"
                f"--- stdout\n{self.out}--- stderr\n{self.err}")


class Cli:
    """``python -m onderwijsflow`` against one database, from a scratch working directory."""

    def __init__(self, tmp_path: Path, db: Path, *, actor: str = "anne",
                 config: Path | None = None, bytecode: Path | None = None) -> None:
        self.db = db
        self.cwd = tmp_path / "cwd"
        self.cwd.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
        env["ONDERWIJSFLOW_DB"] = f"sqlite:///{db}"
        env["ONDERWIJSFLOW_ACTOR"] = actor
        if config is not None:
            env["ONDERWIJSFLOW_CONFIG"] = str(config)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env["COLUMNS"] = "200"
        self.env = with_bytecode_cache(frozen_child(env), bytecode)

    def start(self, args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start one command; `env` adds to (or, with a None value, removes from) the environment."""
        full = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                full.pop(key, None)
            else:
                full[key] = value
        return subprocess.Popen(
            [sys.executable, "-m", "onderwijsflow", *args], cwd=self.cwd, env=full,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8",
        )

    @staticmethod
    def finish(args: Sequence[str], process: subprocess.Popen[str]) -> Run:
        """Wait for `process` and collect what it printed."""
        out, err = process.communicate(timeout=120)
        return Run(list(args), process.returncode, out, err)

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Run:
        return self.finish(args, self.start(args, env))

    def many(self, *calls: Sequence[str] | tuple[Sequence[str], dict[str, str]]) -> list[Run]:
        """Run independent commands as processes started together; results in order."""
        started = []
        for call in calls:
            args, env = (call if isinstance(call, tuple) else (call, None))
            started.append((args, self.start(args, env)))
        return [self.finish(args, process) for args, process in started]


@pytest.fixture
def make_cli(tmp_path: Path, bytecode_cache: Path) -> Callable[..., Cli]:
    """Build a :class:`Cli` for a database (and options) of the test's choosing."""
    return lambda db, **options: Cli(tmp_path, db, bytecode=bytecode_cache, **options)


def assert_one_error_line(run: Run, *fragments: str) -> None:
    """A refusal or error as design §4 wants it: one sentence on stderr, no traceback."""
    assert "Traceback" not in run.err, str(run)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, str(run)
    assert lines[0].startswith("error:"), str(run)
    for fragment in fragments:
        assert fragment in lines[0], str(run)


def assert_ok(*runs: Run) -> None:
    """Every run exited 0 without complaint."""
    for run in runs:
        assert run.code == 0, str(run)
        assert "Traceback" not in run.err, str(run)


# --- preparing state through the library ----------------------------------------------------




def all_events(app: Any, slug: str) -> list[dict[str, Any]]:
    """Every audit event of a region, as `history --all --json` lists them."""
    return app.history(slug, all_events=True)["events"]


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with the shipped workflows stored, made once per module."""
    path = tmp_path_factory.mktemp("template") / "onderwijsflow.db"
    with library(path) as app:
        app.init()
    return path


@pytest.fixture
def db_file(tmp_path: Path, template_db: Path) -> Path:
    """A fresh copy of the migrated template database for one test."""
    return copy_sqlite(template_db, tmp_path / "x.db")


@pytest.fixture
def cli(make_cli: Callable[..., Cli], db_file: Path) -> Cli:
    """The CLI on the test's migrated database, as actor anne, in single-user mode."""
    return make_cli(db_file)


def write_config(tmp_path: Path, name: str, text: str) -> Path:
    """A configuration file read on top of the shipped defaults."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- JSON shapes (design §4) -----------------------------------------------------------------


def assert_advance_shape(doc: dict[str, Any]) -> None:
    assert doc.keys() >= ADVANCE_KEYS
    assert isinstance(doc["ok"], bool) and isinstance(doc["dry_run"], bool)
    for unmet in doc["unmet"]:
        assert unmet.keys() >= UNMET_KEYS
        assert all(isinstance(unmet[k], str) and unmet[k] for k in UNMET_KEYS)


def assert_check_shape(doc: dict[str, Any]) -> None:
    assert doc.keys() >= CHECK_KEYS
    assert doc["triggers"], "a case in verkenning has triggers"
    for trigger in doc["triggers"]:
        assert trigger.keys() >= CHECK_TRIGGER_KEYS
        for unmet in trigger["unmet"]:
            assert unmet.keys() >= UNMET_KEYS


def assert_history_shape(doc: dict[str, Any]) -> None:
    assert doc.keys() >= HISTORY_KEYS
    for event in doc["events"]:
        assert event.keys() >= EVENT_KEYS
        assert isinstance(event["seq"], int) and len(event["hash"]) == 64


def assert_show_shape(doc: dict[str, Any]) -> None:
    assert doc.keys() >= SHOW_KEYS
    for case in doc["cases"].values():
        assert case.keys() >= SHOW_CASE_KEYS
    assert isinstance(doc["partners"], list) and isinstance(doc["roles"], list)
    assert isinstance(doc["documents"], list) and isinstance(doc["facts"], dict)


# --- the main flow -----------------------------------------------------------------------------


def test_refused_advance_names_what_is_missing_and_the_fix_lets_it_through(
        tmp_path: Path, make_cli: Callable[..., Cli]) -> None:
    cli = make_cli(tmp_path / "x.db")

    init = cli("init")
    assert_ok(init)
    assert "regiovorming" in init.out

    created = cli("region", "create", "twente", "--name", "Twente", "--sector", "PO", "--json")
    assert_ok(created)
    assert created.json()["cases"]["regiovorming"]["state"] == "verkenning"

    refused = cli("advance", "twente", "dien_aanvraag_in", "--json")
    assert refused.code == 3, str(refused)
    assert_one_error_line(refused, "twente", "dien_aanvraag_in")
    doc = refused.json()
    assert_advance_shape(doc)
    assert doc["ok"] is False and doc["dry_run"] is False
    assert doc["from"] == doc["to"] == "verkenning"
    assert [u["requirement"] for u in doc["unmet"]] == APPLICATION_REQUIREMENTS
    details = {u["requirement"]: u["detail"] for u in doc["unmet"]}
    assert "school board" in details["schoolbestuur_betrokken"]
    assert "is missing" in details["arbeidsmarktanalyse_aanwezig"]

    # The fix: four independent writes, started together (they queue on the write lock).
    fixes = cli.many(
        ["partner", "add", "twente", "Stichting Primair Oost", "--kind", "schoolbestuur",
         "--sector", "PO"],
        ["partner", "add", "twente", "Pabo Oost", "--kind", "lerarenopleiding"],
        ["document", "add", "twente", "intentieverklaring", "--title", "Intentieverklaring",
         "--date", "2024-05-01"],
        ["document", "add", "twente", "arbeidsmarktanalyse", "--title", "AMA 2024",
         "--ref", "AMA-7"],
    )
    assert_ok(*fixes)

    moved = cli("advance", "twente", "dien_aanvraag_in", "--reason", "alles compleet", "--json")
    assert_ok(moved)
    assert moved.err == ""
    doc = moved.json()
    assert_advance_shape(doc)
    assert (doc["ok"], doc["from"], doc["to"], doc["unmet"]) == (
        True, "verkenning", "aanvraag_ingediend", [])

    show, history, transitions, check, verify = cli.many(
        ["region", "show", "twente", "--json"],
        ["history", "twente", "--all", "--json"],
        ["history", "twente", "--json"],
        ["check", "twente", "--json"],
        ["audit", "verify", "twente"],
    )
    assert_ok(show, history, transitions, check, verify)
    shown = show.json()
    assert_show_shape(shown)
    assert shown["cases"]["regiovorming"]["state"] == "aanvraag_ingediend"
    assert sorted(p["name"] for p in shown["partners"]) == ["Pabo Oost", "Stichting Primair Oost"]
    documents = {d["kind"]: d for d in shown["documents"]}
    assert documents["intentieverklaring"]["date"] == "2024-05-01"
    assert documents["arbeidsmarktanalyse"]["ref"] == "AMA-7"

    events = history.json()
    assert_history_shape(events)
    kinds = [e["kind"] for e in events["events"]]
    assert kinds.count("refused") == 1, "the refused attempt is audited too"
    assert kinds.count("transition") == 1
    transition = next(e for e in events["events"] if e["kind"] == "transition")
    assert (transition["actor"], transition["reason"]) == ("anne", "alles compleet")
    assert [e["seq"] for e in events["events"]] == list(range(1, len(kinds) + 1))
    assert "intact" in verify.out

    # Without --all only the changes of state are listed.
    assert_history_shape(transitions.json())
    assert [(e["kind"], e["from"], e["to"]) for e in transitions.json()["events"]] == [
        ("transition", "verkenning", "aanvraag_ingediend")]

    readiness = check.json()
    assert_check_shape(readiness)
    assert readiness["state"] == "aanvraag_ingediend"
    triggers = {t["trigger"]: t for t in readiness["triggers"]}
    assert triggers["trek_in"]["allowed"] is True
    assert triggers["verleen_voorlopige_status"]["allowed"] is False
    assert "plan_van_aanpak_aanwezig" in {
        u["requirement"] for u in triggers["verleen_voorlopige_status"]["unmet"]}

    # ONDERWIJSFLOW_DB was honoured: nothing landed in the working directory.
    assert list(cli.cwd.iterdir()) == []


# --- dry runs ----------------------------------------------------------------------------------


def test_dry_run_writes_nothing_whether_allowed_or_refused(cli: Cli) -> None:
    with library(cli.db) as app:
        app.create_region("leeg", name="Leeg")
        before = all_events(app, "leeg")

    allowed, refused = cli.many(
        ["advance", "leeg", "trek_in", "--dry-run", "--json"],
        ["advance", "leeg", "dien_aanvraag_in", "--dry-run", "--json"],
    )
    assert_ok(allowed)
    doc = allowed.json()
    assert_advance_shape(doc)
    assert (doc["ok"], doc["dry_run"], doc["from"], doc["to"]) == (
        True, True, "verkenning", "ingetrokken")

    assert refused.code == 3, str(refused)
    assert "Traceback" not in refused.err
    doc = refused.json()
    assert_advance_shape(doc)
    assert (doc["ok"], doc["dry_run"]) == (False, True)
    assert [u["requirement"] for u in doc["unmet"]] == APPLICATION_REQUIREMENTS

    history, show = cli.many(["history", "leeg", "--all", "--json"],
                             ["region", "show", "leeg", "--json"])
    assert_ok(history, show)
    after = history.json()["events"]
    assert len(after) == len(before)
    assert [(e["seq"], e["kind"], e["hash"]) for e in after] == [
        (e["seq"], e["kind"], e["hash"]) for e in before]
    assert show.json()["cases"]["regiovorming"]["state"] == "verkenning"


# --- exit codes --------------------------------------------------------------------------------

EXIT_CODES = [
    # (what, args, extra environment, exit code, fragments of the one stderr line or None)
    ("unknown region", ["advance", "nergens", "dien_aanvraag_in"], None, 4, ["nergens"]),
    ("unknown trigger", ["advance", "twente", "vlieg_weg"], None, 4, ["vlieg_weg"]),
    ("malformed date", ["document", "add", "twente", "arbeidsmarktanalyse", "--title", "AMA",
                        "--date", "2024-02-30"], None, 2, ["2024-02-30"]),
    ("missing argument", ["advance", "twente"], None, 2, None),
    ("override without reason", ["advance", "twente", "dien_aanvraag_in", "--override"], None, 2,
     ["--reason"]),
    ("final state", ["advance", "dicht", "dien_aanvraag_in"], None, 3, ["final"]),
    ("impossible from state", ["advance", "twente", "verleen_definitieve_status"], None, 3,
     ["not possible"]),
    ("--now without simulated clock", ["--now", "2024-10-01T09:00", "region", "list"], None, 1,
     ["simulated_clock"]),
]


def test_exit_codes(cli: Cli) -> None:
    with library(cli.db) as app:
        make_ready(app, "twente")
        app.create_region("dicht", name="Dicht")
        app.advance("dicht", "trek_in", reason="de regio stopt")
        documents_before = app.show_region("twente")["documents"]

    runs = cli.many(*[(args, env or {}) for _, args, env, _, _ in EXIT_CODES])

    wrong = [f"{what}: {run}" for (what, _, _, code, _), run in zip(EXIT_CODES, runs, strict=True)
             if run.code != code]
    assert not wrong, "\n".join(wrong)
    for (what, _, _, _, fragments), run in zip(EXIT_CODES, runs, strict=True):
        assert "Traceback" not in run.err, what
        if run.code != 3:  # a refused advance also shows its decision on stdout
            assert run.out == "", f"{what}: nothing on stdout when the command fails\n{run}"
        if fragments is None:  # a usage error found by click itself
            assert "Missing argument" in run.err, str(run)
        else:
            assert_one_error_line(run, *fragments)

    with library(cli.db) as app:  # the malformed date changed nothing
        assert app.show_region("twente")["documents"] == documents_before
        assert app.show_region("twente")["cases"]["regiovorming"]["state"] == "verkenning"


# --- conflicts (exit 5) ----------------------------------------------------------------------


def test_conflict_between_read_and_write_writes_nothing(tmp_path: Path, db_file: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Another change lands between advance's read and write phase: Conflict, nothing written."""
    import onderwijsflow.service.cases as cases
    from onderwijsflow.errors import Conflict

    with library(db_file) as app, library(db_file, actor="bert") as other:
        make_ready(app, "twente")
        before = all_events(app, "twente")
        decide = cases._decision_json

        def meanwhile(*args: Any, **kwargs: Any) -> Any:
            # Called after the read transaction closed and before the write one opens.
            other.add_partner("twente", "AOb", kind="vakbond")
            return decide(*args, **kwargs)

        monkeypatch.setattr(cases, "_decision_json", meanwhile)
        with pytest.raises(Conflict) as raised:
            app.advance("twente", "dien_aanvraag_in", reason="race")
        assert raised.value.exit_code == 5
        assert "nothing was written" in raised.value.message
        monkeypatch.setattr(cases, "_decision_json", decide)

        after = all_events(app, "twente")
        assert after[: len(before)] == before
        assert [(e["kind"], e["actor"]) for e in after[len(before):]] == [("partner_added", "bert")]
        assert app.show_region("twente")["cases"]["regiovorming"]["state"] == "verkenning"
        assert app.verify_audit("twente")["ok"] is True

        # Trying again works, on top of the other change.
        assert app.advance("twente", "dien_aanvraag_in")["to"] == "aanvraag_ingediend"


RACING_DRIVER = """
import sys

import onderwijsflow.service.cases as cases
from onderwijsflow.cli import main
from onderwijsflow.service import Onderwijsflow

decide = cases._decision_json


def meanwhile(*args, **kwargs):
    # Deterministic race: a second coordinator writes between advance's read and write.
    other = Onderwijsflow.open(db=sys.argv[1], actor="bert")
    try:
        other.add_partner("twente", "AOb", kind="vakbond")
    finally:
        other.close()
    return decide(*args, **kwargs)


cases._decision_json = meanwhile
main(sys.argv[2:])
"""


def test_conflict_through_the_cli_exits_5(tmp_path: Path, cli: Cli) -> None:
    with library(cli.db) as app:
        make_ready(app, "twente")
        before = all_events(app, "twente")
    driver = tmp_path / "racing_driver.py"
    driver.write_text(RACING_DRIVER, encoding="utf-8")

    process = subprocess.Popen(
        [sys.executable, str(driver), cli.env["ONDERWIJSFLOW_DB"], "advance", "twente",
         "dien_aanvraag_in", "--json"],
        cwd=cli.cwd, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    run = Cli.finish(["advance", "twente", "dien_aanvraag_in", "--json"], process)

    assert run.code == 5, str(run)
    assert_one_error_line(run, "twente", "nothing was written")
    assert run.out == ""
    with library(cli.db) as app:
        after = all_events(app, "twente")
        assert [e["kind"] for e in after[len(before):]] == ["partner_added"]
        assert app.show_region("twente")["cases"]["regiovorming"]["state"] == "verkenning"
        assert app.verify_audit()["ok"] is True


# --- the past: history --as-of with a simulated clock --------------------------------------------

AS_OF = [
    # (--as-of, expected state, transitions listed up to then)
    ("2024-01-09", {}, 0),                                         # before the region existed
    ("2024-03-01T11:59", {"regiovorming": "verkenning"}, 0),       # a minute before moving
    ("2024-03-01", {"regiovorming": "aanvraag_ingediend"}, 1),     # a date is its end of day
    ("2024-06-01", {"regiovorming": "in_oprichting"}, 2),
]


def test_history_as_of_rebuilds_the_state_on_past_dates(tmp_path: Path, db_file: Path,
                                                        make_cli: Callable[..., Cli]) -> None:
    config = write_config(tmp_path, "sim.yaml", SIMULATED_CLOCK)
    with library(db_file, config=config, now="2024-01-10T10:00") as app:
        make_ready(app, "twente")
    cli = make_cli(db_file)  # the config file is given with --config, then through the env

    first = cli("--config", str(config), "--now", "2024-03-01T12:00",
                "advance", "twente", "dien_aanvraag_in", "--json")
    assert_ok(first)
    second = cli("advance", "twente", "zet_in_oprichting", "--reason", "nog niet compleet",
                 env={"ONDERWIJSFLOW_CONFIG": str(config), "ONDERWIJSFLOW_NOW": "2024-05-01T12:00"})
    assert_ok(second)

    runs = cli.many(*[["--config", str(config), "history", "twente", "--as-of", when, "--json"]
                      for when, _, _ in AS_OF])
    for (when, state, transitions), run in zip(AS_OF, runs, strict=True):
        assert_ok(run)
        doc = run.json()
        assert_history_shape(doc)
        assert doc["state"] == state, f"--as-of {when}"
        assert len(doc["events"]) == transitions, f"--as-of {when}"

    with library(db_file) as app:
        history = app.history("twente")["events"]
    assert [e["at"] for e in history] == ["2024-03-01T12:00:00+01:00", "2024-05-01T12:00:00+02:00"]
    assert history[1]["reason"] == "nog niet compleet"
    assert not history[0]["recorded_at"].startswith("2024"), "the wall-clock time is kept too"


# --- the audit log -----------------------------------------------------------------------------


def test_tampering_with_an_event_is_detected(cli: Cli) -> None:
    with library(cli.db) as app:
        make_ready(app, "twente")
        app.advance("twente", "dien_aanvraag_in", reason="compleet")
        app.create_region("andere", name="Andere")
        target = next(e for e in all_events(app, "twente") if e["kind"] == "partner_added")

    with closing(sqlite3.connect(cli.db)) as raw:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), raw:
            raw.execute("UPDATE events SET reason = 'vervalst'")
        guards = [name for (name,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")]
        assert guards, "the events table is protected by triggers"
        with raw:
            for name in guards:
                raw.execute(f'DROP TRIGGER "{name}"')
            changed = raw.execute(
                "UPDATE events SET reason = 'vervalst' WHERE seq = ? AND region_id = "
                "(SELECT id FROM regions WHERE slug = 'twente')", (target["seq"],)).rowcount
        assert changed == 1

    broken, broken_json, other = cli.many(
        ["audit", "verify"], ["audit", "verify", "twente", "--json"], ["audit", "verify", "andere"])
    assert broken.code == 1, str(broken)
    assert_one_error_line(broken, "twente", f"event {target['seq']}")
    assert broken_json.code == 1, str(broken_json)
    report = broken_json.json()
    assert report["ok"] is False
    assert [(b["region"], b["seq"]) for b in report["broken"]] == [("twente", target["seq"])]
    assert_ok(other)  # an intact chain verifies
    assert "intact" in other.out


def test_deleting_the_last_event_is_detected(db_file: Path) -> None:
    with library(db_file) as app:
        make_ready(app, "twente")
        last = all_events(app, "twente")[-1]["seq"]
    with closing(sqlite3.connect(db_file)) as raw, raw:
        for (name,) in raw.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
        ).fetchall():
            raw.execute(f'DROP TRIGGER "{name}"')
        raw.execute("DELETE FROM events WHERE seq = ?", (last,))
    with library(db_file) as app:
        report = app.verify_audit("twente")
    assert report["ok"] is False
    assert report["broken"][0]["region"] == "twente"


# --- workflow definitions ------------------------------------------------------------------------


def test_a_broken_workflow_file_is_rejected_with_file_and_line(tmp_path: Path, cli: Cli) -> None:
    with library(cli.db) as app:
        make_ready(app, "twente")
        before = all_events(app, "twente")
    workflows = tmp_path / "workflows"
    shutil.copytree(SHIPPED_WORKFLOWS, workflows)
    broken = workflows / "regiovorming.yaml"
    lines = broken.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines.index("initial: verkenning\n") + 1
    lines.insert(at, "colour: red\n")
    broken.write_text("".join(lines), encoding="utf-8")
    where = f"regiovorming.yaml:{at + 1}"
    not_yaml = tmp_path / "kapot.yaml"
    not_yaml.write_text("workflow: kapot\nversion: 1\nstates:\n  a: {label: A\n  b: [\n",
                        encoding="utf-8")

    advance, validate, validate_yaml = cli.many(
        ["--workflows", str(workflows), "advance", "twente", "dien_aanvraag_in"],
        ["workflow", "validate", str(broken)],
        ["workflow", "validate", str(not_yaml)],
    )
    for run in (advance, validate):
        assert run.code == 1, str(run)
        assert_one_error_line(run, where, "colour")
    assert validate_yaml.code == 1, str(validate_yaml)
    assert "Traceback" not in validate_yaml.err
    assert validate_yaml.err.startswith("error: kapot.yaml:"), str(validate_yaml)
    line = int(validate_yaml.err.split(":")[2])
    assert 4 <= line <= 6, "the line of the YAML problem is named"

    with library(cli.db) as app:  # nothing was written with the broken definitions
        assert all_events(app, "twente") == before


# --- override and actors ----------------------------------------------------------------------------


def test_override_with_reason_records_what_was_overridden(cli: Cli) -> None:
    with library(cli.db) as app:
        app.create_region("leeg", name="Leeg")

    moved = cli("advance", "leeg", "dien_aanvraag_in", "--override", "--reason",
                "besluit DG: aanvraag mag later worden aangevuld", "--json")
    assert_ok(moved)
    doc = moved.json()
    assert_advance_shape(doc)
    assert (doc["ok"], doc["to"]) == (True, "aanvraag_ingediend")

    history = cli("history", "leeg", "--all", "--json")
    assert_ok(history)
    transitions = [e for e in history.json()["events"] if e["kind"] == "transition"]
    assert len(transitions) == 1
    event = transitions[0]
    assert event["reason"] == "besluit DG: aanvraag mag later worden aangevuld"
    assert event["data"]["override"] is True
    assert event["data"]["overridden"] == APPLICATION_REQUIREMENTS
    evidence = {e["requirement"]: e["passed"] for e in event["data"]["evidence"]}
    assert evidence == dict.fromkeys(APPLICATION_REQUIREMENTS, False)


def test_actors_roles_decide_who_may_write_fire_and_override(
        tmp_path: Path, db_file: Path, make_cli: Callable[..., Cli]) -> None:
    config = write_config(tmp_path, "actors.yaml", ACTORS)
    with library(db_file) as app:  # set up in single-user mode
        app.create_region("leeg", name="Leeg")
        before = all_events(app, "leeg")
    cli = make_cli(db_file, config=config)

    anne_override, stranger, auditor, auditor_dry, admin = cli.many(
        ["--actor", "anne", "advance", "leeg", "dien_aanvraag_in", "--override", "--reason", "x"],
        ["--actor", "zed", "partner", "add", "leeg", "Gemeente Oost", "--kind", "gemeente"],
        ["--actor", "piet", "advance", "leeg", "trek_in", "--reason", "stop"],
        ["--actor", "piet", "advance", "leeg", "trek_in", "--dry-run", "--json"],
        ["--actor", "adri", "advance", "leeg", "trek_in", "--reason", "stop"],
    )
    assert anne_override.code == 3, str(anne_override)
    assert_one_error_line(anne_override, "anne", "override")
    assert stranger.code == 3, str(stranger)
    assert_one_error_line(stranger, "zed")
    assert auditor.code == 3, str(auditor)
    assert_one_error_line(auditor, "piet")
    assert auditor_dry.code == 3, str(auditor_dry)
    assert auditor_dry.json()["ok"] is False
    assert "coordinator" in auditor_dry.json()["refusal"]
    assert admin.code == 3, str(admin)
    assert_one_error_line(admin, "coordinator", "trek_in")

    olaf = cli("--actor", "olaf", "advance", "leeg", "dien_aanvraag_in", "--override",
               "--reason", "besluit DG", "--json")
    assert_ok(olaf)
    assert olaf.json()["to"] == "aanvraag_ingediend"

    with library(db_file) as app:
        new = all_events(app, "leeg")[len(before):]
        assert app.show_region("leeg")["partners"] == []
    # Every refused attempt to fire a trigger is audited (design §6), then olaf's override.
    *refused, moved = new
    assert sorted((e["kind"], e["actor"], e["trigger"]) for e in refused) == [
        ("refused", "adri", "trek_in"), ("refused", "anne", "dien_aanvraag_in"),
        ("refused", "piet", "trek_in")]
    assert {e["data"]["code"] for e in refused} == {"not_permitted"}
    assert (moved["kind"], moved["actor"], moved["trigger"]) == ("transition", "olaf", "dien_aanvraag_in")
    assert moved["data"]["overridden"] == APPLICATION_REQUIREMENTS
