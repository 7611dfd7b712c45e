"""Workflow language 1.1 end to end through the command line, on SQLite and on PostgreSQL.

Records, decisions, case facts, a milestone met by a record, a period counted from a decision
and migrations (design §3.1 and the `record`, `advance --decided-by`, `fact set`,
`workflow migrate` and `history` rows of §4), as a coordinator drives them: every command runs
through the real entry point (:func:`onderwijsflow.cli.main`) in process, with click's runner,
against a real SQLite file and a PostgreSQL schema of its own (fixture `backend_url`), a
simulated clock (``ONDERWIJSFLOW_NOW``) and the test workflows in ``tests/data/taal11``:
v1, and v2, which renames `ingediend` to `aanvraag_ingediend`, asks for a penvoerder before
`verleen`, moves the application deadline to 16:00 and holds the peilgesprek every four months.

What the scheduler did is read from its ``tick --json`` report, from the audit events
(``history --all --json``, kind ``reminder_sent``), from the log channel (the
``onderwijsflow.notify`` logger) and from ``deadlines --json``.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest
import support

DATA = Path(__file__).resolve().parent / "data" / "taal11"
V1, V2 = DATA / "v1", DATA / "v2"
THEMES = ("werven", "matchen", "opleiden", "begeleiden", "professionaliseren")
CONFIG = textwrap.dedent(
    """\
    simulated_clock: true
    start_with_region: []
    rounds:
      "2025": {workflow: traject, params: {deadline: 2024-10-15}}
    """
)

#: When the cases of these tests are opened (and, for most, enter `in_uitvoering`).
DAY_ONE = "2024-08-01T10:00"
#: The first peilgesprek of a case that entered `in_uitvoering` on DAY_ONE (v1: every P6M).
FIRST_PEILGESPREK = "2025-02-01T10:00:00+01:00"


# --- running the CLI ----------------------------------------------------------------------------


class Flow(support.Flow):
    """The shared in-process CLI (``support.Flow``), starting on workflow v1 on day one."""

    def __init__(self, url: str, config: Path) -> None:
        super().__init__(url, config, V1, DAY_ONE)

    def counts(self, *slugs: str) -> dict[str, int]:
        """How many audit events each region has: what proves that nothing was written."""
        return {slug: len(self.events(slug)) for slug in slugs}

    def case(self, slug: str) -> dict[str, Any]:
        """The region's traject case as ``region show --json`` gives it."""
        cases = self.json("region", "show", slug)["cases"]
        [key] = [key for key in cases if key == "traject" or key.startswith("traject/")]
        return cases[key]

    def deadlines(self, slug: str, milestone: str) -> list[dict[str, Any]]:
        """The region's occurrences of `milestone` (``deadlines --json``), first due first."""
        rows = self.json("deadlines", "--region", slug)["deadlines"]
        return sorted((r for r in rows if r["milestone"] == milestone), key=lambda r: r["due"])


