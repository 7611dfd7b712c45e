"""The workflow loader: every rule of design §3 names file, line and the offending thing."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onderwijsflow.definition.durations import Duration
from onderwijsflow.definition.model import DecisionDef, DueDef, MetByDef, MigrationDef
from onderwijsflow.engine.context import DocumentInfo, PartnerInfo, RegionContext
from onderwijsflow.engine.loading import (
    LoadedWorkflow,
    load_directory,
    load_workflow_file,
    load_workflow_text,
)
from onderwijsflow.errors import DefinitionError

REPO = Path(__file__).resolve().parent.parent

VALID = """\
workflow: demo
version: 1
title: Demo
initial: concept
params:
  deadline: {type: date}
facts:
  bedrag: {type: decimal}
states:
  concept: {label: Concept}
  ingediend: {label: Ingediend}
  klaar: {label: Klaar, final: true}
  gestopt: {label: Gestopt, final: true}
requirements:
  plan:
    label: Plan aanwezig
    check: document
    with: {kind: plan_van_aanpak}
  partners:
    label: Partners betrokken
    check: any
    with:
      - {check: partner, with: {kind: beroepsgroep}}
      - {requirement: plan}
transitions:
  - trigger: dien_in
    label: Indienen
    source: concept
    dest: ingediend
    requires: [plan]
    by: [coordinator]
  - trigger: rond_af
    source: ingediend
    dest: klaar
  - trigger: stop
    source: "*"
    dest: gestopt
milestones:
  - name: deadline
    due: {param: deadline, time: "16:00"}
    active_in: [concept]
    remind: [P7D]
    notify: [coordinator]
    on_overdue: {trigger: stop}
  - name: peilgesprek
    every: P6M
    active_in: [ingediend]
"""


#: A valid workflow in language 1.1 (design §3.1): every new key, and the type aliases.
VALID11 = """\
workflow: demo
version: 2
title: Demo 1.1
initial: concept
params:
  deadline: {type: date}
  ronde: {type: integer}
bodies:
  dus_i: DUS-I
  ocw: {label: OCW met de landelijke partners}
facts:
  bedrag: {type: number, scope: case}
  leerlingen: {type: integer}
  akkoord: {type: boolean, scope: region}
records:
  peilgesprek:
    label: Peilgesprek
    fields:
      datum: {type: date, required: true}
      deelnemers: {type: list, label: Aanwezigen}
      verslag: {type: text}
  actie:
    label: Actie
    description: Een actie uit het plan van aanpak
    scope: case
    fields:
      thema: {type: choice, choices: [werven, matchen, opleiden], required: true}
      omschrijving: {type: string}
      eigenaar: {type: partner}
      uren: {type: integer}
      kosten: {type: number}
      smart: {type: boolean}
      gereed: {type: date}
states:
  concept: {label: Concept}
  ingediend: {label: Ingediend}
  verleend: {label: Verleend}
  afgewezen: {label: Afgewezen}
  klaar: {label: Klaar, final: true}
requirements:
  themas:
    label: Elk thema een actie
    check: record
    with: {kind: actie, each: {thema: [werven, matchen]}}
  recent:
    label: Recent peilgesprek
    check: record
    with: {kind: peilgesprek, within: P6M, date_field: datum}
  smart:
    label: Twee SMART acties
    check: record
    with: {kind: actie, min: 2, where: {smart: true, thema: [werven, opleiden]}}
  bedrag:
    label: Bedrag vastgelegd
    check: fact
    with: {name: bedrag, set: true}
transitions:
  - trigger: dien_in
    source: concept
    dest: ingediend
    requires: [themas]
  - trigger: verleen
    source: ingediend
    dest: verleend
    requires: [bedrag]
    decision: {by: [dus_i, ocw], document: beschikking}
  - trigger: wijs_af
    source: ingediend
    dest: afgewezen
    decision: {by: dus_i}
  - trigger: rond_af
    source: verleend
    dest: klaar
    requires: [recent, smart]
  - trigger: sluit
    source: afgewezen
    dest: klaar
milestones:
  - name: deadline
    due: {param: deadline}
    active_in: [concept]
  - name: bezwaartermijn
    due: {after: P6W, from: decision}
    active_in: [afgewezen]
    on_overdue: {trigger: sluit}
  - name: peilgesprek
    every: P6M
    active_in: [verleend]
    met_by: {record: peilgesprek, date_field: datum}
migrates_from:
  - version: 1
    states: {voorbereiding: concept, beoordeling: ingediend}
"""


def load(text: str) -> LoadedWorkflow:
    return load_workflow_text(text, source="flows/demo.yaml")


def mutate(old: str, new: str, text: str = VALID) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, fragment: str, nth: int = 1) -> int:
    """The 1-based line of the `nth` line of `text` containing `fragment`."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    return found[nth - 1]


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        load(text)
    assert info.value.problems[0] in str(info.value)
    return info.value.problems


def assert_problem(text: str, line: int, *words: str) -> str:
    """Assert one problem reads ``demo.yaml:LINE: ...`` and contains every one of `words`."""
    found = problems(text)
    matching = [p for p in found if p.startswith(f"demo.yaml:{line}: ")]
    matching = [p for p in matching if all(w in p for w in words)]
    assert matching, f"no problem at line {line} with {words}: {found}"
    return matching[0]


