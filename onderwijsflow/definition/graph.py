"""Draw a workflow as a diagram: Mermaid (``stateDiagram-v2``) or Graphviz DOT.

States appear with their Dutch labels, transitions with their label (or trigger); the
initial state has an arrow from the start point, final states an arrow to the end (Mermaid)
or a double circle (DOT). Both outputs are plain text, stable for a given definition.
"""

from __future__ import annotations

import re

from onderwijsflow.definition.model import WorkflowDef
from onderwijsflow.i18n import _

__all__ = ["to_dot", "to_mermaid"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MERMAID_KEYWORDS = {"state", "note", "end", "direction", "class", "classDef", "style", "click"}


def _mermaid_ids(defn: WorkflowDef) -> dict[str, str]:
    """A Mermaid-safe identifier for every state (state names may hold any character)."""
    ids: dict[str, str] = {}
    for i, name in enumerate(defn.states):
        safe = _IDENTIFIER.match(name) and name not in _MERMAID_KEYWORDS
        ids[name] = name if safe else f"state_{i}"
    taken = set(ids.values())
    for name, ident in ids.items():  # a real state may already be called state_3
        if ident != name and ident in defn.states:
            ids[name] = _fresh(ident, taken)
            taken.add(ids[name])
    return ids


def _fresh(base: str, taken: set[str]) -> str:
    """`base`, or `base_N` with the lowest N not in `taken`."""
    if base not in taken:
        return base
    n = 1
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


_MERMAID_SPECIAL = re.compile(r"[#\"';:<>{}\[\]|`\\]")


def _mermaid_text(text: str) -> str:
    """Text for a Mermaid label on one line, special characters as entity codes (``#59;``)."""
    return _MERMAID_SPECIAL.sub(lambda m: f"#{ord(m.group())};", " ".join(text.split()))


def to_mermaid(defn: WorkflowDef) -> str:
    """The workflow as a Mermaid ``stateDiagram-v2``.

    Args:
        defn: a workflow definition (as loaded, so ``source: "*"`` is spelled out).

    Returns:
        Mermaid text, one statement per line, ending with a newline.
    """
    ids = _mermaid_ids(defn)
    title = " ".join(defn.title.split())
    heading = _("{title} (version {version})").format(title=title, version=defn.version)
    lines = ["stateDiagram-v2", f"    %% {heading}"]
    lines += [f'    state "{_mermaid_text(s.label)}" as {ids[n]}' for n, s in defn.states.items()]
    if defn.initial in ids:
        lines.append(f"    [*] --> {ids[defn.initial]}")
    for t in defn.transitions:
        label = _mermaid_text(t.label or t.trigger)
        for source in t.source:
            if source in ids and t.dest in ids:
                lines.append(f"    {ids[source]} --> {ids[t.dest]} : {label}")
    lines += [f"    {ids[n]} --> [*]" for n, s in defn.states.items() if s.final]
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    """A double-quoted DOT string with backslashes, quotes and newlines escaped."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n") + '"'


def to_dot(defn: WorkflowDef) -> str:
    """The workflow as a Graphviz ``digraph`` (render with ``dot -Tsvg``).

    Args:
        defn: a workflow definition (as loaded, so ``source: "*"`` is spelled out).

    Returns:
        DOT text ending with a newline; final states are drawn as double circles.
    """
    start = _dot_string(_fresh("start", set(defn.states)))
    heading = _("{title} (version {version})").format(title=defn.title, version=defn.version)
    lines = [
        f"digraph {_dot_string(defn.workflow)} {{",
        f"    label={_dot_string(heading)};",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        f'    {start} [shape=point, label=""];',
    ]
    for name, state in defn.states.items():
        shape = ", shape=doublecircle" if state.final else ""
        lines.append(f"    {_dot_string(name)} [label={_dot_string(state.label)}{shape}];")
    if defn.initial in defn.states:
        lines.append(f"    {start} -> {_dot_string(defn.initial)};")
    for t in defn.transitions:
        label = _dot_string(t.label or t.trigger)
        for source in t.source:
            lines.append(f"    {_dot_string(source)} -> {_dot_string(t.dest)} [label={label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
