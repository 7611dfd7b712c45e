"""Two real processes writing to one SQLite file at the same moment (design §6).

Each process is a small driver that imports the library first, says it is ready and then
blocks on its stdin; once both are ready the test releases them together (a barrier made of
pipes, no sleeping), so both work on the same snapshot. The race drivers run
:func:`onderwijsflow.cli.main` exactly as the ``onderwijsflow`` command does, one round per
release, and report each exit code; a process ends with the exit code of its last command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from support import frozen_child, with_bytecode_cache

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 5
WRITES = 20

# One CLI command per round: wait for "go", run it, report its exit code.
RACER = """
import json
import sys

import onderwijsflow.service  # the heavy imports happen before the first start line
from onderwijsflow.cli import main

code = 0
for args in json.loads(sys.argv[1]):
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        main(args)
    except SystemExit as done:
        code = done.code
    print(f"exit {code}", flush=True)
sys.exit(code)
"""

# Many writes, each its own transaction, as fast as they go.
WRITER = """
import json
import sys

from onderwijsflow.service import Onderwijsflow

app = Onderwijsflow.open(db=sys.argv[1], actor=sys.argv[2])
app.show_region(json.loads(sys.argv[3])[0][0])  # connect and load before the start line
print("ready", flush=True)
sys.stdin.readline()
for slug, name in json.loads(sys.argv[3]):
    app.add_partner(slug, name, kind="overig")
app.close()
print("done", flush=True)
"""


@contextmanager
def library(db: Path, **options: Any) -> Iterator[Any]:
    """The application in process, for setting up and for looking inside."""
    from onderwijsflow.service import Onderwijsflow

    options.setdefault("actor", "anne")
    app = Onderwijsflow.open(db=f"sqlite:///{db}", **options)
    try:
        yield app
    finally:
        app.close()


def make_ready(app: Any, slug: str) -> None:
    """A region whose regiovorming case may fire `dien_aanvraag_in`."""
    app.create_region(slug, name=slug.title())
    app.add_partner(slug, "Stichting Primair Oost", kind="schoolbestuur", sector="PO")
    app.add_partner(slug, "Pabo Oost", kind="lerarenopleiding")
    app.add_document(slug, "intentieverklaring", title="Intentieverklaring")
    app.add_document(slug, "arbeidsmarktanalyse", title="Arbeidsmarktanalyse")


def environment(db: Path, actor: str, bytecode: Path | None) -> dict[str, str]:
    """A child's environment: the database, the actor, this checkout's package."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["ONDERWIJSFLOW_DB"] = f"sqlite:///{db}"
    env["ONDERWIJSFLOW_ACTOR"] = actor
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return with_bytecode_cache(frozen_child(env), bytecode)


class Processes:
    """Driver processes started together and released round by round."""

    def __init__(self, tmp_path: Path, db: Path, drivers: Sequence[tuple[str, str, list[str]]],
                 bytecode: Path | None) -> None:
        self.processes = []
        for i, (actor, source, argv) in enumerate(drivers):
            script = tmp_path / f"driver_{i}.py"
            script.write_text(source, encoding="utf-8")
            self.processes.append(subprocess.Popen(
                [sys.executable, str(script), *argv], cwd=tmp_path, env=environment(db, actor, bytecode),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            ))

    def _line(self, process: subprocess.Popen[str], prefix: str) -> str:
        """The next line of `process` starting with `prefix` (command output is skipped)."""
        assert process.stdout is not None
        while line := process.stdout.readline():
            if line.startswith(prefix):
                return line.strip()
        _, err = process.communicate(timeout=60)
        raise AssertionError(f"the driver ended before saying '{prefix}':\n{err}")

    def release(self, *, report: str) -> list[str]:
        """Wait until every process is ready, let them all go, collect their `report` lines."""
        for process in self.processes:  # the barrier
            self._line(process, "ready")
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        return [self._line(process, report) for process in self.processes]

    def finish(self) -> list[tuple[int, str]]:
        """Wait for every process: (exit code, stderr) each."""
        results = []
        for process in self.processes:
            _, err = process.communicate(timeout=120)
            results.append((process.returncode, err))
        return results

    def kill(self) -> None:
        """End the drivers that are still running (after a failure)."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


@contextmanager
def started(tmp_path: Path, db: Path, drivers: Sequence[tuple[str, str, list[str]]],
            bytecode: Path | None = None) -> Iterator[Processes]:
    """The drivers, started; killed on the way out if a failure left them running."""
    processes = Processes(tmp_path, db, drivers, bytecode)
    try:
        yield processes
    finally:
        processes.kill()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A migrated SQLite file."""
    path = tmp_path / "race.db"
    with library(path) as app:
        app.init()
    return path