def context(**kwargs) -> RegionContext:
    return RegionContext(slug="regio", now=datetime(2024, 9, 1, tzinfo=UTC), **kwargs)


# --- a valid workflow --------------------------------------------------------------------


def test_valid_workflow_loads():
    wf = load(VALID)
    assert (wf.name, wf.version, wf.source) == ("demo", 1, "flows/demo.yaml")
    assert wf.text == VALID
    assert wf.sha256 == hashlib.sha256(VALID.encode()).hexdigest()
    assert wf.warnings == ()
    assert wf.definition.milestones[0].due == DueDef(param="deadline", time=time(16, 0))


def test_requirements_are_compiled_and_callable():
    wf = load(VALID)
    assert set(wf.requirements) == {"plan", "partners"}
    missing = wf.requirements["plan"](context())
    assert not missing.passed and "is missing" in missing.detail
    plan = DocumentInfo(kind="plan_van_aanpak", title="PvA")
    assert wf.requirements["plan"](context(documents=[plan])).passed
    group = PartnerInfo(name="Beroepsgroep", kind="beroepsgroep")
    assert wf.requirements["partners"](context(partners=[group])).passed


def test_star_source_is_every_non_final_state():
    stop = load(VALID).definition.transition("concept", "stop")
    assert stop is not None and stop.source == ("concept", "ingediend")


def test_star_in_a_list_is_refused():
    text = mutate('source: "*"', 'source: [concept, "*"]')
    assert_problem(text, line_of(text, 'source: [concept, "*"]'), "'stop'", "'*'")


def test_unreachable_state_is_a_warning():
    text = mutate("  gestopt:", "  vergeten: {label: Vergeten}\n  gestopt:")
    wf = load(text)
    line = line_of(text, "vergeten:")
    assert wf.warnings == (f"demo.yaml:{line}: state 'vergeten' is unreachable from initial "
                           "state 'concept'",)


def test_yaml_12_booleans_and_times():
    text = mutate("  gestopt:", "  no: {label: Nee}\n  gestopt:")
    text = mutate('time: "16:00"', "time: 16:00", text)
    definition = load(text).definition
    assert "no" in definition.states
    assert definition.milestones[0].due == DueDef(param="deadline", time=time(16, 0))


def test_literal_due_date_is_a_date():
    text = mutate('due: {param: deadline, time: "16:00"}', "due: 2024-10-15")
    assert load(text).definition.milestones[0].due == date(2024, 10, 15)


def test_merge_keys_are_not_duplicates():
    text = mutate("  concept: {label: Concept}",
                  "  concept: &base {label: Concept, description: x}\n"
                  "  vervolg: {<<: *base, label: Vervolg}")
    text = mutate("    dest: klaar", "    dest: vervolg", text)
    text = mutate("  - trigger: stop", "  - trigger: klaar\n    source: vervolg\n"
                  "    dest: klaar\n  - trigger: stop", text)
    assert load(text).definition.states["vervolg"].label == "Vervolg"


# --- the rules, one by one ----------------------------------------------------------------


def test_unknown_top_level_key():
    text = mutate("title: Demo", "title: Demo\nfoo: 1")
    assert_problem(text, line_of(text, "foo:"), "unknown key 'foo'")


def test_unknown_key_in_state_suggests():
    text = mutate("  ingediend: {label: Ingediend}", "  ingediend: {labl: Ingediend}")
    message = assert_problem(text, line_of(text, "labl"), "unknown key 'labl' in state 'ingediend'")
    assert "did you mean 'label'?" in message


def test_unknown_key_in_transition():
    text = mutate("    dest: ingediend", "    dst: ingediend")
    assert_problem(text, line_of(text, "dst:"), "unknown key 'dst'", "transition 'dien_in'",
                   "did you mean 'dest'?")


def test_unknown_key_in_milestone_due():
    text = mutate('due: {param: deadline, time: "16:00"}', "due: {param: deadline, tijd: 1}")
    assert_problem(text, line_of(text, "tijd"), "unknown key 'tijd'", "milestone 'deadline'")


def test_missing_required_key():
    text = mutate("  klaar: {label: Klaar, final: true}", "  klaar: {final: true}")
    assert_problem(text, line_of(text, "klaar: {final"), "missing required key 'label'",
                   "state 'klaar'")


def test_wrong_type_names_key_and_value():
    text = mutate("version: 1", "version: een")
    assert_problem(text, 2, "'version'", "whole number", "'een'")


def test_duplicate_state():
    text = mutate("  klaar: {label: Klaar, final: true}",
                  "  klaar: {label: Klaar, final: true}\n  concept: {label: Weer}")
    assert_problem(text, line_of(text, "concept: {label: Weer}"), "duplicate state 'concept'",
                   f"first at line {line_of(text, 'concept: {label: Concept}')}")


def test_duplicate_requirement():
    text = mutate("  partners:\n", "  plan:\n    label: Nog eens\n    check: document\n"
                  "    with: {kind: governance}\n  partners:\n")
    assert_problem(text, line_of(text, "  plan:", 2), "duplicate requirement 'plan'")


def test_duplicate_key():
    text = mutate("    label: Indienen", "    label: Indienen\n    label: Opnieuw")
    assert_problem(text, line_of(text, "label: Opnieuw"), "duplicate key 'label'",
                   "transition 'dien_in'")


