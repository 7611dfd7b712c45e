"""Every region's snapshot for bulk pass/fail work, its shareable parts read as keys.

The national report evaluates every region's next steps, and only pass or fail counts. A
built-in check declares what decides that (:func:`onderwijsflow.engine.checks.check_reads`):
for partners their kinds and sectors, for roles who holds which role, for documents their
kinds (and dates). Read *narrow*, with only those columns (names, titles and e-mail
addresses left empty, people numbered in order of first appearance), a region's partners,
roles and documents are each a small tuple of rows that most regions share: its key. Each
distinct key becomes its snapshot part once, and the regions that have it share that part,
read only. Facts, records, the network and the cases are read whole, as for one region.

Narrow parts are only right for checks that declare what they read; when a plug-in check
does not, the caller reads *whole*: every column, each region its own rows (and key).
Either way one select per kind of row; whole, the selects of :func:`rows.read_snapshots`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from onderwijsflow.engine.context import DocumentInfo, PartnerInfo, RoleInfo
from onderwijsflow.snapshot.network import read_network
from onderwijsflow.snapshot.rows import (
    CASE_FACTS,
    PARTS,
    CaseRef,
    CaseRow,
    Snapshots,
    day_of,
    facts_of,
    utc,
)
from onderwijsflow.snapshot.sql import Run, select_in

__all__ = ["DATED_DOCUMENTS", "NARROW", "REGION_INPUTS", "Keyed", "read_keyed"]

@dataclass(frozen=True)
class _Narrow:
    """How a part is read narrow: its select (the region id, then only what declared checks
    read) and how a row without its region id becomes the part's item."""

    select: str
    make: Callable[..., Any]
    people: bool = False  # roles: number the people in order of first appearance


#: Per part read by key, how it is read narrow.
NARROW = {
    "partners": _Narrow("SELECT region_id, kind, sector FROM partners",
                        lambda kind, sector: PartnerInfo("", kind, sector)),
    "roles": _Narrow("SELECT region_id, role, person FROM role_assignments", RoleInfo, people=True),
    "documents": _Narrow("SELECT region_id, kind FROM documents", lambda kind: DocumentInfo(kind, "")),
}
#: Documents with their dates, narrow, for when a check reads them (``documents``): the
#: moments they were added make most regions' keys their own.
DATED_DOCUMENTS = _Narrow(
    "SELECT region_id, kind, date, added_at FROM documents",
    lambda kind, day, added: DocumentInfo(kind, "", None, day_of(day), utc(added)))

#: A row without its region id (the first column), as a tuple.
_rest = itemgetter(slice(1, None))


def _part_of(name: str) -> Callable[[Keyed, int], Hashable]:
    """The key of a region's part `name`: the identity of its (shared) list."""
    return lambda keyed, region_id: id(getattr(keyed.snapshots, name).get(region_id))


def _region_inputs() -> dict[str, Callable[[Keyed, int], Hashable]]:
    return {
        **{name: _part_of(name) for name in ("partners", "roles", "documents")},
        "document_kinds": lambda k, rid: k.kinds.get(id(k.snapshots.documents.get(rid)), ()),
        "cases": lambda k, rid: id(k.snapshots.states.get(rid)),
        "rounds": lambda k, rid: id(k.snapshots.rounds.get(rid)),
        "now": lambda k, rid: k.snapshots.now,
    }


#: The inputs a check may read (`check_reads`) that are a region's alone and have a key
#: here: equal keys, equal outcome of every check that reads only such inputs.
REGION_INPUTS = frozenset(_region_inputs())


