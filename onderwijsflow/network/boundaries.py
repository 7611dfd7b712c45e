"""Municipal boundaries from a GeoJSON file: checked, simplified, and which ones touch.

Needs shapely (``pip install onderwijsflow[geo]``), imported only here and only when a file
is read. Dutch files are usually in RD New (EPSG:28992, metres); they are converted to WGS84
longitude/latitude with the RD→WGS84 approximation series of Schreutelkamp and Strang van
Hees (accurate to about a metre within the Netherlands, far finer than a generalised map).
A file's ``crs`` member decides the projection; a file without one is taken as RD when every
coordinate lies within the RD range of the Netherlands, as WGS84 when every coordinate is a
longitude and latitude, and refused otherwise. Adjacency is derived in the file's own
coordinates: two municipalities are neighbours when their boundaries share a line (a corner
alone does not make a common border).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onderwijsflow.errors import OnderwijsflowError
from onderwijsflow.i18n import _
from onderwijsflow.network.readers import municipality_code, problems_error, read_text

__all__ = ["BoundaryFile", "rd_to_wgs84", "read_boundaries"]

#: Property names that hold the municipality code, in order of preference.
_CODE_PROPERTIES = ("statcode", "gemeentecode", "GemeentecodeGM", "code", "GM_CODE")
#: Simplification tolerance in the file's units: metres (RD) and degrees (WGS84).
_TOLERANCE = {"rd": 100.0, "wgs84": 0.001}
#: How long a shared border must be to count: in metres (RD) and degrees (WGS84).
_SHARED = {"rd": 1.0, "wgs84": 0.00001}


@dataclass
class BoundaryFile:
    """What a boundary file holds: each municipality's WGS84 geometry and the shared borders."""

    projection: str  # "rd" or "wgs84"
    geometries: dict[str, dict[str, Any]]
    adjacency: list[tuple[str, str]]


def rd_to_wgs84(x: float, y: float) -> tuple[float, float]:
    """(longitude, latitude) of the RD New point (`x`, `y`) in metres."""
    dx = (x - 155000.0) * 1e-5
    dy = (y - 463000.0) * 1e-5
    north = (3235.65389 * dy - 32.58297 * dx**2 - 0.2475 * dy**2 - 0.84978 * dx**2 * dy
             - 0.0655 * dy**3 - 0.01709 * dx**2 * dy**2 - 0.00738 * dx + 0.0053 * dx**4
             - 0.00039 * dx**2 * dy**3 + 0.00033 * dx**4 * dy - 0.00012 * dx * dy)
    east = (5260.52916 * dx + 105.94684 * dx * dy + 2.45656 * dx * dy**2 - 0.81885 * dx**3
            + 0.05594 * dx * dy**3 - 0.05607 * dx**3 * dy + 0.01199 * dy - 0.00256 * dx**3 * dy**2
            + 0.00128 * dx * dy**4 + 0.00022 * dy**2 - 0.00022 * dx**2 + 0.00026 * dx**5)
    return 5.387206 + east / 3600.0, 52.15517 + north / 3600.0


def _shapely() -> Any:
    try:
        import shapely
    except ImportError:
        raise OnderwijsflowError(_("reading boundaries needs shapely: pip install 'onderwijsflow[geo]'")) \
            from None
    return shapely


def _points(coordinates: Any) -> Iterator[tuple[float, float]]:
    if isinstance(coordinates, list | tuple) and coordinates and isinstance(coordinates[0], int | float):
        yield float(coordinates[0]), float(coordinates[1])
    elif isinstance(coordinates, list | tuple):
        for item in coordinates:
            yield from _points(item)


def _projection(name: str, document: dict[str, Any], features: list[dict[str, Any]]) -> str:
    """``rd`` or ``wgs84``, from the ``crs`` member or the coordinates' range.

    Raises:
        UsageError: a projection other than these two, or coordinates that fit neither.
    """
    crs = document.get("crs")
    if isinstance(crs, dict):
        text = json.dumps(crs.get("properties", {})).upper()
        if "28992" in text:
            return "rd"
        if "4326" in text or "CRS84" in text:
            return "wgs84"
        raise problems_error([_("{file}: projection {crs} is not supported; give the boundaries in "
                                "RD New (EPSG:28992) or WGS84 (EPSG:4326)").format(
                                    file=name, crs=json.dumps(crs.get("properties", crs)))])
    xs, ys = [], []
    for feature in features:
        for x, y in _points((feature.get("geometry") or {}).get("coordinates", [])):
            xs.append(x)
            ys.append(y)
    if xs and min(xs) >= -10000 and max(xs) <= 300000 and min(ys) >= 280000 and max(ys) <= 640000:
        return "rd"
    if xs and min(xs) >= -180 and max(xs) <= 180 and min(ys) >= -90 and max(ys) <= 90:
        return "wgs84"
    raise problems_error([_("{file}: the coordinates are in an unknown projection (neither RD New, "
                            "EPSG:28992, nor WGS84 longitude/latitude) and the file names none")
                          .format(file=name)])


