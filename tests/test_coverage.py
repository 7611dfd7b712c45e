"""The national network (issue 13): membership audited in the region's chain, the checks
`coverage_unique`, `contiguous` and `size` with their sentences (and the fall-back to declared
facts), the coverage report's shares worked out by hand, and the SVG map in a real browser."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from onderwijsflow.definition.model import FactDef
from onderwijsflow.engine.checks import CheckRegistry, CompileScope
from onderwijsflow.engine.context import LocationInfo, NetworkInfo, RegionContext
from onderwijsflow.resources import shipped
from tests.support import Flow
from tests.test_reference_import import CBS, PO_OLD, VO_NEW, write

pytestmark = pytest.mark.shipped_workflows

NOW = "2024-09-02T10:00:00"

FACTS = {"aaneengesloten_gebied": FactDef(type="bool", label="Aaneengesloten gebied"),
         "landelijke_regio": FactDef(type="bool", label="Landelijke regio"),
         "vestigingen_uniek": FactDef(type="bool", label="Vestigingen uniek"),
         "leerlingen_po": FactDef(type="int", label="Leerlingen po"),
         "leerlingen_vo": FactDef(type="int", label="Leerlingen vo")}
REGISTRY = CheckRegistry(plugins=False)
SIZE = {"check": "size", "with": {"min": {"PO": 500, "VO": 2000},
                                  "facts": {"PO": "leerlingen_po", "VO": "leerlingen_vo"}}}
CONTIGUOUS = {"check": "contiguous", "with": {"fact": "aaneengesloten_gebied", "exempt": "landelijke_regio"}}
UNIQUE = {"check": "coverage_unique", "with": {"fact": "vestigingen_uniek"}}


def evaluate(spec: dict[str, Any], network: NetworkInfo | None = None, **facts: Any) -> tuple[bool, str]:
    compiled = REGISTRY.compile(spec, CompileScope(facts=FACTS, milestones=frozenset(), requirements={}))
    result = compiled(RegionContext(slug="noord", now=datetime(2025, 1, 1, tzinfo=UTC), facts=facts,
                                    network=network))
    return result.passed, result.detail


EMMEN = LocationInfo("16AH00", "OBS 't Eenspan", "PO", "GM0114", 212)
GRONINGEN = LocationInfo("17BB00", "CBS De Wereldwijzer", "PO", "GM0014", 340)
HONDSRUG = LocationInfo("20AB00", "Hondsrug College", "VO", "GM0114", 1532)
AREA = {"GM0014": "Groningen", "GM0114": "Emmen", "GM1680": "Aa en Hunze"}


def test_size_counts_pupils_per_sector_from_the_locations() -> None:
    network = NetworkInfo(year=2025, locations=(EMMEN, GRONINGEN, HONDSRUG))
    assert evaluate(SIZE, network) == (True, "pupils and students of the region's school locations: "
                                             "PO 552 (500 needed), VO 1,532 (2,000 needed)")
    assert evaluate(SIZE, NetworkInfo(year=2025, locations=(EMMEN, HONDSRUG))) == (
        False, "pupils and students of the region's school locations: PO 212 (500 needed), "
               "VO 1,532 (2,000 needed)")


def test_size_falls_back_to_the_declared_facts() -> None:
    assert evaluate(SIZE, None, leerlingen_po=29000) == (
        True, "no school locations are recorded for this region; from the declared facts: "
              "PO 29,000 (500 needed), VO not set (2,000 needed)")
    assert evaluate(SIZE, None, leerlingen_po=100)[0] is False


def test_contiguous_names_the_separate_parts() -> None:
    apart = NetworkInfo(year=2025, municipalities=AREA, borders=frozenset({("GM0114", "GM1680")}),
                        has_adjacency=True)
    assert evaluate(CONTIGUOUS, apart) == (
        False, "the municipalities form 2 separate parts: (Emmen, Aa en Hunze) and (Groningen)")
    joined = NetworkInfo(year=2025, municipalities=AREA, has_adjacency=True,
                         borders=frozenset({("GM0114", "GM1680"), ("GM0014", "GM0114")}))
    assert evaluate(CONTIGUOUS, joined) == (True, "the 3 municipalities form one contiguous area")
    assert evaluate(CONTIGUOUS, apart, landelijke_regio=True) == (
        True, "a national region, exempt from the contiguous area (landelijke regio: yes)")


def test_contiguous_falls_back_to_the_fact_and_says_why() -> None:
    assert evaluate(CONTIGUOUS, None, aaneengesloten_gebied=True) == (
        True, "no municipalities are recorded for this region; from the declared facts: "
              "aaneengesloten gebied: yes")
    no_adjacency = NetworkInfo(year=2025, municipalities=AREA)
    assert evaluate(CONTIGUOUS, no_adjacency) == (
        False, "no adjacency of municipalities is loaded; from the declared facts: aaneengesloten gebied: "
               "not set")


def test_coverage_unique_names_the_location_and_the_other_region() -> None:
    alone = NetworkInfo(year=2025, locations=(EMMEN, HONDSRUG))
    assert evaluate(UNIQUE, alone) == (True, "each of the 2 school locations takes part in this region only")
    shared = NetworkInfo(year=2025, locations=(EMMEN, HONDSRUG), elsewhere={"20AB00": ("Regio West",)})
    assert evaluate(UNIQUE, shared) == (False, "Hondsrug College (20AB00) is also in Regio West")
    assert evaluate(UNIQUE, None, vestigingen_uniek=True) == (
        True, "no school locations are recorded for this region; from the declared facts: "
              "vestigingen uniek: yes")


def test_a_fallback_fact_must_be_declared() -> None:
    from onderwijsflow.engine.checks import CheckSpecError

    with pytest.raises(CheckSpecError, match="fact 'bestaat_niet' is not declared"):
        REGISTRY.compile({"check": "coverage_unique", "with": {"fact": "bestaat_niet"}},
                         CompileScope(facts=FACTS, milestones=frozenset(), requirements={}))


# --- through the store and the CLI -----------------------------------------------------------------


@pytest.fixture
def flow(tmp_path: Path, backend_url: str) -> Flow:
    """Reference data and two regions, on SQLite and on PostgreSQL."""
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\nnotify: {channels: [{type: log}]}\n", encoding="utf-8")
    flow = Flow(backend_url, config, shipped("workflows"), NOW)
    flow.ok("init")
    flow.ok("import", "municipalities", str(write(tmp_path / "g.csv", CBS, "cp1252")), "--year", "2025")
    flow.ok("import", "locations", str(write(tmp_path / "po.csv", PO_OLD, "cp1252")), "--year", "2025",
            "--sector", "PO")
    flow.ok("import", "locations", str(write(tmp_path / "vo.csv", VO_NEW, "cp1252")), "--year", "2025",
            "--sector", "VO")
    flow.ok("import", "adjacency", str(write(tmp_path / "b.csv", "gemeente_a,gemeente_b\nGM0114,GM1680\n")),
            "--year", "2025")
    flow.ok("region", "create", "noord", "--name", "Regio Noord")
    flow.ok("region", "create", "west", "--name", "Regio West")
    for code in ("GM0014", "GM0114", "GM1680"):
        flow.ok("region", "add-municipality", "noord", code)
    for code in ("16AH00", "17BB00", "20AB00"):
        flow.ok("region", "add-location", "noord", code)
    for code in ("21CD00", "20ab00"):
        flow.ok("region", "add-location", "west", code)
    return flow


def test_membership_is_audited_in_the_regions_chain(flow: Flow) -> None:
    events = [(e["kind"]) for e in flow.events("noord")]
    assert events.count("municipality_added") == 3 and events.count("location_added") == 3
    flow.ok("region", "remove-location", "noord", "17BB00")
    removed = flow("region", "remove-location", "noord", "17BB00")
    assert removed.code == 4 and removed.sentence() == "error: 17BB00 is not part of noord"
    again = flow("region", "add-municipality", "noord", "14")
    assert again.code == 3 and again.sentence() == "error: GM0014 (Groningen) is already part of noord"
    unknown = flow("region", "add-location", "noord", "99ZZ00")
    assert unknown.code == 4
    assert flow.events("noord")[-1]["kind"] == "location_removed"
    assert flow.ok("audit", "verify", "noord").code == 0
    network = flow.json("region", "network", "west")
    assert [(loc["code"], loc["also_in"]) for loc in network["locations"]] == [
        ("20AB00", ["Regio Noord"]), ("21CD00", [])]


def test_coverage_shares_by_hand(flow: Flow) -> None:
    data = flow.json("coverage")
    # PO: 16AH00 (212), 16AH01 (<5: no count), 17BB00 (340); 2 of 3 in a region, 552 of 552 pupils.
    # VO: 20AB00 (1532, in both regions), 21CD00 (640): 2 of 2.
    assert data["sectors"] == [
        {"sector": "PO", "locations": 3, "covered": 2, "share": 66.7, "pupils": 552, "covered_pupils": 552,
         "pupil_share": 100.0},
        {"sector": "VO", "locations": 2, "covered": 2, "share": 100.0, "pupils": 2172, "covered_pupils": 2172,
         "pupil_share": 100.0},
        {"sector": "MBO", "locations": 0, "covered": 0, "share": None, "pupils": 0, "covered_pupils": 0,
         "pupil_share": None},
    ]
    assert [(p["province"], p["sector"], p["share"]) for p in data["provinces"]] == [
        ("Drenthe", "PO", 50.0), ("Drenthe", "VO", 100.0), ("Groningen", "PO", 100.0),
        ("Noord-Holland", "VO", 100.0)]
    assert [m["code"] for m in data["white_spots"]["municipalities"]] == ["GM0363"]
    assert [loc["code"] for loc in data["white_spots"]["locations"]] == ["16AH01"]
    assert data["overlaps"] == [{"code": "20AB00", "name": "Hondsrug College Café", "municipality": "GM0114",
                                 "regions": ["noord", "west"], "region_names": ["Regio Noord", "Regio West"]}]
    regions = {r["slug"]: r for r in data["regions"]}
    assert regions["noord"]["contiguous"] is False
    assert regions["noord"]["parts"] == [["Emmen", "Aa en Hunze"], ["Groningen"]]
    assert regions["noord"]["pupils"] == {"PO": 552, "VO": 1532}
    assert regions["west"]["contiguous"] is None
    assert flow.json("coverage", "--sector", "VO")["sectors"][0]["sector"] == "VO"
    for fmt in ("md", "csv", "table"):
        assert "GM0363" in flow.ok("coverage", "--format", fmt).out


def test_the_subsidie_application_checks_the_network(flow: Flow) -> None:
    flow.ok("start", "noord", "subsidie", "--round", "2025")
    checked = flow.json("check", "noord", "--workflow", "subsidie")
    unmet = {u["requirement"]: u["detail"] for t in checked["triggers"] if t["trigger"] == "dien_aanvraag_in"
             for u in t["unmet"]}
    assert unmet["aaneengesloten_gebied"] == ("the municipalities form 2 separate parts: "
                                              "(Emmen, Aa en Hunze) and (Groningen)")
    assert unmet["vestigingen_uniek"] == "Hondsrug College Café (20AB00) is also in Regio West"
    assert unmet["minimale_omvang"] == ("pupils and students of the region's school locations: PO 552 "
                                        "(15,000 needed), VO 1,532 (15,000 needed), MBO 0 (9,000 needed)")


def test_a_bad_membership_code_is_a_usage_error(flow: Flow) -> None:
    run = flow("region", "add-municipality", "noord", "Amsterdam")
    assert run.code == 2
    assert run.sentence() == "error: 'Amsterdam' is not a municipality code (GM0363 or 0363)"


# --- the map ------------------------------------------------------------------------------------------


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_the_map_renders_in_a_headless_browser(flow: Flow, tmp_path: Path) -> None:
    pytest.importorskip("shapely", reason="shapely is the optional [geo] extra: the map needs boundaries")
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (/usr/bin/chromium): the map is not rendered in a browser")
    from tests.test_reference_import import grid

    flow.ok("import", "boundaries", str(grid(tmp_path)), "--year", "2025")
    page = tmp_path / "dekking.html"
    flow.ok("coverage", "--format", "html", "--out", str(page))
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html and 'class="legend"' in html and "Legend" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    assert 'data-code="GM0363" data-regions=""' in html  # a white spot
    shot = tmp_path / "map.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1100,900", page.as_uri()], check=True, capture_output=True, timeout=120,
                   env={**os.environ, "HOME": str(tmp_path)})
    assert shot.stat().st_size > 5000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_import_regions_takes_municipalities_and_locations(flow: Flow, tmp_path: Path) -> None:
    """The regions file may carry the network: each new member is added and audited as
    `region add-municipality` / `add-location` would; a re-import adds nothing again; a code
    the reference data does not know is a problem with its line, and nothing is imported."""
    path = tmp_path / "regions.csv"
    path.write_text("slug,name,municipalities,locations\n"
                    "oost,Regio Oost,0114|GM1680,16AH00\n"
                    "noord,Regio Noord,GM0014|GM0363,21CD00\n", encoding="utf-8")
    result = flow.json("import", "regions", str(path), "--json")
    assert result["created"] == ["oost"] and result["updated"] == ["noord"]
    oost = flow.json("region", "network", "oost")
    assert [m["code"] for m in oost["municipalities"]] == ["GM0114", "GM1680"]
    assert [loc["code"] for loc in oost["locations"]] == ["16AH00"]
    added = [(e["kind"], e["data"]["new"]["code"]) for e in flow.events("noord")[-2:]]
    assert added == [("municipality_added", "GM0363"), ("location_added", "21CD00")]
    assert flow.json("import", "regions", str(path), "--json")["unchanged"] == ["oost", "noord"]
    assert flow.ok("audit", "verify").code == 0

    before = len(flow.events("oost"))
    path.write_text("slug,name,municipalities,locations\n"
                    "oost,Regio Oost,GM9999,16AH00\n"
                    "zuid,Regio Zuid,,99ZZ00|bad\n", encoding="utf-8")
    bad = flow("import", "regions", str(path))
    assert bad.code == 2
    assert bad.sentence() == ("error: regions.csv:3: 'bad' is not a vestigingscode (BRIN and two digits, "
                              "e.g. 16AH00) (nothing was imported)")
    path.write_text("slug,name,municipalities,locations\noost,Regio Oost,GM9999,16AH00\n"
                    "zuid,Regio Zuid,,99ZZ00\n", encoding="utf-8")
    unknown = flow("import", "regions", str(path))
    assert unknown.code == 2 and unknown.err.splitlines() == [
        "error: regions.csv:2: no municipality GM9999 in the reference data; import the CBS "
        "municipalities first (and 1 more problem; nothing was imported)",
        "error: regions.csv:3: no school location 99ZZ00 in the reference data; import the DUO "
        "locations first"]
    assert len(flow.events("oost")) == before
    assert "zuid" not in [r["slug"] for r in flow.json("region", "list")["regions"]]


def test_counts_are_shown_with_the_languages_separators() -> None:
    """Tables, Markdown and HTML show 13.923 (nl) / 13,923 (en); CSV keeps the number."""
    from onderwijsflow import i18n
    from onderwijsflow.reporting.coverage import shown

    with i18n.using("nl"):
        assert shown(13923) == "13.923"
    with i18n.using("en"):
        assert shown(13923) == "13,923"
    assert shown(True) is True and shown("GM0363") == "GM0363" and shown(None) is None


def test_the_keyed_snapshots_are_the_read_snapshots(flow: Flow) -> None:
    """The national report reads every region's snapshot at once, its shareable parts by key
    (`read_keyed`); advance and the tick read them in batches (`read_snapshots`). Read whole,
    both builders give every region the same context, its network included."""
    from sqlmodel import select

    from onderwijsflow.service import Onderwijsflow
    from onderwijsflow.service.snapshot import driver_run, read_snapshots
    from onderwijsflow.snapshot.keyed import read_keyed
    from onderwijsflow.store.tables import Case, Region

    app = Onderwijsflow.open(db=flow.url)
    try:
        with app.reading() as session:
            regions = sorted(session.exec(select(Region)).all(), key=lambda r: r.id or 0)
            cases = list(session.exec(select(Case)).all())
            ids = [r.id for r in regions if r.id is not None]
            now = app.now()
            batch = read_snapshots(session, ids, now)
            slugs = {r.id: r.slug for r in regions}
            keyed = read_keyed(driver_run(session), driver_run(session, batch=2), now, cases,
                               narrow=False)
        for rid in ids:
            one, other = batch.context(rid, slugs[rid]), keyed.snapshots.context(rid, slugs[rid])
            for part in ("partners", "roles", "documents", "facts", "records", "cases", "rounds",
                         "network"):
                assert getattr(one, part) == getattr(other, part), (slugs[rid], part)
        assert any(keyed.snapshots.context(rid, "").network.locations for rid in ids)
    finally:
        app.close()


def test_without_reference_data_coverage_says_what_to_load(tmp_path: Path, backend_url: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\n", encoding="utf-8")
    empty = Flow(backend_url, config, shipped("workflows"), NOW)
    empty.ok("init")
    said = empty.ok("coverage").out
    assert said.startswith("no reference data loaded yet: import the CBS municipalities")
    assert "None" not in said
    assert empty.json("coverage", "--json")["year"] is None
    listed = empty.ok("reference", "list", "locations").out.strip()
    assert listed == "no school locations loaded"
    dutch = Flow(backend_url, config, shipped("workflows"), NOW, lang="nl")
    assert dutch.ok("reference", "list", "municipalities").out.strip() == "geen gemeenten geladen"


def test_the_network_of_no_regions_is_empty() -> None:
    """A batch without regions (a tick with nothing due) reads no network: no ``IN ()``."""
    from onderwijsflow.snapshot.network import read_network

    asked: list[str] = []

    def run(sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        asked.append(sql)
        return []

    assert read_network(run, []) == {}
    assert asked == []
