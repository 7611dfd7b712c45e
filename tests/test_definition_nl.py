"""Workflow files, durations, dates and the database in Dutch (issue 11).

``workflow validate`` names file and line in a Dutch sentence for every kind of problem (the
loader's own rules, the shape pydantic checks, YAML itself); the same files give the English
they always gave. Durations, dates and database problems speak Dutch as well.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import support

from onderwijsflow import i18n
from onderwijsflow.clock import parse_date, parse_moment
from onderwijsflow.definition.durations import Duration
from onderwijsflow.definition.model import RecordDef
from onderwijsflow.definition.records import validate_record
from onderwijsflow.engine.loading import load_workflow_text
from onderwijsflow.errors import DefinitionError, UsageError
from onderwijsflow.store.migrations import HEAD

DATA = Path(__file__).resolve().parent / "data" / "taal11" / "v1"

#: English that must not appear in a Dutch sentence (quoted values are left out first).
ENGLISH = re.compile(r"\b(unknown|expected|did you mean|must|not found|invalid|missing|duplicate|"
                     r"undeclared|got|should|input|key|first at line|the|is not|cannot|error|"
                     r"value|state|transition|milestone|requirement|while|found)\b", re.IGNORECASE)

VALID = """\
workflow: demo
version: 1
title: Demo
initial: concept
params:
  deadline: {type: date}
states:
  concept: {label: Concept}
  ingediend: {label: Ingediend}
  klaar: {label: Klaar, final: true}
requirements:
  plan:
    label: Plan aanwezig
    check: document
    with: {kind: plan_van_aanpak}
transitions:
  - trigger: dien_in
    source: concept
    dest: ingediend
    requires: [plan]
    by: [coordinator]
  - trigger: rond_af
    source: ingediend
    dest: klaar
milestones:
  - name: deadline
    due: {param: deadline, time: "16:00"}
    active_in: [concept]
    remind: [P7D]
