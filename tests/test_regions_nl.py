"""The commands on a region's own data in Dutch (the default) and in English (issue 11):
region, partner, role, document, fact, record and import.

Every command runs in process through the real entry point (``support.Flow``) on a real
SQLite file. A Dutch run must say what happened in Dutch, with labels instead of slugs where
a person reads (states, partner kinds, roles, documents), numbers and dates written the
Dutch way, and no English word left over; ``--json`` must give the same document in both
languages.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import support

PILOT = """\
workflow: pilot
version: 1
title: Pilot (test)
initial: verkenning
facts:
  aantal_leraren: {type: int, label: Aantal leraren in de regio}
  startdatum: {type: date, label: Startdatum van de samenwerking}
  akkoord: {type: bool}
  bedrag: {type: decimal, label: Toegekend bedrag, scope: case}
records:
  peilgesprek:
    label: Peilgesprek met de Realisatie-Eenheid
    fields:
      datum: {type: date, required: true}
      deelnemers: {type: list}
      aantal: {type: int}
states:
  verkenning: {label: In verkenning}
  gestart: {label: Pilot gestart, final: true}
transitions:
  - {trigger: start, source: verkenning, dest: gestart}
milestones:
  - name: peilgesprek
    label: Eerste peilgesprek
    every: P6M
    active_in: [verkenning]
    notify: [coordinator]
    met_by: {record: peilgesprek}
"""

SUBSIDIE = """\
workflow: subsidie
version: 1
title: Subsidie (test)
initial: voorbereiding
facts:
  toegekend: {type: decimal, label: Toegekend subsidiebedrag, scope: case}
states:
  voorbereiding: {label: Aanvraag in voorbereiding}
  klaar: {label: Klaar, final: true}
transitions:
  - {trigger: klaar, source: voorbereiding, dest: klaar}
"""

CONFIG = """\
simulated_clock: true
start_with_region: [pilot]
rounds:
  "2025": {workflow: subsidie}
