"""The library API (`Onderwijsflow`) on SQLite and PostgreSQL: every use case a coordinator has.

Each test runs twice (fixture `backend_url`): on a real SQLite file, and in a PostgreSQL schema
of its own when ``ONDERWIJSFLOW_TEST_PG`` is set.

Regions and facts, cases and rounds, workflow versions, history as of a past moment,
the audit evidence of decisions, and who may do what (design §2, §3, §5, §6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onderwijsflow.clock import Clock, iso_local
from onderwijsflow.config import load_config
from onderwijsflow.errors import ConfigError, DefinitionError, NotFound, Refused, UsageError
from onderwijsflow.service import Onderwijsflow

T0 = datetime(2024, 9, 2, 8, 0, tzinfo=UTC)

REGIO_V1 = """\
workflow: regio
version: 1
title: Regiovorming (test)
initial: verkenning
facts:
  leraren: {type: int, label: Leraren in opleiding}
  bedrag: {type: decimal}
  startdatum: {type: date}
  akkoord: {type: bool}
  fase: {type: string, choices: [verkenning, pilot]}
  naam_netwerk: {type: string}
states:
  verkenning: {label: Verkenning}
  pilot: {label: Pilot}
  gestopt: {label: Gestopt, final: true}
requirements:
  beroepsgroep:
    label: De beroepsgroep is betrokken
    check: any
    with:
      - {check: partner, with: {kind: beroepsgroep}}
      - {check: partner, with: {kind: vakbond}}
  genoeg_leraren:
    label: Ten minste tien leraren
    check: fact
    with: {name: leraren, min: 10}
transitions:
  - trigger: start_pilot
    source: verkenning
    dest: pilot
    requires: [beroepsgroep, genoeg_leraren]
  - {trigger: terug, source: pilot, dest: verkenning}
  - {trigger: stop, source: "*", dest: gestopt, by: [admin]}
"""

# v2: start_pilot also needs a plan, and a new state `definitief` after `pilot`.
REGIO_V2 = (
    REGIO_V1.replace("version: 1", "version: 2")
    .replace("  gestopt: {label: Gestopt, final: true}",
             "  definitief: {label: Definitief}\n  gestopt: {label: Gestopt, final: true}")
    .replace("requirements:\n",
             "requirements:\n  pva:\n    label: Plan van aanpak\n    check: document\n"
             "    with: {kind: plan_van_aanpak}\n")
    .replace("requires: [beroepsgroep, genoeg_leraren]",
             "requires: [beroepsgroep, genoeg_leraren, pva]")
    .replace("  - {trigger: terug, source: pilot, dest: verkenning}",
             "  - {trigger: terug, source: pilot, dest: verkenning}\n"
             "  - {trigger: word_definitief, source: pilot, dest: definitief}")
)

RONDE = """\
workflow: ronde
version: 1
title: Subsidieronde (test)
initial: voorbereiding
params:
  deadline: {type: date}
  beschikking: {type: date}
  notitie: {type: string, required: false}
states:
  voorbereiding: {label: Voorbereiding}
  ingediend: {label: Ingediend, final: true}
requirements:
  op_tijd:
    label: Voor de deadline
    check: before
    with: {milestone: deadline}
transitions:
  - {trigger: dien_in, source: voorbereiding, dest: ingediend, requires: [op_tijd]}
milestones:
  - name: deadline
    due: {param: deadline, time: "16:00"}
    active_in: [voorbereiding]
"""

CONFIG = """\
simulated_clock: true
start_with_region: [regio]
rounds:
  "2025":
    workflow: ronde
    params: {deadline: 2024-10-15, beschikking: 2025-01-31}
  "2026":
    workflow: ronde
    params: {deadline: 2025-10-15, beschikking: 2026-01-31}
  "regio-ronde":
    workflow: regio
"""

ACTORS = """
actors:
  anne: {roles: [coordinator], email: anne@example.org}
  joost: {roles: [coordinator, override]}
  piet: {roles: [auditor]}
  beheer: {roles: [admin]}
