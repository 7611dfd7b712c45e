"""A workflow as an inline SVG diagram, with the case's current state marked.

No Graphviz: states are laid out in columns by their distance from the initial state
(breadth first over the transitions), in file order within a column. A step forward is a
straight arrow; a step back or within a column is a curve below the boxes. Each arrow's
tooltip names its transitions; the picture carries a title and a description, so a screen
reader hears the workflow and the current state, which the page also says in text.
"""

from __future__ import annotations

import textwrap
from collections import deque
from html import escape

from onderwijsflow.definition.model import WorkflowDef
from onderwijsflow.i18n import _

__all__ = ["workflow_svg"]

#: Geometry (SVG user units).
_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _MARGIN = 168, 58, 54, 22, 12
_CHARS = 24


def _ranks(defn: WorkflowDef) -> dict[str, int]:
    """Each state's distance from the initial state; unreachable states one column further."""
    ranks = {defn.initial: 0}
    queue = deque([defn.initial])
    while queue:
        state = queue.popleft()
        for t in defn.transitions_from(state):
            if t.dest not in ranks:
                ranks[t.dest] = ranks[state] + 1
                queue.append(t.dest)
    last = max(ranks.values(), default=0) + 1
    return {name: ranks.get(name, last) for name in defn.states}


def _e(text: str) -> str:
    return escape(text, quote=True)


def workflow_svg(defn: WorkflowDef, current: str | None, ident: str) -> str:
    """The diagram of `defn` as an ``<svg>`` element, `current` filled dark.

    Args:
        defn: the workflow (the version the case runs on).
        current: the case's state, or None.
        ident: a document-unique id prefix for the title and description.
    """
    ranks = _ranks(defn)
    columns: dict[int, list[str]] = {}
    for name in defn.states:
        columns.setdefault(ranks[name], []).append(name)
    place: dict[str, tuple[int, int]] = {}
    for rank, names in columns.items():
        for row, name in enumerate(names):
            place[name] = (_MARGIN + rank * (_BOX_W + _GAP_X), _MARGIN + row * (_BOX_H + _GAP_Y))
    rows = max((len(n) for n in columns.values()), default=1)
    width = _MARGIN * 2 + len(columns) * (_BOX_W + _GAP_X) - _GAP_X
    height = _MARGIN * 2 + rows * (_BOX_H + _GAP_Y) + 40
    title = _("Workflow {title} (version {version})").format(title=defn.title, version=defn.version)
    desc = (_("Current state: {state}.").format(state=defn.state_label(current))
            if current else "")
    parts = [
        f'<svg class="diagram" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{_e(title)}</title><desc id="{ident}-desc">{_e(desc)}</desc>',
        f'<defs><marker id="{ident}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'class="arrowhead"/></marker></defs>',
    ]
    parts += _edges(defn, place, ranks, ident)
    for name, state in defn.states.items():
        x, y = place[name]
        kind = "current" if name == current else "final" if state.final else "state"
        lines = textwrap.wrap(state.label, _CHARS)[:3] or [name]
        parts.append(f'<g class="{kind}" data-state="{_e(name)}"><title>{_e(state.label)}</title>'
                     f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="8"/>')
        top = y + _BOX_H / 2 - (len(lines) - 1) * 7 + 4
        for i, line in enumerate(lines):
            parts.append(f'<text x="{x + _BOX_W / 2}" y="{top + i * 14}" '
                         f'text-anchor="middle">{_e(line)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _edges(defn: WorkflowDef, place: dict[str, tuple[int, int]], ranks: dict[str, int],
           ident: str) -> list[str]:
    """One arrow per (source, dest) pair, its tooltip every transition it stands for."""
    labels: dict[tuple[str, str], list[str]] = {}
    for t in defn.transitions:
        for source in t.source:
            if source in place and t.dest in place and source != t.dest:
                labels.setdefault((source, t.dest), []).append(t.label or t.trigger)
    out = []
    for (source, dest), names in labels.items():
        (sx, sy), (dx, dy) = place[source], place[dest]
        if ranks[dest] > ranks[source]:
            path = (f"M{sx + _BOX_W},{sy + _BOX_H / 2} C{sx + _BOX_W + _GAP_X / 2},{sy + _BOX_H / 2} "
                    f"{dx - _GAP_X / 2},{dy + _BOX_H / 2} {dx},{dy + _BOX_H / 2}")
        else:
            drop = _BOX_H / 2 + _GAP_Y + abs(ranks[source] - ranks[dest]) * 4
            path = (f"M{sx + _BOX_W / 2},{sy + _BOX_H} C{sx + _BOX_W / 2},{sy + _BOX_H + drop} "
                    f"{dx + _BOX_W / 2},{dy + _BOX_H + drop} {dx + _BOX_W / 2},{dy + _BOX_H}")
        out.append(f'<path class="edge" d="{path}" marker-end="url(#{ident}-arrow)">'
                   f'<title>{_e("; ".join(dict.fromkeys(names)))}</title></path>')
    return out