def _feature_code(feature: dict[str, Any]) -> tuple[str | None, str]:
    """(municipality code, how the problem sentence names the feature)."""
    properties = feature.get("properties") or {}
    raw = next((str(properties[k]) for k in _CODE_PROPERTIES if properties.get(k) not in (None, "")),
               None)
    if raw is None and feature.get("id") is not None:
        raw = str(feature["id"])
    return (municipality_code(raw) if raw is not None else None), raw or "?"


def read_boundaries(path: str | Path) -> BoundaryFile:
    """Read, check and simplify a GeoJSON FeatureCollection of municipal boundaries.

    Raises:
        UsageError: not GeoJSON, an unknown projection, a feature without a municipality code,
            a duplicate code, or an invalid geometry (each named by feature number and id).
        OnderwijsflowError: shapely is not installed.
    """
    shapely = _shapely()
    from shapely.geometry import shape

    path = Path(path)
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise problems_error([_("{file}:{line}: not JSON ({reason})").format(
            file=path.name, line=err.lineno, reason=err.msg)]) from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list) or not features:
        raise problems_error([_("{file}: not a GeoJSON FeatureCollection with features").format(
            file=path.name)])
    projection = _projection(path.name, document, features)
    problems: list[str] = []
    shapes: dict[str, Any] = {}
    for number, feature in enumerate(features, start=1):
        code, named = _feature_code(feature if isinstance(feature, dict) else {})
        where = _("{file}: feature {number} ({id})").format(file=path.name, number=number, id=named)
        if code is None:
            problems.append(_("{where}: no municipality code (property statcode, e.g. GM0363)").format(
                where=where))
            continue
        try:
            geometry = shape(feature.get("geometry"))
        except Exception as err:
            problems.append(_("{where}: not a geometry ({reason})").format(where=where, reason=err))
            continue
        if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
            problems.append(_("{where}: a municipality must be a polygon, not {kind}").format(
                where=where, kind=geometry.geom_type))
            continue
        if not geometry.is_valid:
            from shapely.validation import explain_validity

            problems.append(_("{where}: invalid geometry ({reason})").format(
                where=where, reason=explain_validity(geometry)))
            continue
        if code in shapes:
            problems.append(_("{where}: municipality {code} appears twice").format(where=where, code=code))
            continue
        shapes[code] = geometry
    if problems:
        raise problems_error(problems)
    return BoundaryFile(projection, _simplified(shapely, shapes, projection),
                        _touching(shapely, shapes, projection))


def _touching(shapely: Any, shapes: dict[str, Any], projection: str) -> list[tuple[str, str]]:
    """The pairs of codes whose boundaries share a line (an STRtree finds the candidates)."""
    codes = sorted(shapes)
    geometries = [shapes[c] for c in codes]
    tree = shapely.STRtree(geometries)
    pairs = set()
    for i, geometry in enumerate(geometries):
        for j in tree.query(geometry, predicate="intersects"):
            if j <= i:
                continue
            shared = geometry.boundary.intersection(geometries[j].boundary)
            if shared.length > _SHARED[projection]:
                pairs.add((codes[i], codes[int(j)]))
    return sorted(pairs)


def _simplified(shapely: Any, shapes: dict[str, Any], projection: str) -> dict[str, dict[str, Any]]:
    """Each geometry simplified (topology kept per polygon) and in WGS84, as GeoJSON."""
    from shapely.geometry import mapping

    out = {}
    for code, geometry in shapes.items():
        simple = geometry.simplify(_TOLERANCE[projection], preserve_topology=True)
        if projection == "rd":
            simple = shapely.transform(simple, _rd_array)
        out[code] = _rounded(mapping(simple))
    return out


def _rd_array(points: Any) -> Any:
    import numpy

    lon, lat = rd_to_wgs84(points[:, 0], points[:, 1])  # numpy arrays pass through the series
    return numpy.column_stack([lon, lat])


def _rounded(geojson: Any) -> Any:
    """Coordinates to 5 decimals (about a metre): smaller rows and pages."""
    if isinstance(geojson, dict):
        return {k: _rounded(v) for k, v in geojson.items()}
    if isinstance(geojson, list | tuple):
        if geojson and isinstance(geojson[0], float | int):
            return [round(float(v), 5) for v in geojson]
        return [_rounded(v) for v in geojson]
    return geojson


def lonlat_scale(latitude: float) -> float:
    """How much narrower a degree of longitude is than one of latitude at `latitude`."""
    return math.cos(math.radians(latitude))
