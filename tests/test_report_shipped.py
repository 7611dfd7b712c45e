"""The national report on the shipped workflows: what is due now, names, themes, peilgesprekken."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onderwijsflow import i18n
from onderwijsflow.reporting.national import national_report
from onderwijsflow.reporting.render import render
from onderwijsflow.service import Onderwijsflow

pytestmark = pytest.mark.shipped_workflows

THEMES = ("werven", "matchen", "opleiden", "begeleiden", "professionaliseren")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Onderwijsflow]:
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\n", encoding="utf-8")
    app = Onderwijsflow.open(db=f"sqlite:///{tmp_path / 'r.db'}", config=config, actor="anne",
                             now="2024-07-01T10:00")
    app.init()
    try:
        yield app
    finally:
        app.close()


def _at(app: Onderwijsflow, moment: str) -> None:
    from onderwijsflow.clock import parse_moment

    app.clock.set(parse_moment(moment, end_of_day=False))


def _ready(app: Onderwijsflow, slug: str, name: str, *, themes: tuple[str, ...] = THEMES) -> None:
    """A region whose 2025 application meets the regulation (but for missing themes)."""
    app.create_region(slug, name=name, coordinator="anne@re.example")
    app.start_case(slug, "subsidie", round="2025")
    for partner, kind in (("Stichting PO", "schoolbestuur"), ("Pabo", "lerarenopleiding"),
                          ("AOb", "vakbond")):
        app.add_partner(slug, partner, kind=kind)
    for fact, value in (("aaneengesloten_gebied", "ja"), ("leerlingen_po", "16000"),
                        ("opgeleide_studenten_2023", "180"), ("vestigingen_uniek", "ja")):
        app.set_fact(slug, fact, value)
    app.set_fact(slug, "aangevraagd_bedrag", "500000", round="2025")
    for kind in ("plan_van_aanpak", "paragraaf_samen_opleiden", "subsidieaanvraag"):
        app.add_document(slug, kind, title=kind)
    app.assign_role(slug, "programmamanager", "Pm", email="pm@example.org")
    app.assign_role(slug, "penvoerder", "Stichting PO", email="pv@example.org")
    for theme in themes:
        app.add_record(slug, "actie", {"thema": theme, "omschrijving": f"actie {theme}"},
                       round="2025")


def _blocking(report: dict[str, Any]) -> dict[str, list[str]]:
    return {b["requirements"][0]: b["region_names"] for b in report["blocking"]}


def test_a_step_before_its_window_blocks_nothing(app: Onderwijsflow) -> None:
    _at(app, "2024-06-01T10:00")
    app.create_region("vroeg", name="Regio Vroeg (fictief)")
    app.start_case("vroeg", "subsidie", round="2025")
    report = national_report(app)
    assert report["blocking"] == []  # the application cannot be made before 17 June 09:00
    _at(app, "2024-07-01T10:00")
    report = national_report(app)
    assert _blocking(report)["penvoerder_aangewezen"] == ["Regio Vroeg (fictief)"]  # names, not slugs


def test_themes_without_an_action_are_listed_per_case(app: Onderwijsflow) -> None:
    _ready(app, "kust", "Regio Kust (fictief)", themes=("werven", "opleiden", "begeleiden"))
    _ready(app, "heide", "Regio Heide (fictief)")
    report = national_report(app)
    assert [(r["name"], r["round"], r["missing"]) for r in report["missing_values"]] == [
        ("Regio Kust (fictief)", "2025", ["matchen", "professionaliseren"])]
    assert _blocking(report) == {"elk_thema_een_actie": ["Regio Kust (fictief)"]}
    assert report["totals"]["missing_values"] == 1
    with i18n.using("nl"):
        text = render(report, "md")
    assert "Thema's zonder actie" in text and "matchen, professionaliseren" in text


def test_waiting_for_a_decision_or_for_the_end_of_the_activity_period_is_not_blocking(
    app: Onderwijsflow,
) -> None:
    _ready(app, "heide", "Regio Heide (fictief)")
    app.advance("heide", "dien_aanvraag_in")
    assert national_report(app)["blocking"] == []  # DUS-I decides, not the region
    _at(app, "2025-01-24T10:00")
    app.set_fact("heide", "toegekend_bedrag", "450000", round="2025")
    app.add_document("heide", "beschikking", title="Beschikking 2025", ref="DUSI-1")
    app.advance("heide", "verleen", decided_by="dus_i", decision_date="2025-01-20",
                decision_ref="DUSI-1")
    app.advance("heide", "start_uitvoering")
    assert national_report(app)["blocking"] == []  # the annual report is not due before 2026
    _at(app, "2026-01-05T10:00")
    assert _blocking(national_report(app)) == {"jaarverslag_aanwezig": ["Regio Heide (fictief)"]}


def test_a_peilgesprek_not_held_is_listed(app: Onderwijsflow) -> None:
    from onderwijsflow.scheduler.deadlines import deadlines
    from onderwijsflow.scheduler.tick import Scheduler

    for slug, name in (("heide", "Regio Heide (fictief)"), ("kust", "Regio Kust (fictief)")):
        _ready(app, slug, name)
        app.advance(slug, "dien_aanvraag_in")
    _at(app, "2025-01-24T10:00")
    for slug in ("heide", "kust"):
        app.set_fact(slug, "toegekend_bedrag", "450000", round="2025")
        app.add_document(slug, "beschikking", title="Beschikking 2025", ref=f"DUSI-{slug}")
        app.advance(slug, "verleen", decided_by="dus_i", decision_date="2025-01-20",
                    decision_ref=f"DUSI-{slug}")
    ticked = Scheduler(app).tick()  # the activity period began on 1 January: both start
    assert sorted(ticked.transitions) == ["heide: verleend -> in_uitvoering",
                                          "kust: verleend -> in_uitvoering"]
    assert (ticked.overdue, ticked.queued) == (0, 0)  # a moment that came: no "Verlopen" notice
    starts = [d for d in deadlines(app, region="heide") if d["milestone"] == "start_activiteiten"]
    assert [d["status"] for d in starts] == ["met"]
    _at(app, "2025-06-20T10:00")
    met = app.add_record("heide", "peilgesprek", {"datum": "2025-06-18", "deelnemers": ["Anne"]})
    assert [m["milestone"] for m in met["met"]] == ["peilgesprek"]
    _at(app, "2025-07-02T10:00")
    report = national_report(app)
    assert [(r["name"], r["milestone"], r["due"][:10]) for r in report["overdue_conversations"]] == [
        ("Regio Kust (fictief)", "peilgesprek", "2025-07-01")]
    with i18n.using("nl"):
        assert "Peilgesprekken die niet zijn gehouden" in render(report, "md")