def test_duplicate_trigger_from_state():
    text = mutate("  - trigger: rond_af\n    source: ingediend",
                  "  - trigger: dien_in\n    source: concept")
    assert_problem(text, line_of(text, "- trigger: dien_in", 2),
                   "transition 'dien_in' from state 'concept' is declared twice",
                   f"first at line {line_of(text, '- trigger: dien_in')}")


def test_duplicate_trigger_through_star():
    text = mutate("  - trigger: rond_af", "  - trigger: stop")
    assert_problem(text, line_of(text, 'source: "*"') - 1, "'stop' from state 'ingediend'")


def test_duplicate_milestone():
    text = mutate("  - name: peilgesprek", "  - name: deadline")
    assert_problem(text, line_of(text, "- name: deadline", 2), "duplicate milestone 'deadline'")


def test_transition_to_undeclared_state():
    text = mutate("    dest: ingediend", "    dest: ingedient")
    line = line_of(text, "dest: ingedient")
    assert f"demo.yaml:{line}: transition 'dien_in' goes to undeclared state 'ingedient' " \
           "(did you mean 'ingediend'?)" in problems(text)


def test_transition_from_undeclared_state():
    text = mutate("    source: ingediend", "    source: [ingediend, concep]")
    assert_problem(text, line_of(text, "concep]"), "transition 'rond_af' comes from undeclared "
                   "state 'concep'", "did you mean 'concept'?")


def test_requires_undeclared_requirement():
    text = mutate("requires: [plan]", "requires: [pln]")
    assert_problem(text, line_of(text, "[pln]"), "transition 'dien_in'",
                   "undeclared requirement 'pln'", "did you mean 'plan'?")


def test_by_unknown_role():
    text = mutate("by: [coordinator]", "by: [coordinater]")
    assert_problem(text, line_of(text, "coordinater"), "transition 'dien_in'",
                   "unknown role 'coordinater'", "did you mean 'coordinator'?")


def test_notify_unknown_target():
    text = mutate("notify: [coordinator]", "notify: [programmamanagr]")
    assert_problem(text, line_of(text, "programmamanagr"), "milestone 'deadline'",
                   "unknown notify target 'programmamanagr'", "'programmamanager'")


def test_unknown_check():
    text = mutate("    check: document", "    check: documnet")
    assert_problem(text, line_of(text, "documnet"), "requirement 'plan'",
                   "unknown check 'documnet'", "did you mean 'document'?")


def test_check_with_bad_parameter():
    text = mutate("{kind: plan_van_aanpak}", "{kind: plan_van_aanpk}")
    assert_problem(text, line_of(text, "plan_van_aanpk"), "requirement 'plan'",
                   "plan_van_aanpk", "did you mean 'plan_van_aanpak'?")


def test_nested_check_error_points_at_its_line():
    text = mutate("{check: partner, with: {kind: beroepsgroep}}",
                  "{check: partner, with: {kind: beroepsgroup}}")
    assert_problem(text, line_of(text, "beroepsgroup"), "requirement 'partners'", "beroepsgroup")


def test_check_with_undeclared_fact():
    text = mutate("    check: document\n    with: {kind: plan_van_aanpak}",
                  "    check: fact\n    with: {name: bedrg, set: true}")
    assert_problem(text, line_of(text, "bedrg"), "requirement 'plan'", "fact 'bedrg'",
                   "did you mean 'bedrag'?")


def test_requirement_error_reported_once():
    text = mutate("    with: {kind: plan_van_aanpak}", "    with: {kind: plan_van_aanpk}")
    assert len(problems(text)) == 1  # `partners` refers to `plan`, but the fault is plan's


def test_requirement_referring_to_itself():
    text = mutate("      - {requirement: plan}", "      - {requirement: partners}")
    assert_problem(text, line_of(text, "{requirement: partners}"), "requirement 'partners'",
                   "refers to itself")


def test_malformed_duration():
    text = mutate("remind: [P7D]", "remind: [P7X]")
    assert_problem(text, line_of(text, "P7X"), "milestone 'deadline'", "'P7X'", "ISO 8601")


def test_malformed_recurrence():
    text = mutate("every: P6M", "every: zes maanden")
    assert_problem(text, line_of(text, "every:"), "milestone 'peilgesprek'", "'zes maanden'")


def test_malformed_literal_date():
    text = mutate('due: {param: deadline, time: "16:00"}', "due: 2024-13-45")
    assert_problem(text, line_of(text, "2024-13-45"), "invalid date '2024-13-45'")


def test_date_given_as_text():
    text = mutate('due: {param: deadline, time: "16:00"}', "due: 15 oktober")
    message = assert_problem(text, line_of(text, "15 oktober"), "'due'", "milestone 'deadline'",
                             "expected a date")
    assert "mapping" not in message  # only the branch of the union that fits is reported


def test_initial_not_a_state():
    text = mutate("initial: concept", "initial: concpt")
    assert_problem(text, 4, "initial state 'concpt'", "did you mean 'concept'?")


def test_final_state_with_outgoing_transition():
    text = mutate("    source: ingediend", "    source: klaar")
    assert_problem(text, line_of(text, "source: klaar"), "transition 'rond_af'",
                   "leaves final state 'klaar'")


