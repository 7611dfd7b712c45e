"""Read regions' rows into the plain snapshots that checks evaluate.

One builder serves every caller: `advance` and `check` (one region), `advance-all` and the
scheduler's tick (a batch of regions) and the national report (every region, streamed). It
reads one select per kind of row, whatever the number of regions, as plain column tuples
rather than ORM objects (building entities would cost more than the decisions they feed).
Columns come in as the driver gives them: JSON as text (decoded once per value), moments
as SQLite's text or PostgreSQL's datetimes, dates likewise.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple, Protocol, TypeVar

from onderwijsflow.engine.context import (
    DocumentInfo,
    NetworkInfo,
    PartnerInfo,
    RecordInfo,
    RegionContext,
    RoleInfo,
)
from onderwijsflow.snapshot.network import EMPTY_NETWORK, read_network
from onderwijsflow.snapshot.sql import Run, select_in
from onderwijsflow.values import stored_value

__all__ = ["PARTS", "CaseRef", "CaseRow", "Snapshots", "day_of", "decode_json", "read_snapshots",
           "stream_snapshots", "utc"]

T = TypeVar("T")


class CaseRef(Protocol):
    """A case as the builder needs it: an ORM `Case` or a selected row."""

    @property
    def id(self) -> int | None: ...

    @property
    def region_id(self) -> int: ...

    @property
    def workflow(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def round(self) -> str | None: ...


class CaseRow(NamedTuple):
    """A case as :func:`read_snapshots` selects it when the caller has not read it."""

    id: int
    region_id: int
    workflow: str
    state: str
    round: str | None


@dataclass
class Snapshots:
    """The rows of many regions' snapshots, grouped by region id; contexts built on demand.

    Building a region's :class:`RegionContext` only when it is evaluated keeps the national
    report's memory to the rows themselves.
    """

    now: dt.datetime
    partners: dict[int, list[PartnerInfo]] = field(default_factory=dict)
    roles: dict[int, list[RoleInfo]] = field(default_factory=dict)
    documents: dict[int, list[DocumentInfo]] = field(default_factory=dict)
    facts: dict[int, dict[str, Any]] = field(default_factory=dict)
    records: dict[int, list[RecordInfo]] = field(default_factory=dict)
    case_facts: dict[int, dict[str, Any]] = field(default_factory=dict)
    states: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    rounds: dict[int, dict[str, dict[str, str]]] = field(default_factory=dict)
    network: dict[int, NetworkInfo] = field(default_factory=dict)

    def add_case(self, case: CaseRef) -> None:
        """A case's state, for the ``case`` checks of its region's other cases."""
        self.states.setdefault(case.region_id, {}).setdefault(case.workflow, []).append(case.state)
        if case.round:
            self.rounds.setdefault(case.region_id, {}).setdefault(case.workflow, {})[case.round] = case.state

    def context(self, region_id: int, slug: str) -> RegionContext:
        """A fresh snapshot of one region (its lists are shared with this object: read only)."""
        return RegionContext(
            slug=slug,
            now=self.now,
            partners=self.partners.get(region_id, []),
            roles=self.roles.get(region_id, []),
            documents=self.documents.get(region_id, []),
            facts=self.facts.get(region_id, {}),
            cases=self.states.get(region_id, {}),
            rounds=self.rounds.get(region_id, {}),
            records=self.records.get(region_id, []),
            case_facts=self.case_facts,  # keyed by case id: each case reads only its own
            network=self.network.get(region_id, EMPTY_NETWORK),
        )


@dataclass(frozen=True)
class _Part:
    """One kind of snapshot row: its select (the region id first), its order within a region,
    and how its rows become the snapshot's part (None: facts, a name -> value mapping)."""

    name: str
    select: str
    order: str
    make: Callable[..., Any] | None

    def grouped(self, rows: Iterable[Sequence[Any]]) -> Any:
        """``region_id -> part`` from rows whose first column is the region id."""
        return _facts(rows) if self.make is None else _grouped(rows, self.make)

    def of_region(self, region_id: int, rows: list[Sequence[Any]]) -> Any:
        """As :meth:`grouped`, for rows all of region `region_id`."""
        if self.make is None or not rows:
            return self.grouped(rows)
        make = self.make
        return {region_id: [make(*row[1:]) for row in rows]}


def _document_info(kind: str, title: str, ref: str | None, day: Any, added: Any) -> DocumentInfo:
    return DocumentInfo(kind, title, ref, day_of(day), utc(added))


def _record_info(kind: str, fields: Any, at: Any, case_id: int | None,
                 workflow: str | None) -> RecordInfo:
    moment = utc(at)
    assert moment is not None  # records.at is NOT NULL
    return RecordInfo(kind, decode_json(fields), moment, case_id, workflow)


#: The parts of a snapshot, in the order both builders read them.
PARTS = (
    _Part("partners", "SELECT region_id, name, kind, sector FROM partners", "id", PartnerInfo),
    _Part("roles", "SELECT region_id, role, person, email FROM role_assignments", "id", RoleInfo),
    _Part("documents", "SELECT region_id, kind, title, ref, date, added_at FROM documents", "id",
          _document_info),
    _Part("facts", "SELECT region_id, name, type, CAST(value AS TEXT) FROM facts", "name", None),
    _Part("records", "SELECT region_id, kind, CAST(fields AS TEXT), at, case_id, workflow "
          "FROM records", "id", _record_info),
)
_CASES = "SELECT id, region_id, workflow, state, round FROM cases"
_CASE_FACTS = "SELECT case_id, name, type, CAST(value AS TEXT) FROM case_facts"


