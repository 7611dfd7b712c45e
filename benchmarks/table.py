"""The one table of a run: each figure beside its floor, its peer, its §7 target and a verdict.

A *floor* is the same kind of work done by the bare layer underneath (the interpreter,
`transitions`, `sqlite3`, `psycopg`); a *peer* is the same workload done by another library
(django-fsm-2, python-statemachine). Both are measured in the same run on the same machine,
so a ratio means something on a shared, noisy machine where an absolute figure does not.
Every ratio is ``project value / reference value`` in the figure's own unit: for a time (ms)
lower is better, for a rate (/s) higher is better.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: What a peer row shows when the optional peers are not installed.
PEER_MISSING = "peer not installed (pip install .[bench])"

Unit = Literal["ms", "MB", "n", "/s"]


@dataclass
class Ref:
    """A floor or a peer: a label and its value, or why there is none (``missing``)."""

    label: str
    value: float | None
    missing: str = ""


@dataclass
class Target:
    """One §7 target: ``on`` the figure's value, its ratio to the first floor or to the first
    peer; ``most`` (at most) or ``least`` (at least) ``bound``."""

    on: Literal["value", "floor", "peer"]
    bound: float
    most: bool = True

    def text(self, unit: str) -> str:
        sign = "≤" if self.most else "≥"
        if self.on == "value":
            return f"{sign} {fmt(self.bound, unit)}"
        return f"{sign} {self.bound:g}× {self.on}"

    def met(self, figure: Figure) -> bool | None:
        """True or False, or None when the reference it needs was not measured."""
        if self.on == "value":
            x: float | None = figure.value
        else:
            x = ratio(figure.value, figure.first(self.on))
        if x is None:
            return None
        return x <= self.bound if self.most else x >= self.bound


@dataclass
class Figure:
    """One row of the table: a measurement, its floors, its peers and its targets."""

    name: str
    value: float
    unit: Unit  # "ms", "MB", "n" (a count) or "/s" (a rate)
    targets: list[Target] = field(default_factory=list)
    floors: list[Ref] = field(default_factory=list)
    peers: list[Ref] = field(default_factory=list)
    note: str = ""
    info: str = "(info)"  # the target cell of a figure without a target

    def first(self, kind: str) -> float | None:
        refs = self.floors if kind == "floor" else self.peers
        return refs[0].value if refs else None

    def target_text(self) -> str:
        return " and ".join(t.text(self.unit) for t in self.targets) if self.targets else self.info

    def verdict(self) -> str:
        if not self.targets:
            return "-"
        results = [t.met(self) for t in self.targets]
        if False in results:
            return "misses"
        return "meets" if None not in results else "n/a"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        if value < 1:
            return f"{value:.3f} ms"
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "n":
        return f"{value:,.0f}"
    return f"{value:,.0f}/s"


def ratio(value: float, reference: float | None) -> float | None:
    if reference is None or reference <= 0:
        return None
    return value / reference


def fmt_ratio(value: float, reference: float | None) -> str:
    r = ratio(value, reference)
    if r is None:
        return "-"
    return f"{r:,.2f}×" if r < 10 else f"{r:,.1f}×" if r < 100 else f"{r:,.0f}×"


HEAD = ("figure", "project", "floor", "÷ floor", "peer", "÷ peer", "target (§7)", "verdict")


def rows_of(figure: Figure) -> list[tuple[str, ...]]:
    """The figure's row, then one row naming each floor and peer (values for all but the first)."""
    f = figure
    floor, peer = (f.floors[0] if f.floors else None), (f.peers[0] if f.peers else None)
    rows: list[tuple[str, ...]] = [(f.name, fmt(f.value, f.unit),
             fmt(floor.value, f.unit) if floor else "-",
             fmt_ratio(f.value, floor.value) if floor else "-",
             fmt(peer.value, f.unit) if peer else "-",
             fmt_ratio(f.value, peer.value) if peer else "-",
             f.target_text(), f.verdict())]
    for i, ref in enumerate(f.floors):
        label = f"{'  floor' if i == 0 else '  also floor'}: {ref.label}"
        if ref.value is None:
            label += f": {ref.missing or 'not measured'}"
        cells = ("", "") if i == 0 or ref.value is None else (fmt(ref.value, f.unit),
                                                               fmt_ratio(f.value, ref.value))
        rows.append((label, "", *cells, "", "", "", ""))
    for i, ref in enumerate(f.peers):
        label = f"{'  peer' if i == 0 else '  also peer'}: {ref.label}"
        if ref.value is None:
            label += f": {ref.missing or 'not measured'}"
        cells = ("", "") if i == 0 or ref.value is None else (fmt(ref.value, f.unit),
                                                               fmt_ratio(f.value, ref.value))
        rows.append((label, "", "", "", *cells, "", ""))
    return rows


def print_table(sections: list[tuple[str, list[Figure]]]) -> None:
    rows: list[tuple[str, ...]] = []
    for title, figures in sections:
        rows.append((f"[{title}]",))
        for f in figures:
            rows += rows_of(f)
    measured = [r for r in rows if len(r) > 1]
    # Long reference labels may run past the columns; they must not widen the first column.
    widths = [max(len(r[i]) for r in [HEAD, *measured] if not (i == 0 and r[0].startswith("  ")))
              for i in range(len(HEAD))]
    right = {1, 2, 3, 4, 5}

    def show(r: tuple[str, ...]) -> str:
        if r[0].startswith("  ") and not any(r[1:]):
            return r[0]
        if len(r[0]) > widths[0]:  # a long reference label: on a line of its own
            return r[0] + "\n" + show(("", *r[1:]))
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        return "  ".join(cells).rstrip()

    print(show(HEAD))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(r[0] if len(r) == 1 else show(r))
    notes = [(title.split(" ")[0], f.name, f.note) for title, figures in sections for f in figures
             if f.note]
    if notes:
        print()
        for number, name, note in notes:
            print(f"* {number} {name.strip()}: {note}")


def verdicts(sections: list[tuple[str, list[Figure]]]) -> str:
    """One line: how many §7 figures meet, miss, or could not be judged (a peer missing)."""
    counts: dict[str, int] = {}
    for _, figures in sections:
        for f in figures:
            if f.targets:
                counts[f.verdict()] = counts.get(f.verdict(), 0) + 1
    return ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no §7 figure measured"