def test_milestone_needs_due_or_every():
    text = mutate("    every: P6M\n", "")
    assert_problem(text, line_of(text, "- name: peilgesprek"), "milestone 'peilgesprek'",
                   "exactly one of due: or every:")


def test_milestone_not_both_due_and_every():
    text = mutate("    every: P6M", "    every: P6M\n    due: 2024-10-15")
    assert_problem(text, line_of(text, "- name: peilgesprek"), "exactly one of due: or every:")


def test_due_param_must_be_declared():
    text = mutate("due: {param: deadline,", "due: {param: deadlin,")
    assert_problem(text, line_of(text, "deadlin,"), "milestone 'deadline'",
                   "undeclared param 'deadlin'", "did you mean 'deadline'?")


def test_due_param_must_be_a_date():
    text = mutate("deadline: {type: date}", "deadline: {type: int}")
    assert_problem(text, line_of(text, "due:"), "param 'deadline'", "type: date")


def test_due_needs_param_or_after():
    text = mutate('due: {param: deadline, time: "16:00"}', 'due: {time: "16:00"}')
    assert_problem(text, line_of(text, "due:"), "milestone 'deadline'", "param: or after:")
    text = mutate('due: {param: deadline, time: "16:00"}', "due: {param: deadline, after: P1D}")
    assert_problem(text, line_of(text, "due:"), "milestone 'deadline'", "param: or after:")


def test_active_in_must_be_declared():
    text = mutate("active_in: [concept]", "active_in: [concpt]")
    assert_problem(text, line_of(text, "concpt"), "milestone 'deadline'",
                   "undeclared state 'concpt'")


def test_on_overdue_trigger_must_exist():
    text = mutate("on_overdue: {trigger: stop}", "on_overdue: {trigger: stp}")
    assert_problem(text, line_of(text, "stp"), "milestone 'deadline'", "unknown trigger 'stp'",
                   "did you mean 'stop'?")


def test_on_overdue_trigger_must_be_possible_from_active_in():
    text = mutate("on_overdue: {trigger: stop}", "on_overdue: {trigger: rond_af}")
    assert_problem(text, line_of(text, "on_overdue"), "milestone 'deadline'", "'rond_af'",
                   "not possible from any of its active_in states (concept)")


def test_every_needs_active_in():
    text = mutate("    active_in: [ingediend]\n", "")
    assert_problem(text, line_of(text, "every:"), "milestone 'peilgesprek'", "active_in")


def test_param_default_must_fit_its_type():
    text = mutate("deadline: {type: date}", "deadline: {type: date, default: morgen}")
    assert_problem(text, line_of(text, "morgen"), "param 'deadline'", "'morgen'")


# --- language 1.1: records, decisions, case facts, met_by, migrations (design §3.1) ------------


def mutate11(old: str, new: str) -> str:
    return mutate(old, new, VALID11)


def test_valid_11_workflow_loads():
    wf = load(VALID11)
    assert wf.warnings == ()
    definition = wf.definition
    assert list(definition.records) == ["peilgesprek", "actie"]
    assert definition.records["peilgesprek"].scope == "region"
    assert definition.records["actie"].scope == "case"
    assert definition.records["actie"].date_fields() == ["gereed"]
    assert definition.records["actie"].fields["thema"].choices == ("werven", "matchen", "opleiden")
    assert definition.body_label("dus_i") == "DUS-I"
    assert definition.body_label("ocw") == "OCW met de landelijke partners"
    assert definition.facts["bedrag"].scope == "case"
    assert definition.facts["leerlingen"].scope == "region"
    assert definition.transition("ingediend", "verleen").decision == DecisionDef(
        by=("dus_i", "ocw"), document="beschikking")
    assert definition.transition("ingediend", "wijs_af").decision == DecisionDef(by=("dus_i",))
    assert definition.transition("afgewezen", "sluit").decision is None
    assert definition.milestones[1].due == DueDef(after=Duration.parse("P6W"), from_="decision")
    assert definition.milestones[2].met_by == MetByDef(record="peilgesprek", date_field="datum")
    assert definition.migration_from(1) == MigrationDef(
        version=1, states={"voorbereiding": "concept", "beoordeling": "ingediend"})
    assert definition.migration_from(2) is None


def test_type_aliases_are_accepted_for_facts_params_and_fields():
    definition = load(VALID11).definition
    assert definition.params["ronde"].type == "int"
    facts = definition.facts
    assert (facts["bedrag"].type, facts["leerlingen"].type, facts["akkoord"].type) == (
        "decimal", "int", "bool")
    fields = definition.records["actie"].fields
    assert (fields["uren"].type, fields["kosten"].type, fields["smart"].type) == (
        "int", "decimal", "bool")


@pytest.mark.parametrize(("alias", "canonical"),
                         [("integer", "int"), ("number", "decimal"), ("boolean", "bool")])
@pytest.mark.parametrize("where", ["param", "fact", "field"])
def test_each_type_alias_is_accepted_everywhere_a_type_is_named(where, alias, canonical):
    old = {"param": "ronde: {type: integer}", "fact": "leerlingen: {type: integer}",
           "field": "uren: {type: integer}"}[where]
    definition = load(mutate11(old, old.replace("integer", alias))).definition
    found = {"param": lambda: definition.params["ronde"], "fact": lambda: definition.facts["leerlingen"],
             "field": lambda: definition.records["actie"].fields["uren"]}[where]()
    assert found.type == canonical


