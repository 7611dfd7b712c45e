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
from onderwijsflow.snapshot.rows import CASE_FACTS, PARTS, CaseRef, Snapshots, day_of, facts_of, utc
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


def _region_inputs() -> dict[str, Callable[[Keyed, int], Hashable]]:
    return {
        "partners": lambda k, rid: k.keys["partners"].get(rid, ()),
        "roles": lambda k, rid: k.keys["roles"].get(rid, ()),
        "documents": lambda k, rid: k.keys["documents"].get(rid, ()),
        "document_kinds": lambda k, rid: k.kinds.get(k.keys["documents"].get(rid, ()), ()),
        "cases": lambda k, rid: tuple([(w, tuple(states)) for w, states
                                       in k.snapshots.states.get(rid, {}).items()]),
        "rounds": lambda k, rid: tuple([(w, tuple(rounds.items())) for w, rounds
                                        in k.snapshots.rounds.get(rid, {}).items()]),
        "now": lambda k, rid: k.snapshots.now,
    }


#: The inputs a check may read (`check_reads`) that are a region's alone and have a key
#: here: equal keys, equal outcome of every check that reads only such inputs.
REGION_INPUTS = frozenset(_region_inputs())


@dataclass
class Keyed:
    """Every region's snapshot parts, and the keys of the shareable ones.

    Attributes:
        snapshots: the parts per region; regions with equal keys share the same lists.
        keys: per part read by key, region id -> key (regions without rows: absent).
        kinds: per documents key, the kinds alone (``document_kinds``).
    """

    snapshots: Snapshots
    keys: dict[str, dict[int, tuple[Any, ...]]] = field(default_factory=dict)
    kinds: dict[Hashable, tuple[str, ...]] = field(default_factory=dict)
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
        stream: the same, fetching as it goes: the keyed parts' rows are read once, in
            order, so that memory holds keys rather than the country's rows.
        cases: every case (their states feed ``case`` checks).
        narrow: read the keyed parts narrow (see the module); else whole.
        dated: read the documents' dates too when narrow; without them (when no check reads
            ``documents``, only ``document_kinds``), regions with the same kinds share a key.
    """
    snapshots = Snapshots(now)
    out = Keyed(snapshots)
    for part in PARTS:
        if part.name not in NARROW:  # facts, records: read whole, as for one region
            setattr(snapshots, part.name, part.grouped(select_in(run, part.select, "region_id", None,
                                                                 order=part.order)))
            continue
        how = (DATED_DOCUMENTS if dated and part.name == "documents" else NARROW[part.name]
               ) if narrow else _Narrow(part.select, part.make or tuple)
        rows = stream(f"{how.select} ORDER BY region_id, {part.order}", ())
        keys, lists = _by_key(rows, how)
        out.keys[part.name] = keys
        setattr(snapshots, part.name, lists)
    out.kinds = {key: tuple([row[0] for row in key]) for key in set(out.keys["documents"].values())}
    for case in cases:
        snapshots.add_case(case)
    snapshots.case_facts = facts_of(select_in(run, CASE_FACTS, "case_id", None))
    snapshots.network = read_network(run, None)
    return out


def _by_key(rows: Iterable[Sequence[Any]], how: _Narrow,
            ) -> tuple[dict[int, tuple[Any, ...]], dict[int, list[Any]]]:
    """Per region id (rows ordered by it) its key and its part, one part per distinct key."""
    make, people = how.make, how.people
    keys: dict[int, tuple[Any, ...]] = {}
    lists: dict[int, list[Any]] = {}
    made: dict[tuple[Any, ...], tuple[tuple[Any, ...], list[Any]]] = {}
    for region_id, group in groupby(rows, itemgetter(0)):
        found_rows = map(_rest, group)
        key = _numbered(found_rows) if people else tuple(found_rows)
        found = made.get(key)
        if found is None:
            found = made[key] = (key, [make(*row) for row in key])
        keys[region_id], lists[region_id] = found
    return keys, lists


def _numbered(rows: Iterator[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Role rows with each person as a number in order of first appearance: who holds what
    counts for a check (how many people hold a role), not their names."""
    people: dict[str, str] = {}
    return tuple([(role, people.setdefault(person, str(len(people)))) for role, person in rows])