def read_snapshots(run: Run, region_ids: Sequence[int] | None, now: dt.datetime,
                   cases: Iterable[CaseRef] | None = None) -> Snapshots:
    """The snapshot rows of the regions `region_ids` (None: every region) at `now`.

    Args:
        cases: the regions' cases, when the caller has read them already (else selected).
    """
    out = Snapshots(now)
    for part in PARTS:
        setattr(out, part.name,
                part.grouped(select_in(run, part.select, "region_id", region_ids, order=part.order)))
    if cases is None:
        cases = [CaseRow(*row) for row in select_in(run, _CASES, "region_id", region_ids, order="id")]
    case_ids: list[int] = []
    for c in cases:
        out.add_case(c)
        if c.id is not None:
            case_ids.append(c.id)
    if case_ids:
        out.case_facts = _facts(select_in(run, _CASE_FACTS, "case_id",
                                          None if region_ids is None else case_ids))
    out.network = read_network(run, region_ids)
    return out


def stream_snapshots(run: Run, stream: Run, region_ids: Iterable[int], now: dt.datetime,
                     cases: Iterable[CaseRef]) -> Iterator[tuple[int, Snapshots]]:
    """The snapshot rows of every region, one region at a time, in ascending id order.

    For the national report: one select per kind of row as for `read_snapshots`, each ordered
    by region and read through `stream` (a cursor that fetches as it goes), merged region by
    region, so that memory holds one region's rows rather than the country's (50,000
    regions: about 150 MB less).

    Args:
        region_ids: every region's id, ascending (regions without rows get empty parts).
        cases: every case, in any order (their states feed ``case`` checks).
    """
    # The network's membership is small (codes per region): read whole, before the streams.
    network = read_network(run, None)
    streams = [(part, _Merged(stream(f"{part.select} ORDER BY region_id, {part.order}", ())))
               for part in PARTS]
    own_facts = _Merged(stream(
        "SELECT c.region_id, f.case_id, f.name, f.type, CAST(f.value AS TEXT) FROM case_facts f "
        "JOIN cases c ON f.case_id = c.id ORDER BY c.region_id, f.case_id, f.name", ()))
    by_region: dict[int, list[CaseRef]] = defaultdict(list)
    for c in cases:
        by_region[c.region_id].append(c)
    for rid in region_ids:
        out = Snapshots(now, **{part.name: part.of_region(rid, rows.take(rid)) for part, rows in streams},
                        case_facts=_facts(row[1:] for row in own_facts.take(rid)),
                        network={rid: network[rid]} if rid in network else {})
        for c in by_region.pop(rid, ()):
            out.add_case(c)
        yield rid, out


class _Merged:
    """A stream of rows ordered by region id, handed out one region at a time."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        # groupby walks the rows in C; a region's group is read before the next is asked for.
        self._groups = groupby(rows, key=itemgetter(0))
        self._next: tuple[Any, Iterator[Sequence[Any]]] | None = next(self._groups, None)

    def take(self, region_id: int) -> list[Sequence[Any]]:
        """The rows of `region_id` (rows of lower ids, whose region is gone, are skipped)."""
        while self._next is not None and self._next[0] < region_id:
            self._next = next(self._groups, None)
        if self._next is None or self._next[0] != region_id:
            return []
        found = list(self._next[1])
        self._next = next(self._groups, None)
        return found


# --- columns as the driver gives them, decoded once per distinct value ------------------------


def decode_json(value: Any) -> Any:
    """The value of a JSON column read as text (``CAST(column AS TEXT)``)."""
    return json.loads(value) if isinstance(value, str) else value


def utc(value: Any) -> dt.datetime | None:
    """A stored UTC moment, from the driver's datetime or SQLite's text."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return _parse_utc(value)


@lru_cache(maxsize=4096)
def _parse_utc(text: str) -> dt.datetime:
    try:  # SQLite's naive UTC text, read as UTC at once (cheaper than a replace after)
        return dt.datetime.fromisoformat(text + "+00:00")
    except ValueError:  # text with an offset of its own
        moment = dt.datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def day_of(value: Any) -> dt.date | None:
    """A stored date, from the driver's date or SQLite's text."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _grouped(rows: Iterable[Sequence[Any]], make: Callable[..., T]) -> dict[int, list[T]]:
    """``region_id -> [make(*rest)]`` from rows whose first column is the region id."""
    out: dict[int, list[T]] = defaultdict(list)
    for row in rows:
        out[row[0]].append(make(*row[1:]))
    return dict(out)


def _facts(rows: Iterable[Sequence[Any]]) -> dict[int, dict[str, Any]]:
    """Typed fact values per owner id (a region's or a case's); decimals and dates are
    stored as text."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for owner, name, kind, value in rows:
        raw_value = decode_json(value)
        out[owner][name] = None if raw_value is None else stored_value(kind, raw_value)
    return dict(out)