def test_unknown_key_in_record_field_suggests():
    text = mutate11("datum: {type: date, required: true}", "datum: {type: date, requird: true}")
    assert_problem(text, line_of(text, "requird"), "unknown key 'requird' in 'fields.datum' of "
                   "record 'peilgesprek'", "did you mean 'required'?")


def test_unknown_key_in_record_suggests():
    text = mutate11("    scope: case\n    fields:", "    scoop: case\n    fields:")
    assert_problem(text, line_of(text, "scoop:"), "unknown key 'scoop' in record 'actie'",
                   "did you mean 'scope'?")


def test_unknown_key_in_body_suggests():
    text = mutate11("ocw: {label: OCW met de landelijke partners}",
                    "ocw: {label: OCW, omschrijving: x}")
    assert_problem(text, line_of(text, "omschrijving: x"), "unknown key 'omschrijving' in body 'ocw'")


def test_unknown_key_in_decision_suggests():
    text = mutate11("decision: {by: dus_i}", "decision: {by: dus_i, documnet: beschikking}")
    assert_problem(text, line_of(text, "documnet"), "unknown key 'documnet' in 'decision' of "
                   "transition 'wijs_af'", "did you mean 'document'?")


def test_unknown_key_in_met_by_suggests():
    text = mutate11("met_by: {record: peilgesprek, date_field: datum}",
                    "met_by: {record: peilgesprek, date_feld: datum}")
    assert_problem(text, line_of(text, "date_feld"), "unknown key 'date_feld' in 'met_by' of "
                   "milestone 'peilgesprek'", "did you mean 'date_field'?")


def test_unknown_key_in_migration_suggests():
    text = mutate11("    states: {voorbereiding", "    sates: {voorbereiding")
    assert_problem(text, line_of(text, "sates:"), "unknown key 'sates'", "did you mean 'states'?")


def test_unknown_key_in_migration_names_its_version():
    """A migration is named by its version ("migration from version 5"), not by its place in
    the list: "version #2" reads as version 2."""
    text = mutate11("version: 2\ntitle", "version: 6\ntitle")
    text = mutate("  - version: 1\n    states: {voorbereiding: concept, beoordeling: ingediend}\n",
                  "  - version: 4\n    states: {a: concept}\n  - version: 5\n    sates: {b: concept}\n",
                  text)
    message = assert_problem(text, line_of(text, "sates:"), "unknown key 'sates'")
    assert "migration from version 5" in message, message


def test_choice_field_without_choices():
    text = mutate11("thema: {type: choice, choices: [werven, matchen, opleiden], required: true}",
                    "thema: {type: choice, required: true}")
    assert_problem(text, line_of(text, "thema: {type: choice"), "field 'thema' of record 'actie' "
                   "has type: choice but no choices: [...]")


def test_choices_on_a_field_that_is_not_a_choice():
    text = mutate11("verslag: {type: text}", "verslag: {type: text, choices: [kort, lang]}")
    assert_problem(text, line_of(text, "verslag: {type: text"), "field 'verslag' of record "
                   "'peilgesprek' has choices but type: text; use type: choice")


def test_record_without_fields():
    text = mutate11("    fields:\n      datum: {type: date, required: true}\n"
                    "      deelnemers: {type: list, label: Aanwezigen}\n      verslag: {type: text}\n",
                    "    fields: {}\n")
    assert_problem(text, line_of(text, "fields: {}"), "record 'peilgesprek' declares no fields")


def test_record_needs_a_label_and_fields():
    text = mutate11("    label: Actie\n", "")
    assert_problem(text, line_of(text, "  actie:"), "missing required key 'label' in record 'actie'")


def test_unknown_field_type():
    text = mutate11("verslag: {type: text}", "verslag: {type: tekst}")
    assert_problem(text, line_of(text, "tekst"), "'fields.verslag.type' in record 'peilgesprek'",
                   "'tekst'", "'text'", "'choice'", "'partner'")


@pytest.mark.parametrize(("old", "new", "entity"), [
    ("leerlingen: {type: integer}", "leerlingen: {type: integr}", "fact 'leerlingen'"),
    ("ronde: {type: integer}", "ronde: {type: list}", "param 'ronde'"),
])
def test_unknown_fact_or_param_type(old, new, entity):
    text = mutate11(old, new)
    assert_problem(text, line_of(text, new), f"invalid value for 'type' in {entity}", "'int'")


def test_unknown_scope():
    text = mutate11("bedrag: {type: number, scope: case}", "bedrag: {type: number, scope: ronde}")
    assert_problem(text, line_of(text, "scope: ronde"), "'scope' in fact 'bedrag'", "'region'",
                   "'case'", "'ronde'")


def test_decision_by_undeclared_body_suggests_a_close_one():
    text = mutate11("decision: {by: dus_i}", "decision: {by: dus-i}")
    assert f"demo.yaml:{line_of(text, 'dus-i')}: transition 'wijs_af' is decided by undeclared " \
           "body 'dus-i' (did you mean 'dus_i'?)" in problems(text)


def test_decision_by_undeclared_body_says_where_to_declare_it():
    text = mutate11("by: [dus_i, ocw]", "by: [dus_i, bo]")
    assert f"demo.yaml:{line_of(text, 'bo]')}: transition 'verleen' is decided by undeclared " \
           "body 'bo' (declare it under bodies:)" in problems(text)