"""

CSV = textwrap.dedent("""\
    slug;name;sectors;partners;people;fact:aantal_leraren
    leiden;Leiden;PO|VO;Pabo Leiden:lerarenopleiding;programmamanager:Els de Vries:els@example.org;29000
    delft;Delft;MBO;;;
    """)

BAD_CSV = textwrap.dedent("""\
    slug,name,sectors,partners,fact:startdatum
    Leiden,Leiden,P0,Pabo,morgen
    ,Zonder slug,,,
    """)

#: English that must not be left in a Dutch text (whole words; user data and slugs here are
#: Dutch, and the workflows' labels are Dutch anyway).
ENGLISH = re.compile(
    r"\b(created|added|removed|found|needed|none|set to|region|regions|partner added|nothing|"
    r"changed|updated|unchanged|would|recorded|milestone|due|not set|yet|has no|of kind|is now|"
    r"no longer|already|exists|cases|facts|people|documents|records|state|version|opened|title|"
    r"value|fields|actor|round|coordinator|provinces|sectors|description|yes|error|unknown|"
    r"problem|problems|column|file|line|imported|written|try again|dry run|to|the|and|or|"
    r"is not|must be|listed twice|appears)\b", re.IGNORECASE)


def english_in(text: str) -> list[str]:
    """The English words of `text` (slugs a person types, like --field or fact:NAME, apart)."""
    text = re.sub(r"--[a-z-]+|fact:NAME|NAME=VALUE|Naam:kind(:sector)?", "", text)
    return ENGLISH.findall(text)


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "pilot.yaml").write_text(PILOT, encoding="utf-8")
    (workflows / "subsidie.yaml").write_text(SUBSIDIE, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config, workflows


def make_flow(site: tuple[Path, Path], db: Path, lang: str) -> support.Flow:
    config, workflows = site
    flow = support.Flow(f"sqlite:///{db}", config, workflows, "2024-09-02T10:00", lang=lang)
    flow.ok("init")
    return flow


@pytest.fixture
def nl(site: tuple[Path, Path], tmp_path: Path) -> support.Flow:
    return make_flow(site, tmp_path / "nl.db", "nl")


@pytest.fixture
def en(site: tuple[Path, Path], tmp_path: Path) -> support.Flow:
    return make_flow(site, tmp_path / "en.db", "en")


def said(flow: support.Flow, *args: str) -> str:
    """Stdout of a command that must succeed, checked for English when the flow speaks Dutch."""
    out = flow.ok(*args).out
    if flow.lang == "nl":
        assert english_in(out) == [], f"English in Dutch output of {args}:\n{out}"
    return out


def refused(flow: support.Flow, code: int, *args: str) -> str:
    """The one error line of a command that must fail with `code`."""
    run = flow(*args)
    assert run.code == code, str(run)
    assert run.out == "" and "Traceback" not in run.err, str(run)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, str(run)
    if flow.lang == "nl":
        assert lines[0].startswith("fout: "), str(run)
        assert english_in(lines[0].removeprefix("fout: ")) == [], str(run)
    else:
        assert lines[0].startswith("error: "), str(run)
    return lines[0]


# --- region ---------------------------------------------------------------------------------------


def test_region_commands_speak_dutch_with_state_labels(nl: support.Flow) -> None:
    assert said(nl, "region", "list").strip() == "Er zijn nog geen regio's."
    assert said(nl, "region", "create", "leiden", "--name", "Leiden", "--sector", "po").strip() == (
        "Regio leiden aangemaakt; geopende zaken: pilot (In verkenning).")
    assert said(nl, "region", "update", "leiden", "--name", "Leiden e.o.", "--sector", "PO",
                "--sector", "VO").strip() == (
        "Regio leiden bijgewerkt: naam van Leiden naar Leiden e.o., sectoren van PO naar PO, VO.")
    assert said(nl, "region", "update", "leiden", "--name", "Leiden e.o.").strip() == (
        "Regio leiden: er is niets gewijzigd.")
    listed = said(nl, "region", "list")
    assert listed.splitlines()[0].strip() == "1 regio"
    assert re.search(r"slug\s+naam\s+coördinator\s+zaken", listed)
    assert "pilot: In verkenning" in listed and "verkenning," not in listed
    assert said(nl, "region", "list", "--state", "gestart").strip() == (
        "Geen enkele regio voldoet aan het filter.")
    assert refused(nl, 3, "region", "create", "leiden", "--name", "X") == (
        "fout: regio 'leiden' bestaat al")


def test_region_list_in_english_shows_the_label_too(en: support.Flow) -> None:
    assert en.ok("region", "list").out.strip() == "No regions yet."
    assert en.ok("region", "create", "leiden", "--name", "Leiden").out.strip() == (
        "Region leiden created; cases opened: pilot (In verkenning)")
    en.ok("region", "create", "delft", "--name", "Delft")
    listed = en.ok("region", "list").out
    assert listed.splitlines()[0].strip() == "2 regions" and "pilot: In verkenning" in listed
    assert en.ok("region", "update", "leiden", "--name", "Leiden e.o.").out.strip() == (
        "leiden: name: Leiden -> Leiden e.o.")
    assert en.ok("region", "update", "leiden", "--name", "Leiden e.o.").out.strip() == (
        "leiden: nothing changed")
    assert refused(en, 3, "region", "create", "leiden", "--name", "X") == (
        "error: region 'leiden' already exists")


def test_region_show_in_dutch_reads_labels_and_dutch_numbers_and_dates(nl: support.Flow) -> None:
    nl.ok("region", "create", "leiden", "--name", "Leiden", "--sector", "PO",
          "--province", "Zuid-Holland")
    nl.ok("partner", "add", "leiden", "Pabo Leiden", "--kind", "lerarenopleiding")
    nl.ok("role", "assign", "leiden", "penvoerder", "Jan Jansen", "--email", "jan@example.org")
    nl.ok("document", "add", "leiden", "plan_van_aanpak", "--title", "Plan 2025", "--date",
          "15-10-2024")
    nl.ok("fact", "set", "leiden", "aantal_leraren", "29000")
    nl.ok("fact", "set", "leiden", "startdatum", "2024-10-01")
    nl.ok("fact", "set", "leiden", "bedrag", "1275000.50")
    shown = said(nl, "region", "show", "leiden")
    assert "Leiden (leiden)  coördinator: -  provincies: Zuid-Holland  sectoren: PO" in shown
    for title in ("Zaken", "Partners", "Personen", "Documenten", "Gegevens"):
        assert re.search(rf"^{title}\s*$", shown, re.M), title
    assert re.search(r"workflow\s+status\s+versie\s+geopend\s+gegevens", shown)
    assert re.search(r"pilot\s+In verkenning\s+1\s+02-09-2024 10:00\s+Toegekend bedrag: 1\.275\.000,50",
                     shown)
    assert re.search(r"Pabo Leiden\s+lerarenopleiding", shown)
    assert re.search(r"penvoerder\s+Jan Jansen\s+jan@example\.org", shown)
    assert re.search(r"plan_van_aanpak\s+Plan 2025\s+15 okt 2024", shown)
    assert re.search(r"aantal_leraren\s+Aantal leraren in de regio\s+29\.000", shown)
    assert re.search(r"startdatum\s+Startdatum van de samenwerking\s+1 okt 2024", shown)


# --- partner, role, document ----------------------------------------------------------------------


def test_partners_people_and_documents_in_dutch(nl: support.Flow) -> None:
    nl.ok("region", "create", "leiden", "--name", "Leiden")
    assert said(nl, "partner", "list", "leiden").strip() == "leiden heeft nog geen partners."
    assert said(nl, "partner", "add", "leiden", "Pabo Leiden", "--kind", "lerarenopleiding").strip() == (
        "Pabo Leiden (lerarenopleiding) is nu partner van leiden.")
    assert refused(nl, 3, "partner", "add", "leiden", "Pabo Leiden", "--kind", "lerarenopleiding") == (
        "fout: 'Pabo Leiden' is al partner van leiden")
    assert refused(nl, 2, "partner", "add", "leiden", "X", "--kind", "lerarenopleding") == (
        "fout: onbekende partnersoort 'lerarenopleding' (bedoelt u 'lerarenopleiding'?); bekend zijn: "
        "schoolbestuur, lerarenopleiding, beroepsgroep, vakbond, gemeente, overig")
    listed = said(nl, "partner", "list", "leiden")
    assert listed.splitlines()[0].strip() == "Partners van leiden"
    assert re.search(r"naam\s+soort\s+sector", listed)
    assert said(nl, "partner", "remove", "leiden", "Pabo Leiden").strip() == (
        "Pabo Leiden is geen partner meer van leiden.")
    assert refused(nl, 4, "partner", "remove", "leiden", "Pabo Leiden") == (
        "fout: 'Pabo Leiden' is geen partner van leiden")

    assert said(nl, "role", "assign", "leiden", "programmamanager", "Els de Vries").strip() == (
        "Els de Vries is nu programmamanager van leiden.")
    assert refused(nl, 3, "role", "assign", "leiden", "programmamanager", "Els de Vries") == (
        "fout: Els de Vries is al programmamanager van leiden")
    assert said(nl, "role", "unassign", "leiden", "programmamanager", "Els de Vries").strip() == (
        "Els de Vries is niet langer programmamanager van leiden.")
    assert refused(nl, 4, "role", "unassign", "leiden", "penvoerder", "Piet") == (
        "fout: Piet is geen penvoerder van leiden")

    assert said(nl, "document", "list", "leiden").strip() == "leiden heeft geen documenten."
    assert said(nl, "document", "list", "leiden", "--kind", "governance").strip() == (
        "leiden heeft geen documenten van de soort governance.")
    assert said(nl, "document", "add", "leiden", "advies_re", "--title", "Advies 2024",
                "--date", "2024-10-15").strip() == (
        "Het advies van de RE 'Advies 2024' is vastgelegd voor leiden.")
    listed = said(nl, "document", "list", "leiden")
    assert listed.splitlines()[0].strip() == "Documenten van leiden"
    assert re.search(r"advies_re\s+Advies 2024\s+15 okt 2024", listed)
    [doc] = nl.json("document", "list", "leiden")["documents"]
    assert said(nl, "document", "remove", "leiden", str(doc["id"])).strip() == (
        "Het advies van de RE 'Advies 2024' van leiden is verwijderd.")
    assert refused(nl, 4, "document", "remove", "leiden", str(doc["id"])) == (
        f"fout: leiden heeft geen document {doc['id']}")


def test_partners_people_and_documents_in_english(en: support.Flow) -> None:
    en.ok("region", "create", "leiden", "--name", "Leiden")
    assert en.ok("partner", "list", "leiden").out.strip() == "leiden has no partners yet"
    assert en.ok("partner", "add", "leiden", "Pabo Leiden", "--kind", "lerarenopleiding").out.strip() == (
        "Pabo Leiden (teacher-training institute) is now a partner of leiden")
    assert en.ok("partner", "remove", "leiden", "Pabo Leiden").out.strip() == (
        "Pabo Leiden is no longer a partner of leiden")
    assert en.ok("role", "assign", "leiden", "penvoerder", "Els").out.strip() == (
        "Els is now lead applicant (penvoerder) of leiden")
    assert en.ok("role", "unassign", "leiden", "penvoerder", "Els").out.strip() == (
        "Els is no longer lead applicant (penvoerder) of leiden")
    assert en.ok("document", "add", "leiden", "governance", "--title", "G").out.strip() == (
        "The governance description 'G' recorded for leiden")
    assert en.ok("document", "remove", "leiden", "1").out.strip() == (
        "The governance description 'G' removed from leiden")
    assert refused(en, 4, "document", "remove", "leiden", "1") == "error: leiden has no document 1"


# --- fact -----------------------------------------------------------------------------------------


def test_fact_set_says_what_it_was_in_dutch(nl: support.Flow) -> None:
    nl.ok("region", "create", "leiden", "--name", "Leiden")
    assert said(nl, "fact", "set", "leiden", "aantal_leraren", "29000").strip() == (
        "Gegeven aantal_leraren van leiden gezet op 29.000 (was: niet gezet).")
    assert said(nl, "fact", "set", "leiden", "aantal_leraren", "29500").strip() == (
        "Gegeven aantal_leraren van leiden gezet op 29.500 (was: 29.000).")
    assert said(nl, "fact", "set", "leiden", "startdatum", "1-10-2024").strip() == (
        "Gegeven startdatum van leiden gezet op dinsdag 1 oktober 2024 (was: niet gezet).")
    assert said(nl, "fact", "set", "leiden", "akkoord", "ja").strip() == (
        "Gegeven akkoord van leiden gezet op ja (was: niet gezet).")
    assert said(nl, "fact", "set", "leiden", "bedrag", "1275000,50").strip() == (
        "Gegeven bedrag van leiden (pilot) gezet op 1.275.000,50 (was: niet gezet).")
    nl.ok("start", "leiden", "subsidie", "--round", "2025")
    assert said(nl, "fact", "set", "leiden", "toegekend", "480000", "--round", "2025").strip() == (
        "Gegeven toegekend van leiden (subsidie, ronde 2025) gezet op 480.000 (was: niet gezet).")
    assert said(nl, "fact", "unset", "leiden", "aantal_leraren").strip() == (
        "Gegeven aantal_leraren van leiden gewist (was: 29.500).")
    assert said(nl, "fact", "unset", "leiden", "akkoord").strip() == (
        "Gegeven akkoord van leiden gewist (was: ja).")


def test_fact_set_in_english_never_prints_none(en: support.Flow) -> None:
    en.ok("region", "create", "leiden", "--name", "Leiden")
    first = en.ok("fact", "set", "leiden", "aantal_leraren", "29000").out
    assert first.strip() == "Fact aantal_leraren of leiden set to 29000 (was: not set)"
    assert "None" not in first
    assert en.ok("fact", "set", "leiden", "aantal_leraren", "29500").out.strip() == (
        "Fact aantal_leraren of leiden set to 29500 (was: 29000)")
    assert en.ok("fact", "set", "leiden", "bedrag", "12.50").out.strip() == (
        "Fact bedrag of leiden (pilot) set to 12.50 (was: not set)")
    assert en.ok("fact", "unset", "leiden", "aantal_leraren").out.strip() == (
        "Fact aantal_leraren of leiden unset (was: 29500)")


# --- record ---------------------------------------------------------------------------------------


def test_records_in_dutch_with_the_milestone_they_met(nl: support.Flow) -> None:
    nl.ok("region", "create", "leiden", "--name", "Leiden")
    assert said(nl, "record", "list", "leiden").strip() == "leiden heeft nog geen registraties."
    assert said(nl, "record", "list", "leiden", "--kind", "peilgesprek").strip() == (
        "leiden heeft nog geen registraties van de soort peilgesprek.")
    added = said(nl, "record", "add", "leiden", "peilgesprek", "--field", "datum=2-9-2024",
                 "--field", "deelnemers=Anne", "--field", "aantal=1200").splitlines()
    assert added == [
        "Peilgesprek met de Realisatie-Eenheid vastgelegd voor leiden (registratie 1).",
        "  mijlpaal Eerste peilgesprek (deadline zondag 2 maart 2025, 10:00) gehaald",
    ]
    listed = said(nl, "record", "list", "leiden")
    assert listed.splitlines()[0].strip() == "Registraties van leiden"
    assert re.search(r"soort\s+workflow\s+ronde\s+tijdstip\s+gebruiker\s+velden", listed)
    assert re.search(r"peilgesprek\s+pilot\s+02-09-2024 10:00\s+anne\s+"
                     r"datum: 2 sep 2024; deelnemers: Anne; aantal: 1\.200", listed)
    assert refused(nl, 2, "record", "add", "leiden", "peilgesprek", "--field", "datum") == (
        "fout: --field 'datum' heeft niet de vorm NAME=VALUE")


def test_records_in_english(en: support.Flow) -> None:
    en.ok("region", "create", "leiden", "--name", "Leiden")
    assert en.ok("record", "list", "leiden").out.strip() == "leiden has no records yet"
    added = en.ok("record", "add", "leiden", "peilgesprek", "--field", "datum=2024-09-02").out
    assert added.splitlines() == [
        "Peilgesprek met de Realisatie-Eenheid recorded for leiden (record 1)",
        "  milestone Eerste peilgesprek (due 2025-03-02T10:00:00+01:00) met",
    ]
    listed = en.ok("record", "list", "leiden").out
    assert re.search(r"peilgesprek\s+pilot\s+2024-09-02 10:00\s+anne\s+datum: 2024-09-02", listed)
    assert refused(en, 2, "record", "add", "leiden", "peilgesprek", "--field", "x") == (
        "error: --field 'x' is not NAME=VALUE")


# --- import ---------------------------------------------------------------------------------------


def test_import_reports_in_dutch(nl: support.Flow, tmp_path: Path) -> None:
    path = tmp_path / "regio's.csv"
    path.write_text(CSV, encoding="utf-8")
    assert said(nl, "import", "regions", str(path), "--dry-run").strip() == (
        "[proefrun] regio's.csv: aan te maken 2, bij te werken 0, ongewijzigd 0; "
        "er is niets geschreven.")
    assert said(nl, "region", "list").strip() == "Er zijn nog geen regio's."
    assert said(nl, "import", "regions", str(path)).strip() == (
        "regio's.csv: 2 aangemaakt, 0 bijgewerkt, 0 ongewijzigd.")
    assert said(nl, "import", "regions", str(path)).strip() == (
        "regio's.csv: 0 aangemaakt, 0 bijgewerkt, 2 ongewijzigd.")
    shown = said(nl, "region", "show", "leiden")
    assert re.search(r"programmamanager\s+Els de Vries", shown)
    assert re.search(r"aantal_leraren\s+Aantal leraren in de regio\s+29\.000", shown)


def test_import_problems_in_dutch(nl: support.Flow, tmp_path: Path) -> None:
    path = tmp_path / "fout.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    run = nl("import", "regions", str(path))
    assert run.code == 2 and run.out == "", str(run)
    lines = run.err.strip().splitlines()
    assert lines == [
        "fout: fout.csv:2: 'Leiden' is geen geldige slug: gebruik kleine letters, cijfers en "
        "koppeltekens (bijv. zuidoost-brabant) (en nog 4 problemen; er is niets geïmporteerd)",
        "fout: fout.csv:2: onbekende sector 'P0'; bekend zijn: PO, VO, SO, VSO, MBO, HO",
        "fout: fout.csv:2: partner 'Pabo' moet de vorm Naam:kind of Naam:kind:sector hebben",
        lines[3],  # the type error of the date comes from the workflow model (not checked here)
        "fout: fout.csv:3: kolom 'slug' is leeg",
    ]
    assert lines[3].startswith("fout: fout.csv:2: gegeven 'startdatum': ")
    for line in lines[:3] + lines[4:]:
        assert english_in(line.removeprefix("fout: ")) == [], line
    missing = refused(nl, 2, "import", "regions", str(tmp_path / "weg.csv"))
    assert missing == f"fout: {tmp_path / 'weg.csv'}: dit bestand bestaat niet (er is niets geïmporteerd)"
    path.write_text("slug,name,naam\n", encoding="utf-8")
    unknown = nl("import", "regions", str(path))  # the names of the columns are the file's own
    assert (unknown.code, unknown.err) == (2, (
        "fout: fout.csv:1: onbekende kolom 'naam' (bedoelt u 'name'?); de kolommen zijn slug, name, "
        "provinces, sectors, coordinator, partners, people en fact:NAME (er is niets geïmporteerd)\n"))
    path.write_text("slug,name,naam,name\n", encoding="utf-8")
    assert nl("import", "regions", str(path)).err.splitlines()[0].endswith(
        "(en nog 1 probleem; er is niets geïmporteerd)")


def test_import_reports_in_english(en: support.Flow, tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    path.write_text(CSV, encoding="utf-8")
    assert en.ok("import", "regions", str(path), "--dry-run").out.strip() == (
        "[dry run] regions.csv: 2 would be created, 0 would be updated, 0 unchanged; "
        "nothing was written")
    assert en.ok("import", "regions", str(path)).out.strip() == (
        "regions.csv: 2 created, 0 updated, 0 unchanged")


# --- the same JSON in both languages --------------------------------------------------------------


def json_script(flow: support.Flow, csv: Path) -> list[Any]:
    """Every command of these modules with --json, writing and reading, in one order."""
    runs = [
        ("region", "list"),
        ("region", "create", "leiden", "--name", "Leiden", "--sector", "PO"),
        ("region", "update", "leiden", "--sector", "PO", "--sector", "VO"),
        ("partner", "add", "leiden", "Pabo Leiden", "--kind", "lerarenopleiding"),
        ("partner", "list", "leiden"),
        ("role", "assign", "leiden", "penvoerder", "Jan Jansen"),
        ("document", "add", "leiden", "governance", "--title", "G", "--date", "2024-10-15"),
        ("document", "list", "leiden"),
        ("fact", "set", "leiden", "aantal_leraren", "29000"),
        ("fact", "set", "leiden", "startdatum", "2024-10-01"),
        ("fact", "set", "leiden", "bedrag", "1275000.50"),
        ("fact", "unset", "leiden", "startdatum"),
        ("record", "add", "leiden", "peilgesprek", "--field", "datum=2024-09-02"),
        ("record", "list", "leiden"),
        ("import", "regions", str(csv), "--dry-run"),
        ("import", "regions", str(csv)),
        ("region", "list"),
        ("region", "show", "leiden"),
        ("document", "remove", "leiden", "1"),
        ("role", "unassign", "leiden", "penvoerder", "Jan Jansen"),
        ("partner", "remove", "leiden", "Pabo Leiden"),
    ]
    return [flow.json(*args) for args in runs]


def test_json_is_the_same_in_dutch_and_english(nl: support.Flow, en: support.Flow,
                                               tmp_path: Path) -> None:
    csv = tmp_path / "regions.csv"
    csv.write_text(CSV, encoding="utf-8")
    dutch = json_script(nl, csv)
    english = json_script(en, csv)
    assert dutch == english
    assert dutch[8]["new"] == 29000 and dutch[8]["old"] is None
    assert dutch[17]["cases"]["pilot"]["state"] == "verkenning"  # codes, not labels


# --- --help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "english", "dutch"), [
    (("region",), "Create, list and show regions.", "Regio's aanmaken, opsommen en tonen."),
    (("partner",), "Add and remove partner organisations.", "Partnerorganisaties toevoegen"),
    (("import",), "Load many regions at once", "Veel regio's tegelijk inlezen"),
    (("region", "create"), "Create a region; opens the workflows", "Maak een regio aan"),
    (("region", "update"), "Change what is given of region SLUG", "Wijzig wat is opgegeven"),
    (("region", "list"), "Overview of the regions", "Overzicht van de regio's"),
    (("region", "show"), "One region in full", "Eén regio volledig"),
    (("partner", "add"), "Record NAME as a partner", "Leg NAME vast als partner"),
    (("partner", "list"), "The partners of region SLUG.", "De partners van regio SLUG."),
    (("partner", "remove"), "Remove partner NAME", "Verwijder partner NAME"),
    (("role", "assign"), "Make PERSON the ROLE", "Maak PERSON de ROLE"),
    (("role", "unassign"), "Take PERSON out of ROLE", "Haal PERSON uit de rol ROLE"),
    (("document", "add"), "Record a document of KIND", "Leg een document van soort KIND"),
    (("document", "list"), "The documents of region SLUG", "De documenten van regio SLUG"),
    (("document", "remove"), "Remove document ID", "Verwijder document ID"),
    (("fact", "set"), "Set fact NAME of region SLUG", "Zet gegeven NAME van regio SLUG"),
    (("fact", "unset"), "Remove the value of fact NAME", "Wis de waarde van gegeven NAME"),
    (("record", "add"), "Add a record of KIND", "Voeg een registratie van soort KIND"),
    (("record", "list"), "The records of region SLUG", "De registraties van regio SLUG"),
    (("import", "regions"), "Create or update the regions of FILE", "Maak de regio's van FILE"),
])
def test_help_is_dutch_by_default_and_english_on_request(
    nl: support.Flow, en: support.Flow, args: tuple[str, ...], english: str, dutch: str
) -> None:
    dutch_help = nl.ok(*args, "--help").out
    assert dutch in dutch_help and english not in dutch_help, dutch_help
    english_help = en.ok(*args, "--help").out
    assert english in english_help and dutch not in english_help, english_help
