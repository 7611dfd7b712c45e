"""The coverage report in every format: terminal tables, Markdown, CSV, JSON and an HTML page
with the map (:mod:`onderwijsflow.reporting.svgmap`).

Every format shows the same tables (:func:`sections`): per sector, per province, the
regions and their contiguity, the white spots and the overlaps.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from html import escape
from typing import Any

from onderwijsflow import i18n
from onderwijsflow.i18n import _

__all__ = ["FORMATS", "html_section", "render", "sections"]

FORMATS = ("table", "md", "csv", "json", "html")

_Section = tuple[str, list[str], list[list[Any]]]


def _share(value: float | None) -> str:
    return "" if value is None else i18n.format_number(value) + "%"


def _verdict(region: dict[str, Any]) -> str:
    if region["exempt"]:
        return _("exempt (national region)")
    if region["contiguous"] is None:
        return _("unknown (no municipalities or no adjacency loaded)")
    if region["contiguous"]:
        return _("contiguous")
    return _("{n} separate parts: {parts}").format(
        n=len(region["parts"]), parts=" | ".join(", ".join(part) for part in region["parts"]))


def shown(value: Any) -> Any:
    """A cell as a person reads it: counts with the language's separators (13.923 / 13,923);
    CSV keeps the plain number a spreadsheet reads."""
    if isinstance(value, int) and not isinstance(value, bool):
        return i18n.format_number(value)
    return value


def sections(data: dict[str, Any]) -> list[_Section]:
    """(title, columns, rows) of each table of the report."""
    white = data["white_spots"]
    return [
        (_("Coverage per sector ({year})").format(year=data["year"]),
         [_("sector"), _("locations"), _("in a region"), _("share"), _("pupils"), _("pupils in a region"),
          _("share of pupils")],
         [[s["sector"], s["locations"], s["covered"], _share(s["share"]), s["pupils"], s["covered_pupils"],
           _share(s["pupil_share"])] for s in data["sectors"]]),
        (_("Coverage per province"),
         [_("province"), _("sector"), _("locations"), _("in a region"), _("share")],
         [[p["province"], p["sector"], p["locations"], p["covered"], _share(p["share"])]
          for p in data["provinces"]]),
        (_("Regions"),
         [_("region"), _("municipalities"), _("locations"), "PO", "VO", "MBO", _("area")],
         [[r["name"], r["municipalities"], r["locations"], r["pupils"].get("PO", 0), r["pupils"].get("VO", 0),
           r["pupils"].get("MBO", 0), _verdict(r)] for r in data["regions"]]),
        (_("White spots: municipalities in no region"), [_("code"), _("municipality"), _("province")],
         [[m["code"], m["name"], m["province"]] for m in white["municipalities"]]),
        (_("White spots: school locations in no region"),
         [_("code"), _("school location"), _("sector"), _("municipality")],
         [[loc["code"], loc["name"], loc["sector"], data["municipality_names"].get(loc["municipality"],
                                                                                   loc["municipality"])]
          for loc in white["locations"]]),
        (_("Overlaps: school locations in more than one region"),
         [_("code"), _("school location"), _("regions")],
         [[o["code"], o["name"], ", ".join(o["region_names"])] for o in data["overlaps"]]),
    ]


def render(data: dict[str, Any], fmt: str) -> str:
    """The report as text in `fmt` (md, csv, json or html; table for a file too)."""
    if fmt == "json":
        return json.dumps({k: v for k, v in data.items() if k != "boundaries"}, ensure_ascii=False,
                          indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for title, columns, rows in sections(data):
            writer.writerow([title])
            writer.writerow(columns)
            writer.writerows(rows)
            writer.writerow([])
        return out.getvalue()
    if fmt == "html":
        return to_html(data)
    lines = [f"# {_('Coverage of the national network')}", ""]
    for title, columns, rows in sections(data):
        lines += [f"## {title}", ""]
        if not rows:
            lines += [_("None."), ""]
            continue
        lines.append("| " + " | ".join(columns) + " |")
        lines.append("|" + "---|" * len(columns))
        lines += ["| " + " | ".join(str(shown(v)).replace("|", "\\|") for v in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _html_table(columns: Sequence[str], rows: list[list[Any]]) -> str:
    if not rows:
        return f'<p class="none">{_e(_("None."))}</p>'
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(shown(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_section(data: dict[str, Any]) -> str:
    """The coverage as a part of an HTML page: the map, then the tables (its text alternative)."""
    from onderwijsflow.reporting.svgmap import coverage_map

    body = [f"<h2>{_e(_('Coverage of the national network'))}</h2>", coverage_map(data)]
    for title, columns, rows in sections(data):
        body += [f"<h3>{_e(title)}</h3>", _html_table(columns, rows)]
    return "\n".join(body)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1c2733;line-height:1.45}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.92rem}
th,td{border-bottom:1px solid #e3e8ee;padding:.3rem .7rem;text-align:left}th{background:#f2f5f8}
svg.map{width:100%;max-width:60rem;height:auto}.none{color:#5b6b7a;font-style:italic}
"""


def to_html(data: dict[str, Any]) -> str:
    """A self-contained page: the map and the tables."""
    title = _("Coverage of the national network")
    return (f'<!DOCTYPE html>\n<html lang="{i18n.current()}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + html_section(data) + "\n</body>\n</html>\n")