"""

Factory = Callable[..., Onderwijsflow]


@pytest.fixture
def workflows(tmp_path: Path) -> Path:
    directory = tmp_path / "workflows"
    directory.mkdir()
    (directory / "regio.yaml").write_text(REGIO_V1, encoding="utf-8")
    (directory / "ronde.yaml").write_text(RONDE, encoding="utf-8")
    return directory


@pytest.fixture
def make_app(tmp_path: Path, backend_url: str, workflows: Path) -> Iterator[Factory]:
    """Build apps on one database (`backend_url`); every app built is closed at the end."""
    apps: list[Onderwijsflow] = []

    def make(*, actor: str = "anne", clock: Clock | None = None, extra_config: str = "",
             init: bool = False) -> Onderwijsflow:
        config = tmp_path / f"config-{len(apps)}.yaml"
        config.write_text(CONFIG + extra_config, encoding="utf-8")
        app = Onderwijsflow(load_config(config), db_url=backend_url, workflows=workflows,
                            actor=actor, clock=clock or Clock(T0))
        apps.append(app)
        if init:
            app.init()
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app: Factory) -> Onderwijsflow:
    app = make_app(init=True)
    app.create_region("twente", name="Twente", provinces=["Overijssel"], sectors=["PO", "VO"],
                      coordinator="re@example.org")
    return app


def events(app: Onderwijsflow, slug: str = "twente") -> list[dict[str, Any]]:
    return app.history(slug, all_events=True)["events"]


def ready_for_pilot(app: Onderwijsflow, slug: str = "twente") -> None:
    app.add_partner(slug, "AOb", kind="vakbond")
    app.set_fact(slug, "leraren", "12")


# --- regions ----------------------------------------------------------------------------------


def test_create_region_opens_the_start_with_region_cases(make_app: Factory) -> None:
    app = make_app(init=True)
    shown = app.create_region("zuidoost-brabant", name="Zuidoost-Brabant",
                              provinces=["Noord-Brabant"], sectors=["PO", "VO", "MBO"])
    assert shown["slug"] == "zuidoost-brabant"
    assert shown["sectors"] == ["PO", "VO", "MBO"]
    assert set(shown["cases"]) == {"regio"}
    assert shown["cases"]["regio"]["state"] == "verkenning"
    assert shown["cases"]["regio"]["version"] == 1
    assert shown["cases"]["regio"]["opened"] == iso_local(T0)
    assert [e["kind"] for e in events(app, "zuidoost-brabant")] == ["region_created", "case_opened"]
    assert app.show_region("zuidoost-brabant") == shown


def test_a_duplicate_slug_is_refused_and_writes_nothing(app: Onderwijsflow) -> None:
    before = events(app)
    with pytest.raises(Refused, match="region 'twente' already exists"):
        app.create_region("twente", name="Nog een Twente")
    assert events(app) == before
    assert [r["slug"] for r in app.list_regions()] == ["twente"]


@pytest.mark.parametrize("slug", ["Twente", "twente_oost", "-twente", "twente-", "twente--oost",
                                  "", "twente oost", "tw€nte"])
def test_an_invalid_slug_is_a_usage_error(make_app: Factory, slug: str) -> None:
    app = make_app(init=True)
    with pytest.raises(UsageError, match="not a valid slug"):
        app.create_region(slug, name="X")
    assert app.list_regions() == []


def test_an_unknown_sector_is_a_usage_error(make_app: Factory) -> None:
    app = make_app(init=True)
    with pytest.raises(UsageError, match="unknown sector 'WO'"):
        app.create_region("twente", name="Twente", sectors=["WO"])


def test_an_unknown_region_is_not_found_with_a_suggestion(app: Onderwijsflow) -> None:
    with pytest.raises(NotFound, match="no region 'twenet' \\(did you mean 'twente'\\?\\)"):
        app.show_region("twenet")
    with pytest.raises(NotFound):
        app.add_partner("drenthe", "X", kind="vakbond")


def test_partners_roles_and_documents_are_recorded_with_their_events(app: Onderwijsflow) -> None:
    app.add_partner("twente", "Stichting Atlant", kind="schoolbestuur", sector="PO")
    app.assign_role("twente", "programmamanager", "Ans de Vries", email="ans@example.org")
    app.add_document("twente", "plan_van_aanpak", title="PvA Twente", ref="PVA-1")
    shown = app.show_region("twente")
    assert shown["partners"] == [{"name": "Stichting Atlant", "kind": "schoolbestuur", "sector": "PO"}]
    assert shown["roles"] == [{"role": "programmamanager", "person": "Ans de Vries",
                               "email": "ans@example.org"}]
    assert shown["documents"][0]["title"] == "PvA Twente"
    app.remove_partner("twente", "Stichting Atlant")
    app.unassign_role("twente", "programmamanager", "Ans de Vries")
    kinds = [e["kind"] for e in events(app)][2:]
    assert kinds == ["partner_added", "role_assigned", "document_added", "partner_removed",
                     "role_unassigned"]
    removed = events(app)[-2]
    assert removed["data"]["old"] == {"name": "Stichting Atlant", "kind": "schoolbestuur",
                                      "sector": "PO"}
    app.add_partner("twente", "AOb", kind="vakbond")
    with pytest.raises(Refused, match="'AOb' is already a partner of twente"):
        app.add_partner("twente", "AOb", kind="beroepsgroep")
    with pytest.raises(UsageError, match="unknown partner kind 'beroepsgroe'"):
        app.add_partner("twente", "NVS", kind="beroepsgroe")
    with pytest.raises(NotFound):
        app.remove_partner("twente", "Stichting Atlant")


# --- facts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "stored"),
    [
        ("leraren", "12", 12),
        ("leraren", " 1_000 ", 1000),
        ("bedrag", "100000,50", "100000.50"),
        ("bedrag", "99999.99", "99999.99"),
        ("startdatum", "2024-10-15", "2024-10-15"),
        ("akkoord", "ja", True),
        ("akkoord", "false", False),
        ("fase", "pilot", "pilot"),
        ("naam_netwerk", "Samen Opleiden Twente", "Samen Opleiden Twente"),
    ],
)
def test_facts_are_typed(app: Onderwijsflow, name: str, raw: str, stored: Any) -> None:
    result = app.set_fact("twente", name, raw)
    assert result == {"region": "twente", "fact": name, "old": None, "new": stored, "scope": "region"}
    assert app.show_region("twente")["facts"] == {name: stored}
    event = events(app)[-1]
    assert (event["kind"], event["data"]) == ("fact_set", {"name": name, "old": None, "new": stored})


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("leraren", "twaalf", "expected a whole number"),
        ("leraren", "12.5", "expected a whole number"),
        ("bedrag", "1.000,50", "expected a number"),
        ("bedrag", "NaN", "finite"),
        ("startdatum", "15/10/2024", "expected a date YYYY-MM-DD"),
        ("startdatum", "2024-02-30", "expected a date YYYY-MM-DD"),
        ("akkoord", "misschien", "expected true or false"),
        ("fase", "uitvoering", "must be one of verkenning, pilot"),
    ],
)
def test_a_malformed_fact_is_a_usage_error_and_changes_nothing(
    app: Onderwijsflow, name: str, raw: str, message: str
) -> None:
    before = events(app)
    with pytest.raises(UsageError, match=message):
        app.set_fact("twente", name, raw)
    assert events(app) == before
    assert app.show_region("twente")["facts"] == {}


def test_an_unknown_fact_is_not_found(app: Onderwijsflow) -> None:
    with pytest.raises(NotFound, match="no workflow declares a fact 'lerarne' \\(did you mean 'leraren'"):
        app.set_fact("twente", "lerarne", "12")


def test_a_changed_fact_keeps_the_old_value_in_its_event(app: Onderwijsflow) -> None:
    app.set_fact("twente", "bedrag", "100")
    result = app.set_fact("twente", "bedrag", "250,25")
    assert (result["old"], result["new"]) == ("100", "250.25")
    assert events(app)[-1]["data"] == {"name": "bedrag", "old": "100", "new": "250.25"}


# --- cases and rounds -------------------------------------------------------------------------


def test_start_case_with_a_round_fills_the_params_from_the_config(app: Onderwijsflow) -> None:
    case = app.start_case("twente", "ronde", round="2025")
    assert case["state"] == "voorbereiding"
    assert case["params"] == {"deadline": "2024-10-15", "beschikking": "2025-01-31"}
    assert case["round"] == "2025"
    assert set(app.show_region("twente")["cases"]) == {"regio", "ronde/2025"}
    opened = events(app)[-1]
    assert opened["kind"] == "case_opened"
    assert opened["data"]["params"] == case["params"]


def test_explicit_params_win_over_the_round(app: Onderwijsflow) -> None:
    case = app.start_case("twente", "ronde", round="2025",
                          params={"deadline": "2024-10-31", "notitie": "uitstel"})
    assert case["params"] == {"deadline": "2024-10-31", "beschikking": "2025-01-31",
                              "notitie": "uitstel"}


def test_start_case_with_params_only(app: Onderwijsflow) -> None:
    case = app.start_case("twente", "ronde",
                          params={"deadline": "2024-10-15", "beschikking": "2025-01-31"})
    assert case["round"] is None


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"params": {"deadline": "2024-10-15"}}, UsageError,
         "workflow 'ronde' needs parameter 'beschikking'"),
        ({}, UsageError, "needs parameter 'deadline'"),
        ({"round": "2025", "params": {"deadlin": "2024-10-15"}}, UsageError,
         "workflow 'ronde' has no parameter 'deadlin'"),
        ({"round": "2025", "params": {"deadline": "15 oktober"}}, UsageError,
         "parameter 'deadline': expected a date"),
        ({"round": "2099"}, NotFound, "no round '2099'"),
        ({"round": "regio-ronde"}, UsageError, "round 'regio-ronde' is for workflow 'regio'"),
    ],
)
def test_start_case_refuses_bad_params(
    app: Onderwijsflow, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    before = events(app)
    with pytest.raises(error, match=message):
        app.start_case("twente", "ronde", **kwargs)
    assert events(app) == before


def test_an_unknown_workflow_is_not_found(app: Onderwijsflow) -> None:
    with pytest.raises(NotFound, match="no workflow 'rnode' \\(did you mean 'ronde'\\?\\)"):
        app.start_case("twente", "rnode")


def test_a_duplicate_case_is_refused_but_another_round_is_a_new_case(app: Onderwijsflow) -> None:
    app.start_case("twente", "ronde", round="2025")
    with pytest.raises(Refused, match="region 'twente' already has a ronde case for round 2025"):
        app.start_case("twente", "ronde", round="2025")
    with pytest.raises(Refused, match="region 'twente' already has a regio case"):
        app.start_case("twente", "regio")
    app.start_case("twente", "ronde", round="2026")
    assert set(app.show_region("twente")["cases"]) == {"regio", "ronde/2025", "ronde/2026"}
    # with two rounds open, a command must say which one
    with pytest.raises(UsageError, match="several cases"):
        app.advance("twente", "dien_in")
    result = app.advance("twente", "dien_in", round="2026")
    assert result["to"] == "ingediend"


def test_a_milestone_param_drives_a_before_check(make_app: Factory) -> None:
    clock = Clock(T0)
    app = make_app(init=True, clock=clock)
    app.create_region("twente", name="Twente")
    app.start_case("twente", "ronde", round="2025")
    assert app.check("twente", workflow="ronde")["triggers"][0]["allowed"]
    clock.set(datetime(2024, 10, 15, 14, 0, tzinfo=UTC))  # 16:00 local: too late
    with pytest.raises(Refused) as refused:
        app.advance("twente", "dien_in", workflow="ronde")
    assert refused.value.details["result"]["unmet"] == [{
        "requirement": "op_tijd", "label": "Voor de deadline",
        "detail": "must be before milestone deadline (Tuesday 15 October 2024, 16:00)",
    }]


# --- advancing: evidence in the audit log ------------------------------------------------------


def test_a_transition_event_keeps_the_evidence_of_every_requirement(app: Onderwijsflow) -> None:
    ready_for_pilot(app)
    result = app.advance("twente", "start_pilot", reason="klaar voor de pilot")
    assert (result["from"], result["to"], result["ok"]) == ("verkenning", "pilot", True)
    event = events(app)[-1]
    assert event["kind"] == "transition"
    assert (event["from"], event["to"], event["trigger"], event["workflow"]) == (
        "verkenning", "pilot", "start_pilot", "regio")
    assert event["reason"] == "klaar voor de pilot"
    assert event["actor"] == "anne"
    assert event["data"]["evidence"] == [
        {"requirement": "beroepsgroep", "label": "De beroepsgroep is betrokken", "passed": True,
         "detail": "union as partner: AOb"},
        {"requirement": "genoeg_leraren", "label": "Ten minste tien leraren", "passed": True,
         "detail": "Leraren in opleiding must be at least 10, is 12"},
    ]
    assert event["data"]["override"] is False
    assert event["data"]["overridden"] == []
    assert app.show_region("twente")["cases"]["regio"]["state"] == "pilot"


def test_a_refused_attempt_is_recorded_with_the_unmet_evidence(app: Onderwijsflow) -> None:
    app.set_fact("twente", "leraren", "4")
    with pytest.raises(Refused) as refused:
        app.advance("twente", "start_pilot")
    assert "2 requirement(s) unmet: beroepsgroep, genoeg_leraren" in str(refused.value)
    result = refused.value.details["result"]
    assert (result["ok"], result["code"], result["to"]) == (False, "unmet", "verkenning")
    event = events(app)[-1]
    assert event["kind"] == "refused"
    assert (event["trigger"], event["from"]) == ("start_pilot", "verkenning")
    assert event["data"]["code"] == "unmet"
    assert event["data"]["evidence"] == [
        {"requirement": "beroepsgroep", "label": "De beroepsgroep is betrokken", "passed": False,
         "detail": "no profession group or union as partner"},
        {"requirement": "genoeg_leraren", "label": "Ten minste tien leraren", "passed": False,
         "detail": "Leraren in opleiding must be at least 10, is 4"},
    ]
    assert "Ten minste tien leraren" in event["data"]["refusal"]
    assert app.show_region("twente")["cases"]["regio"]["state"] == "verkenning"
    assert app.history("twente")["events"] == []  # refusals are not changes of state
    assert app.verify_audit("twente")["ok"]


@pytest.mark.parametrize(
    ("trigger", "code", "sentence"),
    [
        ("terug", "impossible", "'terug' is not possible from state 'verkenning' "
                                "(possible: start_pilot, stop)"),
        ("vlieg", None, None),
    ],
)
def test_impossible_and_unknown_triggers(
    app: Onderwijsflow, trigger: str, code: str | None, sentence: str | None
) -> None:
    if code is None:
        with pytest.raises(NotFound, match="trigger 'vlieg'"):
            app.advance("twente", trigger)
        return
    with pytest.raises(Refused, match="not possible"):
        app.advance("twente", trigger)
    event = events(app)[-1]
    assert (event["kind"], event["data"]["code"], event["data"]["refusal"]) == (
        "refused", code, sentence)


def test_a_final_state_refuses_everything(app: Onderwijsflow) -> None:
    app.advance("twente", "stop")
    with pytest.raises(Refused, match="final state 'gestopt'"):
        app.advance("twente", "stop")
    assert app.check("twente")["triggers"] == []


def test_a_dry_run_writes_nothing(app: Onderwijsflow) -> None:
    before = events(app)
    refused = app.advance("twente", "start_pilot", dry_run=True)
    assert (refused["ok"], refused["dry_run"], refused["code"]) == (False, True, "unmet")
    ready_for_pilot(app)
    before = events(app)
    moved = app.advance("twente", "start_pilot", dry_run=True)
    assert (moved["ok"], moved["to"]) == (True, "pilot")
    assert events(app) == before
    assert app.show_region("twente")["cases"]["regio"]["state"] == "verkenning"


def test_check_lists_readiness_and_the_path_to_a_target(app: Onderwijsflow) -> None:
    report = app.check("twente", target="gestopt")
    assert report["state"] == "verkenning"
    triggers = {t["trigger"]: t for t in report["triggers"]}
    assert set(triggers) == {"start_pilot", "stop"}
    assert not triggers["start_pilot"]["allowed"]
    assert [u["requirement"] for u in triggers["start_pilot"]["unmet"]] == [
        "beroepsgroep", "genoeg_leraren"]
    assert [step["trigger"] for step in report["path"]] == ["stop"]


# --- time: simulated effective time, wall-clock recording, history as of ------------------------


def test_events_carry_effective_and_wall_clock_time(app: Onderwijsflow) -> None:
    started = datetime.now(UTC)
    event = events(app)[0]
    assert event["at"] == iso_local(T0)
    recorded = datetime.fromisoformat(event["recorded_at"])
    assert event["recorded_at"] != event["at"]
    assert abs(recorded - started) < timedelta(minutes=5)


def test_history_as_of_rebuilds_past_states(make_app: Factory) -> None:
    clock = Clock(T0)
    app = make_app(init=True, clock=clock)
    app.create_region("twente", name="Twente")  # T0: verkenning
    ready_for_pilot(app)
    clock.set(T0 + timedelta(days=10))
    app.advance("twente", "start_pilot")  # T0+10d: pilot
    clock.set(T0 + timedelta(days=20))
    app.start_case("twente", "ronde", round="2025")
    clock.set(T0 + timedelta(days=30))
    app.advance("twente", "terug")  # T0+30d: verkenning
    clock.set(T0 + timedelta(days=40))
    app.advance("twente", "stop")  # T0+40d: gestopt

    def state_on(moment: datetime) -> dict[str, str]:
        return app.history("twente", as_of=moment)["state"]

    assert state_on(T0 - timedelta(seconds=1)) == {}
    assert state_on(T0) == {"regio": "verkenning"}
    assert state_on(T0 + timedelta(days=10)) == {"regio": "pilot"}
    assert state_on(T0 + timedelta(days=25)) == {"regio": "pilot", "ronde": "voorbereiding"}
    assert state_on(T0 + timedelta(days=35)) == {"regio": "verkenning",
                                                 "ronde": "voorbereiding"}
    assert state_on(T0 + timedelta(days=400)) == {"regio": "gestopt", "ronde": "voorbereiding"}
    past = app.history("twente", as_of=T0 + timedelta(days=15))
    assert [(e["from"], e["to"]) for e in past["events"]] == [("verkenning", "pilot")]
    assert past["as_of"] == iso_local(T0 + timedelta(days=15))
    everything = app.history("twente")["events"]
    assert [e["to"] for e in everything] == ["pilot", "verkenning", "gestopt"]
    assert [e["at"] for e in everything] == [
        iso_local(T0 + timedelta(days=d)) for d in (10, 30, 40)
    ]
    assert app.history("twente", workflow="ronde")["events"] == []


# --- workflow versions -----------------------------------------------------------------------


def test_a_case_stays_on_the_version_it_was_opened_with(
    make_app: Factory, workflows: Path
) -> None:
    first = make_app(init=True)
    first.create_region("twente", name="Twente")
    first.close()

    (workflows / "regio.yaml").write_text(REGIO_V2, encoding="utf-8")
    app = make_app()
    assert app.init()["workflows_stored"] == ["regio v2"]
    app.create_region("drenthe", name="Drenthe")
    assert app.show_region("twente")["cases"]["regio"]["version"] == 1
    assert app.show_region("drenthe")["cases"]["regio"]["version"] == 2
    for slug in ("twente", "drenthe"):
        ready_for_pilot(app, slug)

    # v1 (from the stored text): no plan needed; v2: a plan is needed
    assert app.advance("twente", "start_pilot")["to"] == "pilot"
    with pytest.raises(Refused) as refused:
        app.advance("drenthe", "start_pilot")
    assert [u["requirement"] for u in refused.value.details["result"]["unmet"]] == ["pva"]

    # v2's new transition does not exist for the v1 case
    assert {t["trigger"] for t in app.check("twente")["triggers"]} == {"terug", "stop"}
    with pytest.raises(NotFound, match="word_definitief"):
        app.advance("twente", "word_definitief")
    app.add_document("drenthe", "plan_van_aanpak", title="PvA")
    app.advance("drenthe", "start_pilot")
    assert app.advance("drenthe", "word_definitief")["to"] == "definitief"

    # a later process still finds v1 in the store, though the file says v2
    later = make_app()
    assert later.advance("twente", "terug")["to"] == "verkenning"
    assert later.verify_audit()["ok"]


def test_a_changed_file_without_a_version_bump_is_refused(
    make_app: Factory, workflows: Path
) -> None:
    make_app(init=True).create_region("twente", name="Twente")
    changed = REGIO_V1.replace("title: Regiovorming (test)", "title: Regiovorming (gewijzigd)")
    (workflows / "regio.yaml").write_text(changed, encoding="utf-8")

    app = make_app()
    with pytest.raises(DefinitionError) as caught:
        app.add_partner("twente", "AOb", kind="vakbond")
    message = str(caught.value)
    assert "regio.yaml" in message
    assert "version 1" in message
    assert "version: 2" in message  # says what to do
    assert app.show_region("twente")["partners"] == []  # nothing was written
    with pytest.raises(DefinitionError, match=r"regio\.yaml"):
        make_app(init=True)


# --- actors and roles -----------------------------------------------------------------------


@pytest.fixture
def team(make_app: Factory) -> Callable[[str], Onderwijsflow]:
    """Apps for the actors of the configuration on one database with region `twente`."""
    apps: dict[str, Onderwijsflow] = {}

    def as_(actor: str) -> Onderwijsflow:
        if actor not in apps:
            apps[actor] = make_app(actor=actor, extra_config=ACTORS)
        return apps[actor]

    make_app(actor="anne", extra_config=ACTORS, init=True).create_region("twente", name="Twente")
    return as_


@pytest.mark.parametrize("actor", ["onbekend", "piet"])
def test_an_unlisted_actor_or_an_auditor_cannot_write(
    team: Callable[[str], Onderwijsflow], actor: str
) -> None:
    app = team(actor)
    before = events(app)
    writes = [
        lambda: app.create_region("drenthe", name="Drenthe"),
        lambda: app.add_partner("twente", "AOb", kind="vakbond"),
        lambda: app.remove_partner("twente", "AOb"),
        lambda: app.assign_role("twente", "programmamanager", "Ans"),
        lambda: app.add_document("twente", "plan_van_aanpak", title="PvA"),
        lambda: app.set_fact("twente", "leraren", "12"),
        lambda: app.start_case("twente", "ronde", round="2025"),
    ]
    for write in writes:
        with pytest.raises(Refused, match=f"actor '{actor}'"):
            write()
    assert events(app) == before
    # an attempt to advance is refused too; it may be audited as a refused attempt
    with pytest.raises(Refused, match=f"actor '{actor}'"):
        app.advance("twente", "start_pilot", override=True, reason="poging")
    after = events(app)
    assert after[: len(before)] == before
    assert all(e["kind"] == "refused" and e["actor"] == actor for e in after[len(before):])
    assert app.show_region("twente")["cases"]["regio"]["state"] == "verkenning"
    # reading is fine, and so is a dry run
    assert app.check("twente")["state"] == "verkenning"
    assert app.advance("twente", "start_pilot", dry_run=True)["dry_run"] is True


def test_by_is_enforced_and_the_refusal_audited(team: Callable[[str], Onderwijsflow]) -> None:
    with pytest.raises(Refused, match="only admin may fire 'stop'"):
        team("anne").advance("twente", "stop")
    refused = events(team("anne"))[-1]
    assert (refused["kind"], refused["actor"], refused["data"]["code"]) == (
        "refused", "anne", "not_permitted")
    triggers = {t["trigger"]: t for t in team("anne").check("twente")["triggers"]}
    assert triggers["stop"]["permitted"] is False
    assert triggers["stop"]["allowed"] is False
    result = team("beheer").advance("twente", "stop")
    assert result["to"] == "gestopt"
    assert events(team("beheer"))[-1]["actor"] == "beheer"


def test_override_needs_the_override_role_and_a_reason(team: Callable[[str], Onderwijsflow]) -> None:
    with pytest.raises(Refused, match="actor 'anne' has no override role"):
        team("anne").advance("twente", "start_pilot", override=True, reason="minister zegt ja")
    attempts = events(team("anne"))[2:]  # an audited attempt, if anything
    assert all(e["kind"] == "refused" and e["actor"] == "anne" for e in attempts)
    before = events(team("joost"))
    for reason in (None, "", "   "):
        with pytest.raises(UsageError, match="--override needs a --reason"):
            team("joost").advance("twente", "start_pilot", override=True, reason=reason)
    assert events(team("joost")) == before  # a usage error is not an attempt
    assert team("joost").show_region("twente")["cases"]["regio"]["state"] == "verkenning"

    result = team("joost").advance("twente", "start_pilot", override=True,
                                   reason="besluit stuurgroep 3 september")
    assert (result["ok"], result["to"]) == (True, "pilot")
    assert result["overridden"] == ["beroepsgroep", "genoeg_leraren"]
    event = events(team("joost"))[-1]
    assert (event["kind"], event["actor"], event["reason"]) == (
        "transition", "joost", "besluit stuurgroep 3 september")
    assert event["data"]["override"] is True
    assert event["data"]["overridden"] == ["beroepsgroep", "genoeg_leraren"]
    assert [e["passed"] for e in event["data"]["evidence"]] == [False, False]


def test_single_user_mode_may_override_with_a_reason(app: Onderwijsflow) -> None:
    with pytest.raises(UsageError, match="reason"):
        app.advance("twente", "start_pilot", override=True)
    assert app.advance("twente", "start_pilot", override=True, reason="test")["ok"]


def test_a_round_in_the_users_config_replaces_the_shipped_round(app: Onderwijsflow) -> None:
    """The shipped config has a round "2025" for `subsidie` with other params; ours wins whole."""
    assert dict(app.config.rounds["2025"].params) == {
        "deadline": date(2024, 10, 15), "beschikking": date(2025, 1, 31)}
    assert app.config.rounds["2025"].workflow == "ronde"
    assert app.config.rounds["2025"].label is None


def test_a_simulated_moment_needs_simulated_clock_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: false\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="simulated clock"):
        Onderwijsflow.open(config=config, now="2024-10-01T09:00")
    config.write_text("simulated_clock: true\n", encoding="utf-8")
    app = Onderwijsflow.open(config=config, db=f"sqlite:///{tmp_path / 'x.db'}",
                             now="2024-10-01T09:00")
    try:
        assert app.now() == datetime(2024, 10, 1, 7, 0, tzinfo=UTC)
        assert app.clock.simulated
    finally:
        app.close()