"""

#: (id, text replaced, replacement, text on the offending line, Dutch sentence, English sentence)
BROKEN = [
    ("unknown-key", "  concept: {label: Concept}", "  concept: {labl: Concept}", "labl",
     "onbekende sleutel 'labl' in status 'concept' (bedoelt u 'label'?)",
     "unknown key 'labl' in state 'concept' (did you mean 'label'?)"),
    ("missing-key", "  klaar: {label: Klaar, final: true}", "  klaar: {final: true}", "klaar:",
     "verplichte sleutel 'label' ontbreekt in status 'klaar'",
     "missing required key 'label' in state 'klaar'"),
    ("undeclared-state", "    dest: ingediend", "    dest: ingedient", "ingedient",
     "overgang 'dien_in' gaat naar status 'ingedient', die niet onder states: staat "
     "(bedoelt u 'ingediend'?)",
     "transition 'dien_in' goes to undeclared state 'ingedient' (did you mean 'ingediend'?)"),
    ("wrong-type", "version: 1", "version: een", "version:",
     "ongeldige waarde voor 'version': verwacht: een geheel getal, niet 'een'",
     "invalid value for 'version': expected a whole number, got 'een'"),
    ("pydantic-limit", "version: 1", "version: 0", "version:",
     "ongeldige waarde voor 'version': de waarde moet minstens 1 zijn (gegeven: 0)",
     "invalid value for 'version': input should be greater than or equal to 1 (got 0)"),
    ("pydantic-choice", "  deadline: {type: date}", "  deadline: {type: datum}", "type: datum",
     "ongeldige waarde voor 'type' in parameter 'deadline': de waarde moet 'string', 'int', "
     "'decimal', 'bool' of 'date' zijn (gegeven: 'datum')",
     "invalid value for 'type' in param 'deadline': input should be 'string', 'int', 'decimal', "
     "'bool' or 'date' (got 'datum')"),
    ("bad-duration", "remind: [P7D]", "remind: [P7X]", "P7X",
     "ongeldige waarde voor 'remind' in mijlpaal 'deadline': 'P7X' is geen ISO 8601-duur zoals "
     "P14D, P6W of P6M",
     "invalid value for 'remind' in milestone 'deadline': 'P7X' is not an ISO 8601 duration such "
     "as P14D, P6W or P6M"),
    ("bad-date", 'due: {param: deadline, time: "16:00"}', "due: 2024-13-45", "2024-13-45",
     "ongeldige datum '2024-13-45' (de maand moet tussen 1 en 12 liggen)",
     "invalid date '2024-13-45' (month must be in 1..12)"),
    ("unknown-role", "by: [coordinator]", "by: [coordinater]", "coordinater",
     "overgang 'dien_in': onbekende rol 'coordinater' (bedoelt u 'coordinator'?)",
     "transition 'dien_in': unknown role 'coordinater' (did you mean 'coordinator'?)"),
    ("duplicate-state", "  klaar: {label: Klaar, final: true}",
     "  klaar: {label: Klaar, final: true}\n  concept: {label: Weer}", "concept: {label: Weer}",
     "status 'concept' komt twee keer voor (eerst op regel 8)",
     "duplicate state 'concept' (first at line 8)"),
    ("undeclared-param", "due: {param: deadline,", "due: {param: deadlin,", "deadlin,",
     "mijlpaal 'deadline' valt op parameter 'deadlin', die niet onder params: staat "
     "(bedoelt u 'deadline'?)",
     "milestone 'deadline' is due on undeclared param 'deadlin' (did you mean 'deadline'?)"),
    ("yaml-syntax", "title: Demo", "title: Demo: een: twee", "title:",
     "ongeldige YAML: hier mag geen 'sleutel: waarde' staan",
     "invalid YAML: mapping values are not allowed"),
]


@pytest.fixture
def flow(tmp_path: Path) -> support.Flow:
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\nstart_with_region: []\n", encoding="utf-8")
    flow = support.Flow(f"sqlite:///{tmp_path / 'nl.db'}", config, DATA, "2024-09-02T10:00")
    flow.ok("init")
    return flow


def english_words(sentence: str) -> list[str]:
    """The English words of `sentence`, leaving out quoted values and option names."""
    sentence = re.sub(r"'[^'\n]*'|--[\w-]+", " ", sentence)
    return sorted({m.group(0).lower() for m in ENGLISH.finditer(sentence)})


def sentence(run: support.Run) -> str:
    """The error of `run`: one line on stderr, without its "fout: "/"error: " label."""
    assert "Traceback" not in run.err, str(run)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, str(run)
    return lines[0].partition(": ")[2]


def problems(run: support.Run, file: str) -> list[str]:
    """The sentences of `run`'s stderr that name `file`, from the file name on."""
    return [line[line.index(f"{file}:"):] for line in run.err.splitlines() if f"{file}:" in line]


def test_a_valid_file_is_valid_in_both_languages(flow: support.Flow, tmp_path: Path) -> None:
    good = tmp_path / "goed.yaml"
    good.write_text(VALID.replace("  klaar: {label: Klaar, final: true}",
                                  "  klaar: {label: Klaar, final: true}\n"
                                  "  vergeten: {label: Vergeten}"), encoding="utf-8")
    flow.lang = "nl"
    dutch = flow.ok("workflow", "validate", str(good))
    assert "goed.yaml:11: status 'vergeten' is niet bereikbaar vanuit beginstatus 'concept'" \
        in dutch.out, str(dutch)
    flow.lang = "en"
    english = flow.ok("workflow", "validate", str(good))
    assert "goed.yaml:11: state 'vergeten' is unreachable from initial state 'concept'" \
        in english.out, str(english)


