"""The demonstration: its story's outcomes, read back from the database it leaves behind.

The demo plays the shipped workflows (voorlopers 2023, subsidie v2, regiovorming v2,
aanvulling), so these tests see them too rather than the frozen 2024 set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onderwijsflow import i18n
from onderwijsflow.clock import parse_moment
from onderwijsflow.demo import NOTICE, REGIONS, run_demo
from onderwijsflow.i18n import _
from onderwijsflow.scheduler.deadlines import deadlines
from onderwijsflow.service import Onderwijsflow
from onderwijsflow.service.base import validate_slug

pytestmark = pytest.mark.shipped_workflows

COORDINATORS = {"anne", "joost", "fatima"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """The demo played once (quietly) for all the tests here, over a stale file and WAL."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    path.write_bytes(b"not a database")
    Path(f"{path}-wal").write_bytes(b"stale write-ahead log")
    return run_demo(path, quiet=True), path


@pytest.fixture
def app(demo: tuple[dict[str, Any], Path]) -> Iterator[Onderwijsflow]:
    """The application on the demo's database, for reading."""
    app = Onderwijsflow.open(db=f"sqlite:///{demo[1]}")
    try:
        yield app
    finally:
        app.close()


def _slug(stage: str) -> str:
    return next(r.slug for r in REGIONS if r.stage == stage)


def _events(app: Onderwijsflow, slug: str, workflow: str | None = None) -> list[dict[str, Any]]:
    return app.history(slug, workflow=workflow, all_events=True)["events"]


def _missing(event: dict[str, Any]) -> list[str]:
    return [r["requirement"] for r in event["data"]["evidence"] if not r["passed"]]


def test_summary_counts_regions_events_and_states(demo: tuple[dict[str, Any], Path]) -> None:
    summary, path = demo
    assert summary["regions"] == len(REGIONS) >= 10
    assert summary["events"] > 300
    assert summary["audit_ok"] is True
    assert summary["database"] == str(path)
    states = summary["states"]
    assert set(states) == {"voorlopers", "regiovorming", "subsidie", "aanvulling"}
    assert sum(states["regiovorming"].values()) == len(REGIONS)
    assert states["regiovorming"]["actief"] >= 5
    assert states["voorlopers"]["definitieve_status"] >= 5
    assert states["voorlopers"]["in_oprichting"] == 1
    assert set(states["subsidie"]) == {"in_uitvoering", "afwijzing_onherroepelijk", "deadline_verstreken"}
    assert states["subsidie"]["in_uitvoering"] == states["regiovorming"]["actief"]
    assert states["aanvulling"] == {"ingediend": 1, "ingetrokken": 1}


def test_regions_are_invented_and_say_so() -> None:
    for r in REGIONS:
        assert r.name.endswith("(fictief)"), r.name
        assert validate_slug(r.slug) == r.slug
    assert len({r.slug for r in REGIONS}) == len(REGIONS)
    assert NOTICE.startswith("Invented data")  # one language at a time: English source, Dutch catalog
    with i18n.using("nl"):
        assert _(NOTICE).startswith("Fictieve gegevens") and "alle regio's" in _(NOTICE)


def test_featured_region_is_refused_then_fixed_then_decided_by_the_bestuurlijk_overleg(
    demo: tuple[dict[str, Any], Path], app: Onderwijsflow
) -> None:
    events = _events(app, demo[0]["featured"])
    refused = next(e for e in events if e["kind"] == "refused")
    assert (refused["workflow"], refused["trigger"]) == ("voorlopers", "ken_definitieve_status_toe")
    assert _missing(refused) == ["beroepsgroep_betrokken"]
    assert refused["at"].startswith("2023-05")
    provisional = next(e for e in events if e["kind"] == "transition" and e["to"] == "voorlopige_status")
    assert provisional["decision"]["by"] == "ocw_landelijke_partners"
    assert provisional["decision"]["date"].startswith("2023-05") and provisional["decision"]["ref"]
    after = events[events.index(refused) + 1:]
    fix = next(e for e in after if e["kind"] == "partner_added")
    assert fix["data"]["new"]["kind"] == "vakbond"
    moved = next(e for e in after if e["kind"] == "transition" and e["trigger"] == refused["trigger"])
    assert moved["seq"] > fix["seq"] and moved["to"] == "definitieve_status"
    assert all(r["passed"] for r in moved["data"]["evidence"])
    assert moved["decision"]["by"] == "bestuurlijk_overleg"
    assert moved["decision"]["date"] == "2023-07-06" and moved["decision"]["ref"]
    assert moved["actor"] in COORDINATORS  # the coordinator recorded it; the body decided it