@pytest.fixture
def flow(backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flow:
    """An initialised database (SQLite file, then PostgreSQL schema) with the v1 workflows."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "onderwijsflow.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    flow = Flow(backend_url, config)
    flow.ok("init")
    return flow


# --- bringing cases where a test needs them ------------------------------------------------------


def open_case(flow: Flow, slug: str) -> None:
    """Region `slug` with a training institute as partner and a traject case of round 2025."""
    name = slug.title()
    flow.ok("region", "create", slug, "--name", name, "--coordinator", f"re-{slug}@example.org")
    flow.ok("partner", "add", slug, f"Pabo {name}", "--kind", "lerarenopleiding")
    flow.ok("start", slug, "traject", "--round", "2025")


def plan_actions(flow: Flow, slug: str) -> None:
    """One actie per theme, owned by the region's partner: `dien_in` becomes possible."""
    for theme in THEMES:
        flow.ok("record", "add", slug, "actie", "--field", f"thema={theme}",
                "--field", f"omschrijving=Actie {theme}", "--field", f"eigenaar=Pabo {slug.title()}")


def submitted(flow: Flow, slug: str) -> None:
    """A case in `ingediend` whose grant could be decided: amount and beschikking recorded."""
    open_case(flow, slug)
    plan_actions(flow, slug)
    flow.ok("advance", slug, "dien_in")
    flow.ok("fact", "set", slug, "bedrag", "1275000")
    flow.ok("document", "add", slug, "beschikking", "--title", "Beschikking", "--ref", f"DUSI-{slug}")


def grant(flow: Flow, slug: str, decided: str = "2024-07-30") -> None:
    """DUS-I's grant of `decided`, recorded now."""
    flow.ok("advance", slug, "verleen", "--decided-by", "dus_i", "--decision-date", decided,
            "--decision-ref", f"DUSI-{slug}")


def in_execution(flow: Flow, slug: str) -> None:
    """A case that enters `in_uitvoering` now."""
    submitted(flow, slug)
    grant(flow, slug)
    flow.ok("advance", slug, "start")


def reminder_events(flow: Flow, slug: str, milestone: str) -> list[dict[str, Any]]:
    """The reminders and overdue notices the region's audit log holds for `milestone`."""
    return [e for e in flow.events(slug)
            if e["kind"].startswith("reminder") and (e.get("data") or {}).get("milestone") == milestone]


def notified(caplog: pytest.LogCaptureFixture, address: str) -> list[str]:
    """The log channel's lines for messages to `address`."""
    return [r.getMessage() for r in caplog.records
            if r.name == "onderwijsflow.notify" and address in r.getMessage()]


# --- a milestone met by a record -------------------------------------------------------------------


def test_a_peilgesprek_held_in_its_window_stops_the_reminder_and_the_overdue_notice(
    flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    # The cases enter in_uitvoering on 1 August 2024. noord holds its peilgesprek before the
    # reminder, oost after it; zuid holds none (the control).
    for slug in ("noord", "oost", "zuid"):
        in_execution(flow, slug)
    [first] = flow.deadlines("noord", "peilgesprek")
    assert (first["due"], first["status"]) == (FIRST_PEILGESPREK, "upcoming")

    flow.now = "2024-12-11T10:00"
    flow.ok("record", "add", "noord", "peilgesprek", "--field", "datum=2024-12-10",
            "--field", "deelnemers=Anne", "--field", "deelnemers=Piet")
    [record] = flow.json("record", "list", "noord", "--kind", "peilgesprek")["records"]
    assert {"id", "kind", "workflow", "fields", "at", "actor"} <= set(record)  # design §4
    assert (record["kind"], record["actor"]) == ("peilgesprek", "anne")
    assert record["fields"] == {"datum": "2024-12-10", "deelnemers": ["Anne", "Piet"]}
    assert record["at"].startswith("2024-12-11T10:00")
    assert [r["status"] for r in flow.deadlines("noord", "peilgesprek")][:1] == ["met"]
    assert [r["status"] for r in flow.deadlines("zuid", "peilgesprek")][:1] == ["upcoming"]

    with caplog.at_level(logging.INFO, logger="onderwijsflow.notify"):
        flow.now = "2025-01-20T10:00"  # the P14D reminder was due on 18 January, 09:00
        reminded = flow.json("scheduler", "tick")
        flow.now = "2025-01-25T10:00"
        flow.ok("record", "add", "oost", "peilgesprek", "--field", "datum=2025-01-24")
        flow.now = "2025-02-02T10:00"  # the occurrence due on 1 February has passed
        passed = flow.json("scheduler", "tick")

    # zuid gets its reminder and its overdue notice, oost only the reminder, noord neither.
    assert (reminded["queued"], reminded["overdue"], reminded["sent"]) == (2, 0, 2), reminded
    assert (passed["overdue"], passed["sent"]) == (1, 1), passed
    assert reminder_events(flow, "noord", "peilgesprek") == []
    assert len(reminder_events(flow, "oost", "peilgesprek")) == 1
    assert len(reminder_events(flow, "zuid", "peilgesprek")) == 2
    assert notified(caplog, "re-noord@example.org") == []
    assert len(notified(caplog, "re-oost@example.org")) == 1
    assert len(notified(caplog, "re-zuid@example.org")) == 2
    assert flow.deadlines("oost", "peilgesprek")[0]["status"] == "met"

    noord = flow.deadlines("noord", "peilgesprek")
    assert [(r["due"], r["status"]) for r in noord] == [
        (FIRST_PEILGESPREK, "met"), ("2025-08-01T10:00:00+02:00", "upcoming")]
    assert flow.deadlines("zuid", "peilgesprek")[0]["status"] == "overdue"


def test_a_peilgesprek_dated_the_day_before_the_window_does_not_meet_it(
    flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    in_execution(flow, "noord")  # enters in_uitvoering on 1 August 2024, 10:00
    flow.now = "2024-08-02T10:00"
    flow.ok("record", "add", "noord", "peilgesprek", "--field", "datum=2024-07-31",
            "--field", "deelnemers=Anne")
    assert flow.deadlines("noord", "peilgesprek")[0]["status"] == "upcoming"

    with caplog.at_level(logging.INFO, logger="onderwijsflow.notify"):
        flow.now = "2025-01-20T10:00"
        reminded = flow.json("scheduler", "tick")
        flow.now = "2025-02-02T10:00"
        passed = flow.json("scheduler", "tick")

    assert (reminded["queued"], reminded["sent"]) == (1, 1), reminded
    assert (passed["overdue"], passed["sent"]) == (1, 1), passed
    assert len(reminder_events(flow, "noord", "peilgesprek")) == 2
    assert len(notified(caplog, "re-noord@example.org")) == 2
    first, second = flow.deadlines("noord", "peilgesprek")
    assert (first["due"], first["status"]) == (FIRST_PEILGESPREK, "overdue")
    assert second["status"] == "upcoming"


# --- decisions ---------------------------------------------------------------------------------------


def test_a_decision_is_kept_with_its_transition_and_history_as_of_still_works(flow: Flow) -> None:
    submitted(flow, "noord")  # on 1 August 2024
    flow.now = "2024-08-20T11:00"
    moved = flow.json("advance", "noord", "verleen", "--decided-by", "dus_i",
                      "--decision-date", "2024-08-15", "--decision-ref", "DUSI-2024-0815")
    assert (moved["from"], moved["to"], moved["ok"]) == ("ingediend", "verleend", True)
    flow.now = "2024-09-02T09:00"
    flow.ok("advance", "noord", "start")

    events = flow.json("history", "noord")["events"]
    assert [(e["trigger"], e["to"]) for e in events] == [
        ("dien_in", "ingediend"), ("verleen", "verleend"), ("start", "in_uitvoering")]
    dien_in, verleen, start = events
    assert dien_in["decision"] is None and start["decision"] is None
    decision = verleen["decision"]
    assert {"by", "date", "ref", "document"} <= set(decision)
    assert (decision["by"], decision["date"], decision["ref"], decision["document"]) == (
        "dus_i", "2024-08-15", "DUSI-2024-0815", "beschikking")
    assert verleen["at"].startswith("2024-08-20T11:00")  # recorded then, decided on the 15th
    assert verleen["kind"] == "transition"

    # The case fact that allowed the grant was written on the region's audit log.
    [fact] = [e for e in flow.events("noord") if e["kind"] == "fact_set"]
    assert fact["at"].startswith("2024-08-01")

    # The tool's state follows the recording: ingediend on the 16th, verleend on the 25th.
    assert flow.json("history", "noord", "--as-of", "2024-08-16")["state"] == {"traject": "ingediend"}
    as_of = flow.json("history", "noord", "--as-of", "2024-08-25")
    assert as_of["state"] == {"traject": "verleend"}
    assert as_of["versions"] == {"traject": 1}
    assert as_of["events"][-1]["decision"]["ref"] == "DUSI-2024-0815"
    assert flow.json("audit", "verify")["ok"] is True


def test_the_objection_period_runs_from_the_decision_date_not_from_recording(flow: Flow) -> None:
    flow.now = "2024-10-01T10:00"
    submitted(flow, "zuid")
    flow.now = "2024-11-20T10:00"  # DUS-I refused on 10 November; recorded ten days later
    refused = flow.json("advance", "zuid", "wijs_af", "--decided-by", "dus_i",
                        "--decision-date", "2024-11-10", "--decision-ref", "AFW-1")
    assert refused["to"] == "afgewezen"
    assert refused["decision"]["document"] is None  # wijs_af names no document kind

    [term] = flow.deadlines("zuid", "bezwaartermijn")
    # 10 November + 6 weeks = 22 December, end of day; not 20 November + 6 weeks (1 January).
    assert (term["due"], term["status"]) == ("2024-12-22T23:59:59+01:00", "upcoming")

    flow.now = "2024-12-22T12:00"  # within the period: only the P7D reminder
    tick = flow.json("scheduler", "tick")
    assert (tick["queued"], tick["overdue"], tick["transitions"]) == (1, 0, []), tick
    assert flow.case("zuid")["state"] == "afgewezen"

    flow.now = "2024-12-23T09:00"  # the period has passed: on_overdue fires
    tick = flow.json("scheduler", "tick")
    assert tick["overdue"] == 1 and len(tick["transitions"]) == 1, tick
    assert flow.case("zuid")["state"] == "onherroepelijk"
    last = flow.json("history", "zuid")["events"][-1]
    assert (last["trigger"], last["actor"], last["to"]) == (
        "bezwaartermijn_verstreken", "scheduler", "onherroepelijk")


def test_advance_all_records_the_decision_on_every_moved_case(flow: Flow) -> None:
    for slug in ("noord", "oost"):
        submitted(flow, slug)
    open_case(flow, "west")  # ingediend, but without a beschikking
    flow.ok("advance", "west", "dien_in", "--override", "--reason", "plan volgt")
    flow.ok("fact", "set", "west", "bedrag", "500000")
    flow.now = "2024-08-20T10:00"
    before = flow.counts("noord", "oost", "west")

    for partial in ([], ["--decided-by", "dus_i"],
                    ["--decided-by", "dus_i", "--decision-date", "2024-08-15"]):
        run = flow("advance-all", "verleen", "--workflow", "traject", *partial, "--json")
        assert run.code == 2, str(run)
        assert "--decision-ref" in run.sentence()
    assert flow.counts("noord", "oost", "west") == before

    run = flow("advance-all", "verleen", "--workflow", "traject", "--decided-by", "dus_i",
               "--decision-date", "2024-08-15", "--decision-ref", "DUSI-RONDE-2025", "--json")
    assert run.code == 3, str(run)  # west was refused
    result = run.json()
    assert sorted(m["region"] for m in result["moved"]) == ["noord", "oost"]
    [west] = result["refused"]
    assert west["region"] == "west"
    assert "besluit_beschikking" in {u["requirement"] for u in west["unmet"]}
    for slug in ("noord", "oost"):
        verleen = flow.json("history", slug)["events"][-1]
        assert verleen["trigger"] == "verleen"
        decision = verleen["decision"]
        assert (decision["by"], decision["date"], decision["ref"], decision["document"]) == (
            "dus_i", "2024-08-15", "DUSI-RONDE-2025", "beschikking")
        assert flow.case(slug)["state"] == "verleend"
    assert flow.case("west")["state"] == "ingediend"
    assert flow.json("audit", "verify")["ok"] is True


def test_a_case_fact_belongs_to_the_case_of_its_round(flow: Flow, tmp_path: Path) -> None:
    flow.config = tmp_path / "two-rounds.yaml"
    flow.config.write_text(CONFIG + '  "2026": {workflow: traject, params: {deadline: 2025-10-15}}\n',
                           encoding="utf-8")
    flow.ok("region", "create", "noord", "--name", "Noord")
    for round_ in ("2025", "2026"):
        flow.ok("start", "noord", "traject", "--round", round_)
        flow.ok("advance", "noord", "dien_in", "--round", round_, "--override", "--reason", "test")
    before = flow.counts("noord")
    run = flow("fact", "set", "noord", "bedrag", "1275000")
    assert run.code == 2, str(run)  # which case? the command must name its round
    assert "--round" in run.sentence()
    assert flow.counts("noord") == before

    flow.ok("fact", "set", "noord", "bedrag", "1275000", "--round", "2025")
    assert [e["kind"] for e in flow.events("noord")].count("fact_set") == 1

    def unmet(round_: str) -> set[str]:
        triggers = flow.json("check", "noord", "--round", round_)["triggers"]
        [verleen] = [t for t in triggers if t["trigger"] == "verleen"]
        return {u["requirement"] for u in verleen["unmet"]}

    assert "bedrag_vastgelegd" not in unmet("2025")
    assert "bedrag_vastgelegd" in unmet("2026")  # round 2026 does not see round 2025's amount


# --- bad input ---------------------------------------------------------------------------------------

FIELD = "--field"
#: (what is wrong, arguments, the exit code or None for any non-zero one, words the sentence names)
BAD_INPUT: list[tuple[str, list[str], int | None, list[str]]] = [
    ("unknown record field", ["record", "add", "noord", "peilgesprek", FIELD, "datum=2024-08-01",
                              FIELD, "locatie=Zwolle"], 2, ["locatie"]),
    ("not a date", ["record", "add", "noord", "peilgesprek", FIELD, "datum=morgen"], 2, ["morgen"]),
    ("no such day", ["record", "add", "noord", "peilgesprek", FIELD, "datum=2024-02-30"], 2,
     ["2024-02-30"]),
    ("required field missing", ["record", "add", "noord", "peilgesprek", FIELD, "deelnemers=Anne"], 2,
     ["datum"]),
    ("choice not among the choices", ["record", "add", "noord", "actie", FIELD, "thema=onderzoeken",
                                      FIELD, "omschrijving=x"], 2, ["onderzoeken"]),
    ("two values for a choice", ["record", "add", "noord", "actie", FIELD, "thema=werven",
                                 FIELD, "thema=matchen", FIELD, "omschrijving=x"], 2, ["thema"]),
    ("partner of another region", ["record", "add", "noord", "actie", FIELD, "thema=werven",
                                   FIELD, "omschrijving=x", FIELD, "eigenaar=Pabo Zuid"], 2,
     ["Pabo Zuid"]),
    ("not a boolean", ["record", "add", "noord", "actie", FIELD, "thema=werven", FIELD, "omschrijving=x",
                       FIELD, "smart=misschien"], 2, ["misschien"]),
    ("unknown record kind", ["record", "add", "noord", "verslag", FIELD, "datum=2024-08-01"], None,
     ["verslag"]),
    ("unknown region", ["record", "add", "west", "peilgesprek", FIELD, "datum=2024-08-01"], 4, ["west"]),
    ("fact not a number", ["fact", "set", "noord", "bedrag", "veel"], 2, ["veel"]),
    ("fact not a whole number", ["fact", "set", "noord", "leerlingen", "12.5"], 2, ["12.5"]),
    ("no decision options", ["advance", "noord", "verleen"], 2, ["--decided-by"]),
    ("no decision reference", ["advance", "noord", "verleen", "--decided-by", "dus_i",
                               "--decision-date", "2024-07-30"], 2, ["--decision-ref"]),
    ("body not listed for the transition", ["advance", "noord", "verleen", "--decided-by", "ocw",
                                            "--decision-date", "2024-07-30", "--decision-ref", "X"],
     None, ["ocw"]),
    ("body not declared at all", ["advance", "noord", "verleen", "--decided-by", "minister",
                                  "--decision-date", "2024-07-30", "--decision-ref", "X"],
     None, ["minister"]),
    ("decision date in the future", ["advance", "noord", "verleen", "--decided-by", "dus_i",
                                     "--decision-date", "2024-08-03", "--decision-ref", "X"],
     None, ["2024-08-03"]),
    ("decision date malformed", ["advance", "noord", "verleen", "--decided-by", "dus_i",
                                 "--decision-date", "15/07/2024", "--decision-ref", "X"], None, []),
    ("decision date out of range", ["advance", "noord", "verleen", "--decided-by", "dus_i",
                                    "--decision-date", "1850-07-30", "--decision-ref", "X"], None,
     ["1850"]),
    ("decision reference over two lines", ["advance", "noord", "verleen", "--decided-by", "dus_i",
                                           "--decision-date", "2024-07-30", "--decision-ref", "A\nB"],
     2, ["--decision-ref"]),
    ("fields file missing", ["record", "add", "noord", "peilgesprek", "--file", "geen.yaml"], 2,
     ["geen.yaml"]),
    ("field without a value", ["record", "add", "noord", "peilgesprek", FIELD, "datum"], 2,
     ["--field", "NAME=VALUE"]),
    ("text field too long", ["record", "add", "noord", "peilgesprek", FIELD, "datum=2024-08-01",
                             FIELD, "wat_werkt=" + "x" * 100_000], 2, ["wat_werkt"]),
    ("decision for a transition without one", ["advance", "zuid", "dien_in", "--decided-by", "dus_i",
                                               "--decision-date", "2024-07-30", "--decision-ref", "X"],
     None, ["dien_in"]),
]


def test_bad_input_gets_one_sentence_a_non_zero_exit_and_writes_nothing(flow: Flow) -> None:
    submitted(flow, "noord")  # verleen would be allowed with a decision
    open_case(flow, "zuid")
    plan_actions(flow, "zuid")  # dien_in would be allowed without one
    flow.now = "2024-08-02T10:00"
    before = flow.counts("noord", "zuid")
    problems = []
    for what, args, code, words in BAD_INPUT:
        run = flow(*args)
        try:
            assert run.code != 0 and (code is None or run.code == code), f"exit {run.code}"
            sentence = run.sentence()
            missing = [word for word in words if word not in sentence]
            assert not missing, f"the sentence does not name {missing}"
            assert flow.counts("noord", "zuid") == before, "something was written"
        except AssertionError as failure:
            problems.append(f"{what}: {failure}\n{run}")
            before = flow.counts("noord", "zuid")
    assert not problems, "\n\n".join(problems)
    assert (flow.case("noord")["state"], flow.case("zuid")["state"]) == ("ingediend", "voorbereiding")
    assert len(flow.json("record", "list", "noord")["records"]) == len(THEMES)


# --- migrations --------------------------------------------------------------------------------------


def three_cases(flow: Flow) -> None:
    """On DAY_ONE, under v1: a in voorbereiding, b in ingediend, c in in_uitvoering."""
    open_case(flow, "a")
    submitted(flow, "b")
    in_execution(flow, "c")


def test_a_migration_is_reported_then_applied_and_history_keeps_the_old_version(flow: Flow) -> None:
    three_cases(flow)
    flow.now = "2024-09-01T10:00"
    flow.workflows = V2
    before = flow.counts("a", "b", "c")

    report = flow.json("workflow", "migrate", "traject", "--to", "2", "--dry-run")
    assert (report["workflow"], report["to_version"], report["dry_run"]) == ("traject", 2, True)
    assert report["refused"] == []
    cases = {c["region"]: c for c in report["cases"]}
    assert sorted(cases) == ["a", "b", "c"]
    assert {c["from_version"] for c in cases.values()} == {1}
    assert [(c["from_state"], c["to_state"]) for c in cases.values()] == [
        ("voorbereiding", "voorbereiding"), ("ingediend", "aanvraag_ingediend"),
        ("in_uitvoering", "in_uitvoering")]
    assert "penvoerder_aangewezen" in {u["requirement"] for u in cases["b"]["newly_unmet"]}
    assert cases["a"]["newly_unmet"] == [] and cases["c"]["newly_unmet"] == []
    [deadline] = cases["a"]["milestones"]["moved"]
    assert (deadline["milestone"], deadline["old"], deadline["new"]) == (
        "deadline", "2024-10-15T23:59:59+02:00", "2024-10-15T16:00:00+02:00")
    [peilgesprek] = cases["c"]["milestones"]["moved"]
    assert (peilgesprek["milestone"], peilgesprek["old"], peilgesprek["new"]) == (
        "peilgesprek", FIRST_PEILGESPREK, "2024-12-01T10:00:00+01:00")  # P4M instead of P6M
    assert flow.counts("a", "b", "c") == before  # a dry run writes nothing
    assert (flow.case("b")["state"], flow.case("b")["version"]) == ("ingediend", 1)

    applied = flow.json("workflow", "migrate", "traject", "--to", "2")
    assert applied["dry_run"] is False and applied["refused"] == []
    assert sorted(c["region"] for c in applied["cases"]) == ["a", "b", "c"]
    assert {slug: (flow.case(slug)["state"], flow.case(slug)["version"]) for slug in "abc"} == {
        "a": ("voorbereiding", 2), "b": ("aanvraag_ingediend", 2), "c": ("in_uitvoering", 2)}
    [migrated] = [e for e in flow.json("history", "b")["events"] if e["kind"] == "migrated"]
    assert (migrated["from"], migrated["to"], migrated["from_version"], migrated["to_version"]) == (
        "ingediend", "aanvraag_ingediend", 1, 2)
    assert migrated["at"].startswith("2024-09-01T10:00")

    # The new version's rules and dates hold from now on.
    [verleen] = [t for t in flow.json("check", "b")["triggers"] if t["trigger"] == "verleen"]
    assert "penvoerder_aangewezen" in {u["requirement"] for u in verleen["unmet"]}
    assert flow.deadlines("a", "deadline")[0]["due"] == "2024-10-15T16:00:00+02:00"
    assert flow.deadlines("c", "peilgesprek")[0]["due"] == "2024-12-01T10:00:00+01:00"

    old = flow.json("history", "b", "--as-of", "2024-08-15")
    assert (old["state"], old["versions"]) == ({"traject": "ingediend"}, {"traject": 1})
    new = flow.json("history", "b", "--as-of", "2024-09-01")
    assert (new["state"], new["versions"]) == ({"traject": "aanvraag_ingediend"}, {"traject": 2})
    assert flow.json("audit", "verify")["ok"] is True


def test_a_migration_that_cannot_move_every_case_writes_nothing(flow: Flow, tmp_path: Path) -> None:
    open_case(flow, "a")
    submitted(flow, "b")
    unmapped = tmp_path / "v2-unmapped"
    unmapped.mkdir()
    text = (V2 / "traject.yaml").read_text(encoding="utf-8")
    mapping = "    states: {ingediend: aanvraag_ingediend}\n"
    assert mapping in text
    (unmapped / "traject.yaml").write_text(text.replace(mapping, ""), encoding="utf-8")
    flow.now = "2024-09-01T10:00"
    flow.workflows = unmapped
    before = flow.counts("a", "b")

    for args in (["--to", "3"], ["--to", "3", "--dry-run"]):
        run = flow("workflow", "migrate", "traject", *args)
        assert run.code == 4, str(run)
        assert "3" in run.sentence()
    run = flow("workflow", "migrate", "nergens", "--to", "2")
    assert run.code == 4, str(run)
    run.sentence()

    report = flow.json("workflow", "migrate", "traject", "--to", "2", "--dry-run")
    assert [c["region"] for c in report["cases"]] == ["a"]
    [refused] = report["refused"]
    assert refused["region"] == "b" and "ingediend" in refused["reason"]

    run = flow("workflow", "migrate", "traject", "--to", "2")
    assert run.code == 3, str(run)
    sentence = run.sentence()
    assert "b" in sentence and "ingediend" in sentence
    assert flow.counts("a", "b") == before
    assert (flow.case("a")["state"], flow.case("a")["version"]) == ("voorbereiding", 1)
    assert (flow.case("b")["state"], flow.case("b")["version"]) == ("ingediend", 1)
    assert flow.deadlines("a", "deadline")[0]["due"] == "2024-10-15T23:59:59+02:00"
    assert flow.json("audit", "verify")["ok"] is True