def test_decision_by_no_body_is_refused():
    """`by: []` names no body that may take the decision, so the transition could never fire
    (every --decided-by is refused): a workflow that loads must not fail at runtime."""
    text = mutate11("decision: {by: dus_i}", "decision: {by: []}")
    assert_problem(text, line_of(text, "decision: {by: []}"), "transition 'wijs_af'")


def test_decision_needs_by():
    text = mutate11("decision: {by: dus_i}", "decision: {document: beschikking}")
    assert_problem(text, line_of(text, "decision: {document"), "missing required key 'by' in "
                   "'decision' of transition 'wijs_af'")


def test_decision_document_kind_unknown():
    text = mutate11("document: beschikking}", "document: beschiking}")
    assert_problem(text, line_of(text, "beschiking"), "transition 'verleen': unknown document kind "
                   "'beschiking' (did you mean 'beschikking'?)")


def test_decision_document_kind_unknown_is_reported_once_at_the_decision():
    """Like any faulty requirement, once: not a second time for the requirement the loader
    derived from it (`besluit_beschiking`, which the file does not contain), at the line of
    `requirements:`."""
    text = mutate11("document: beschikking}", "document: beschiking}")
    found = problems(text)
    assert len(found) == 1, found
    assert found[0].startswith(f"demo.yaml:{line_of(text, 'beschiking')}: ")


def test_decision_document_adds_the_besluit_requirement():
    wf = load(VALID11)
    definition = wf.definition
    assert definition.transition("ingediend", "verleen").requires == ("bedrag", "besluit_beschikking")
    assert definition.transition("ingediend", "wijs_af").requires == ()  # no document, none added
    added = definition.requirements["besluit_beschikking"]
    assert (added.label, added.check, added.with_) == (
        "Het besluit is vastgelegd als document (beschikking)", "document", {"kind": "beschikking"})
    assert "besluit_beschikking" in wf.requirements
    missing = wf.requirements["besluit_beschikking"](context())
    assert (missing.passed, missing.detail) == (False, "the grant decision is missing")
    beschikking = DocumentInfo(kind="beschikking", title="Beschikking DUS-I")
    assert wf.requirements["besluit_beschikking"](context(documents=[beschikking])).passed


def test_the_besluit_requirement_is_not_added_twice_and_a_declared_one_wins():
    text = mutate11("requires: [bedrag]", "requires: [besluit_beschikking, bedrag]")
    assert load(text).definition.transition("ingediend", "verleen").requires == (
        "besluit_beschikking", "bedrag")
    text = mutate11("  bedrag:\n    label: Bedrag vastgelegd\n",
                    "  besluit_beschikking:\n    label: Twee beschikkingen\n    check: document\n"
                    "    with: {kind: beschikking, min: 2}\n"
                    "  bedrag:\n    label: Bedrag vastgelegd\n")
    wf = load(text)
    assert wf.definition.requirements["besluit_beschikking"].label == "Twee beschikkingen"
    one = DocumentInfo(kind="beschikking", title="Beschikking")
    assert not wf.requirements["besluit_beschikking"](context(documents=[one])).passed


def test_on_overdue_may_not_fire_a_decision():
    text = mutate11("on_overdue: {trigger: sluit}",
                    "on_overdue: {trigger: sluit}\n  - name: beslistermijn\n    due: {after: P8W}\n"
                    "    active_in: [ingediend]\n    on_overdue: {trigger: wijs_af}")
    assert_problem(text, line_of(text, "{trigger: wijs_af}"), "milestone 'beslistermijn' on_overdue "
                   "fires 'wijs_af', which records a decision; the scheduler cannot take decisions")


def test_from_decision_needs_a_move_into_active_in_that_records_one():
    text = mutate11("    decision: {by: dus_i}\n", "")
    assert_problem(text, line_of(text, "from: decision"), "milestone 'bezwaartermijn' counts from a "
                   "decision, but no move into its active_in states (afgewezen) records one "
                   "(decision:)")


def test_from_decision_with_only_the_initial_state_in_active_in():
    text = mutate11("    active_in: [afgewezen]\n    on_overdue: {trigger: sluit}\n",
                    "    active_in: [concept]\n")
    assert_problem(text, line_of(text, "from: decision"), "milestone 'bezwaartermijn' counts from a "
                   "decision, but no move into its active_in states (concept) records one "
                   "(decision:)")


def test_from_decision_a_move_without_a_decision_keeps_the_last_one():
    """One move into active_in that records a decision is enough: a move without one (or
    opening the case there) keeps the date of the case's last decision."""
    text = mutate11("  - trigger: sluit\n", "  - trigger: heroverweeg\n    source: verleend\n"
                    "    dest: afgewezen\n  - trigger: sluit\n")
    assert load(text).warnings == ()
    text = mutate11("active_in: [afgewezen]", "active_in: [afgewezen, concept]")
    assert load(text).warnings == ()


def test_from_decision_needs_after():
    text = mutate11("due: {after: P6W, from: decision}", "due: {param: deadline, from: decision}")
    assert_problem(text, line_of(text, "from: decision"), "milestone 'bezwaartermijn': from: "
                   "decision counts a duration (after:) from the decision date")


