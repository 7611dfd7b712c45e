"""Read regions' rows into the plain snapshots that checks evaluate.

One builder serves every caller: `advance` and `check` (one region), `advance-all` and the
scheduler's tick (a batch of regions) and the national report (every region, its shareable
parts by key: :mod:`onderwijsflow.snapshot.keyed`). It reads one select per kind of row,
whatever the number of regions, as plain column tuples rather than ORM objects (building
entities would cost more than the decisions they feed). Columns come in as the driver
gives them: JSON as text (decoded once per value), moments as SQLite's text or PostgreSQL's
datetimes, dates likewise.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from sys import intern
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

__all__ = ["CASE_FACTS", "PARTS", "CaseRef", "CaseRow", "Snapshots", "day_of", "decode_json",
           "facts_of", "read_snapshots", "utc"]

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
        return facts_of(rows) if self.make is None else _grouped(rows, self.make)


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
CASE_FACTS = "SELECT case_id, name, type, CAST(value AS TEXT) FROM case_facts"


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
        out.case_facts = facts_of(select_in(run, CASE_FACTS, "case_id",
                                          None if region_ids is None else case_ids))
    out.network = read_network(run, region_ids)
    return out


# --- columns as the driver gives them, decoded once per distinct value ------------------------


def decode_json(value: Any) -> Any:
    """The value of a JSON column read as text (``CAST(column AS TEXT)``).

    Most stored facts are counts: JSON's text of a natural number (ASCII digits, no leading
    zero) is read by ``int`` directly, several times faster than ``json.loads``.
    """
    if not isinstance(value, str):
        return value
    if value.isdigit() and value.isascii() and (value[0] != "0" or len(value) == 1):
        return int(value)
    return json.loads(value)


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


def facts_of(rows: Iterable[Sequence[Any]]) -> dict[int, dict[str, Any]]:
    """Typed fact values per owner id (a region's or a case's); decimals and dates are
    stored as text."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for owner, name, kind, value in rows:
        raw_value = decode_json(value)
        # The names repeat in every region: one string each (50,000 regions: 5 MB less).
        out[owner][intern(name)] = None if raw_value is None else stored_value(kind, raw_value)
    return dict(out)
