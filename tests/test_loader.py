"""The workflow loader: every rule of design §3 names file, line and the offending thing."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onderwijsflow.definition.loader import (
    LoadedWorkflow,
    load_directory,
    load_workflow_file,
    load_workflow_text,
)
from onderwijsflow.definition.model import DueDef
from onderwijsflow.engine.context import DocumentInfo, PartnerInfo, RegionContext
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
    assert not missing.passed and "0 found" in missing.detail
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
def mutated_workflows(draw) -> str:
    lines = VALID.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        mutation = draw(st.sampled_from([_delete_line, _duplicate_line, _reindent, _edit_text]))
        lines = mutation(draw, lines) if lines else [""]
    return "".join(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_workflows())
def test_any_mutation_loads_or_raises_definition_error(text):
    try:
        loaded = load(text)
    except DefinitionError as err:
        assert err.problems and all(re.match(r"^demo\.yaml:\d+: \S", p) for p in err.problems)
    else:
        assert isinstance(loaded, LoadedWorkflow)