def test_from_must_be_entered_or_decision():
    text = mutate11("due: {after: P6W, from: decision}", "due: {after: P6W, from: besluit}")
    assert_problem(text, line_of(text, "from: besluit"), "milestone 'bezwaartermijn'", "'besluit'",
                   "'decision'")


def test_met_by_undeclared_record_kind():
    text = mutate11("met_by: {record: peilgesprek, date_field: datum}", "met_by: {record: peilgesprk}")
    assert_problem(text, line_of(text, "peilgesprk"), "milestone 'peilgesprek' is met by undeclared "
                   "record kind 'peilgesprk' (did you mean 'peilgesprek'?)")


@pytest.mark.parametrize("field", ["verslag", "onbekend"])
def test_met_by_date_field_must_be_a_date_field(field):
    text = mutate11("met_by: {record: peilgesprek, date_field: datum}",
                    f"met_by: {{record: peilgesprek, date_field: {field}}}")
    assert_problem(text, line_of(text, "met_by:"), f"milestone 'peilgesprek': record 'peilgesprek' "
                   f"has no date field '{field}'")


def test_met_by_date_field_suggests_a_date_field():
    text = mutate11("met_by: {record: peilgesprek, date_field: datum}",
                    "met_by: {record: peilgesprek, date_field: datun}")
    assert_problem(text, line_of(text, "datun"), "has no date field 'datun' (did you mean 'datum'?)")


def test_record_check_unknown_kind():
    text = mutate11("with: {kind: peilgesprek, within", "with: {kind: peilgesprk, within")
    assert_problem(text, line_of(text, "peilgesprk"), "requirement 'recent': record kind 'peilgesprk' "
                   "is not declared under records: (did you mean 'peilgesprek'?)")


def test_record_check_unknown_each_field():
    text = mutate11("each: {thema: [werven, matchen]}", "each: {tema: [werven, matchen]}")
    assert_problem(text, line_of(text, "tema:"), "requirement 'themas': record kind 'actie' has no "
                   "field 'tema' (did you mean 'thema'?)")


def test_record_check_unknown_where_field():
    text = mutate11("where: {smart: true,", "where: {smrt: true,")
    assert_problem(text, line_of(text, "smrt"), "requirement 'smart': record kind 'actie' has no "
                   "field 'smrt' (did you mean 'smart'?)")


def test_record_check_value_not_among_the_choices():
    text = mutate11("each: {thema: [werven, matchen]}", "each: {thema: [werven, matchn]}")
    assert_problem(text, line_of(text, "matchn"), "requirement 'themas': check 'record' 'each': "
                   "field 'thema': 'matchn' is not one of werven, matchen, opleiden "
                   "(did you mean 'matchen'?)")
    text = mutate11("thema: [werven, opleiden]}", "thema: [werven, begeleiden]}")
    assert_problem(text, line_of(text, "begeleiden"), "requirement 'smart': check 'record' 'where': "
                   "field 'thema': 'begeleiden' is not one of werven, matchen, opleiden")


def test_record_check_value_of_the_wrong_type():
    text = mutate11("where: {smart: true,", "where: {smart: misschien,")
    assert_problem(text, line_of(text, "misschien"), "requirement 'smart'", "field 'smart'",
                   "expected true or false", "'misschien'")


def test_record_check_date_field_must_be_a_date_field():
    text = mutate11("within: P6M, date_field: datum}", "within: P6M, date_field: verslag}")
    assert_problem(text, line_of(text, "date_field: verslag"), "requirement 'recent': record kind "
                   "'peilgesprek' has no date field 'verslag'")


def test_record_check_date_field_needs_within():
    text = mutate11("within: P6M, date_field: datum}", "date_field: datum}")
    assert_problem(text, line_of(text, "{kind: peilgesprek"), "requirement 'recent': check 'record': "
                   "date_field is only used with within")


def test_record_check_each_takes_one_field():
    text = mutate11("each: {thema: [werven, matchen]}", "each: {thema: [werven], smart: true}")
    assert_problem(text, line_of(text, "each:"), "requirement 'themas': check 'record': each takes "
                   "exactly one field with its values")


def test_migration_version_must_be_older():
    for version in (2, 3):
        text = mutate11("  - version: 1\n", f"  - version: {version}\n")
        assert_problem(text, line_of(text, f"- version: {version}"), f"migrates_from version "
                       f"{version} is not older than this version (2)")


def test_migration_version_declared_twice():
    text = mutate11("    states: {voorbereiding: concept, beoordeling: ingediend}\n",
                    "    states: {voorbereiding: concept}\n  - version: 1\n    states: {}\n")
    assert_problem(text, line_of(text, "- version: 1", 2), "migrates_from version 1 is declared "
                   f"twice (first at line {line_of(text, '- version: 1')})")


def test_migration_to_an_undeclared_state():
    text = mutate11("beoordeling: ingediend}", "beoordeling: ingedient}")
    assert_problem(text, line_of(text, "ingedient"), "migrates_from version 1 maps state "
                   "'beoordeling' to undeclared state 'ingedient' (did you mean 'ingediend'?)")


# --- malformed files ------------------------------------------------------------------------


def test_yaml_syntax_error_has_its_line():
    text = mutate("title: Demo", "title: [Demo")
    assert_problem(text, 4, "invalid YAML")


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n", "42\n"])
def test_top_level_must_be_a_mapping(text):
    assert_problem(text, 1, "workflow:")


