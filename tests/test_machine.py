"""The engine: one shared transitions machine per workflow version, decisions and readiness."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onderwijsflow.engine.context import DocumentInfo, PartnerInfo, RegionContext, RoleInfo
from onderwijsflow.engine.loading import LoadedWorkflow, load_workflow_text
from onderwijsflow.engine.machine import Decision, WorkflowMachine
from onderwijsflow.errors import NotFound
from onderwijsflow.service.catalog import Catalog
from onderwijsflow.vocabulary import ACTOR_ROLES

NOW = datetime(2024, 9, 1, 10, 0, tzinfo=UTC)

WORKFLOW = """\
workflow: pilot
version: 1
title: Pilottraject
initial: verkenning
facts:
  leraren: {type: int}
states:
  verkenning: {label: Verkenning}
  voorlopig: {label: Voorlopige pilot}
  definitief: {label: Definitieve pilot}
  geevalueerd: {label: Geëvalueerd}
  gestopt: {label: Gestopt, final: true}
requirements:
  beroepsgroep:
    label: De beroepsgroep is betrokken
    check: any
    with:
      - {check: partner, with: {kind: beroepsgroep}}
      - {check: partner, with: {kind: vakbond}}
  pva:
    label: Plan van aanpak
    check: document
    with: {kind: plan_van_aanpak}
  genoeg_leraren:
    label: Ten minste tien leraren
    check: fact
    with: {name: leraren, min: 10}
  programmamanager:
    label: Programmamanager benoemd
    check: role
    with: {role: programmamanager}
transitions:
  - trigger: word_voorlopig
    source: verkenning
    dest: voorlopig
    requires: [beroepsgroep, pva]
  - trigger: sneltraject
    source: verkenning
    dest: definitief
    requires: [beroepsgroep, pva, genoeg_leraren, programmamanager]
    by: [admin]
  - trigger: word_definitief
    source: voorlopig
    dest: definitief
    requires: [pva, genoeg_leraren, programmamanager]
    by: [coordinator]
  - {trigger: terug, source: voorlopig, dest: verkenning}
  - {trigger: evalueer, source: definitief, dest: geevalueerd}
  - {trigger: stop, source: "*", dest: gestopt, by: [admin, coordinator]}