def test_application_before_the_window_opens_is_refused(app: Onderwijsflow) -> None:
    from onderwijsflow.demo import EARLY_SLUG

    events = _events(app, EARLY_SLUG, "subsidie")
    refused = next(e for e in events if e["kind"] == "refused")
    assert refused["trigger"] == "dien_aanvraag_in" and refused["at"].startswith("2024-06-17T08:30")
    assert _missing(refused) == ["venster_open"]
    applied = next(e for e in events if e["kind"] == "transition" and e["trigger"] == "dien_aanvraag_in")
    assert applied["at"].startswith("2024-06-17T09:05")
    # the RE's advice is advice: this region applied without one
    assert not app.list_records(EARLY_SLUG, kind="advies_re")["records"]


def test_plan_by_theme_and_the_advice_of_the_re(app: Onderwijsflow) -> None:
    from onderwijsflow.demo import EARLY_SLUG, THEME_SLUG, THEMES

    actions = app.list_records(THEME_SLUG, kind="actie")["records"]
    themes = [a["fields"]["thema"] for a in actions]
    assert sorted(themes) == sorted(THEMES) and themes[-1] == "professionaliseren"  # added after advice
    assert all(a["round"] == "2025" for a in actions)
    advice = app.list_records(THEME_SLUG, kind="advies_re")["records"]
    assert len(advice) == 1 and "professionaliseren" in advice[0]["fields"]["advies"]
    assert actions[-1]["event_seq"] > advice[0]["event_seq"]
    advised = {r.slug for r in REGIONS if app.list_records(r.slug, kind="advies_re")["records"]}
    applied = {r.slug for r in REGIONS if r.stage in ("granted", "featured", "rejected")}
    assert EARLY_SLUG in applied - advised and len(applied - advised) == 1


def test_late_application_is_refused_and_the_scheduler_closes_it(app: Onderwijsflow) -> None:
    events = _events(app, _slug("late"), "subsidie")
    refused = next(e for e in events if e["kind"] == "refused")
    assert refused["trigger"] == "dien_aanvraag_in" and refused["at"].startswith("2024-10-15T16:30")
    assert _missing(refused) == ["voor_deadline"]
    closed = next(e for e in events if e["kind"] == "transition" and e["seq"] > refused["seq"])
    assert (closed["actor"], closed["to"]) == ("scheduler", "deadline_verstreken")


def test_dus_i_decides_and_the_objection_period_counts_from_the_decision(app: Onderwijsflow) -> None:
    granted = [r.slug for r in REGIONS if r.stage in ("granted", "featured")]
    for slug in granted:
        events = _events(app, slug, "subsidie")
        grant = next(e for e in events if e["trigger"] == "verleen" and e["kind"] == "transition")
        assert grant["decision"]["by"] == "dus_i" and grant["decision"]["document"] == "beschikking"
        assert grant["decision"]["date"] == "2025-01-23" and grant["decision"]["ref"]
        assert app.show_region(slug)["cases"]["subsidie/2025"]["facts"]["toegekend_bedrag"]
        started = next(e for e in events if e["trigger"] == "start_uitvoering")
        assert started["actor"] == "scheduler" and started["at"].startswith("2025-01")
        joined = next(e for e in _events(app, slug, "regiovorming") if e["trigger"] == "sluit_aan")
        assert joined["to"] == "actief"
    rejected = _slug("rejected")
    events = _events(app, rejected, "subsidie")
    rejection = next(e for e in events if e["trigger"] == "wijs_af")
    assert rejection["decision"]["date"] == "2025-01-20" and rejection["at"].startswith("2025-01-24")
    period = next(d for d in deadlines(app, region=rejected) if d["milestone"] == "bezwaartermijn")
    assert period["due"].startswith("2025-03-03T23:59")  # six weeks from 20 January, not 24 January
    final = next(e for e in events if e["to"] == "afwijzing_onherroepelijk")
    assert final["actor"] == "scheduler" and final["at"].startswith("2025-03-07")


