"""The demonstration: its story's outcomes, read back from the database it leaves behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from onderwijsflow.demo import NOTICE, REGIONS, run_demo
from onderwijsflow.service import Onderwijsflow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """The demo played once (quietly) for all the tests here, over a stale file and WAL."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    path.write_bytes(b"not a database")
    Path(f"{path}-wal").write_bytes(b"stale write-ahead log")
    return run_demo(path, quiet=True), path


def _open(path: Path) -> Onderwijsflow:
    return Onderwijsflow.open(db=f"sqlite:///{path}")


def test_summary_counts_regions_events_and_states(demo: tuple[dict[str, Any], Path]) -> None:
    summary, path = demo
    assert summary["regions"] == len(REGIONS) >= 10
    assert summary["events"] > 100
    assert summary["audit_ok"] is True
    assert summary["database"] == str(path)
    for workflow in ("regiovorming", "subsidie"):
        assert summary["states"][workflow]
    assert sum(summary["states"]["regiovorming"].values()) == len(REGIONS)
    assert summary["states"]["regiovorming"]["gesubsidieerd"] >= 5
    assert {"voorlopige_status", "in_oprichting", "verkenning"} <= set(summary["states"]["regiovorming"])
    assert {"in_uitvoering", "afgewezen", "deadline_verstreken"} <= set(summary["states"]["subsidie"])


def test_region_names_are_real_and_partners_invented() -> None:
    names = {r.name for r in REGIONS}
    assert {"Noorderwijzer (Drenthe+)", "Twente–Achterhoek–Oost-Salland", "RA-ZON Zuidoost-Nederland",
            "Leiden–Duin- en Bollenstreek"} <= names
    assert "Fictieve gegevens" in NOTICE and "invented data" in NOTICE


def test_featured_region_is_refused_then_fixed_then_moves(demo: tuple[dict[str, Any], Path]) -> None:
    summary, path = demo
    app = _open(path)
    try:
        events = app.history(summary["featured"], all_events=True)["events"]
    finally:
        app.close()
    refused = next(e for e in events if e["kind"] == "refused")
    assert refused["trigger"] == "verleen_definitieve_status"
    missing = [r["requirement"] for r in refused["data"]["evidence"] if not r["passed"]]
    assert missing == ["beroepsgroep_betrokken"]
    after = events[events.index(refused) + 1:]
    fix = next(e for e in after if e["kind"] == "partner_added")
    assert fix["data"]["new"]["kind"] in ("vakbond", "beroepsgroep")
    moved = next(e for e in after if e["kind"] == "transition" and e["trigger"] == refused["trigger"])
    assert moved["seq"] > fix["seq"] and moved["to"] == "definitieve_status"
    assert all(r["passed"] for r in moved["data"]["evidence"])


def test_late_application_is_refused_and_the_scheduler_closes_it(demo: tuple[dict[str, Any], Path]) -> None:
    _, path = demo
    late = next(r.slug for r in REGIONS if r.stage == "late")
    app = _open(path)
    try:
        events = app.history(late, workflow="subsidie", all_events=True)["events"]
    finally:
        app.close()
    refused = next(e for e in events if e["kind"] == "refused")
    assert refused["trigger"] == "dien_aanvraag_in"
    assert [r["requirement"] for r in refused["data"]["evidence"] if not r["passed"]] == ["voor_deadline"]
    closed = next(e for e in events if e["kind"] == "transition" and e["seq"] > refused["seq"])
    assert (closed["actor"], closed["to"]) == ("scheduler", "deadline_verstreken")


def test_simulated_clock_runs_from_spring_2024_forward(demo: tuple[dict[str, Any], Path]) -> None:
    summary, path = demo
    app = _open(path)
    try:
        events = app.history(summary["featured"], all_events=True)["events"]
        from onderwijsflow.clock import parse_moment

        then = app.history(summary["featured"], as_of=parse_moment("2024-06-01"))
    finally:
        app.close()
    moments = [e["at"] for e in events]
    assert moments[0].startswith("2024-03-01")
    assert moments == sorted(moments)
    assert then["state"] == {"regiovorming": "voorlopige_status"}


def test_audit_log_of_the_demo_verifies(demo: tuple[dict[str, Any], Path]) -> None:
    _, path = demo
    app = _open(path)
    try:
        report = app.verify_audit()
    finally:
        app.close()
    assert report["ok"] and report["regions"] == len(REGIONS) and not report["broken"]


def test_demo_replaces_an_existing_file(demo: tuple[dict[str, Any], Path]) -> None:
    _, path = demo
    assert path.read_bytes().startswith(b"SQLite format 3")  # the stale file was replaced


def _cli() -> list[str]:
    """The installed `onderwijsflow` script of this interpreter (else `python -m onderwijsflow`)."""
    name = "onderwijsflow.exe" if sys.platform == "win32" else "onderwijsflow"
    script = Path(sysconfig.get_path("scripts")) / name
    if script.exists():
        return [str(script)]
    found = shutil.which("onderwijsflow")
    return [found] if found else [sys.executable, "-m", "onderwijsflow"]


def test_demo_command_in_a_fresh_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    done = subprocess.run([*_cli(), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Fictieve gegevens / invented data") == 2  # at the start and the end
    assert "geweigerd / refused" in done.stdout and "beroepsgroep_betrokken" in done.stdout
    assert "audit verify" in done.stdout and "Traceback" not in done.stderr
    assert (tmp_path / "onderwijsflow-demo.db").exists()
