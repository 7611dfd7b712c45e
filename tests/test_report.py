"""The national report (design §4 ``report``, §7): its numbers, its five formats and its cost.

A small, realistic network is built through the library on the shipped workflows with a
simulated clock; the report's counts, blocking requirements, deadlines and gaps are compared
exactly. Each format is parsed back (Markdown tables, CSV with the csv module, JSON, HTML
with html.parser; the words people read are English here, as the tests run in English: the
Dutch and the spreadsheet formats are ``test_report_export_nl.py``); the HTML page is opened in
headless Chromium when it is installed. A network of 2,000 regions, inserted in bulk, shows the
report costs a constant number of SQL statements, however many regions there are.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from support import copy_sqlite

from onderwijsflow.cli import main
from onderwijsflow.clock import Clock, parse_moment
from onderwijsflow.config import load_config
from onderwijsflow.reporting.national import national_report, next_step_requirements
from onderwijsflow.reporting.render import FILE_FORMATS, FORMATS, render
from onderwijsflow.service import Onderwijsflow

T0 = parse_moment("2024-09-02T09:00")
REPORT_AT = "2024-11-25T09:00"
CHROMIUM = Path("/usr/bin/chromium")

BEROEPSGROEP = "De beroepsgroep is volwaardig partner (beroepsgroep of vakbond)"
LERARENOPLEIDING = "Er is ten minste één lerarenopleiding partner"
SAMENWERKING = "Intentieverklaring of samenwerkingsovereenkomst van de partners"
ARBEIDSMARKT = "Er is een regionale arbeidsmarktanalyse"
PENVOERDER = "Er is een penvoerder aangewezen die namens de partners aanvraagt"
CONCEPT_PLAN = "Er is een (concept)plan van aanpak"
GOVERNANCE = "De governance (communicatie, besluitvorming, evaluatie) is vastgelegd"
PLAN = "Het plan van aanpak is vastgelegd"
OPLEIDINGSAANTAL = "Ten minste 150 studenten en zij-instromers opgeleid in 2023/2024"
SCHOOLBESTUUR = "Er is ten minste één schoolbestuur partner"
UITVOERINGSKRACHT = "Er is een programmamanager of projectleider aangesteld"


# --- the network ------------------------------------------------------------------------------


def make_app(tmp_path: Path, db: Path | str, *, clock: Clock | None = None) -> Onderwijsflow:
    """The shipped workflows and configuration, with a simulated clock allowed.

    Args:
        db: a SQLite file, or a database URL.
    """
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\n", encoding="utf-8")
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    return Onderwijsflow(load_config(config), db_url=url, actor="anne", clock=clock or Clock(T0))


def build_network(app: Onderwijsflow) -> None:
    """Five regions, as of 2 September 2024.

    - amstel: definitive status, everything but a subsidy and a penvoerder; subsidie 2025.
    - bollen: provisional status, no profession group, no programme manager, no governance.
    - carre: exploring, no coordinator, only a school board.
    - delta: exploring with nothing recorded but a projectleider; subsidie 2025.
    - eems: no coordinator, withdrawn (closed).
    """
    app.init()
    region(app, "amstel", coordinator="anne@re.example",
           partners=[("Stichting Amstel PO", "schoolbestuur"), ("Pabo Amstel", "lerarenopleiding"),
                     ("AOb", "vakbond")],
           documents=["intentieverklaring", "arbeidsmarktanalyse", "plan_van_aanpak", "governance"],
           facts={"leerlingen_po": "20000", "opgeleide_studenten_2023": "200"})
    app.assign_role("amstel", "programmamanager", "Ans de Vries", email="ans@amstel.example")
    app.advance("amstel", "dien_aanvraag_in", workflow="regiovorming")
    app.advance("amstel", "verleen_definitieve_status", workflow="regiovorming")
    app.start_case("amstel", "subsidie", round="2025")

    region(app, "bollen", coordinator="joost@re.example",
           partners=[("Bollen Scholen", "schoolbestuur"), ("Hogeschool Bollen", "lerarenopleiding")],
           documents=["intentieverklaring", "arbeidsmarktanalyse", "plan_van_aanpak"],
           facts={"leerlingen_po": "16000"})
    app.advance("bollen", "dien_aanvraag_in", workflow="regiovorming")
    app.advance("bollen", "verleen_voorlopige_status", workflow="regiovorming")

    region(app, "carre", coordinator=None, partners=[("Carré Onderwijs", "schoolbestuur")])

    region(app, "delta", coordinator="fatima@re.example")
    app.assign_role("delta", "projectleider", "Dirk Delta")
    app.start_case("delta", "subsidie", round="2025")

    region(app, "eems", coordinator=None)
    app.advance("eems", "trek_in", workflow="regiovorming", reason="Gaat op in Noord")


def region(app: Onderwijsflow, slug: str, *, coordinator: str | None,
           partners: list[tuple[str, str]] = (), documents: list[str] = (),  # type: ignore[assignment]
           facts: dict[str, str] | None = None) -> None:
    """Create a region with its partners, documents and facts."""
    app.create_region(slug, name=slug.title(), sectors=["PO"], coordinator=coordinator)
    for name, kind in partners:
        app.add_partner(slug, name, kind=kind)
    for kind in documents:
        app.add_document(slug, kind, title=f"{kind} {slug}", on=date(2024, 6, 1))
    for name, value in (facts or {}).items():
        app.set_fact(slug, name, value)


def built_network(directory: Path, *more: Callable[[Onderwijsflow], None]) -> Path:
    """The five-region network in `directory`, then whatever `more` adds to it."""
    path = directory / "network.db"
    app = make_app(directory, path)
    try:
        build_network(app)
        for add in more:
            add(app)
    finally:
        app.close()
    return path


@pytest.fixture(scope="module")
def network_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five-region network, built once; tests that write work on a copy."""
    return built_network(tmp_path_factory.mktemp("network"))