@dataclass
class Keyed:
    """Every region's snapshot, regions with equal keys sharing their parts.

    Each distinct key of partners, roles or documents is made into one list, and each
    distinct (workflow, state, round) of a region's cases into one pair of ``cases`` and
    ``rounds`` mappings; so a region's part stands for its key, and the part's identity is
    the key of the inputs it holds (regions without rows: None's).

    Attributes:
        snapshots: the parts per region.
        kinds: per documents list (by identity), the kinds alone (``document_kinds``).
    """

    snapshots: Snapshots
    kinds: dict[int, tuple[str, ...]] = field(default_factory=dict)
    _inputs: dict[str, Callable[[Keyed, int], Hashable]] = field(default_factory=_region_inputs)

    def input_key(self, name: str, region_id: int) -> Hashable:
        """The key of input `name` (one of :data:`REGION_INPUTS`) for a region: regions with
        equal keys are alike in everything a check reading only that input can see."""
        return self._inputs[name](self, region_id)


def read_keyed(run: Run, stream: Run, now: dt.datetime, cases: Iterable[CaseRef], *,
               narrow: bool, dated: bool = True) -> Keyed:
    """Every region's snapshot at `now`; partners, roles and documents by key.

    Args:
        run: runs a select and gives its rows.
        stream: the same, fetching as it goes: rows are read once, in order, so that
            memory holds the parts rather than the country's rows.
        cases: every case (their states feed ``case`` checks).
        narrow: read the keyed parts narrow (see the module); else whole.
        dated: read the documents' dates too when narrow; without them (when no check reads
            ``documents``, only ``document_kinds``), regions with the same kinds share a key.
    """
    snapshots = Snapshots(now)
    for part in PARTS:
        if part.name not in NARROW:  # facts, records: read whole, as for one region
            setattr(snapshots, part.name, part.grouped(stream(f"{part.select} ORDER BY {part.order}", ())))
            continue
        how = (DATED_DOCUMENTS if dated and part.name == "documents" else NARROW[part.name]
               ) if narrow else _Narrow(part.select, part.make or tuple)
        setattr(snapshots, part.name,
                _by_key(stream(f"{how.select} ORDER BY region_id, {part.order}", ()), how))
    _case_states(cases, snapshots)
    snapshots.case_facts = facts_of(select_in(run, CASE_FACTS, "case_id", None))
    snapshots.network = read_network(run, None)
    kinds = {id(found): tuple([d.kind for d in found]) for found in snapshots.documents.values()}
    return Keyed(snapshots, kinds)


def _by_key(rows: Iterable[Sequence[Any]], how: _Narrow) -> dict[int, list[Any]]:
    """Per region id (rows ordered by it) its part, one list per distinct key."""
    make, people = how.make, how.people
    lists: dict[int, list[Any]] = {}
    made: dict[tuple[Any, ...], list[Any]] = {}
    for region_id, group in groupby(rows, itemgetter(0)):
        found_rows = map(_rest, group)
        key = _numbered(found_rows) if people else tuple(found_rows)
        found = made.get(key)
        if found is None:
            found = made[key] = [make(*row) for row in key]
        lists[region_id] = found
    return lists


def _case_states(cases: Iterable[CaseRef], snapshots: Snapshots) -> None:
    """Each region's cases' states and rounds into `snapshots`, one pair of mappings per
    distinct (workflow, state, round) of a region's cases."""
    by_region: dict[int, list[tuple[str, str, str | None]]] = {}
    for case in cases:
        by_region.setdefault(case.region_id, []).append((case.workflow, case.state, case.round))
    made: dict[tuple[Any, ...], tuple[dict[str, list[str]], dict[str, dict[str, str]]]] = {}
    for region_id, found in by_region.items():
        key = tuple(found)
        if key not in made:
            one = Snapshots(snapshots.now)
            for workflow, state, round_ in key:
                one.add_case(CaseRow(0, 0, workflow, state, round_))
            made[key] = (one.states.get(0, {}), one.rounds.get(0, {}))
        snapshots.states[region_id], snapshots.rounds[region_id] = made[key]


def _numbered(rows: Iterator[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Role rows with each person as a number in order of first appearance: who holds what
    counts for a check (how many people hold a role), not their names."""
    people: dict[str, str] = {}
    return tuple([(role, people.setdefault(person, str(len(people)))) for role, person in rows])
