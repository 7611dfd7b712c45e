"""Read regions out of the store into the plain snapshots that checks evaluate.

One builder serves every caller: `advance` (one region), `advance-all` and the scheduler's
tick (a batch of regions) and the national report (every region). It reads one select per
kind of row, whatever the number of regions, as plain column tuples rather than ORM
objects (building entities would cost more than the decisions they feed); JSON columns come
in as text and times as the driver gives them, decoded once per distinct value.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import String, cast, select, type_coerce
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from onderwijsflow.definition.model import WorkflowDef, stored_value
from onderwijsflow.engine.context import (
    DocumentInfo,
    NetworkInfo,
    PartnerInfo,
    RecordInfo,
    RegionContext,
    RoleInfo,
)
from onderwijsflow.engine.milestones import due_moment
from onderwijsflow.network.store import EMPTY_NETWORK, read_network
from onderwijsflow.store.tables import (
    Case,
    CaseFact,
    Document,
    Fact,
    Partner,
    Record,
    Region,
    RoleAssignment,
    metadata,
)


class RegionRef(Protocol):
    """A region as the builder needs it: an ORM `Region` or a selected row."""

    @property
    def id(self) -> int | None: ...

    @property
    def slug(self) -> str: ...


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
    """One kind of snapshot row, read the same way by both builders: its select (the region id
    first), the column it is kept by, its order within a region, and how its rows become the
    snapshot's part (None: facts, a name -> value mapping)."""

    name: str
    query: Any
    region: Any
    order: tuple[Any, ...]
    make: Callable[..., Any] | None

    def grouped(self, rows: Iterable[Any]) -> Any:
        """``region_id -> part`` from rows whose first column is the region id."""
        return _facts(rows) if self.make is None else _grouped(rows, self.make)


def _document_info(kind: str, title: str, ref: str | None, day: dt.date | None,
                   added: Any) -> DocumentInfo:
    return DocumentInfo(kind, title, ref, day, utc(added))


def _parts() -> tuple[_Part, ...]:
    partner, role, document, fact, record = (
        metadata.tables[t.__tablename__].c for t in (Partner, RoleAssignment, Document, Fact, Record))
    return (
        _Part("partners", select(partner.region_id, partner.name, partner.kind, partner.sector),
              partner.region_id, (partner.id,), PartnerInfo),
        _Part("roles", select(role.region_id, role.role, role.person, role.email), role.region_id,
              (role.id,), RoleInfo),
        _Part("documents", select(document.region_id, document.kind, document.title, document.ref,
                                  document.date, raw(document.added_at, "added")),
              document.region_id, (document.id,), _document_info),
        _Part("facts", select(fact.region_id, fact.name, fact.type, as_text(fact.value, "value")),
              fact.region_id, (fact.name,), None),
        _Part("records", select(record.region_id, record.kind, as_text(record.fields, "fields"),
                                raw(record.at, "at"), record.case_id, record.workflow),
              record.region_id, (record.id,), _record_info),
    )


def read_snapshots(
    session: Session, region_ids: Sequence[int] | None, now: dt.datetime,
    cases: Iterable[CaseRef] | None = None,
) -> Snapshots:
    """The snapshot rows of the regions `region_ids` (None: every region) at `now`.

    Args:
        cases: the regions' cases, when the caller has read them already (else selected).
    """
    run = session.connection().execute
    case, case_fact = (metadata.tables[t.__tablename__].c for t in (Case, CaseFact))

    def rows(query: Any, region_column: Any) -> Any:
        # fetchall: one driver call instead of a fetchone per row.
        return run(query if region_ids is None else query.where(region_column.in_(region_ids))).all()

    out = Snapshots(now)
    for part in _PARTS:
        setattr(out, part.name, part.grouped(rows(part.query.order_by(*part.order), part.region)))
    if cases is None:
        cases = rows(select(case.id, case.region_id, case.workflow, case.state, case.round)
                     .order_by(case.id), case.region_id)
    case_ids: list[int] = []
    for c in cases:
        out.add_case(c)
        if c.id is not None:
            case_ids.append(c.id)
    query = select(case_fact.case_id, case_fact.name, case_fact.type, as_text(case_fact.value, "value"))
    if region_ids is not None:
        query = query.where(case_fact.case_id.in_(case_ids))
    out.case_facts = _facts(run(query).all()) if case_ids else {}
    out.network = read_network(session, region_ids)
    return out


