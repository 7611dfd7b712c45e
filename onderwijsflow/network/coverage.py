"""How much of the country the network covers: per sector, per province, white spots,
overlaps and each region's contiguity, from one read transaction and a fixed number of
selects (one per table), whatever the size of the country.

Shares are percentages with one decimal, of school locations and of pupils; a location is
covered when at least one region has it, a municipality when at least one region has it in
its area. A region flagged as a national region (the region fact ``landelijke_regio``) is
exempt from contiguity.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from onderwijsflow.engine.checks import connected_parts
from onderwijsflow.network.readers import NETWORK_SECTORS
from onderwijsflow.network.store import latest_year, table
from onderwijsflow.store.network import (
    Adjacency,
    Boundary,
    Municipality,
    RegionLocation,
    RegionMunicipality,
    SchoolLocation,
)
from onderwijsflow.store.tables import Fact, Region

__all__ = ["EXEMPT_FACT", "coverage", "share"]

#: The region fact that marks one of the four national regions (exempt from contiguity).
EXEMPT_FACT = "landelijke_regio"


def share(part: int, whole: int) -> float | None:
    """`part` of `whole` as a percentage with one decimal (None when `whole` is 0)."""
    return round(100.0 * part / whole, 1) if whole else None


def coverage(session: Session, *, year: int | None = None, sector: str | None = None) -> dict[str, Any]:
    """The coverage report as JSON-safe data.

    Returns:
        ``{"year", "sector", "sectors": [...], "provinces": [...], "regions": [...],
        "white_spots": {"municipalities", "locations"}, "overlaps": [...], "areas": {...},
        "boundaries": {...}, "loaded": {...}}``.
    """
    run = session.connection().execute
    year = year if year is not None else (latest_year(session, Municipality)
                                          or latest_year(session, SchoolLocation))
    mun, loc, adj = table(Municipality), table(SchoolLocation), table(Adjacency)
    municipalities = {code: (name, province) for code, name, province in run(
        select(mun.code, mun.name, mun.province).where(mun.year == year).order_by(mun.code))}
    query = select(loc.code, loc.name, loc.sector, loc.municipality, loc.pupils).where(loc.year == year)
    if sector is not None:
        query = query.where(loc.sector == sector)
    locations = list(run(query.order_by(loc.code)).all())
    pairs = run(select(adj.a, adj.b).where(adj.year == year)).all()
    reg = table(Region)
    regions = {rid: (slug, name)
               for rid, slug, name in run(select(reg.id, reg.slug, reg.name).order_by(reg.slug))}
    member_l, member_m = table(RegionLocation), table(RegionMunicipality)
    in_regions: dict[str, list[int]] = defaultdict(list)
    for rid, code in run(select(member_l.region_id, member_l.code)):
        in_regions[code].append(rid)
    areas: dict[int, list[str]] = defaultdict(list)
    area_of: dict[str, list[int]] = defaultdict(list)
    for rid, code in run(select(member_m.region_id, member_m.code).order_by(member_m.code)):
        areas[rid].append(code)
        area_of[code].append(rid)
    fact = table(Fact)
    exempt = {rid for rid, value in run(select(fact.region_id, fact.value).where(fact.name == EXEMPT_FACT))
              if value in (True, "true", 1)}
    bnd = table(Boundary)
    boundaries: dict[str, Any] = dict(run(select(bnd.code, bnd.geometry).where(bnd.year == year)).all())

    sectors = _sectors(locations, in_regions, sector)
    provinces = _provinces(locations, in_regions, municipalities)
    slug = {rid: s for rid, (s, _name) in regions.items()}
    white_m = [{"code": c, "name": n, "province": p}
               for c, (n, p) in municipalities.items() if c not in area_of]
    white_l = [{"code": c, "name": n, "sector": s, "municipality": m, "pupils": p}
               for c, n, s, m, p in locations if c not in in_regions]
    names = {c: (n, m) for c, n, _s, m, _p in locations}
    overlaps = [{"code": c, "name": names.get(c, (c, None))[0], "municipality": names.get(c, (c, None))[1],
                 "regions": sorted(slug[r] for r in rids),
                 "region_names": sorted(regions[r][1] for r in rids)}
                for c, rids in sorted(in_regions.items()) if len(rids) > 1 and (c in names or sector is None)]
    pupils_by_region = _pupils(locations, in_regions)
    located = Counter(rid for rids in in_regions.values() for rid in rids)
    rows = []
    for rid, (region_slug, region_name) in regions.items():
        mine = areas.get(rid, [])
        parts = connected_parts(mine, pairs) if mine and pairs else []
        verdict = None if not mine or not pairs else len(parts) == 1
        rows.append({
            "slug": region_slug, "name": region_name, "municipalities": len(mine),
            "locations": located.get(rid, 0),
            "pupils": pupils_by_region.get(rid, {}),
            "exempt": rid in exempt,
            "contiguous": True if rid in exempt and mine else verdict,
            "parts": [[municipalities.get(c, (c, None))[0] for c in part] for part in parts]
            if verdict is False else [],
        })
    return {
        "year": year, "sector": sector, "sectors": sectors, "provinces": provinces, "regions": rows,
        "white_spots": {"municipalities": white_m, "locations": white_l},
        "overlaps": overlaps,
        "areas": {c: sorted(slug[r] for r in area_of.get(c, ())) for c in municipalities},
        "municipality_names": {c: n for c, (n, _p) in municipalities.items()},
        "municipality_provinces": {c: p or "" for c, (_n, p) in municipalities.items()},
        "boundaries": boundaries,
        "loaded": {"municipalities": len(municipalities), "locations": len(locations),
                   "adjacency": len(pairs), "boundaries": len(boundaries)},
    }


def _sectors(locations: list[Any], in_regions: dict[str, list[int]],
             only: str | None) -> list[dict[str, Any]]:
    totals: dict[str, list[int]] = {s: [0, 0, 0, 0] for s in NETWORK_SECTORS if only in (None, s)}
    for code, _name, sector, _m, pupils in locations:
        counts = totals.setdefault(sector, [0, 0, 0, 0])
        covered = code in in_regions
        counts[0] += 1
        counts[1] += covered
        counts[2] += pupils or 0
        counts[3] += (pupils or 0) if covered else 0
    return [{"sector": s, "locations": c[0], "covered": c[1], "share": share(c[1], c[0]),
             "pupils": c[2], "covered_pupils": c[3], "pupil_share": share(c[3], c[2])}
            for s, c in totals.items()]


def _provinces(locations: list[Any], in_regions: dict[str, list[int]],
               municipalities: dict[str, tuple[str, str | None]]) -> list[dict[str, Any]]:
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for code, _name, sector, municipality, _p in locations:
        province = municipalities.get(municipality, ("", None))[1] or "?"
        totals[province, sector][0] += 1
        totals[province, sector][1] += code in in_regions
    return [{"province": p, "sector": s, "locations": c[0], "covered": c[1], "share": share(c[1], c[0])}
            for (p, s), c in sorted(totals.items())]


def _pupils(locations: list[Any], in_regions: dict[str, list[int]]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, _name, sector, _m, pupils in locations:
        for rid in in_regions.get(code, ()):
            out[rid][sector] += pupils or 0
    return {rid: dict(counts) for rid, counts in out.items()}