"""


@pytest.fixture(scope="module")
def loaded() -> LoadedWorkflow:
    return load_workflow_text(WORKFLOW, "pilot.yaml")


@pytest.fixture(scope="module")
def machine(loaded: LoadedWorkflow) -> WorkflowMachine:
    return WorkflowMachine(loaded)


def ctx(**fields: Any) -> RegionContext:
    return RegionContext(slug="twente", now=NOW, **fields)


EMPTY = ctx()
FULL = ctx(
    partners=[PartnerInfo("NVS-NVL", "beroepsgroep")],
    roles=[RoleInfo("programmamanager", "Ans")],
    documents=[DocumentInfo("plan_van_aanpak", "PvA")],
    facts={"leraren": 12},
)
PARTLY = ctx(partners=[PartnerInfo("AOb", "vakbond")], facts={"leraren": 3})
VAKBOND_PVA = ctx(partners=[PartnerInfo("AOb", "vakbond")],
                  documents=[DocumentInfo("plan_van_aanpak", "PvA")])


# --- one machine per version, shared ------------------------------------------------------------


def test_machine_has_no_models_and_no_auto_transitions(machine: WorkflowMachine) -> None:
    assert machine._machine.models == []
    assert set(machine._machine.events) == machine.definition.triggers
    assert not any(name.startswith("to_") for name in machine._machine.events)


def test_two_cases_fire_independently_on_one_machine(machine: WorkflowMachine) -> None:
    first = machine.fire("verkenning", "word_voorlopig", FULL)
    second = machine.fire("verkenning", "word_voorlopig", EMPTY)
    third = machine.fire("voorlopig", "terug", EMPTY)
    assert (first.ok, first.dest) == (True, "voorlopig")
    assert (second.ok, second.code, second.dest) == (False, "unmet", "voorlopig")
    assert (third.ok, third.dest) == (True, "verkenning")
    # each decision keeps its own evidence
    assert [r.passed for r in first.results] == [True, True]
    assert [r.passed for r in second.results] == [False, False]
    assert third.results == []
    # and the shared machine never holds a case
    assert machine._machine.models == []


def test_the_catalog_builds_one_machine_per_version(tmp_path: Path) -> None:
    (tmp_path / "pilot.yaml").write_text(WORKFLOW, encoding="utf-8")
    catalog = Catalog(tmp_path)
    current = catalog.current("pilot")
    assert catalog.current("pilot") is current
    assert catalog.machine(None, "pilot", 1) is current  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="no workflow 'pilt' \\(did you mean 'pilot'\\?\\)"):
        catalog.current("pilt")


# --- decision tables -----------------------------------------------------------------------------

ALL = None  # single-user mode: every role
COORDINATOR = frozenset({"coordinator"})
ADMIN = frozenset({"admin"})
AUDITOR = frozenset({"auditor"})
OVERRIDER = frozenset({"coordinator", "override"})

ALLOWED = [
    # state, trigger, context, roles, override, dest, overridden
    ("verkenning", "word_voorlopig", FULL, ALL, False, "voorlopig", []),
    ("verkenning", "word_voorlopig", VAKBOND_PVA, AUDITOR, False, "voorlopig", []),
    ("voorlopig", "word_definitief", FULL, COORDINATOR, False, "definitief", []),
    ("voorlopig", "word_definitief", FULL, ALL, False, "definitief", []),
    ("verkenning", "sneltraject", FULL, ADMIN, False, "definitief", []),
    ("voorlopig", "terug", EMPTY, AUDITOR, False, "verkenning", []),
    ("definitief", "evalueer", EMPTY, frozenset(), False, "geevalueerd", []),
    ("verkenning", "stop", EMPTY, COORDINATOR, False, "gestopt", []),
    ("geevalueerd", "stop", EMPTY, ADMIN, False, "gestopt", []),
    # override passes unmet requirements and says which
    ("verkenning", "word_voorlopig", EMPTY, ALL, True, "voorlopig", ["beroepsgroep", "pva"]),
    ("voorlopig", "word_definitief", PARTLY, OVERRIDER, True, "definitief",
     ["pva", "genoeg_leraren", "programmamanager"]),
    ("voorlopig", "word_definitief", FULL, OVERRIDER, True, "definitief", []),
]


@pytest.mark.parametrize(
    ("state", "trigger", "context", "roles", "override", "dest", "overridden"), ALLOWED
)
def test_allowed_transitions(
    machine: WorkflowMachine, state: str, trigger: str, context: RegionContext,
    roles: frozenset[str] | None, override: bool, dest: str, overridden: list[str],
) -> None:
    decision = machine.fire(state, trigger, context, actor_roles=roles, override=override)
    assert decision.ok
    assert decision.code == "ok"
    assert decision.refusal is None
    assert (decision.source, decision.dest) == (state, dest)
    assert decision.overridden == overridden
    transition = machine.definition.transition(state, trigger)
    assert transition is not None
    assert [r.requirement for r in decision.results] == list(transition.requires)
    assert [r.requirement for r in decision.unmet] == overridden


REFUSED = [
    # state, trigger, context, roles, override, code, refusal, unmet
    ("gestopt", "terug", FULL, ALL, False, "final", "the case is in final state 'gestopt'", []),
    ("gestopt", "stop", FULL, ADMIN, True, "final", "the case is in final state 'gestopt'", []),
    ("verkenning", "word_definitief", FULL, ALL, False, "impossible",
     "'word_definitief' is not possible from state 'verkenning' "
     "(possible: word_voorlopig, sneltraject, stop)", []),
    ("definitief", "terug", FULL, ALL, False, "impossible",
     "'terug' is not possible from state 'definitief' (possible: evalueer, stop)", []),
    ("voorlopig", "word_definitief", FULL, AUDITOR, False, "not_permitted",
     "only coordinator may fire 'word_definitief'", []),
    ("verkenning", "sneltraject", FULL, COORDINATOR, False, "not_permitted",
     "only admin may fire 'sneltraject'", []),
    ("verkenning", "stop", EMPTY, frozenset(), False, "not_permitted",
     "only admin or coordinator may fire 'stop'", []),
    # override does not make an actor permitted
    ("voorlopig", "word_definitief", EMPTY, frozenset({"override"}), True, "not_permitted",
     "only coordinator may fire 'word_definitief'", []),
    ("verkenning", "word_voorlopig", EMPTY, ALL, False, "unmet",
     "requirements unmet: De beroepsgroep is betrokken: no profession group or union as partner; "
     "Plan van aanpak: the plan of action is missing", ["beroepsgroep", "pva"]),
    ("voorlopig", "word_definitief", PARTLY, COORDINATOR, False, "unmet",
     "requirements unmet: Plan van aanpak: the plan of action is missing; "
     "Ten minste tien leraren: leraren must be at least 10, is 3; "
     "Programmamanager benoemd: no programme manager appointed yet",
     ["pva", "genoeg_leraren", "programmamanager"]),
]


@pytest.mark.parametrize(
    ("state", "trigger", "context", "roles", "override", "code", "refusal", "unmet"), REFUSED
)
def test_refused_transitions(
    machine: WorkflowMachine, state: str, trigger: str, context: RegionContext,
    roles: frozenset[str] | None, override: bool, code: str, refusal: str, unmet: list[str],
) -> None:
    decision = machine.fire(state, trigger, context, actor_roles=roles, override=override)
    assert not decision.ok
    assert decision.code == code
    assert decision.refusal == refusal
    assert decision.source == state
    assert [r.requirement for r in decision.unmet] == unmet
    assert decision.overridden == []


def test_unmet_collects_every_result_without_short_circuit(machine: WorkflowMachine) -> None:
    context = ctx(documents=[DocumentInfo("plan_van_aanpak", "PvA")], facts={"leraren": 3})
    decision = machine.fire("voorlopig", "word_definitief", context)
    assert decision.code == "unmet"
    assert [(r.requirement, r.passed) for r in decision.results] == [
        ("pva", True), ("genoeg_leraren", False), ("programmamanager", False),
    ]
    assert decision.results[0].label == "Plan van aanpak"
    assert decision.results[1].detail == "leraren must be at least 10, is 3"
    assert decision.results[0].as_dict() == {
        "requirement": "pva", "label": "Plan van aanpak", "passed": True,
        "detail": "the plan of action is recorded: 'PvA'",
    }


def test_an_unknown_trigger_is_not_found(machine: WorkflowMachine) -> None:
    with pytest.raises(NotFound, match="workflow 'pilot' has no trigger 'vlieg'"):
        machine.fire("verkenning", "vlieg", FULL)


# --- readiness and paths -------------------------------------------------------------------------


def test_readiness_lists_every_trigger_from_a_state(machine: WorkflowMachine) -> None:
    ready = machine.readiness("verkenning", PARTLY)
    assert [(r.trigger, r.dest) for r in ready] == [
        ("word_voorlopig", "voorlopig"), ("sneltraject", "definitief"), ("stop", "gestopt"),
    ]
    by_trigger = {r.trigger: r for r in ready}
    assert not by_trigger["word_voorlopig"].allowed
    assert [u.requirement for u in by_trigger["word_voorlopig"].unmet] == ["pva"]
    assert [u.requirement for u in by_trigger["sneltraject"].unmet] == [
        "pva", "genoeg_leraren", "programmamanager",
    ]
    assert by_trigger["stop"].allowed and by_trigger["stop"].results == []
    assert by_trigger["word_voorlopig"].label == "word_voorlopig"  # no label: the trigger


def test_readiness_marks_triggers_the_actor_may_not_fire(machine: WorkflowMachine) -> None:
    ready = {r.trigger: r for r in machine.readiness("verkenning", FULL, COORDINATOR)}
    assert ready["word_voorlopig"].allowed and ready["word_voorlopig"].permitted
    assert not ready["sneltraject"].allowed
    assert not ready["sneltraject"].permitted
    assert ready["sneltraject"].unmet == []  # everything met, only the role is missing
    assert ready["stop"].allowed


def test_readiness_of_a_final_state_is_empty(machine: WorkflowMachine) -> None:
    assert machine.readiness("gestopt", FULL) == []


@pytest.mark.parametrize(
    ("source", "target", "triggers"),
    [
        ("verkenning", "verkenning", []),
        ("verkenning", "voorlopig", ["word_voorlopig"]),
        ("verkenning", "definitief", ["sneltraject"]),  # shortest, not the first found
        ("verkenning", "geevalueerd", ["sneltraject", "evalueer"]),
        ("voorlopig", "geevalueerd", ["word_definitief", "evalueer"]),
        ("definitief", "gestopt", ["stop"]),
        ("voorlopig", "verkenning", ["terug"]),
    ],
)
def test_path_to_is_the_shortest_path(
    machine: WorkflowMachine, source: str, target: str, triggers: list[str]
) -> None:
    path = machine.path_to(source, target)
    assert path is not None
    assert [t.trigger for t in path] == triggers
    state = source
    for t in path:
        assert state in t.source
        state = t.dest
    assert state == target


@pytest.mark.parametrize(
    ("source", "target"),
    [("definitief", "verkenning"), ("geevalueerd", "voorlopig"), ("gestopt", "verkenning")],
)
def test_path_to_an_unreachable_state_is_none(
    machine: WorkflowMachine, source: str, target: str
) -> None:
    assert machine.path_to(source, target) is None


def test_path_to_an_unknown_state_is_not_found(machine: WorkflowMachine) -> None:
    with pytest.raises(NotFound, match="workflow 'pilot' has no state 'klaar'"):
        machine.path_to("verkenning", "klaar")


# --- property: ok is exactly "permitted and every requirement passes" ---------------------------

contexts = st.builds(
    lambda partners, roles, docs, leraren: ctx(
        partners=[PartnerInfo(f"p{i}", kind) for i, kind in enumerate(partners)],
        roles=[RoleInfo(role, f"persoon {i}") for i, role in enumerate(roles)],
        documents=[DocumentInfo(kind, f"doc {i}") for i, kind in enumerate(docs)],
        facts={} if leraren is None else {"leraren": leraren},
    ),
    st.lists(st.sampled_from(["beroepsgroep", "vakbond", "schoolbestuur", "gemeente"]), max_size=3),
    st.lists(st.sampled_from(["programmamanager", "projectleider"]), max_size=2),
    st.lists(st.sampled_from(["plan_van_aanpak", "governance"]), max_size=2),
    st.none() | st.integers(min_value=0, max_value=20),
)
actor_roles = st.none() | st.frozensets(st.sampled_from(ACTOR_ROLES))


@settings(max_examples=300, deadline=None)
@given(
    state=st.sampled_from(["verkenning", "voorlopig", "definitief", "geevalueerd", "gestopt"]),
    trigger=st.sampled_from(sorted({"word_voorlopig", "sneltraject", "word_definitief", "terug",
                                    "evalueer", "stop"})),
    context=contexts,
    roles=actor_roles,
)
def test_ok_is_exactly_permitted_and_all_requirements_pass(
    loaded: LoadedWorkflow, machine: WorkflowMachine, state: str, trigger: str,
    context: RegionContext, roles: frozenset[str] | None,
) -> None:
    decision: Decision = machine.fire(state, trigger, context, actor_roles=roles)
    transition = machine.definition.transition(state, trigger)
    if machine.definition.states[state].final:
        assert (decision.ok, decision.code) == (False, "final")
        return
    if transition is None:
        assert (decision.ok, decision.code) == (False, "impossible")
        return
    permitted = roles is None or not transition.by or bool(roles & set(transition.by))
    passes = {name: loaded.requirements[name](context).passed for name in transition.requires}
    assert decision.ok == (permitted and all(passes.values()))
    if permitted:
        assert {r.requirement: r.passed for r in decision.results} == passes
        assert decision.code == ("ok" if decision.ok else "unmet")
    else:
        assert decision.code == "not_permitted"
    if decision.ok:
        assert decision.dest == transition.dest
        assert decision.overridden == []
    # readiness says the same thing without firing
    ready = {r.trigger: r for r in machine.readiness(state, context, roles)}
    assert ready[trigger].allowed == decision.ok
    assert machine._machine.models == []