def test_all_problems_are_collected():
    text = mutate("    dest: ingediend", "    dest: ingedient")
    text = mutate("by: [coordinator]", "by: [coordinater]", text)
    text = mutate("initial: concept", "initial: concpt", text)
    with pytest.raises(DefinitionError) as info:
        load(text)
    error = info.value
    assert len(error.problems) == 3
    assert str(error).startswith(error.problems[0]) and "2 more" in str(error)
    assert error.problems[0].startswith("demo.yaml:4: ")  # in the order of the file


def test_load_file_names_its_base_name(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(mutate("dest: ingediend", "dest: ingedient"), encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"^demo\.yaml:\d+: transition 'dien_in'"):
        load_workflow_file(path)


def test_load_file_not_utf8_or_missing(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(VALID.replace("Demo", "D\xe9mo").encode("latin-1"))
    with pytest.raises(DefinitionError, match=r"latin\.yaml:3: .*UTF-8"):
        load_workflow_file(path)
    with pytest.raises(DefinitionError, match=r"missing\.yaml"):
        load_workflow_file(tmp_path / "missing.yaml")


# --- directories ----------------------------------------------------------------------------


OTHER = """\
workflow: ander
version: 1
title: Ander
initial: open
states:
  open: {label: Open}
requirements:
  demo_klaar:
    label: Demo is klaar
    check: case
    with: {workflow: demo, state: [klaar]}
"""


def test_load_directory(tmp_path):
    (tmp_path / "demo.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "ander.yml").write_text(OTHER, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a workflow", encoding="utf-8")
    loaded = load_directory(tmp_path)
    assert list(loaded) == ["ander", "demo"]
    assert loaded["ander"].source.endswith("ander.yml")


def test_directory_refuses_two_files_with_one_slug(tmp_path):
    (tmp_path / "a.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(VALID, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_directory(tmp_path)
    assert info.value.problems == ["b.yaml:1: workflow 'demo' is already defined in a.yaml"]


def test_directory_checks_states_of_case_checks(tmp_path):
    (tmp_path / "demo.yaml").write_text(VALID, encoding="utf-8")
    other = OTHER.replace("state: [klaar]", "state: [kalr]")
    (tmp_path / "ander.yaml").write_text(other, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_directory(tmp_path)
    (problem,) = info.value.problems
    assert problem.startswith(f"ander.yaml:{line_of(other, 'kalr')}: requirement 'demo_klaar'")
    assert "state 'kalr' of workflow 'demo'" in problem and "did you mean 'klaar'?" in problem


def test_directory_collects_problems_of_all_files(tmp_path):
    (tmp_path / "a.yaml").write_text(mutate("initial: concept", "initial: x"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(OTHER.replace("title: Ander", "titel: Ander"), "utf-8")
    with pytest.raises(DefinitionError) as info:
        load_directory(tmp_path)
    assert [p.split(":")[0] for p in info.value.problems] == ["a.yaml", "b.yaml", "b.yaml"]


def test_directory_must_exist(tmp_path):
    with pytest.raises(DefinitionError, match="not a directory"):
        load_directory(tmp_path / "nowhere")


def test_shipped_workflows_load():
    loaded = load_directory(REPO / "workflows")
    assert loaded and all(wf.warnings == () for wf in loaded.values())


# --- robustness -----------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9_*.:\-\"\[\]{}]+")


def _delete_line(draw, lines: list[str]) -> list[str]:
    i = draw(st.integers(0, len(lines) - 1))
    return lines[:i] + lines[i + 1:]


def _duplicate_line(draw, lines: list[str]) -> list[str]:
    i = draw(st.integers(0, len(lines) - 1))
    return lines[: i + 1] + lines[i:]


def _reindent(draw, lines: list[str]) -> list[str]:
    i = draw(st.integers(0, len(lines) - 1))
    return [*lines[:i], " " * draw(st.integers(0, 8)) + lines[i].lstrip(" "), *lines[i + 1:]]


def _edit_text(draw, lines: list[str]) -> list[str]:
    text = "".join(lines)
    pos = draw(st.integers(0, len(text)))
    kind = draw(st.sampled_from(["char", "truncate", "token"]))
    if kind == "char":
        text = text[:pos] + draw(st.characters()) + text[pos + 1:]
    elif kind == "truncate":
        text = text[:pos]
    else:
        tokens = list(_TOKEN.finditer(text))
        token = tokens[draw(st.integers(0, len(tokens) - 1))] if tokens else None
        if token:
            text = text[: token.start()] + draw(st.text(max_size=12)) + text[token.end():]
    return text.splitlines(keepends=True) or [""]


@st.composite
def mutated_workflows(draw, base: str = VALID) -> str:
    lines = base.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        mutation = draw(st.sampled_from([_delete_line, _duplicate_line, _reindent, _edit_text]))
        lines = mutation(draw, lines) if lines else [""]
    return "".join(lines)


@pytest.mark.parametrize("base", [VALID, VALID11], ids=["language-1", "language-1.1"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mutation_loads_or_raises_definition_error(base, data):
    text = data.draw(mutated_workflows(base), label="text")
    try:
        loaded = load(text)
    except DefinitionError as err:
        assert err.problems and all(re.match(r"^demo\.yaml:\d+: \S", p) for p in err.problems)
    else:
        assert isinstance(loaded, LoadedWorkflow)