@pytest.mark.parametrize(("old", "new", "marker", "dutch", "english"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_file_is_named_with_line_in_dutch_and_unchanged_in_english(
    flow: support.Flow, tmp_path: Path, old: str, new: str, marker: str, dutch: str, english: str
) -> None:
    assert VALID.count(old) == 1
    text = VALID.replace(old, new)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if marker in row)
    broken = tmp_path / "fout.yaml"
    broken.write_text(text, encoding="utf-8")

    flow.lang = "nl"
    nl = flow("workflow", "validate", str(broken))
    assert nl.code == 1 and "Traceback" not in nl.err, str(nl)
    said = problems(nl, "fout.yaml")
    assert any(s.startswith(f"fout.yaml:{line}: {dutch}") for s in said), str(nl)
    for sentence in said:
        assert english_words(sentence) == [], sentence

    flow.lang = "en"
    en = flow("workflow", "validate", str(broken))
    assert en.code == 1, str(en)
    assert any(s.startswith(f"fout.yaml:{line}: {english}") for s in problems(en, "fout.yaml")), \
        str(en)


def test_the_summary_of_many_problems_is_dutch() -> None:
    one = VALID.replace("version: 1", "version: 0").replace("  klaar: {label: Klaar, final: true}",
                                                             "  klaar: {final: true}")
    three = one.replace("  concept: {label: Concept}", "  concept: {labl: Concept}")
    for text, dutch, english in ((one, "(en nog 1 probleem)", "(and 1 more problem)"),
                                 (three, "(en nog 3 problemen)", "(and 3 more problems)")):
        with i18n.using("nl"), pytest.raises(DefinitionError) as caught:
            load_workflow_text(text, "demo.yaml")
        assert str(caught.value).endswith(dutch), str(caught.value)
        with i18n.using("en"), pytest.raises(DefinitionError) as caught:
            load_workflow_text(text, "demo.yaml")
        assert str(caught.value).endswith(english), str(caught.value)


def test_an_unreadable_file_and_a_file_that_is_not_a_workflow(flow: support.Flow,
                                                              tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("workflow: demo\ntitle: Café\n".encode("latin-1"))
    empty = tmp_path / "leeg.yaml"
    empty.write_text("", encoding="utf-8")
    flow.lang = "nl"
    assert problems(flow("workflow", "validate", str(latin)), "latin.yaml") == [
        "latin.yaml:2: het bestand is geen UTF-8-tekst"]
    assert problems(flow("workflow", "validate", str(empty)), "leeg.yaml") == [
        "leeg.yaml:1: het bestand is leeg; een workflow heeft de sleutels workflow:, version:, "
        "title:, initial: en states:"]


# --- durations and dates -------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "dutch", "english"), [
    (["deadlines", "--within", "P1X"], "'P1X' is geen ISO 8601-duur zoals P14D, P6W of P6M",
     "'P1X' is not an ISO 8601 duration such as P14D, P6W or P6M"),
    (["deadlines", "--within", "P0D"], "'P0D' is een duur van nul", "'P0D' is a zero duration"),
    (["--now", "2024-13-45", "deadlines"],
     "'2024-13-45' is geen datum (JJJJ-MM-DD of DD-MM-JJJJ) en geen datum met tijd "
     "(JJJJ-MM-DDTUU:MM)",
     "'2024-13-45' is not a date (YYYY-MM-DD or DD-MM-YYYY) or date-time (YYYY-MM-DDTHH:MM)"),
    (["--now", "31-02-2024", "deadlines"], "'31-02-2024' is geen datum",
     "'31-02-2024' is not a date"),
], ids=["duration", "zero-duration", "iso-date", "dutch-date"])
def test_bad_durations_and_dates_are_told_in_dutch(flow: support.Flow, args: list[str],
                                                   dutch: str, english: str) -> None:
    flow.lang = "nl"
    nl = flow(*args)
    assert nl.code == 2 and dutch in sentence(nl), str(nl)
    assert english_words(sentence(nl)) == [], sentence(nl)
    flow.lang = "en"
    en = flow(*args)
    assert en.code == 2 and english in sentence(en), str(en)