@pytest.fixture
def app(tmp_path: Path, network_db: Path) -> Iterator[Onderwijsflow]:
    """The application on a fresh copy of the network, its clock at the report moment."""
    target = copy_sqlite(network_db, tmp_path / "network.db")
    application = make_app(tmp_path, target, clock=Clock(parse_moment(REPORT_AT)))
    yield application
    application.close()


@pytest.fixture(scope="module")
def report(network_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report on 25 November 2024, two weeks ahead (computed once; tests only read it)."""
    reader = make_app(tmp_path_factory.mktemp("reader"), network_db, clock=Clock(parse_moment(REPORT_AT)))
    try:
        return national_report(reader, weeks=2)
    finally:
        reader.close()


# --- the numbers --------------------------------------------------------------------------------


def counts(report: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, int]]:
    """(workflow, round) -> {state: count} for the states that have regions."""
    return {(g["workflow"], g["round"]): {s["state"]: s["count"] for s in g["states"] if s["count"]}
            for g in report["workflows"]}


def test_regions_per_state_per_workflow_with_the_dutch_labels(report: dict[str, Any]) -> None:
    assert counts(report) == {
        ("regiovorming", None): {"verkenning": 2, "voorlopige_status": 1, "definitieve_status": 1,
                                 "ingetrokken": 1},
        ("subsidie", "2025"): {"voorbereiding": 2},
    }
    regio = report["workflows"][0]
    assert regio["title"] == "Regiovorming onderwijsregio" and regio["cases"] == 5
    # Every state of the definition, in file order, zeros included, finals marked.
    assert [s["state"] for s in regio["states"]][:3] == ["verkenning", "aanvraag_ingediend",
                                                         "voorlopige_status"]
    assert len(regio["states"]) == 10
    labels = {s["state"]: (s["label"], s["final"]) for s in regio["states"]}
    assert labels["voorlopige_status"] == ("Voorlopige status", False)
    assert labels["ingetrokken"] == ("Ingetrokken door de regio", True)


def test_the_requirements_that_block_the_most_regions(report: dict[str, Any]) -> None:
    found = [(b["count"], b["label"], b["regions"]) for b in report["blocking"]]
    assert found == [
        (2, BEROEPSGROEP, ["bollen", "delta"]),
        (2, PENVOERDER, ["amstel", "delta"]),
        (2, ARBEIDSMARKT, ["carre", "delta"]),
        (2, LERARENOPLEIDING, ["carre", "delta"]),
        (2, SAMENWERKING, ["carre", "delta"]),
        (1, GOVERNANCE, ["bollen"]),
        (1, CONCEPT_PLAN, ["delta"]),
        (1, UITVOERINGSKRACHT, ["bollen"]),
        (1, SCHOOLBESTUUR, ["delta"]),
        (1, PLAN, ["delta"]),
        (1, OPLEIDINGSAANTAL, ["bollen"]),
    ]  # most regions first, then by label
    beroepsgroep = report["blocking"][0]
    assert beroepsgroep["requirements"] == ["beroepsgroep_betrokken"]
    assert beroepsgroep["workflows"] == ["regiovorming", "subsidie"]
    assert report["totals"]["blocked_regions"] == 4


def test_the_blocking_list_agrees_with_check_for_every_region(app: Onderwijsflow,
                                                             report: dict[str, Any]) -> None:
    """What the report counts is what `check` says, next steps due now only (not endings,
    not a step whose moment or other case has not come: amstel waits for its grant)."""
    lacking: dict[str, set[str]] = {}
    for slug in ("amstel", "bollen", "carre", "delta"):
        for workflow in app.show_region(slug)["cases"]:
            name = workflow.split("/")[0]
            checked = app.check(slug, workflow=name)
            machine = app.catalog.current(name)
            final = {s for s, d in machine.definition.states.items() if d.final}
            requirements = machine.definition.requirements
            for trigger in checked["triggers"]:
                gated = any(requirements[u["requirement"]].check in ("before", "after", "case")
                            for u in trigger["unmet"])
                if trigger["dest"] not in final and not gated:
                    for unmet in trigger["unmet"]:
                        lacking.setdefault(unmet["label"], set()).add(slug)
    assert {b["label"]: set(b["regions"]) for b in report["blocking"]} == lacking


def test_milestones_overdue_and_in_the_coming_weeks(report: dict[str, Any]) -> None:
    overdue = [(r["region"], r["workflow"], r["round"], r["milestone"], r["due"], r["status"])
               for r in report["overdue"]]
    assert overdue == [
        ("amstel", "subsidie", "2025", "deadline_aanvraag", "2024-10-15T16:00:00+02:00", "overdue"),
        ("delta", "subsidie", "2025", "deadline_aanvraag", "2024-10-15T16:00:00+02:00", "overdue"),
    ]
    assert report["overdue"][0]["label"] == "Deadline subsidieaanvraag"
    assert [(r["region"], r["milestone"], r["due"], r["status"]) for r in report["upcoming"]] == [
        ("bollen", "herbeoordeling_voorlopige_status", "2024-12-02T09:00:00+01:00", "upcoming"),
    ]  # three months after entering on 2 September 09:00, on the local calendar


def test_the_weeks_ahead_set_what_is_upcoming(app: Onderwijsflow) -> None:
    assert national_report(app, weeks=0)["upcoming"] == []
    assert len(national_report(app, weeks=1)["upcoming"]) == 1  # due exactly one week ahead
    assert national_report(app, now=parse_moment("2024-11-25T09:01"), weeks=1)["upcoming"] != []
    assert national_report(app, now=parse_moment("2024-11-25T08:59"), weeks=1)["upcoming"] == []


def test_regions_without_a_coordinator_or_a_lead_closed_regions_left_out(report: dict[str, Any]) -> None:
    assert report["without_coordinator"] == [{"region": "carre", "name": "Carre", "coordinator": None}]
    assert [r["region"] for r in report["without_lead"]] == ["bollen", "carre"]
    assert report["totals"] == {
        "regions": 5, "active_regions": 4, "closed_regions": 1, "cases": 7, "blocked_regions": 4,
        "overdue": 2, "upcoming": 1, "without_coordinator": 1, "without_lead": 2,
        "missing_values": 0, "overdue_conversations": 0,
    }
    assert report["generated_at"] == "2024-11-25T09:00:00+01:00"
    assert report["horizon"] == "2024-12-09T09:00:00+01:00"
    assert report["weeks"] == 2 and report["within"] == "P2W"


def test_the_report_is_the_same_on_postgresql(tmp_path: Path, pg_url: str, report: dict[str, Any]) -> None:
    app = make_app(tmp_path, pg_url)
    try:
        build_network(app)
        on_postgresql = national_report(app, now=parse_moment(REPORT_AT), weeks=2)
    finally:
        app.close()
    assert on_postgresql == report


def test_after_the_scheduler_acted_only_open_obligations_are_overdue(app: Onderwijsflow) -> None:
    """Deadlines the scheduler acted on (the case moved on) are history; a passed review of a
    region still provisional is still overdue."""
    from onderwijsflow.scheduler.tick import Scheduler

    app.clock.set(parse_moment("2024-12-10T09:00"))
    Scheduler(app).tick()
    after = national_report(app, weeks=2)
    assert counts(after)[("subsidie", "2025")] == {"deadline_verstreken": 2}
    assert [(r["region"], r["milestone"], r["status"]) for r in after["overdue"]] == [
        ("bollen", "herbeoordeling_voorlopige_status", "overdue"),
    ]
    beroepsgroep = next(b for b in after["blocking"] if b["label"] == BEROEPSGROEP)
    assert beroepsgroep["regions"] == ["bollen"]
    assert not any(b["label"] == PENVOERDER for b in after["blocking"])


def test_an_empty_network_gives_an_empty_report(tmp_path: Path) -> None:
    app = make_app(tmp_path, tmp_path / "empty.db")
    try:
        app.init()
        empty = national_report(app)
    finally:
        app.close()
    assert empty["workflows"] == [] and empty["blocking"] == [] and empty["overdue"] == []
    assert empty["totals"]["regions"] == 0
    for fmt in FORMATS:
        assert render(empty, fmt).endswith("\n")


def test_next_steps_leave_out_endings_and_steps_without_requirements(app: Onderwijsflow) -> None:
    regio = app.catalog.current("regiovorming").definition
    assert next_step_requirements(regio, "definitieve_status") == ("subsidie_verleend",)
    assert next_step_requirements(regio, "gesubsidieerd") == ()
    assert next_step_requirements(regio, "afgewezen") == ()


def test_a_negative_number_of_weeks_is_a_usage_error(app: Onderwijsflow) -> None:
    from onderwijsflow.errors import UsageError

    with pytest.raises(UsageError, match="weeks"):
        national_report(app, weeks=-1)


# --- the formats --------------------------------------------------------------------------------


def test_markdown_has_headings_and_pipe_tables(report: dict[str, Any]) -> None:
    text = render(report, "md")
    assert text.startswith("# National picture of the onderwijsregio's\n")
    assert "Generated on Monday 25 November 2024, 09:00." in text
    headings = re.findall(r"^#+ (.*)$", text, flags=re.M)
    assert "Regions per state" in headings
    assert "Regiovorming onderwijsregio (regiovorming): 5 regions" in headings
    assert "Subsidietraject onderwijsregio (subsidie, round 2025): 2 regions" in headings
    assert "Milestones in the coming 2 weeks" in headings
    assert f"| 2 | {BEROEPSGROEP} | regiovorming, subsidie | Bollen, Delta |" in text  # names
    assert f"- 2 regions lack: {BEROEPSGROEP}" in text
    assert "| Voorlopige status | voorlopige_status | 1 |" in text
    assert "| 2024-10-15 16:00 | Amstel | subsidie 2025 | Deadline subsidieaanvraag |" in text
    for table in re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M):
        rows = table.strip().splitlines()
        assert re.fullmatch(r"\|(?: ---:? \|)+", rows[1]), rows[1]
        assert len({row.count(" | ") for row in rows}) == 1, table


def test_markdown_escapes_what_would_break_a_table() -> None:
    text = render(tiny_report(name="A | B <script>"), "md")
    assert "A \\| B \\<script>" in text


def csv_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Every table of the CSV text on stdout (a title row, a header row, rows; an empty line
    between tables), by title."""
    tables: dict[str, list[dict[str, str]]] = {}
    for block in text.split("\r\n\r\n"):
        title, *rest = list(csv.reader(io.StringIO(block, newline="")))
        tables[title[0]] = [dict(zip(rest[0], row, strict=True)) for row in rest[1:]]
    return tables


def test_csv_on_stdout_is_every_table_in_turn(report: dict[str, Any]) -> None:
    tables = csv_tables(render(report, "csv"))  # English: the comma dialect
    assert list(tables) == ["Summary", "Regions per state", "Requirements holding back the most regions",
                            "Themes without an action",
                            "Progress conversations (peilgesprekken) not held", "Overdue milestones",
                            "Milestones in the coming 2 weeks", "Regions without a coordinator",
                            "Regions without a programme manager or project leader"]
    states = {(r["Workflow"], r["Round"], r["Code"]): int(r["Regions"])
              for r in tables["Regions per state"]}
    assert states[("regiovorming", "", "verkenning")] == 2
    assert states[("subsidie", "2025", "voorbereiding")] == 2
    assert sum(states.values()) == 7
    blocking = tables["Requirements holding back the most regions"][0]
    assert blocking == {"Requirement": BEROEPSGROEP, "Number of regions": "2",
                        "Share of active regions (%)": "50.0", "Workflows": "regiovorming, subsidie",
                        "Regions": "Bollen, Delta"}
    assert [(r["Region"], r["Milestone"], r["Due"]) for r in tables["Overdue milestones"]] == [
        ("amstel", "Deadline subsidieaanvraag", "2024-10-15 16:00"),
        ("delta", "Deadline subsidieaanvraag", "2024-10-15 16:00"),
    ]
    assert [r["Region"] for r in tables["Milestones in the coming 2 weeks"]] == ["bollen"]
    assert [r["Region"] for r in tables["Regions without a coordinator"]] == ["carre"]
    assert [r["Region"] for r in tables["Regions without a programme manager or project leader"]] == [
        "bollen", "carre"]
    summary = {r["Subject"]: r["Value"] for r in tables["Summary"]}
    assert summary["Generated on"] == "2024-11-25 09:00"
    assert summary["Regions"] == "5" and summary["Overdue milestones"] == "2"


def test_json_is_the_report(report: dict[str, Any]) -> None:
    text = render(report, "json")
    assert json.loads(text) == report
    assert "één" in text  # UTF-8, not \u escapes


class _Page(HTMLParser):
    """Collects tags, attributes, text and parse errors of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    VOID: ClassVar[set[str]] = {"meta", "br", "img", "link", "input", "hr"}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    assert page.open == [], f"unclosed tags: {page.open}"
    return page


def test_html_is_one_self_contained_page_with_a_chart(report: dict[str, Any]) -> None:
    text = render(report, "html")
    page = parse_page(text)
    tags = [t for t, _ in page.tags]
    assert text.startswith("<!DOCTYPE html>") and page.tags[0] == ("html", {"lang": "en"})
    assert tags.count("svg") == 2  # one chart per workflow (and round)
    bars = [a for t, a in page.tags if t == "rect" and "bar" in (a.get("class") or "")]
    assert len(bars) == 10 + 14
    by_state = {(a["data-state"], a["data-count"]) for a in bars}
    assert ("verkenning", "2") in by_state and ("voorbereiding", "2") in by_state
    assert "style" in tags and "script" not in tags and "link" not in tags and "img" not in tags
    assert not re.search(r"https?://", text), "no URL at all, so no external asset"
    assert all("://" not in (v or "") for _, attrs in page.tags for v in attrs.values())
    words = " ".join(page.text)
    assert BEROEPSGROEP in words and "Regions without a coordinator" in words
    assert f"2 regions lack: {BEROEPSGROEP}" in words


def test_html_escapes_every_value() -> None:
    evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    text = render(tiny_report(name=evil, label=evil), "html")
    page = parse_page(text)
    assert [t for t, _ in page.tags if t in ("script", "img")] == []
    assert evil in " ".join(page.text)


def test_the_table_format_is_text(report: dict[str, Any]) -> None:
    text = render(report, "table")
    assert "National picture of the onderwijsregio's" in text and "Voorlopige status" in text
    assert "\x1b[" not in text


def test_the_terminal_table_shows_the_first_rows_of_a_long_list() -> None:
    from onderwijsflow.reporting.render import TABLE_ROWS

    long = tiny_report()
    long["without_coordinator"] = [{"region": f"regio-{n:03d}", "name": f"Regio {n}", "coordinator": None}
                                   for n in range(TABLE_ROWS + 10)]
    text = render(long, "table")
    assert f"regio-{TABLE_ROWS - 1:03d}" in text and f"regio-{TABLE_ROWS:03d}" not in text
    assert "… and 10 more" in text
    assert f"regio-{TABLE_ROWS + 9:03d}" in render(long, "md")


def test_an_unknown_format_is_refused(report: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        render(report, "pdf")


def tiny_report(*, name: str = "Noord", label: str = "Verkenning") -> dict[str, Any]:
    """A hand-made report with one region, to feed hostile text to the renderers."""
    return {
        "generated_at": "2024-11-25T09:00:00+01:00", "weeks": 1, "horizon": "2024-12-02T09:00:00+01:00",
        "totals": {"regions": 1},
        "workflows": [{"workflow": "regiovorming", "round": None, "title": "Regiovorming", "cases": 1,
                       "states": [{"state": "verkenning", "label": label, "final": False, "count": 1}]}],
        "blocking": [{"label": label, "requirements": ["x"], "workflows": ["regiovorming"], "count": 1,
                      "regions": ["noord"]}],
        "overdue": [], "upcoming": [],
        "without_coordinator": [{"region": "noord", "name": name, "coordinator": None}],
        "without_lead": [],
    }


# --- the page in a real browser --------------------------------------------------------------


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with everything that would reach the network switched off."""
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_html_page_renders_in_headless_chromium(report: dict[str, Any], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    page = tmp_path / "report.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    shot = tmp_path / "r.png"
    done = chromium(f"--screenshot={shot}", "--window-size=1200,900", page.as_uri(),
                    profile=tmp_path / "profile")
    assert shot.exists(), done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000, "a blank page compresses to a few kilobytes"
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    bars = re.findall(r'<rect class="bar[^"]*"[^>]*data-state="([a-z_]+)" data-count="(\d+)"', dom.stdout)
    assert len(bars) == 24 and ("voorlopige_status", "1") in bars
    assert "National picture of the onderwijsregio's" in dom.stdout


# --- the command ----------------------------------------------------------------------------


def run_cli(tmp_path: Path, db: Path, *args: str) -> tuple[int, str, str]:
    """``onderwijsflow --db ... --now REPORT_AT ARGS`` through the real entry point."""
    config = tmp_path / "cli-config.yaml"
    config.write_text("simulated_clock: true\n", encoding="utf-8")
    env = {"ONDERWIJSFLOW_DB": f"sqlite:///{db}", "ONDERWIJSFLOW_CONFIG": str(config),
           "ONDERWIJSFLOW_NOW": REPORT_AT, "ONDERWIJSFLOW_WORKFLOWS": None, "ONDERWIJSFLOW_ACTOR": "anne"}
    runner = CliRunner()
    with runner.isolation(env=env) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_report_json_prints_one_json_document(tmp_path: Path, app: Onderwijsflow,
                                              report: dict[str, Any]) -> None:
    db = tmp_path / "network.db"
    code, out, err = run_cli(tmp_path, db, "report", "--json", "--within", "P2W")
    assert code == 0, err
    assert err == ""
    assert json.loads(out) == report
    code, out, _ = run_cli(tmp_path, db, "report", "--format", "json", "--within", "P2W")
    assert code == 0 and json.loads(out) == report


def test_report_formats_on_stdout_and_to_a_file(tmp_path: Path, app: Onderwijsflow) -> None:
    db = tmp_path / "network.db"
    code, out, _ = run_cli(tmp_path, db, "report")
    assert code == 0 and "National picture" in out and "Requirements holding back the most regions" in out
    code, out, _ = run_cli(tmp_path, db, "report", "--format", "md")
    assert code == 0 and out.startswith("# National picture")
    target = tmp_path / "report.csv"
    code, out, err = run_cli(tmp_path, db, "report", "--format", "csv", "--output", str(target))
    assert code == 0 and out == "" and "wrote the csv report to 9 files" in err
    raw = (tmp_path / "report-verlopen.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r["Region"] for r in rows] == ["amstel", "delta"]
    assert not target.exists()
    page = tmp_path / "report.html"
    code, out, _ = run_cli(tmp_path, db, "report", "--format", "html", "--output", str(page), "--json")
    assert code == 0 and json.loads(out)["totals"]["regions"] == 5
    assert "<svg" in page.read_text(encoding="utf-8")


def test_a_file_that_cannot_be_written_is_one_sentence(tmp_path: Path, app: Onderwijsflow) -> None:
    target = tmp_path / "no-such-directory" / "report.html"
    code, out, err = run_cli(tmp_path, tmp_path / "network.db", "report", "--format", "html",
                             "--output", str(target))
    assert code == 1 and out == ""
    assert err.startswith(f"error: cannot write the report to {target}: No such file or directory")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_command_offers_every_format() -> None:
    from onderwijsflow.cli.report import DIALECTS, SECTIONS
    from onderwijsflow.cli.report import FORMATS as OFFERED
    from onderwijsflow.reporting import export

    assert tuple(OFFERED) == (*FORMATS, *FILE_FORMATS)
    assert tuple(SECTIONS) == export.SECTIONS and tuple(DIALECTS) == export.DIALECTS


def test_json_and_another_format_on_stdout_is_a_usage_error(tmp_path: Path, app: Onderwijsflow) -> None:
    code, out, err = run_cli(tmp_path, tmp_path / "network.db", "report", "--json", "--format", "html")
    assert code == 2 and out == ""
    assert err.startswith("error: --json prints JSON on stdout") and "Traceback" not in err


# --- a constant number of queries --------------------------------------------------------------


REGIO_STATES = ("verkenning", "aanvraag_ingediend", "voorlopige_status", "in_oprichting",
                "definitieve_status", "gesubsidieerd", "ingetrokken")
ROUND_2025 = {"deadline_aanvraag": "2024-10-15", "beschikking": "2025-01-31",
              "jaarverslag_uiterlijk": "2026-06-30"}


def bulk_network(app: Onderwijsflow, first: int, count: int) -> None:
    """Insert `count` regions numbered from `first`, with partners, people, documents, facts,
    a regiovorming and a subsidie case and an open milestone each, in one transaction.

    Straight into the tables (no audit events): only the report's input matters here.
    """
    from sqlalchemy import insert

    from onderwijsflow.store.tables import (
        Case,
        Document,
        Fact,
        Milestone,
        Partner,
        Region,
        RoleAssignment,
    )

    at = datetime(2024, 9, 2, 7, 0, tzinfo=UTC)
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in (Region, Partner, RoleAssignment, Document,
                                                             Fact, Case, Milestone)}
    for n in range(first, first + count):
        rows[Region].append({"id": n, "slug": f"regio-{n:05d}", "name": f"Regio {n}", "provinces": [],
                             "sectors": ["PO"], "coordinator": None if n % 7 == 0 else "re@example.org",
                             "created_at": at, "event_seq": 0, "event_hash": ""})
        kinds = ["schoolbestuur", *(["lerarenopleiding"] if n % 3 else []),
                 *(["vakbond"] if n % 4 == 0 else [])]
        rows[Partner] += [{"region_id": n, "name": f"{kind} {n}", "kind": kind, "sector": None,
                           "added_at": at} for kind in kinds]
        if n % 5:
            rows[RoleAssignment].append({"region_id": n, "role": "programmamanager", "person": f"P{n}",
                                         "email": None, "assigned_at": at})
        docs = ["intentieverklaring"] + (["arbeidsmarktanalyse"] if n % 2 == 0 else []) + (
            ["plan_van_aanpak"] if n % 3 == 0 else [])
        rows[Document] += [{"region_id": n, "kind": kind, "title": kind, "ref": None,
                            "date": date(2024, 6, 1), "added_at": at} for kind in docs]
        rows[Fact].append({"region_id": n, "name": "leerlingen_po", "type": "int",
                           "value": 10000 + (n % 10) * 1000, "updated_at": at})
        rows[Case] += [
            {"id": 2 * n, "region_id": n, "workflow": "regiovorming", "workflow_version": 1, "round": "",
             "params": {}, "state": REGIO_STATES[n % len(REGIO_STATES)], "state_entered_at": at,
             "opened_at": at, "lock_version": 0},
            {"id": 2 * n + 1, "region_id": n, "workflow": "subsidie", "workflow_version": 1,
             "round": "2025", "params": ROUND_2025, "state": "voorbereiding", "state_entered_at": at,
             "opened_at": at, "lock_version": 0},
        ]
        rows[Milestone].append({"case_id": 2 * n + 1, "region_id": n, "workflow": "subsidie",
                                "name": "deadline_aanvraag", "occurrence": 1,
                                "due_at": datetime(2024, 10, 15, 14, 0, tzinfo=UTC) + timedelta(days=n % 30),
                                "status": "pending", "planned_at": at})
    with app.db.session() as session:
        for table, values in rows.items():
            if values:
                session.execute(insert(table), values)


def count_statements(app: Onderwijsflow) -> tuple[int, dict[str, Any]]:
    """How many SQL statements one report issues, and the report."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(app.db.engine, "before_cursor_execute", count)
    try:
        result = national_report(app, weeks=6)
    finally:
        event.remove(app.db.engine, "before_cursor_execute", count)
    return len(statements), result


def test_the_report_costs_a_constant_number_of_statements(tmp_path: Path, backend_url: str) -> None:
    app = make_app(tmp_path, backend_url, clock=Clock(parse_moment("2024-10-01T12:00")))
    try:
        app.init()
        national_report(app)  # the first read also checks the schema once
        bulk_network(app, 1, 200)
        small, _ = count_statements(app)
        bulk_network(app, 201, 1800)
        large, result = count_statements(app)
    finally:
        app.close()
    assert large == small, "no statement per region"
    # 10 before issue 13; the network adds one select for both membership tables and one
    # that asks whether reference data is loaded (the coverage section).
    assert large <= 12, "a few selects, one per table"
    numbers = range(1, 2001)
    totals = result["totals"]
    assert totals["regions"] == 2000 and totals["cases"] == 4000
    assert totals["without_coordinator"] == len([n for n in numbers if n % 7 == 0])
    assert totals["without_lead"] == len([n for n in numbers if n % 5 == 0])
    assert counts(result)[("regiovorming", None)] == {
        state: len([n for n in numbers if REGIO_STATES[n % 7] == state]) for state in REGIO_STATES}
    # Deadlines on 15 October plus 0-29 days; six weeks after 1 October end on 12 November.
    assert totals["upcoming"] == len([n for n in numbers if n % 30 < 28]) and totals["overdue"] == 0
    beroepsgroep = next(b for b in result["blocking"] if b["label"] == BEROEPSGROEP)
    assert beroepsgroep["count"] == len([n for n in numbers if n % 4])
