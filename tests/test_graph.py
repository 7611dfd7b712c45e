"""Workflow diagrams: Mermaid and Graphviz DOT, with Dutch labels and safe quoting."""

from __future__ import annotations

from onderwijsflow.definition.graph import to_dot, to_mermaid
from onderwijsflow.engine.loading import load_workflow_text

FLOW = """\
workflow: demo
version: 2
title: Demo
initial: concept
states:
  concept: {label: Plan in voorbereiding}
  ingediend: {label: 'Aanvraag "ingediend"; wacht'}
  klaar: {label: Klaar, final: true}
  gestopt: {label: 'Gestopt \\ weg', final: true}
transitions:
  - trigger: dien_in
    label: Aanvraag indienen
    source: concept
    dest: ingediend
  - trigger: rond_af
    source: ingediend
    dest: klaar
  - trigger: stop
    source: "*"
    dest: gestopt
"""


def definition():
    return load_workflow_text(FLOW, "demo.yaml").definition


def test_mermaid_states_transitions_start_and_end():
    lines = to_mermaid(definition()).splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert '    state "Plan in voorbereiding" as concept' in lines
    assert "    [*] --> concept" in lines
    assert "    concept --> ingediend : Aanvraag indienen" in lines
    assert "    ingediend --> klaar : rond_af" in lines  # no label: the trigger
    assert "    klaar --> [*]" in lines and "    gestopt --> [*]" in lines
    assert "    concept --> [*]" not in lines


def test_mermaid_expands_star_source():
    lines = to_mermaid(definition()).splitlines()
    assert "    concept --> gestopt : stop" in lines
    assert "    ingediend --> gestopt : stop" in lines
    assert "    klaar --> gestopt : stop" not in lines


def test_mermaid_escapes_labels():
    text = to_mermaid(definition())
    assert 'state "Aanvraag #34;ingediend#34;#59; wacht" as ingediend' in text
    assert "Gestopt #92; weg" in text


def test_mermaid_gives_odd_state_names_safe_ids():
    odd = FLOW.replace("concept", "in concept").replace("initial: in concept",
                                                        "initial: 'in concept'")
    odd = odd.replace("  in concept: {", "  'in concept': {").replace(
        "source: in concept", "source: 'in concept'")
    lines = to_mermaid(load_workflow_text(odd, "demo.yaml").definition).splitlines()
    assert '    state "Plan in voorbereiding" as state_0' in lines
    assert "    [*] --> state_0" in lines


def test_dot_digraph():
    text = to_dot(definition())
    assert text.startswith('digraph "demo" {\n') and text.endswith("}\n")
    assert '"concept" [label="Plan in voorbereiding"];' in text
    assert '"klaar" [label="Klaar", shape=doublecircle];' in text
    assert '"start" -> "concept";' in text
    assert '"concept" -> "ingediend" [label="Aanvraag indienen"];' in text
    assert '"ingediend" -> "gestopt" [label="stop"];' in text


def test_dot_escapes_quotes_and_backslashes():
    text = to_dot(definition())
    assert '[label="Aanvraag \\"ingediend\\"; wacht"]' in text
    assert '[label="Gestopt \\\\ weg", shape=doublecircle]' in text