def stream_snapshots(
    session: Session, region_ids: Iterable[int], now: dt.datetime, cases: Iterable[CaseRef],
) -> Iterator[tuple[int, Snapshots]]:
    """The snapshot rows of every region, one region at a time, in ascending id order.

    For the national report: one select per kind of row as for `read_snapshots`, each ordered
    by region and read as a stream, merged region by region, so that memory holds one
    region's rows rather than the country's (50,000 regions: about 150 MB less).

    Args:
        region_ids: every region's id, ascending (regions without rows get empty parts).
        cases: every case, in any order (their states feed ``case`` checks).
    """
    case, case_fact = (metadata.tables[t.__tablename__].c for t in (Case, CaseFact))
    # The network's membership is small (codes per region): read whole, before the streams.
    network = read_network(session, None)
    connection = session.connection().execution_options(stream_results=True, yield_per=2000)

    def stream(query: Any, region_column: Any, *order: Any) -> _Merged:
        return _Merged(connection.execute(query.order_by(region_column, *order)))

    streams = [(part, stream(part.query, part.region, *part.order)) for part in _PARTS]
    own_facts = stream(select(case.region_id, case_fact.case_id, case_fact.name, case_fact.type,
                              as_text(case_fact.value, "value"))
                       .join_from(metadata.tables[CaseFact.__tablename__],
                                  metadata.tables[Case.__tablename__], case_fact.case_id == case.id),
                       case.region_id, case_fact.case_id, case_fact.name)
    by_region: dict[int, list[CaseRef]] = defaultdict(list)
    for c in cases:
        by_region[c.region_id].append(c)
    for rid in region_ids:
        out = Snapshots(now)
        for part, rows in streams:
            setattr(out, part.name, part.grouped(rows.take(rid)))
        out.case_facts = _facts(row[1:] for row in own_facts.take(rid))
        if rid in network:
            out.network = {rid: network[rid]}
        for c in by_region.pop(rid, ()):
            out.add_case(c)
        yield rid, out


def _record_info(kind: str, fields: Any, at: Any, case_id: int | None,
                 workflow: str | None) -> RecordInfo:
    """A record as selected (its fields as JSON text, its moment as the driver gives it)."""
    moment = utc(at)
    assert moment is not None  # records.at is NOT NULL
    return RecordInfo(kind, decode_json(fields), moment, case_id, workflow)


class _Merged:
    """A stream of rows ordered by region id, handed out one region at a time."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = iter(rows)
        self._next: Any = next(self._rows, None)

    def take(self, region_id: int) -> list[Any]:
        """The rows of `region_id` (rows of lower ids, whose region is gone, are skipped)."""
        found = []
        while self._next is not None and self._next[0] <= region_id:
            if self._next[0] == region_id:
                found.append(self._next)
            self._next = next(self._rows, None)
        return found


def region_contexts(
    session: Session, regions: Sequence[RegionRef], now: dt.datetime,
    cases: Iterable[CaseRef] | None = None,
) -> dict[int, RegionContext]:
    """Snapshots of `regions` (a batch: `advance-all`, the tick), keyed by region id."""
    refs = [(r.id, r.slug) for r in regions if r.id is not None]
    found = read_snapshots(session, [rid for rid, _ in refs], now, cases)
    return {rid: found.context(rid, slug) for rid, slug in refs}


def region_context(
    session: Session, region: Region, now: dt.datetime, cases: list[Case] | None = None
) -> RegionContext:
    """Everything the checks may read about `region`, at `now`."""
    assert region.id is not None  # a region read from the database
    return region_contexts(session, [region], now, cases)[region.id]


def for_case(ctx: RegionContext, case: Case, definition: WorkflowDef) -> RegionContext:
    """`ctx` with the case's own parameters, facts, records and milestone dates filled in."""
    ctx.focus(case.id)
    ctx.params = dict(case.params or {})
    ctx.milestones = case_moments(definition, case.state, ctx.params, case.state_entered_at,
                                  case.decided_on)
    return ctx


def case_moments(definition: WorkflowDef, state: str, params: dict[str, Any],
                 entered: dt.datetime | None, decided_on: dt.date | None) -> dict[str, dt.datetime]:
    """The due moment of each milestone of a case in `state` (those that have one)."""
    moments = {}
    for m in definition.milestones:
        moment = due_moment(m, params, entered if state in m.active_in else None, decided_on)
        if moment is not None:
            moments[m.name] = moment
    return moments


def region_cases(session: Session, region: Region) -> list[Case]:
    """The region's cases, oldest first."""
    return list(session.exec(orm_select(Case).where(Case.region_id == region.id).order_by(col(Case.id))))


def load_fact(fact: Fact) -> Any:
    """The typed value of a stored fact (decimals and dates are stored as text)."""
    if fact.value is None:
        return None
    return stored_value(fact.type, fact.value)


# --- columns as the driver gives them, decoded once per distinct value ------------------------


def raw(column: Any, name: str) -> Any:
    """`column` as the driver returns it, under `name` (SQLite: text; PostgreSQL: a datetime)."""
    return type_coerce(column, String).label(name)


def as_text(column: Any, name: str) -> Any:
    """A JSON `column` as its text on every database (see :func:`decode_json`)."""
    return cast(column, String).label(name)


def decode_json(value: Any) -> Any:
    """The value of a JSON column read as text (see :func:`as_text`)."""
    return json.loads(value) if isinstance(value, str) else value


def utc(value: Any) -> dt.datetime | None:
    """A stored UTC moment, from the driver's datetime or SQLite's text."""
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else _parse_utc(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@lru_cache(maxsize=4096)
def _parse_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _grouped(rows: Iterable[Any], make: Callable[..., Any]) -> dict[int, list[Any]]:
    """``region_id -> [make(*rest)]`` from rows whose first column is the region id."""
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row[0]].append(make(*row[1:]))
    return dict(out)


def _facts(rows: Iterable[Any]) -> dict[int, dict[str, Any]]:
    """Typed fact values per owner id (a region's or a case's), as :func:`load_fact` types them."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for owner, name, kind, value in rows:
        raw_value = decode_json(value)
        out[owner][name] = None if raw_value is None else stored_value(kind, raw_value)
    return dict(out)


#: The parts of a snapshot both builders read (built once: selects are immutable).
_PARTS = _parts()
