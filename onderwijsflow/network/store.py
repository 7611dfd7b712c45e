"""Read the network's rows for the region snapshots: a few selects, however many regions.

The checks `coverage_unique`, `contiguous` and `size` read a region's
:class:`~onderwijsflow.engine.context.NetworkInfo`; this builds it for one region or all,
with one select per kind of row (plain column tuples, no ORM objects). The reference data of
the latest year loaded is used (each kind its own latest year). Regions without membership
get no network info, and their checks fall back to the declared facts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, literal, select, union_all
from sqlmodel import Session

from onderwijsflow.engine.context import LocationInfo, NetworkInfo
from onderwijsflow.store.network import (
    Adjacency,
    Municipality,
    RegionLocation,
    RegionMunicipality,
    SchoolLocation,
)
from onderwijsflow.store.tables import Region, metadata

__all__ = ["EMPTY_NETWORK", "latest_year", "read_network", "table"]

#: What a region without membership sees.
EMPTY_NETWORK = NetworkInfo()
#: Parameters per IN (...) list; far below SQLite's and PostgreSQL's limits.
_CHUNK = 900

T = TypeVar("T")


def table(model: Any) -> Any:
    """The Core columns of a model's table."""
    return metadata.tables[model.__tablename__].c


def latest_year(session: Session, model: Any) -> int | None:
    """The latest year of `model`'s reference rows (None: none loaded)."""
    found = session.connection().execute(select(func.max(table(model).year))).scalar()
    return int(found) if found is not None else None


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _in(session: Session, query: Any, column: Any, values: Sequence[Any] | None) -> list[Any]:
    """`query`'s rows, restricted to `column` IN `values` (None: unrestricted), chunked."""
    run = session.connection().execute
    if values is None:
        return list(run(query).all())
    out: list[Any] = []
    for chunk in _chunks(values):
        out += run(query.where(column.in_(chunk))).all()
    return out


def read_network(session: Session, region_ids: Sequence[int] | None) -> dict[int, NetworkInfo]:
    """Each region's :class:`NetworkInfo` (only regions with membership), by region id."""
    member_l, member_m = table(RegionLocation), table(RegionMunicipality)
    ids = list(region_ids) if region_ids is not None else None
    # One statement for both membership tables: most snapshots have none, and this is all
    # they cost.
    both = select(literal("l").label("kind"), member_l.region_id, member_l.code)
    other = select(literal("m").label("kind"), member_m.region_id, member_m.code)
    if ids is not None and len(ids) <= _CHUNK:
        both, other = both.where(member_l.region_id.in_(ids)), other.where(member_m.region_id.in_(ids))
    wanted = None if ids is None else set(ids)
    locations: list[tuple[int, str]] = []
    municipalities: list[tuple[int, str]] = []
    for kind, rid, code in session.connection().execute(union_all(both, other)).all():
        if wanted is None or rid in wanted:
            (locations if kind == "l" else municipalities).append((rid, code))
    if not locations and not municipalities:
        return {}
    codes = sorted({code for _rid, code in locations})
    everywhere = _memberships(session, codes if ids is not None else None)
    year = latest_year(session, SchoolLocation)
    known = _locations(session, year, codes if ids is not None else None)
    names, borders, has_adjacency = _municipalities(session, sorted({c for _rid, c in municipalities}),
                                                    whole=ids is None)
    own_l: dict[int, list[str]] = defaultdict(list)
    for rid, code in locations:
        own_l[rid].append(code)
    own_m: dict[int, list[str]] = defaultdict(list)
    for rid, code in municipalities:
        own_m[rid].append(code)
    out = {}
    for rid in set(own_l) | set(own_m):
        mine = sorted(own_l.get(rid, ()))
        areas = sorted(own_m.get(rid, ()))
        area_set = set(areas)
        out[rid] = NetworkInfo(
            year=year,
            locations=tuple(known[c] for c in mine if c in known),
            unknown=tuple(c for c in mine if c not in known),
            municipalities={c: names.get(c, c) for c in areas},
            borders=frozenset(p for c in areas for p in borders.get(c, ()) if p[0] in area_set
                              and p[1] in area_set),
            elsewhere={c: others for c in mine
                       if (others := tuple(sorted(name for r, name in everywhere.get(c, ()) if r != rid)))},
            has_adjacency=has_adjacency,
        )
    return out


def _memberships(session: Session, codes: Sequence[str] | None) -> dict[str, list[tuple[int, str]]]:
    """Location code -> (region id, region name) of every region it takes part in."""
    member, region = table(RegionLocation), table(Region)
    query = select(member.code, member.region_id, region.name).join_from(
        metadata.tables[RegionLocation.__tablename__], metadata.tables[Region.__tablename__],
        member.region_id == region.id)
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for code, rid, name in _in(session, query, member.code, codes):
        out[code].append((rid, name))
    return out


def _locations(session: Session, year: int | None, codes: Sequence[str] | None) -> dict[str, LocationInfo]:
    if year is None:
        return {}
    ref = table(SchoolLocation)
    query = select(ref.code, ref.name, ref.sector, ref.municipality, ref.pupils).where(ref.year == year)
    return {row[0]: LocationInfo(*row) for row in _in(session, query, ref.code, codes)}


def _municipalities(
    session: Session, codes: Sequence[str], *, whole: bool
) -> tuple[dict[str, str], dict[str, list[tuple[str, str]]], bool]:
    """(code -> name, code -> its border pairs, whether adjacency is loaded) for `codes`."""
    run = session.connection().execute
    names: dict[str, str] = {}
    year = latest_year(session, Municipality)
    if year is not None and codes:
        ref = table(Municipality)
        query = select(ref.code, ref.name).where(ref.year == year)
        names = dict(_in(session, query, ref.code, None if whole else codes))
    borders: dict[str, list[tuple[str, str]]] = defaultdict(list)
    adjacency_year = latest_year(session, Adjacency)
    if adjacency_year is not None and codes:
        adj = table(Adjacency)
        for a, b in run(select(adj.a, adj.b).where(adj.year == adjacency_year)).all():
            borders[a].append((a, b))
            borders[b].append((a, b))
    return names, borders, adjacency_year is not None