def test_a_dutch_date_is_accepted_where_a_moment_is_given(flow: support.Flow) -> None:
    flow.lang = "nl"
    assert flow("--now", "15-10-2024", "deadlines").code == 0


def test_the_library_speaks_the_language_in_effect() -> None:
    with i18n.using("nl"):
        with pytest.raises(UsageError, match=r"^'15/10/2024' is geen datum in de vorm "
                                             r"JJJJ-MM-DD of DD-MM-JJJJ$"):
            parse_date("15/10/2024")
        with pytest.raises(UsageError, match="geen datum"):
            parse_moment("morgen")
        with pytest.raises(ValueError, match="is geen ISO 8601-duur"):
            Duration.parse("zes weken")
        spec = RecordDef.model_validate({"label": "Peilgesprek", "fields": {
            "datum": {"type": "date", "required": True}, "thema": {"type": "choice",
                                                                   "choices": ["werven"]}}})
        with pytest.raises(ValueError, match=r"^er is geen veld 'datun' \(bedoelt u 'datum'\?\)"):
            validate_record("peilgesprek", spec, {"datun": "1-9-2024"}, None)
        with pytest.raises(ValueError, match=r"^veld 'datum': verwacht: een datum JJJJ-MM-DD of "
                                             r"DD-MM-JJJJ, niet 'morgen'$"):
            validate_record("peilgesprek", spec, {"datum": "morgen"}, None)
        with pytest.raises(ValueError, match=r"^veld 'datum' is verplicht$"):
            validate_record("peilgesprek", spec, {"thema": "werven"}, None)
    with i18n.using("en"), pytest.raises(UsageError, match="is not a date in the form YYYY-MM-DD"):
        parse_date("15/10/2024")


# --- the database ----------------------------------------------------------------------------------


def test_database_problems_are_told_in_dutch(flow: support.Flow, tmp_path: Path) -> None:
    db = tmp_path / "nl.db"
    with closing(sqlite3.connect(db)) as raw, raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    flow.lang = "nl"
    newer = flow("region", "list")
    assert newer.code == 1, str(newer)
    assert sentence(newer).endswith(f"het databaseschema (rev 9999) is nieuwer dan deze versie "
                                     f"van onderwijsflow (rev {HEAD}); werk onderwijsflow bij")

    flow.url = f"sqlite:///{tmp_path / 'leeg.db'}"
    empty = flow("region", "list")
    assert sentence(empty).endswith("heeft nog geen onderwijsflow-schema; voer 'onderwijsflow "
                                     "init' uit"), str(empty)
    assert not (tmp_path / "leeg.db").exists()

    flow.url = "mysql://iemand@server/db"
    foreign = flow("region", "list")
    assert "de database-URL mysql://iemand@server/db wordt niet ondersteund; gebruik " \
           "sqlite:///BESTAND of postgresql://GEBRUIKER@HOST/DB" in sentence(foreign), str(foreign)

    flow.url = f"sqlite:///{tmp_path / 'nergens' / 'x.db'}"
    nowhere = flow("region", "list")
    assert f"de map {tmp_path / 'nergens'} bestaat niet" in sentence(nowhere), str(nowhere)

    for run in (newer, empty, foreign, nowhere):
        assert english_words(sentence(run).replace("onderwijsflow init", "")) \
            == [], sentence(run)
    flow.lang, flow.url = "en", "mysql://iemand@server/db"
    assert "is not supported" in sentence(flow("region", "list"))


def test_the_diagram_title_is_in_the_language(flow: support.Flow) -> None:
    flow.lang = "nl"
    assert "(versie 1)" in flow.ok("workflow", "graph", "traject", "--format", "dot").out
    assert "%% Traject (test) (versie 1)" in flow.ok("workflow", "graph", "traject").out
    flow.lang = "en"
    assert "(version 1)" in flow.ok("workflow", "graph", "traject", "--format", "dot").out
