"""An inline SVG map of the municipalities, coloured by region, for the coverage report.

No tiles, scripts or fonts from elsewhere: the page stays self-contained. With boundaries
loaded (WGS84 GeoJSON, simplified on import) each municipality is drawn in an equirectangular
projection scaled by the cosine of the middle latitude, which is close enough for a country
the size of the Netherlands. Without boundaries the municipalities are squares in a grid,
ordered by province and code, and the map says it is a schematic layout.

Marks: a municipality in no region (a white spot) is white with grey hatching; one in two or
more regions' areas is cross-hatched red; a municipality with a school location that takes
part in two regions carries a red ring. Every shape has a ``<title>`` (name, code, regions),
the SVG a title and a description, and the legend says each mark in words.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from html import escape
from typing import Any

from onderwijsflow.i18n import _

__all__ = ["PALETTE", "coverage_map"]

#: Region colours: distinguishable, and readable with black text.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f",
           "#86bcb6", "#d4a6c8", "#a0cbe8", "#8cd17d", "#ffbe7d", "#bab0ac", "#d37295", "#79706e")
_WIDTH = 640
_LEGEND = 360


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _rings(geometry: dict[str, Any]) -> Iterator[list[list[float]]]:
    if geometry.get("type") == "Polygon":
        yield from geometry["coordinates"]
    elif geometry.get("type") == "MultiPolygon":
        for polygon in geometry["coordinates"]:
            yield from polygon


def _layout(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, tuple[float, float]], float, bool]:
    """(code -> SVG path data, code -> label point, height, schematic)."""
    names = data["municipality_names"]
    shapes = {c: g for c, g in data.get("boundaries", {}).items() if c in names}
    if shapes:
        points = [p for g in shapes.values() for ring in _rings(g) for p in ring]
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        scale_x = math.cos(math.radians((min(lats) + max(lats)) / 2))
        span = max((max(lons) - min(lons)) * scale_x, max(lats) - min(lats)) or 1.0
        k = (_WIDTH - 20) / span
        height = (max(lats) - min(lats)) * k + 20

        def xy(p: list[float]) -> tuple[float, float]:
            return 10 + (p[0] - min(lons)) * scale_x * k, 10 + (max(lats) - p[1]) * k

        paths, centres = {}, {}
        for code, geometry in shapes.items():
            rings = [[xy(p) for p in ring] for ring in _rings(geometry)]
            paths[code] = " ".join("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in ring) + " Z"
                                   for ring in rings)
            outer = rings[0]
            centres[code] = (sum(x for x, _y in outer) / len(outer), sum(y for _x, y in outer) / len(outer))
        return paths, centres, height, False
    codes = sorted(names, key=lambda c: (data.get("municipality_provinces", {}).get(c, ""), c))
    columns = max(1, math.ceil(math.sqrt(len(codes))))
    cell = (_WIDTH - 20) / columns
    paths, centres = {}, {}
    for i, code in enumerate(codes):
        row, column = divmod(i, columns)
        x, y = 10 + column * cell, 10 + row * cell
        paths[code] = f"M{x:.1f},{y:.1f} h{cell - 2:.1f} v{cell - 2:.1f} h{-(cell - 2):.1f} Z"
        centres[code] = (x + cell / 2, y + cell / 2)
    return paths, centres, 20 + cell * math.ceil(len(codes) / columns), True


def coverage_map(data: dict[str, Any]) -> str:
    """The map of a coverage report (see :func:`onderwijsflow.network.coverage.coverage`)."""
    names: dict[str, str] = data["municipality_names"]
    areas: dict[str, list[str]] = data["areas"]
    regions = [r for r in data["regions"] if r["municipalities"]]
    colour = {r["slug"]: PALETTE[i % len(PALETTE)] for i, r in enumerate(regions)}
    region_name = {r["slug"]: r["name"] for r in data["regions"]}
    shared_places = _overlap_municipalities(data)
    paths, centres, height, schematic = _layout(data)
    legend_height = 40 + 22 * (len(regions) + 3)
    total_height = max(height, legend_height) + (30 if schematic else 0)
    white = [c for c in names if not areas.get(c)]
    summary = _("{n} municipalities: {covered} in a region, {white} white spots, {overlaps} school "
                "locations in more than one region").format(
                    n=len(names), covered=len(names) - len(white), white=len(white),
                    overlaps=len(data["overlaps"]))
    parts = [
        f'<svg class="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH + _LEGEND} '
        f'{total_height:.0f}" role="img" aria-labelledby="map-title map-desc">',
        f'<title id="map-title">{_e(_("Municipalities by region"))}</title>',
        f'<desc id="map-desc">{_e(summary)}</desc>',
        '<defs><pattern id="white-spot" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="8" stroke="#9aa7b4" stroke-width="2"/></pattern>'
        '<pattern id="overlap" width="8" height="8" patternUnits="userSpaceOnUse">'
        '<rect width="8" height="8" fill="#fde0dd"/><path d="M0,0 L8,8 M8,0 L0,8" stroke="#c0392b" '
        'stroke-width="1.5"/></pattern></defs>',
        '<g class="municipalities" stroke="#ffffff" stroke-width="0.8">',
    ]
    for code in sorted(paths):
        owners = areas.get(code, [])
        fill = ("url(#white-spot)" if not owners else "url(#overlap)" if len(owners) > 1
                else colour.get(owners[0], "#cccccc"))
        said = (_("white spot: in no region") if not owners
                else ", ".join(region_name.get(s, s) for s in owners))
        parts.append(f'<path d="{paths[code]}" fill="{fill}" data-code="{_e(code)}" '
                     f'data-regions="{_e(" ".join(owners))}"><title>{_e(names[code])} ({_e(code)}): '
                     f'{_e(said)}</title></path>')
    parts.append("</g>")
    for code in sorted(shared_places):
        if code in centres:
            x, y = centres[code]
            parts.append(f'<circle class="overlap-mark" cx="{x:.1f}" cy="{y:.1f}" r="7" fill="none" '
                         f'stroke="#c0392b" stroke-width="3"><title>{_e(names.get(code, code))}: '
                         f'{_e(_("a school location here takes part in more than one region"))}'
                         f'</title></circle>')
    parts.append(_legend(regions, colour))
    if schematic:
        note = _("Schematic layout: no municipal boundaries are loaded, so the squares do not show "
                 "where the municipalities lie.")
        parts.append(f'<text x="10" y="{total_height - 10:.0f}" font-size="13" fill="#5b6b7a">'
                     f'{_e(note)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(regions: list[dict[str, Any]], colour: dict[str, str]) -> str:
    x = _WIDTH + 10
    items = [(colour[r["slug"]], r["name"]) for r in regions]
    items += [("url(#white-spot)", _("white spot: municipality in no region")),
              ("url(#overlap)", _("municipality in more than one region")),
              ("ring", _("school location in more than one region"))]
    out = [f'<g class="legend" font-size="12" fill="#1c2733"><text x="{x}" y="24" font-weight="600">'
           f'{_e(_("Legend"))}</text>']
    for i, (fill, label) in enumerate(items):
        y = 40 + i * 22
        if fill == "ring":
            out.append(f'<circle cx="{x + 8}" cy="{y + 7}" r="6" fill="none" stroke="#c0392b" '
                       'stroke-width="3"/>')
        else:
            out.append(f'<rect x="{x}" y="{y}" width="16" height="14" fill="{fill}" stroke="#5b6b7a" '
                       'stroke-width="0.5"/>')
        text = label if len(label) <= 48 else label[:46] + "…"
        out.append(f'<text x="{x + 22}" y="{y + 12}">{_e(text)}</text>')
    out.append("</g>")
    return "".join(out)


def _overlap_municipalities(data: dict[str, Any]) -> set[str]:
    """The municipalities with a school location that takes part in two regions."""
    return {o["municipality"] for o in data["overlaps"] if o.get("municipality")}
