"""Reference data of the national network (issue 13): CBS municipalities, DUO school locations
in both header generations, adjacency pairs and GeoJSON boundaries, as the files come; bad
input is one sentence naming the file and line (or feature), exit 2, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from onderwijsflow.network.boundaries import rd_to_wgs84
from onderwijsflow.resources import shipped
from tests.support import Flow, library

NOW = "2025-03-01T10:00:00"

CBS_HEADER = "Gemeentecode;GemeentecodeGM;Gemeentenaam;Provinciecode;ProvinciecodePV;Provincienaam"
CBS = CBS_HEADER + "\r\n14;GM0014;Groningen;20;PV20;Groningen\r\n114;GM0114;Emmen;22;PV22;Drenthe\r\n" \
    "363;GM0363;Amsterdam;27;PV27;Noord-Holland\r\n1680;GM1680;Aa en Hunze;22;PV22;Drenthe\r\n"

#: The old generation, as in the openstate copy of "Alle vestigingen basisonderwijs" (trailing
#: space in VESTIGINGSNAAM, GEMEENTENUMMER zero-padded), plus a count column.
PO_OLD = ("PROVINCIE;BEVOEGD GEZAG NUMMER;BRIN NUMMER;VESTIGINGSNUMMER;VESTIGINGSNAAM ;STRAATNAAM;"
          "HUISNUMMER-TOEVOEGING;POSTCODE;PLAATSNAAM;GEMEENTENUMMER;GEMEENTENAAM;DENOMINATIE;"
          "AANTAL LEERLINGEN\r\n"
          "Drenthe;10249;16AH;16AH00;OBS 't Eenspan;Oosterstraat;58;7822 HG;EMMEN;0114;EMMEN;Openbaar;212\r\n"
          "Drenthe;10249;16AH;16AH01;OBS Dalerpeel;Dorpsstraat;1;7831 AA;EMMEN;0114;EMMEN;Openbaar;<5\r\n"
          "Groningen;10250;17BB;17BB00;CBS De Wereldwijzer;Hoofdweg;3;9700 AA;GRONINGEN;0014;GRONINGEN;"
          "Protestants-Christelijk;340\r\n")
#: The new generation (the VO "leerlingen per vestiging" shape), Windows-1252.
VO_NEW = ('"BEVOEGD GEZAG NUMMER";"INSTELLINGSCODE";"VESTIGINGSCODE";"INSTELLINGSNAAM VESTIGING";'
          '"PLAATSNAAM";'
          '"GEMEENTENUMMER";"GEMEENTENAAM";"PROVINCIE";"AANTAL LEERLINGEN";'
          '"AANTAL VO LEERLINGEN UITBESTEED AAN VAVO"\r\n'
          '"41000";"20AB";"20AB00";"Hondsrug College Café";"EMMEN";"0114";"EMMEN";"Drenthe";"1.532";"3"\r\n'
          '"41001";"21CD";"21CD00";"Barlaeus Gymnasium";"AMSTERDAM";"0363";"AMSTERDAM";"Noord-Holland";'
          '"640";"0"\r\n')


@pytest.fixture
def flow(tmp_path: Path) -> Flow:
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\nnotify: {channels: [{type: log}]}\n", encoding="utf-8")
    flow = Flow(f"sqlite:///{tmp_path / 'o.db'}", config, shipped("workflows"), NOW)
    flow.ok("init")
    return flow


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def count(db: Path, model: object) -> int:
    with library(db) as app, app.reading() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())  # type: ignore[arg-type]


def loaded(flow: Flow, tmp_path: Path) -> None:
    flow.ok("import", "municipalities", str(write(tmp_path / "gemeenten.csv", CBS, "cp1252")),
            "--year", "2025")
    flow.ok("import", "locations", str(write(tmp_path / "po.csv", PO_OLD, "cp1252")), "--year", "2025",
            "--sector", "PO")
    flow.ok("import", "locations", str(write(tmp_path / "vo.csv", VO_NEW, "cp1252")), "--year", "2025",
            "--sector", "vo")


def test_cbs_and_both_duo_generations_load_as_downloaded(flow: Flow, tmp_path: Path) -> None:
    loaded(flow, tmp_path)
    municipalities = flow.json("reference", "list", "municipalities")
    assert municipalities["year"] == 2025
    assert [(m["code"], m["name"], m["province"]) for m in municipalities["rows"]][:2] == [
        ("GM0014", "Groningen", "Groningen"), ("GM0114", "Emmen", "Drenthe")]
    rows = {r["code"]: r for r in flow.json("reference", "list", "locations", "--year", "2025")["rows"]}
    assert rows["16AH00"] == {"code": "16AH00", "name": "OBS 't Eenspan", "sector": "PO",
                              "municipality": "GM0114", "pupils": 212}
    assert rows["16AH01"]["pupils"] is None  # "<5": one to four, not a number
    assert rows["20AB00"]["name"] == "Hondsrug College Café"  # Windows-1252 read right
    assert rows["20AB00"]["pupils"] == 1532 and rows["20AB00"]["sector"] == "VO"


def test_comma_separated_utf8_with_bom_and_a_sector_column(flow: Flow, tmp_path: Path) -> None:
    flow.ok("import", "municipalities", str(write(tmp_path / "g.csv", CBS.replace(";", ","), "utf-8-sig")))
    mbo = write(tmp_path / "mbo.csv", "INSTELLINGSCODE,VESTIGINGSCODE,VESTIGINGSNAAM,GEMEENTENUMMER,SECTOR,"
                "AANTAL STUDENTEN\n25LX,25LX00,ROC Zuidrand,363,mbo,\"9,400\"\n", "utf-8-sig")
    # the count "9,400" is a comma-separated file's quoted cell: not a number
    bad = flow("import", "locations", str(mbo), "--json")
    assert bad.code == 2
    assert "mbo.csv:2: vestiging 25LX00: '9,400' is not a number of pupils" in bad.sentence()
    write(mbo, "INSTELLINGSCODE,VESTIGINGSCODE,VESTIGINGSNAAM,GEMEENTENUMMER,SECTOR,AANTAL STUDENTEN\n"
          "25LX,25LX00,ROC Zuidrand,363,mbo,9400\n", "utf-8-sig")
    assert flow.json("import", "locations", str(mbo))["locations"] == 1  # --year: this year (2025)


def test_counts_from_a_separate_file_joined_on_the_code(flow: Flow, tmp_path: Path) -> None:
    flow.ok("import", "municipalities", str(write(tmp_path / "g.csv", CBS)), "--year", "2025")
    addresses = write(tmp_path / "a.csv", PO_OLD.replace(";212\r\n", ";\r\n"), "cp1252")
    counts = write(tmp_path / "c.csv", "VESTIGINGSCODE;AANTAL LEERLINGEN\r\n16AH00;199\r\n99ZZ00;5\r\n")
    done = flow.json("import", "locations", str(addresses), "--sector", "PO", "--counts", str(counts))
    assert (done["counts_matched"], done["counts_unmatched"]) == (1, 1)
    rows = {r["code"]: r["pupils"] for r in flow.json("reference", "list", "locations")["rows"]}
    assert rows["16AH00"] == 199


@pytest.mark.parametrize(("name", "text", "sentence"), [
    ("po.csv", PO_OLD.replace(";0014;GRONINGEN", ";0999;NERGENS"),
     "po.csv:4: vestiging 17BB00: municipality GM0999 is not known in 2025"),
    ("po.csv", PO_OLD.replace("16AH01", "16AH00"),
     "po.csv:3: vestiging 16AH00 appears again (first on line 2)"),
    ("po.csv", PO_OLD.replace("GEMEENTENUMMER", "GEMEENTE_NR"), "po.csv:1: no column for the municipality"),
    ("po.csv", PO_OLD.replace(";212\r", ";veel\r"),
     "po.csv:2: vestiging 16AH00: 'veel' is not a number of pupils"),
])
def test_bad_location_files_name_file_and_line_and_write_nothing(
    flow: Flow, tmp_path: Path, name: str, text: str, sentence: str
) -> None:
    from onderwijsflow.store.network import SchoolLocation

    flow.ok("import", "municipalities", str(write(tmp_path / "g.csv", CBS)), "--year", "2025")
    run = flow("import", "locations", str(write(tmp_path / name, text, "cp1252")), "--sector", "PO",
               "--year", "2025")
    assert run.code == 2, str(run)
    assert sentence in run.sentence()
    assert count(tmp_path / "o.db", SchoolLocation) == 0


def test_a_vestiging_imported_for_another_sector_is_a_duplicate(flow: Flow, tmp_path: Path) -> None:
    loaded(flow, tmp_path)
    run = flow("import", "locations", str(write(tmp_path / "mbo.csv", PO_OLD, "cp1252")), "--sector", "MBO",
               "--year", "2025")
    assert run.code == 2
    assert run.err.splitlines()[0] == ("error: mbo.csv:2: vestiging 16AH00 was already imported for PO in "
                                       "2025 (and 2 more problems; nothing was imported)")


def test_locations_need_the_years_municipalities(flow: Flow, tmp_path: Path) -> None:
    run = flow("import", "locations", str(write(tmp_path / "po.csv", PO_OLD)), "--sector", "PO",
               "--year", "2024")
    assert run.code == 2
    assert run.sentence() == ("error: po.csv: no municipalities for 2024; import the municipalities of 2024 "
                              "first (nothing was imported)")


def test_adjacency_pairs_and_an_unknown_municipality(flow: Flow, tmp_path: Path) -> None:
    from onderwijsflow.store.network import Adjacency

    flow.ok("import", "municipalities", str(write(tmp_path / "g.csv", CBS)), "--year", "2025")
    pairs = write(tmp_path / "buren.csv", "gemeente_a,gemeente_b\nGM0114,GM1680\n1680,14\nGM0114,GM1680\n")
    assert flow.json("import", "adjacency", str(pairs), "--year", "2025")["pairs"] == 2
    write(pairs, "gemeente_a,gemeente_b\nGM0114,GM1680\nGM0114,GM0999\n")
    run = flow("import", "adjacency", str(pairs), "--year", "2025")
    assert run.code == 2 and "buren.csv:3: municipality GM0999 is not known in 2025" in run.sentence()
    assert count(tmp_path / "o.db", Adjacency) == 2  # the earlier pairs stay


# --- boundaries ------------------------------------------------------------------------------------


def grid(tmp_path: Path, *, rd: bool = True, crs: dict[str, object] | None = None,
         broken: bool = False) -> Path:
    """A 2 x 2 grid of squares: GM0014 GM0114 / GM0363 GM1680 (shared edges, one corner pair)."""
    size, x0, y0 = (10000.0, 200000.0, 500000.0) if rd else (0.1, 6.0, 53.0)
    features = []
    for i, code in enumerate(("GM0014", "GM0114", "GM0363", "GM1680")):
        row, column = divmod(i, 2)
        x, y = x0 + column * size, y0 - row * size
        ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
        if broken and code == "GM0363":
            ring = [[x, y], [x + size, y + size], [x + size, y], [x, y + size], [x, y]]  # a bow tie
        features.append({"type": "Feature", "id": code, "properties": {"statcode": code},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    document: dict[str, object] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        document["crs"] = crs
    path = tmp_path / "gemeenten.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_rd_new_goes_to_wgs84() -> None:
    lon, lat = rd_to_wgs84(155000, 463000)  # Amersfoort, the origin of RD
    assert (round(lon, 5), round(lat, 5)) == (5.38721, 52.15517)
    lon, lat = rd_to_wgs84(121395, 487418)  # the Dam in Amsterdam: 4.8932 E, 52.3731 N
    assert abs(lon - 4.8932) < 0.001 and abs(lat - 52.3731) < 0.001


@pytest.mark.parametrize("rd", [True, False])
def test_adjacency_is_derived_from_shared_borders(flow: Flow, tmp_path: Path, rd: bool) -> None:
    pytest.importorskip("shapely", reason="shapely is the optional [geo] extra")
    flow.ok("import", "municipalities", str(write(tmp_path / "g.csv", CBS)), "--year", "2025")
    done = flow.json("import", "boundaries", str(grid(tmp_path, rd=rd)), "--year", "2025")
    assert done["projection"] == ("rd" if rd else "wgs84") and done["boundaries"] == 4
    pairs = [(p["a"], p["b"]) for p in flow.json("reference", "list", "adjacency")["rows"]]
    # the diagonal neighbours touch in a corner only: no common border
    assert pairs == [("GM0014", "GM0114"), ("GM0014", "GM0363"), ("GM0114", "GM1680"), ("GM0363", "GM1680")]


def test_boundaries_in_an_unknown_projection_or_invalid_are_refused(flow: Flow, tmp_path: Path) -> None:
    pytest.importorskip("shapely", reason="shapely is the optional [geo] extra")
    from onderwijsflow.store.network import Boundary

    flow.ok("import", "municipalities", str(write(tmp_path / "g.csv", CBS)), "--year", "2025")
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    run = flow("import", "boundaries", str(grid(tmp_path, crs=crs)), "--year", "2025")
    assert run.code == 2 and "gemeenten.geojson: projection" in run.sentence()
    assert "is not supported; give the boundaries in RD New (EPSG:28992) or WGS84" in run.sentence()
    run = flow("import", "boundaries", str(grid(tmp_path, broken=True)), "--year", "2025")
    assert run.code == 2
    assert "gemeenten.geojson: feature 3 (GM0363): invalid geometry (Self-intersection" in run.sentence()
    assert count(tmp_path / "o.db", Boundary) == 0


def test_the_shipped_example_loads(flow: Flow) -> None:
    done = flow.json("reference", "example", "--year", "2025")
    assert (done["municipalities"], done["locations"]) == (16, 68)
    assert done["pairs"] == 24  # a 4 x 4 grid: 12 horizontal and 12 vertical borders


def test_names_in_the_files_are_bounded_and_one_line(flow: Flow, tmp_path: Path) -> None:
    """A name with a control character, or longer than a name may be, is a problem with its
    line, as anywhere else a name comes in (issue 9), and nothing is imported."""
    from onderwijsflow.store.network import Municipality, SchoolLocation

    bad = flow("import", "municipalities",
               str(write(tmp_path / "g.csv", CBS.replace(";Groningen;", ";Gron\x07ingen;", 1))))
    assert bad.code == 2
    assert bad.sentence().startswith("error: g.csv:2: municipality name")
    assert "control character" in bad.sentence()
    assert count(tmp_path / "o.db", Municipality) == 0
    flow.ok("import", "municipalities", str(write(tmp_path / "g.csv", CBS)), "--year", "2025")
    long = flow("import", "locations", str(write(tmp_path / "po.csv", PO_OLD.replace(
        "OBS 't Eenspan", "X" * 201), "cp1252")), "--sector", "PO", "--year", "2025")
    assert long.code == 2
    assert long.sentence().startswith("error: po.csv:2: school name")
    assert "longer than 200 characters" in long.sentence()
    assert count(tmp_path / "o.db", SchoolLocation) == 0
