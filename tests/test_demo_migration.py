"""Migrating a database of the old workflows: the old demo's story, moved to the shipped ones.

`legacy_demo` plays the demo as shipped until the 2025 workflows (regiovorming v1, subsidie
v1, on the frozen `tests/data/workflows-2024`); two regions then prepare the 2026 round, so
that cases stand in the states v2 dropped (``concept_bij_re``, ``gereed_voor_indiening``).
The application then opens that database on the shipped workflows and an operator migrates
it through the CLI, as in the README: a dry run first, then for real.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import legacy_demo
import pytest
from click.testing import CliRunner

from onderwijsflow.cli import cli

pytestmark = pytest.mark.shipped_workflows

NOW = "2025-03-01T10:00"
SUBSIDISED = ("noorderwijzer", "twente-achterhoek-oost-salland", "ra-zon", "leiden-duin-bollenstreek",
              "utrecht", "rotterdam", "amsterdam-diemen")


@pytest.fixture(scope="module")
def legacy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The old demo's database, plus two regions preparing round 2026 on subsidie v1."""
    path = tmp_path_factory.mktemp("legacy") / "legacy.db"
    summary = legacy_demo.run_demo(path, quiet=True)
    assert summary["states"]["regiovorming"]["gesubsidieerd"] == len(SUBSIDISED)
    app = legacy_demo.legacy_app(path, "2025-02-20T10:00")
    try:
        app.start_case("friesland", "subsidie", round="2026")
        app.add_document("friesland", "concept_plan_van_aanpak", title="Conceptplan 2026",
                         on=date(2025, 2, 19))
        app.advance("friesland", "leg_concept_voor", workflow="subsidie")
        app.start_case("groningen", "subsidie", round="2026")
        app.add_partner("groningen", "AOb", kind="vakbond")
        app.add_document("groningen", "plan_van_aanpak", title="Plan van aanpak 2026", on=date(2025, 2, 19))
        app.assign_role("groningen", "penvoerder", "Stichting Primair Onderwijs Ommelanden",
                        email="penvoerder@groningen.example")
        app.advance("groningen", "maak_gereed", workflow="subsidie")
    finally:
        app.close()
    return path


Run = Callable[..., Any]


@pytest.fixture
def run(legacy_db: Path, tmp_path: Path) -> Run:
    """``onderwijsflow ARGS`` on a copy of the legacy database, on the shipped workflows;
    returns the parsed JSON of a ``--json`` command, else the output."""
    db = tmp_path / "migrate.db"
    shutil.copyfile(legacy_db, db)
    config = tmp_path / "onderwijsflow.yaml"
    config.write_text("simulated_clock: true\n", encoding="utf-8")
    env = {"ONDERWIJSFLOW_DB": f"sqlite:///{db}", "ONDERWIJSFLOW_CONFIG": str(config),
           "ONDERWIJSFLOW_NOW": NOW, "ONDERWIJSFLOW_ACTOR": "anne", "ONDERWIJSFLOW_WORKFLOWS": None}

    def invoke(*args: str) -> Any:
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, f"onderwijsflow {' '.join(args)}: {result.output}"
        return json.loads(result.stdout) if "--json" in args else result.stdout

    return invoke


def _moves(report: dict[str, Any]) -> dict[tuple[str, str | None], tuple[str, str]]:
    return {(c["region"], c["round"]): (c["from_state"], c["to_state"]) for c in report["cases"]}