def test_two_coordinators_advancing_one_case_at_once(tmp_path: Path, db: Path,
                                                     bytecode_cache: Path) -> None:
    slugs = [f"regio-{i}" for i in range(ROUNDS)]
    with library(db) as app:
        for slug in slugs:
            make_ready(app, slug)
        before = {slug: len(app.history(slug, all_events=True)["events"]) for slug in slugs}

    rounds = json.dumps([["advance", slug, "dien_aanvraag_in", "--json"] for slug in slugs])
    outcomes = []
    racers_ = [("anne", RACER, [rounds]), ("bert", RACER, [rounds])]
    with started(tmp_path, db, racers_, bytecode_cache) as racers:
        for _ in slugs:
            codes = sorted(int(line.split()[1]) for line in racers.release(report="exit"))
            assert codes in ([0, 3], [0, 5]), codes
            outcomes.append(codes[1])
        finished = racers.finish()
    for exit_code, err in finished:
        assert exit_code in (0, 3, 5)
        assert "Traceback" not in err
        for line in err.splitlines():  # every failure was one sentence
            assert line.startswith("error:"), err
    # The processes ended with the exit code of their last round.
    assert sorted(code for code, _ in finished) == [0, outcomes[-1]]

    with library(db) as app:
        for slug, loser in zip(slugs, outcomes, strict=True):
            events = app.history(slug, all_events=True)["events"]
            new = events[before[slug]:]
            transitions = [e for e in new if e["kind"] == "transition"]
            assert len(transitions) == 1, new
            assert (transitions[0]["from"], transitions[0]["to"]) == ("verkenning",
                                                                      "aanvraag_ingediend")
            if loser == 5:  # the loser wrote nothing at all
                assert [e["kind"] for e in new] == ["transition"]
            else:  # the loser came after the winner: its refusal is audited
                assert [e["kind"] for e in new] == ["transition", "refused"]
                assert new[1]["data"]["code"] == "impossible"
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
            case = app.show_region(slug)["cases"]["regiovorming"]
            assert case["state"] == "aanvraag_ingediend"
        report = app.verify_audit()
    assert report["ok"] is True, report

    verify = subprocess.run([sys.executable, "-m", "onderwijsflow", "audit", "verify"],
                            cwd=tmp_path, env=environment(db, "anne", bytecode_cache), capture_output=True,
                            text=True, timeout=120)
    assert verify.returncode == 0, verify.stderr
    assert "intact" in verify.stdout


def test_many_writes_from_two_processes_are_all_kept(tmp_path: Path, db: Path,
                                                     bytecode_cache: Path) -> None:
    """anne and bert each add partners to a region of their own and to one they share."""
    with library(db) as app:
        for slug in ("noord", "zuid", "samen"):
            app.create_region(slug, name=slug.title())
    plans = {
        "anne": [w for i in range(WRITES) for w in (("noord", f"anne-{i:02d}"),
                                                    ("samen", f"anne-{i:02d}"))],
        "bert": [w for i in range(WRITES) for w in (("zuid", f"bert-{i:02d}"),
                                                    ("samen", f"bert-{i:02d}"))],
    }
    url = f"sqlite:///{db}"
    drivers = [(who, WRITER, [url, who, json.dumps(plan)]) for who, plan in plans.items()]
    with started(tmp_path, db, drivers, bytecode_cache) as writers:
        writers.release(report="done")
        finished = writers.finish()
    assert finished == [(0, ""), (0, "")]

    expected: dict[str, set[str]] = {"noord": set(), "zuid": set(), "samen": set()}
    for plan in plans.values():
        for slug, name in plan:
            expected[slug].add(name)
    with library(db) as app:
        for slug, names in expected.items():
            assert {p["name"] for p in app.show_region(slug)["partners"]} == names
            events = app.history(slug, all_events=True)["events"]
            added = [e for e in events if e["kind"] == "partner_added"]
            assert sorted(e["data"]["new"]["name"] for e in added) == sorted(names)
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert {e["actor"] for e in app.history("samen", all_events=True)["events"]
                if e["kind"] == "partner_added"} == {"anne", "bert"}
        report = app.verify_audit()
    assert report["ok"] is True, report
    # 4 * WRITES partners, plus region_created and case_opened per region.
    assert report["events"] == 4 * WRITES + 2 * len(expected)


def test_the_sqlite_race_that_ends_in_exit_5_nothing_written(db: Path) -> None:
    """The interleaving the process race above may or may not hit, made to happen: anne's
    `advance` decides in its read transaction, then bert's whole `advance` commits before
    anne's write starts. Anne's compare-and-set finds the case moved: a Conflict (exit 5),
    and nothing of hers is written, not even a refusal."""
    from onderwijsflow.errors import Conflict

    with library(db) as anne, library(db, actor="bert") as bert:
        make_ready(anne, "twente")
        before = len(anne.history("twente", all_events=True)["events"])
        writing = anne.writing
        entered: list[int] = []

        @contextmanager
        def bert_first() -> Iterator[Any]:
            if not entered:
                entered.append(1)
                bert.advance("twente", "dien_aanvraag_in")
            with writing() as session:
                yield session

        anne.writing = bert_first  # type: ignore[method-assign]
        with pytest.raises(Conflict) as raised:
            anne.advance("twente", "dien_aanvraag_in")
        assert raised.value.exit_code == 5
        assert entered == [1]
        new = anne.history("twente", all_events=True)["events"][before:]
        assert [(e["kind"], e["actor"]) for e in new] == [("transition", "bert")]
        assert anne.show_region("twente")["cases"]["regiovorming"]["state"] == "aanvraag_ingediend"
        assert anne.verify_audit()["ok"]
