"""Read the network's rows for the region snapshots: a few selects, however many regions.

The checks `coverage_unique`, `contiguous` and `size` read a region's
:class:`~onderwijsflow.engine.context.NetworkInfo`; this builds it for one region or all,
with one select per kind of row. The reference data of the latest year loaded is used (each
kind its own latest year). Regions without membership get no network info, and their checks
fall back to the declared facts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from onderwijsflow.engine.context import LocationInfo, NetworkInfo
from onderwijsflow.snapshot.sql import CHUNK, Run, select_in

__all__ = ["EMPTY_NETWORK", "read_network"]

#: What a region without membership sees.
EMPTY_NETWORK = NetworkInfo()

def read_network(run: Run, region_ids: Sequence[int] | None) -> dict[int, NetworkInfo]:
    """Each region's :class:`NetworkInfo` (only regions with membership), by region id."""
    ids = list(region_ids) if region_ids is not None else None
    if ids == []:
        return {}
    # One statement for both membership tables: most snapshots have none, and this is all
    # they cost.
    both = ("SELECT 'l', region_id, code FROM region_locations{l} UNION ALL "
            "SELECT 'm', region_id, code FROM region_municipalities{m}")
    params: tuple[Any, ...] = ()
    if ids is not None and len(ids) <= CHUNK:
        marks = ", ".join("?" * len(ids))
        both = both.format(l=f" WHERE region_id IN ({marks})", m=f" WHERE region_id IN ({marks})")
        params = (*ids, *ids)
    else:
        both = both.format(l="", m="")
    wanted = None if ids is None else set(ids)
    locations: list[tuple[int, str]] = []
    municipalities: list[tuple[int, str]] = []
    for kind, rid, code in run(both, params):
        if wanted is None or rid in wanted:
            (locations if kind == "l" else municipalities).append((rid, code))
    if not locations and not municipalities:
        return {}
    codes = sorted({code for _rid, code in locations})
    everywhere: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for code, rid, name in select_in(
            run, "SELECT m.code, m.region_id, r.name FROM region_locations m "
            "JOIN regions r ON m.region_id = r.id", "m.code", codes if ids is not None else None):
        everywhere[code].append((rid, name))
    year = latest_year(run, "ref_locations")
    known: dict[str, LocationInfo] = {}
    if year is not None:
        known = {row[0]: LocationInfo(*row) for row in select_in(
            run, "SELECT code, name, sector, municipality, pupils FROM ref_locations", "code",
            codes if ids is not None else None, where="year = ?", params=(year,))}
    names, borders, has_adjacency = _municipalities(
        run, sorted({c for _rid, c in municipalities}), whole=ids is None)
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


def latest_year(run: Run, table: str) -> int | None:
    """The latest year of a reference table's rows (None: none loaded)."""
    found = next(iter(run(f"SELECT MAX(year) FROM {table}", ())), (None,))[0]
    return int(found) if found is not None else None


def _municipalities(
    run: Run, codes: Sequence[str], *, whole: bool
) -> tuple[dict[str, str], dict[str, list[tuple[str, str]]], bool]:
    """(code -> name, code -> its border pairs, whether adjacency is loaded) for `codes`."""
    names: dict[str, str] = {}
    year = latest_year(run, "ref_municipalities")
    if year is not None and codes:
        names = {str(code): str(name) for code, name in select_in(
            run, "SELECT code, name FROM ref_municipalities", "code", None if whole else codes,
            where="year = ?", params=(year,))}
    borders: dict[str, list[tuple[str, str]]] = defaultdict(list)
    adjacency_year = latest_year(run, "ref_adjacency")
    if adjacency_year is not None and codes:
        for a, b in run("SELECT a, b FROM ref_adjacency WHERE year = ?", (adjacency_year,)):
            borders[a].append((a, b))
            borders[b].append((a, b))
    return names, borders, adjacency_year is not None