def test_top_up_round_only_for_a_2025_grant(app: Onderwijsflow) -> None:
    from onderwijsflow.demo import TOPUP_SLUG

    cases = app.show_region(TOPUP_SLUG)["cases"]
    assert cases["aanvulling/2025-aanvulling"]["state"] == "ingediend"
    events = _events(app, _slug("rejected"), "aanvulling")
    refused = next(e for e in events if e["kind"] == "refused")
    assert refused["trigger"] == "dien_aanvraag_in" and _missing(refused) == ["subsidie_2025_verleend"]


def test_peilgesprek_meets_the_milestone_and_a_region_without_one_is_told(app: Onderwijsflow) -> None:
    from onderwijsflow.demo import THEME_SLUG

    for r in REGIONS:
        if r.stage not in ("granted", "featured"):
            continue
        talks = app.list_records(r.slug, kind="peilgesprek")["records"]
        notices = [e for e in _events(app, r.slug) if e["kind"] == "reminder_sent"
                   and e["data"]["milestone"] == "peilgesprek" and e["data"]["kind"] == "rollover"]
        if r.slug == THEME_SLUG:
            assert not talks
            assert len(notices) == 1 and notices[0]["at"].startswith("2025-07-02")
            assert notices[0]["data"]["subject"].startswith("Overdue: Halfjaarlijks peilgesprek")
        else:
            assert len(talks) == 1 and not notices
            fields = talks[0]["fields"]
            assert fields["datum"] == "2025-06-19" and fields["deelnemers"] and fields["vervolgacties"]
            met = next(e for e in _events(app, r.slug) if e["kind"] == "record_added"
                       and e["data"]["kind"] == "peilgesprek")["data"]["met"]
            assert [m["milestone"] for m in met] == ["peilgesprek"]
            assert met[0]["due"].startswith("2025-07-01")


def test_simulated_clock_runs_from_spring_2023_forward(
    demo: tuple[dict[str, Any], Path], app: Onderwijsflow
) -> None:
    featured = demo[0]["featured"]
    moments = [parse_moment(e["at"]) for e in _events(app, featured)]
    assert _events(app, featured)[0]["at"].startswith("2023-03-15")
    assert moments == sorted(moments)
    then = app.history(featured, as_of=parse_moment("2023-06-01"))
    assert then["state"] == {"regiovorming": "verkenning", "voorlopers": "voorlopige_status"}
    later = app.history(featured, as_of=parse_moment("2024-12-31"))
    assert later["state"]["subsidie"] == "ingediend" and later["state"]["voorlopers"] == "definitieve_status"


def test_audit_log_of_the_demo_verifies(app: Onderwijsflow) -> None:
    report = app.verify_audit()
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
    assert done.stdout.count("Fictieve gegevens") == 2  # at the start and the end, in Dutch
    assert "Invented data" not in done.stdout
    assert "geweigerd" in done.stdout and "beroepsgroep_betrokken" in done.stdout
    assert "venster_open" in done.stdout and "voor_deadline" in done.stdout
    assert "subsidie_2025_verleend" in done.stdout
    assert "audit verify" in done.stdout and "Traceback" not in done.stderr
    assert "no e-mail address" not in done.stderr  # every role that is notified has one
    assert (tmp_path / "onderwijsflow-demo.db").exists()


def test_the_demo_places_the_regions_in_the_national_network(app: Onderwijsflow) -> None:
    """The invented reference data and each region's municipalities and schools: two white
    spots, one school in two regions, one region in two parts, and the application's
    geography requirements read the network instead of the declared facts."""
    found = app.coverage(year=2025)
    assert [m["code"] for m in found["white_spots"]["municipalities"]] == ["GM9014", "GM9015"]
    assert len(found["overlaps"]) == 1
    assert [r["slug"] for r in found["regions"] if r["contiguous"] is False] == [REGIONS[6].slug]
    kinds = [e["kind"] for e in app.history(REGIONS[0].slug, all_events=True)["events"]]
    assert kinds.count("municipality_added") == 2 and kinds.count("location_added") >= 2
    assert app.verify_audit()["ok"]