def test_dry_runs_report_every_case_and_write_nothing(run: Run) -> None:
    regiovorming = run("workflow", "migrate", "regiovorming", "--to", "2", "--dry-run", "--json")
    assert regiovorming["dry_run"] is True and regiovorming["refused"] == []
    moves = _moves(regiovorming)
    assert len(moves) == 12 and all(c["from_version"] == 1 for c in regiovorming["cases"])
    for slug in SUBSIDISED:
        assert moves[slug, None] == ("gesubsidieerd", "actief")
    assert moves["friesland", None] == ("voorlopige_status", "verkenning")
    assert moves["groningen", None] == ("in_oprichting", "verkenning")
    assert moves["zeeland", None] == moves["zuid-limburg", None] == ("definitieve_status", "verkenning")
    assert moves["flevoland", None] == ("verkenning", "verkenning")

    subsidie = run("workflow", "migrate", "subsidie", "--to", "3", "--dry-run", "--json")
    assert subsidie["refused"] == []
    moves = _moves(subsidie)
    assert moves["friesland", "2026"] == ("concept_bij_re", "voorbereiding")
    assert moves["groningen", "2026"] == ("gereed_voor_indiening", "voorbereiding")
    for slug in SUBSIDISED:
        assert moves[slug, "2025"] == ("in_uitvoering", "in_uitvoering")
    assert moves["zuid-limburg", "2025"] == ("afgewezen", "afgewezen")
    assert ("zeeland", "2025") not in moves  # deadline_verstreken is final: it keeps its rules
    friesland = next(c for c in subsidie["cases"] if c["region"] == "friesland")
    unmet = {u["requirement"] for u in friesland["newly_unmet"]}
    assert {"elk_thema_een_actie", "samen_opleiden_uitgewerkt", "venster_open"} <= unmet

    listed = run("region", "list", "--json")["regions"]
    states = {r["slug"]: r["cases"] for r in listed}
    assert states["utrecht"] == {"regiovorming": "gesubsidieerd", "subsidie/2025": "in_uitvoering"}
    assert states["friesland"]["subsidie/2026"] == "concept_bij_re"  # a dry run writes nothing


def test_migrating_both_keeps_the_audit_log_and_the_past(run: Run) -> None:
    regiovorming = run("workflow", "migrate", "regiovorming", "--to", "2", "--json")
    assert regiovorming["dry_run"] is False and len(regiovorming["cases"]) == 12
    subsidie = run("workflow", "migrate", "subsidie", "--to", "3", "--json")
    assert subsidie["dry_run"] is False and subsidie["refused"] == []

    verified = run("audit", "verify", "--json")
    assert verified["ok"] is True and verified["regions"] == 12 and not verified["broken"]

    states = {r["slug"]: r["cases"] for r in run("region", "list", "--json")["regions"]}
    for slug in SUBSIDISED:
        assert states[slug] == {"regiovorming": "actief", "subsidie/2025": "in_uitvoering"}
    assert states["friesland"] == {"regiovorming": "verkenning", "subsidie/2026": "voorbereiding"}
    assert states["groningen"] == {"regiovorming": "verkenning", "subsidie/2026": "voorbereiding"}
    assert states["zeeland"] == {"regiovorming": "verkenning", "subsidie/2025": "deadline_verstreken"}
    assert states["zuid-limburg"] == {"regiovorming": "verkenning", "subsidie/2025": "afgewezen"}
    assert run("workflow", "migrate", "subsidie", "--to", "3", "--json")["cases"] == []  # done once

    then = run("history", "leiden-duin-bollenstreek", "--as-of", "2025-02-01", "--json")
    assert then["state"] == {"regiovorming": "gesubsidieerd", "subsidie": "verleend"}
    assert then["versions"] == {"regiovorming": 1, "subsidie": 1}
    now = run("history", "leiden-duin-bollenstreek", "--json")["events"]
    migrated = [e for e in now if e["kind"] == "migrated"]
    assert [(e["workflow"], e["from"], e["to"], e["from_version"], e["to_version"]) for e in migrated] == [
        ("regiovorming", "gesubsidieerd", "actief", 1, 2),
        ("subsidie", "in_uitvoering", "in_uitvoering", 1, 3),
    ]
    assert all(e["actor"] == "anne" and e["at"].startswith("2025-03-01T10:00") for e in migrated)


def test_a_rejection_keeps_its_objection_period_when_migrated(run: Run) -> None:
    """Version 1 recorded no decision date: the period counts from entering the state, as it did."""
    run("workflow", "migrate", "subsidie", "--to", "3", "--json")
    rows = run("deadlines", "--region", "zuid-limburg", "--json")["deadlines"]
    assert any(r["milestone"] == "bezwaartermijn" and r["status"] in ("upcoming", "overdue") for r in rows)
