"""The case commands in Dutch (the default) and in English: start, advance, advance-all, check,
history (issue 11).

Every command runs through the real entry point in process (``support.Flow``) against a real
SQLite file; the Dutch runs say ``--lang nl``, the English ones ``--lang en``. Dutch output
names states by their labels from the workflow definition and holds no English word; the
JSON documents have the same keys in both languages.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import support

DATA = Path(__file__).resolve().parent / "data"
REGIOVORMING = DATA / "workflows-2024"
TRAJECT = DATA / "taal11" / "v1"

#: English words that must not appear in Dutch output (whole words, any case).
ENGLISH = ("moved", "move", "created", "opened", "needed", "found", "refused", "allowed",
           "blocked", "none", "state", "case", "cases", "unmet", "requirement", "requirements",
           "would", "warning", "history", "event", "reason", "decision", "recorded", "version",
           "nothing", "written", "from", "to", "by", "passed", "missing", "way", "already",
           "set", "not", "yet", "match")
APPLICATION = ("Er is ten minste één schoolbestuur partner", "Er is ten minste één lerarenopleiding partner",
               "Intentieverklaring of samenwerkingsovereenkomst van de partners",
               "Er is een regionale arbeidsmarktanalyse")


def dutch(text: str) -> str:
    """`text`, after asserting it holds no English word."""
    found = sorted({w for w in ENGLISH if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text,
                                                     re.IGNORECASE)})
    assert not found, f"English in Dutch output: {found}\n{text}"
    return text


def keys(document: Any) -> Any:
    """The shape of a JSON document: its keys, all the way down (values left out)."""
    if isinstance(document, dict):
        return {k: keys(v) for k, v in document.items()}
    if isinstance(document, list):
        return [keys(v) for v in document]
    return None


def said(run: support.Run) -> str:
    """The one line on stderr of a failed command (``fout: ...`` or ``error: ...``)."""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("fout: ", "error: ")), str(run)
    return lines[0]


class Flow(support.Flow):
    """The in-process CLI; `nl(...)` and `en(...)` run one command in that language."""

    def nl(self, *args: str, code: int = 0) -> support.Run:
        return self._in("nl", args, code)

    def en(self, *args: str, code: int = 0) -> support.Run:
        return self._in("en", args, code)

    def _in(self, lang: str, args: tuple[str, ...], code: int) -> support.Run:
        run = self("--lang", lang, *args)
        assert run.code == code and "Traceback" not in run.err, str(run)
        return run

    def both_json(self, *args: str, code: int = 0) -> tuple[Any, Any]:
        """The ``--json`` document of a command that writes nothing, in Dutch and in English."""
        nl = self.nl(*args, "--json", code=code).json()
        en = self.en(*args, "--json", code=code).json()
        assert keys(nl) == keys(en)
        return nl, en


@pytest.fixture
def flow(tmp_path: Path) -> Flow:
    """Regions `twente` (ready to submit its application) and `leeg` (nothing yet), on the 2024
    regiovorming workflow, on 1 November 2024 (after the 2025 round's application deadline)."""
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\n", encoding="utf-8")
    flow = Flow(f"sqlite:///{tmp_path / 'nl.db'}", config, REGIOVORMING, "2024-11-01T10:00")
    flow.ok("init")
    for args in (("region", "create", "twente", "--name", "Twente"),
                 ("partner", "add", "twente", "Stichting Primair Oost", "--kind", "schoolbestuur"),
                 ("partner", "add", "twente", "Pabo Oost", "--kind", "lerarenopleiding"),
                 ("document", "add", "twente", "intentieverklaring", "--title", "Intentie"),
                 ("document", "add", "twente", "arbeidsmarktanalyse", "--title", "AMA"),
                 ("region", "create", "leeg", "--name", "Leeg")):
        flow.ok(*args)
    return flow


# --- start ---------------------------------------------------------------------------------------


def test_start_says_which_case_opened_in_which_state_and_warns_of_a_passed_deadline(
        flow: Flow) -> None:
    nl = flow.nl("start", "twente", "subsidie", "--round", "2025")
    assert dutch(nl.out).strip() == (
        "twente: zaak subsidie geopend in status ‘Plan van aanpak en aanvraag in voorbereiding’.")
    warning = dutch(nl.err)
    assert warning.startswith("waarschuwing: Deadline subsidieaanvraag")
    assert "(dinsdag 15 oktober 2024, 16:00) is al verstreken" in warning

    en = flow.en("start", "leeg", "subsidie", "--round", "2025")
    assert en.out.strip() == ("leeg: case subsidie opened in state ‘Plan van aanpak en aanvraag "
                              "in voorbereiding’.")
    assert "warning: " in en.err and "2024-10-15T16:00:00+02:00) has already passed" in en.err

    again = flow.nl("start", "twente", "subsidie", "--round", "2025", code=3)
    assert dutch(said(again)) == (
        "fout: regio 'twente' heeft al een zaak subsidie voor ronde 2025")
    assert "fout: --param 'x' heeft niet de vorm K=V" in flow.nl(
        "start", "twente", "subsidie", "--param", "x", code=2).err


def test_start_json_has_the_same_keys_in_both_languages(flow: Flow) -> None:
    nl = flow.nl("start", "twente", "subsidie", "--round", "2025", "--json").json()
    en = flow.en("start", "leeg", "subsidie", "--round", "2025", "--json").json()
    assert keys({**nl, "region": None}) == keys({**en, "region": None})
    assert nl["state"] == en["state"] == "voorbereiding"  # codes stay codes
    assert "is al verstreken" in nl["warnings"][0] and "has already passed" in en["warnings"][0]


# --- advance -------------------------------------------------------------------------------------


def test_advance_names_the_states_by_their_labels(flow: Flow) -> None:
    dry = flow.nl("advance", "twente", "dien_aanvraag_in", "--dry-run")
    assert dutch(dry.out).strip() == ("[proefrun] twente: zou van ‘Verkenning’ naar ‘Aanvraag "
                                      "ingediend’ gaan; er is niets geschreven.")
    nl, en = flow.both_json("advance", "twente", "dien_aanvraag_in", "--dry-run")
    assert (nl["from"], nl["to"]) == (en["from"], en["to"]) == ("verkenning", "aanvraag_ingediend")

    moved = flow.nl("advance", "twente", "dien_aanvraag_in")
    assert dutch(moved.out).strip() == "twente: van ‘Verkenning’ naar ‘Aanvraag ingediend’."
    back = flow.en("advance", "twente", "trek_in", "--reason", "de regio stopt")
    assert back.out.strip() == ("twente: moved from ‘Aanvraag ingediend’ to ‘Ingetrokken door de "
                                "regio’.")


def test_a_refusal_lists_each_unmet_requirement_by_its_label(flow: Flow) -> None:
    refused = flow.nl("advance", "leeg", "dien_aanvraag_in", code=3)
    lines = dutch(refused.out).splitlines()
    assert lines[0] == "leeg: ‘Aanvraag indienen’ geweigerd; deze voorwaarden zijn niet vervuld:"
    for label in APPLICATION:
        assert any(line.startswith(f"  - {label}: ") for line in lines), label
    assert dutch(said(refused)).startswith(
        "fout: leeg: stap 'dien_aanvraag_in' geweigerd, 4 voorwaarden niet vervuld: "
        "schoolbestuur_betrokken, ")

    dry = flow.nl("advance", "leeg", "dien_aanvraag_in", "--dry-run", code=3)
    assert dutch(dry.out).startswith("[proefrun] leeg: ‘Aanvraag indienen’ zou worden geweigerd; "
                                     "deze voorwaarden zijn niet vervuld:\n")
    assert dutch(said(dry)).startswith(
        "fout: [proefrun] leeg: stap 'dien_aanvraag_in' zou worden geweigerd: ")

    en = flow.en("advance", "leeg", "dien_aanvraag_in", code=3)
    assert en.out.startswith("leeg: ‘Aanvraag indienen’ refused; these requirements are unmet:\n")
    assert said(en).startswith("error: leeg: 'dien_aanvraag_in' refused, 4 requirement(s) "
                                    "unmet: schoolbestuur_betrokken, ")

    nl_json, en_json = (flow.nl("advance", "leeg", "dien_aanvraag_in", "--dry-run", "--json",
                                code=3).json(),
                        flow.en("advance", "leeg", "dien_aanvraag_in", "--dry-run", "--json",
                                code=3).json())
    assert keys(nl_json) == keys(en_json) and nl_json["code"] == en_json["code"] == "unmet"


def test_a_refusal_that_is_no_unmet_requirement_says_why(flow: Flow) -> None:
    impossible = flow.nl("advance", "twente", "verleen_definitieve_status", code=3)
    assert dutch(impossible.out).startswith("twente: ‘Definitieve status verlenen’ geweigerd: ")
    assert said(flow.nl("advance", "twente", "dien_aanvraag_in", "--override", code=2)) == (
        "fout: --override vraagt om een --reason die uitlegt waarom de voorwaarden worden "
        "overruled")


def test_an_override_names_what_it_overrode(flow: Flow) -> None:
    done = flow.nl("advance", "leeg", "dien_aanvraag_in", "--override", "--reason", "besluit DG")
    lines = dutch(done.out).splitlines()
    assert lines[0] == "leeg: van ‘Verkenning’ naar ‘Aanvraag ingediend’."
    assert lines[1] == "Overruld:"
    assert [line.removeprefix("  - ") for line in lines[2:]] == list(APPLICATION)


# --- advance-all ---------------------------------------------------------------------------------


def test_advance_all_sums_up_and_lists_the_refused(flow: Flow) -> None:
    dry = flow.nl("advance-all", "dien_aanvraag_in", "--workflow", "regiovorming", "--dry-run",
                  code=3)
    lines = dutch(dry.out).splitlines()
    assert lines[0] == ("[proefrun] Stap dien_aanvraag_in: 1 van 2 zaken kunnen verder, "
                        "1 geweigerd; er is niets geschreven")
    assert lines[1] == "- leeg: voorwaarden niet vervuld"
    assert lines[2].startswith("    - Er is ten minste één schoolbestuur partner: ")
    assert dutch(said(dry)) == "fout: stap 'dien_aanvraag_in' geweigerd voor 1 van 2 zaken"
    nl, en = flow.both_json("advance-all", "dien_aanvraag_in", "--workflow", "regiovorming",
                            "--dry-run", code=3)
    assert nl["refused"][0]["code"] == en["refused"][0]["code"] == "unmet"

    en_run = flow.en("advance-all", "dien_aanvraag_in", "--workflow", "regiovorming", code=3)
    assert en_run.out.startswith("1 of 2 case(s) moved by dien_aanvraag_in; 1 refused\n- leeg: "
                                 "requirements unmet\n")
    assert said(en_run) == "error: 1 of 2 case(s) refused 'dien_aanvraag_in'"

    done = flow.nl("advance-all", "trek_in", "--workflow", "regiovorming", "--in-state",
                   "aanvraag_ingediend")
    assert dutch(done.out).strip() == "Stap trek_in: 1 van 1 zaak verder gezet, 0 geweigerd"


def test_advance_all_refuses_up_front_what_cannot_leave_the_state(flow: Flow) -> None:
    refused = flow.nl("advance-all", "verleen_definitieve_status", "--workflow", "regiovorming",
                      "--in-state", "verkenning", code=3)
    assert dutch(said(refused)) == (
        "fout: stap 'verleen_definitieve_status' is niet mogelijk vanuit status 'verkenning' van "
        "regiovorming (alleen vanuit aanvraag_ingediend, voorlopige_status, in_oprichting); "
        "er is niets geschreven")
    assert refused.out == ""
    unknown = flow.nl("advance-all", "vlieg", "--workflow", "regiovorming", code=4)
    assert dutch(said(unknown)) == "fout: workflow 'regiovorming' heeft geen stap 'vlieg'"


# --- check ---------------------------------------------------------------------------------------


def test_check_says_per_step_whether_it_is_allowed_and_what_is_missing(flow: Flow) -> None:
    ready = dutch(flow.nl("check", "twente").out).splitlines()
    assert ready[0] == "twente: regiovorming staat in status ‘Verkenning’."
    assert ("- dien_aanvraag_in (Aanvraag indienen) naar ‘Aanvraag ingediend’: toegestaan"
            in ready)

    empty = dutch(flow.nl("check", "leeg", "--target", "definitieve_status").out)
    assert ("- dien_aanvraag_in (Aanvraag indienen) naar ‘Aanvraag ingediend’: geblokkeerd"
            in empty.splitlines())
    assert "    - Er is ten minste één schoolbestuur partner: " in empty
    assert ("Weg naar ‘Definitieve status’: dien_aanvraag_in -> verleen_definitieve_status"
            in empty)
    assert "  Nog niet vervuld voor verleen_definitieve_status:" in empty

    en = flow.en("check", "leeg", "--target", "definitieve_status").out
    assert en.startswith("leeg: regiovorming is in state ‘Verkenning’.\n- dien_aanvraag_in "
                         "(Aanvraag indienen) to ‘Aanvraag ingediend’: blocked\n")
    assert "Way to ‘Definitieve status’: dien_aanvraag_in -> verleen_definitieve_status" in en
    there = flow.nl("check", "leeg", "--target", "verkenning").out
    assert "Weg naar ‘Verkenning’: de zaak is daar al" in dutch(there)

    nl_doc, en_doc = flow.both_json("check", "leeg", "--target", "definitieve_status")
    assert nl_doc["triggers"][0]["allowed"] is en_doc["triggers"][0]["allowed"] is False
    assert nl_doc["state"] == "verkenning"
    unreachable = flow.nl("check", "twente", "--target", "bestaat_niet", code=4)
    assert "bestaat_niet" in said(unreachable)


def test_check_says_when_a_step_is_not_for_this_actor(flow: Flow) -> None:
    flow.config.write_text("simulated_clock: true\nactors:\n  anne: {roles: [auditor]}\n",
                           encoding="utf-8")
    out = dutch(flow.nl("check", "twente").out)
    assert "- trek_in (Aanvraag of deelname intrekken (op verzoek van de regio)) naar ‘Ingetrokken " \
           "door de regio’: geblokkeerd (deze stap mag u niet zetten)" in out


# --- history -------------------------------------------------------------------------------------


def test_history_in_dutch_words_with_state_labels(flow: Flow) -> None:
    flow.ok("fact", "set", "twente", "leerlingen_po", "29000")
    flow.nl("advance", "leeg", "dien_aanvraag_in", code=3)
    flow.ok("advance", "twente", "dien_aanvraag_in", "--reason", "alles compleet")

    status = dutch(flow.nl("history", "twente").out)
    assert "Geschiedenis van twente" in status
    assert re.search(r"\bnr\s+tijdstip\s+gebruiker\s+soort\s+workflow\s+stap\s+van\s+naar\s+"
                     r"details\s+reden\b", status), status
    assert re.search(r"01-11-2024 10:00\s+anne\s+overgang\s+regiovorming\s+dien_aanvraag_in\s+"
                     r"Verkenning\s+Aanvraag ingediend\s+alles compleet", status), status

    everything = dutch(flow.nl("history", "twente", "--all").out)
    for words in ("regio aangemaakt", "zaak geopend", "partner toegevoegd", "document toegevoegd",
                  "gegeven gezet", "Stichting Primair Oost"):
        assert words in everything, words

    facts = dutch(flow.nl("history", "twente", "--kind", "fact_set").out)
    assert "leerlingen_po: 29.000 (was: niet gezet)" in facts and "overgang" not in facts
    refused = dutch(flow.nl("history", "leeg", "--kind", "refused").out)
    assert "geweigerd" in refused and "niet vervuld: Er is ten minste één" in refused  # (wraps)
    assert dutch(flow.nl("history", "leeg", "--kind", "fact_set").out).strip() == (
        "Geen gebeurtenissen van leeg gevonden.")

    en = flow.en("history", "twente", "--kind", "fact_set").out
    assert "History of twente" in en and "fact set" in en
    assert "leerlingen_po: not set -> 29000" in en  # as stored, as before
    assert re.search(r"\bseq\s+at\s+actor\s+kind\s+workflow\s+trigger\s+from\s+to\s+details\s+"
                     r"reason\b", en)
    assert flow.en("history", "leeg", "--kind", "fact_set").out.strip() == (
        "No events of leeg match.")

    nl_doc, en_doc = flow.both_json("history", "twente", "--all")
    assert nl_doc == en_doc  # nothing in the document is language: kinds are codes
    assert {e["kind"] for e in nl_doc["events"]} >= {"transition", "fact_set", "case_opened"}


def test_history_as_of_a_day_and_one_event_in_full(flow: Flow) -> None:
    # The evidence is kept as it was read then: this refusal is written in Dutch.
    flow.nl("advance", "leeg", "dien_aanvraag_in", code=3)
    flow.ok("advance", "twente", "dien_aanvraag_in")
    then = dutch(flow.nl("history", "twente", "--as-of", "31-10-2024").out)
    assert "Status op donderdag 31 oktober 2024: nog geen zaken" in then
    now = dutch(flow.nl("history", "twente", "--as-of", "01-11-2024").out)
    assert "Status op vrijdag 1 november 2024: regiovorming: ‘Aanvraag ingediend’ (versie 1)" in now
    assert "State on Friday 1 November 2024: regiovorming: ‘Aanvraag ingediend’ (version 1)" in (
        flow.en("history", "twente", "--as-of", "2024-11-01").out)

    seq = flow.json("history", "leeg", "--kind", "refused")["events"][0]["seq"]
    lines = dutch(flow.nl("history", "leeg", "--event", str(seq)).out).splitlines()
    assert lines[0] == f"leeg, gebeurtenis {seq}: geweigerd, vrijdag 1 november 2024, 10:00, door anne"
    assert lines[1] == "regiovorming: van ‘Verkenning’ naar ‘Aanvraag ingediend’"
    assert "  niet vervuld: Er is ten minste één schoolbestuur partner: geen schoolbestuur als " \
           "partner" in lines
    assert lines[-1].startswith("hash: ")
    en = flow.en("history", "leeg", "--event", str(seq)).out.splitlines()
    assert en[0] == f"leeg, event {seq}: refused, Friday 1 November 2024, 10:00, by anne"
    assert "  unmet: Er is ten minste één schoolbestuur partner: geen schoolbestuur als " \
           "partner" in en  # the evidence as it was read, in Dutch
    flow.both_json("history", "leeg", "--event", str(seq))

    missing = flow.nl("history", "leeg", "--event", "99", code=4)
    assert dutch(said(missing)).startswith("fout: leeg heeft geen gebeurtenis 99 (de laatste is ")
    assert dutch(said(flow.nl("history", "leeg", "--limit", "0", code=2))) == (
        "fout: --limit moet 1 of meer zijn, niet 0")


# --- decisions and facts of a case (workflow language 1.1) ---------------------------------------

TRAJECT_CONFIG = textwrap.dedent(
    """\
    simulated_clock: true
    start_with_region: []
    rounds:
      "2025": {workflow: traject, params: {deadline: 2024-10-15}}
    """
)


@pytest.fixture
def traject(tmp_path: Path) -> Flow:
    """Region `noord` whose traject case (round 2025) is submitted, on 2 August 2024."""
    config = tmp_path / "traject.yaml"
    config.write_text(TRAJECT_CONFIG, encoding="utf-8")
    flow = Flow(f"sqlite:///{tmp_path / 'traject.db'}", config, TRAJECT, "2024-08-01T10:00")
    flow.ok("init")
    flow.ok("region", "create", "noord", "--name", "Noord")
    flow.ok("partner", "add", "noord", "Pabo Noord", "--kind", "lerarenopleiding")
    flow.ok("start", "noord", "traject", "--round", "2025")
    for theme in ("werven", "matchen", "opleiden", "begeleiden", "professionaliseren"):
        flow.ok("record", "add", "noord", "actie", "--field", f"thema={theme}",
                "--field", f"omschrijving=Actie {theme}", "--field", "eigenaar=Pabo Noord")
    flow.ok("advance", "noord", "dien_in")
    flow.ok("fact", "set", "noord", "bedrag", "1275000")
    flow.ok("document", "add", "noord", "beschikking", "--title", "Beschikking", "--ref", "DUSI-noord")
    flow.now = "2024-08-02T10:00"
    return flow


def test_decision_options_are_checked_in_dutch(traject: Flow) -> None:
    grant = ("advance", "noord", "verleen")
    missing = said(traject.nl(*grant, code=2))
    assert dutch(missing).startswith("fout: stap 'verleen' legt een besluit van dus_i (")
    assert missing.endswith(" vast: geef --decided-by, --decision-date en --decision-ref")
    future = said(traject.nl(*grant, "--decided-by", "dus_i", "--decision-date", "2024-08-03",
                             "--decision-ref", "X", code=2))
    assert dutch(future) == ("fout: besluitdatum 2024-08-03 ligt in de toekomst (vandaag is het "
                             "vrijdag 2 augustus 2024)")
    wrong = said(traject.nl(*grant, "--decided-by", "dus", "--decision-date", "2024-07-30",
                            "--decision-ref", "X", code=2))
    assert dutch(wrong).startswith("fout: 'dus' heeft het besluit voor verleen niet genomen; "
                                   "dat besluit wordt genomen door dus_i (")
    assert wrong.endswith(" (bedoelt u 'dus_i'?)")
    two_lines = said(traject.nl(*grant, "--decided-by", "dus_i", "--decision-date", "2024-07-30",
                                "--decision-ref", "A\nB", code=2))
    assert dutch(two_lines) == "fout: --decision-ref moet één regel van ten hoogste 200 tekens zijn"


def test_a_recorded_decision_is_shown_with_its_dutch_date(traject: Flow) -> None:
    grant = ("advance", "noord", "verleen", "--decided-by", "dus_i", "--decision-date",
             "2024-07-30", "--decision-ref", "DUSI-noord")
    dry = dutch(traject.nl(*grant, "--dry-run").out).splitlines()
    assert dry[1].startswith("Vast te leggen besluit: ")
    assert dry[1].endswith(" op dinsdag 30 juli 2024, kenmerk DUSI-noord.")
    assert traject.en(*grant, "--dry-run").out.splitlines()[1].endswith(
        " on Tuesday 30 July 2024, reference DUSI-noord.")
    done = dutch(traject.nl(*grant).out).splitlines()
    assert done[1].startswith("Besluit vastgelegd: ") and "kenmerk DUSI-noord" in done[1]

    everything = dutch(traject.nl("history", "noord", "--all").out)
    assert "bedrag: 1.275.000 (was: niet gezet)" in everything
    assert "DUS-I op dinsdag 30 juli 2024, kenmerk" in everything  # (the cell wraps)
    assert "registratie toegevoegd" in everything
    seq = traject.json("history", "noord")["events"][-1]["seq"]
    event = dutch(traject.nl("history", "noord", "--event", str(seq)).out).splitlines()
    assert event[1:3] == ["traject: van ‘Ingediend’ naar ‘Verleend’",
                          "Besluit: DUS-I op dinsdag 30 juli 2024, kenmerk DUSI-noord"]


def test_fact_and_record_errors_are_dutch(traject: Flow) -> None:
    unknown = said(traject.nl("fact", "set", "noord", "leerling", "12", code=4))
    assert dutch(unknown) == ("fout: geen enkele workflow kent een gegeven 'leerling' (bedoelt u "
                              "'leerlingen'?)")
    assert said(traject.en("fact", "set", "noord", "leerling", "12", code=4)) == (
        "error: no workflow declares a fact 'leerling' (did you mean 'leerlingen'?)")
    wrong = said(traject.nl("fact", "set", "noord", "leerlingen", "12.5", code=2))
    assert dutch(wrong).startswith("fout: gegeven 'leerlingen': ") and "12.5" in wrong
    no_round = said(traject.nl("fact", "set", "noord", "leerlingen", "12", "--round", "2025",
                               code=2))
    assert dutch(no_round) == ("fout: gegeven 'leerlingen' hoort bij de regio, niet bij een ronde; "
                               "laat --round weg")
    unset = said(traject.nl("fact", "unset", "noord", "leerlingen", code=4))
    assert dutch(unset) == "fout: gegeven 'leerlingen' van noord heeft geen waarde"

    kind = said(traject.nl("record", "add", "noord", "peilgesprekk", "--field", "datum=2024-08-01",
                           code=4))
    assert dutch(kind) == ("fout: geen enkele workflow kent een registratiesoort 'peilgesprekk' "
                           "(bedoelt u 'peilgesprek'?)")
    region = said(traject.nl("record", "add", "noord", "peilgesprek", "--field", "datum=2024-08-01",
                             "--round", "2025", code=2))
    assert dutch(region) == ("fout: een peilgesprek hoort bij de regio, niet bij een ronde; laat "
                             "--round weg")


def test_the_help_of_the_case_commands_is_dutch(flow: Flow) -> None:
    advance = flow.nl("advance", "--help").out
    assert "Stap TRIGGER zetten op de zaak van regio SLUG" in advance
    assert "Beslissen en tonen, maar niets schrijven." in advance
    assert "Alleen gebeurtenissen van deze soort" in flow.nl("history", "--help").out
    assert "Alleen zaken in deze status." in flow.nl("advance-all", "--help").out
    assert "Fire TRIGGER on region SLUG's case" in flow.en("advance", "--help").out
