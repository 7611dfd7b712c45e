"""The national report in five shapes: a text table, Markdown, CSV, JSON and an HTML page.

Every renderer takes the plain ``dict`` of :func:`onderwijsflow.reporting.national.national_report`
and returns text; the words people read are Dutch (the RE's working language), the keys and
column names scripts read are English. The HTML page is self-contained: inline CSS, an inline
SVG bar chart per workflow, no scripts, no external assets, every value escaped. rich is
imported only for the table format.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

__all__ = ["CSV_COLUMNS", "FORMATS", "render", "rich_renderables"]

#: The formats of ``report --format``.
FORMATS = ("table", "md", "csv", "json", "html")

#: The columns of the CSV format: one flat table, one `section` per part of the report.
CSV_COLUMNS = ("section", "workflow", "round", "key", "label", "count", "region", "due", "status")

#: How many region slugs a table shows per blocking requirement before "+N more".
EXAMPLES = 5

#: How many blocking requirements are also said in a sentence above their table.
HEADLINES = 3

#: How many rows a list shows in the terminal table format.
TABLE_ROWS = 50

TITLE = "Landelijk beeld onderwijsregio's"

TOTALS = {
    "regions": "Regio's",
    "active_regions": "Actieve regio's",
    "closed_regions": "Afgesloten regio's (alle zaken afgerond)",
    "cases": "Zaken",
    "blocked_regions": "Regio's die een eis missen voor een volgende stap",
    "overdue": "Verlopen mijlpalen",
    "upcoming": "Mijlpalen in de komende weken",
    "without_coordinator": "Regio's zonder coördinator",
    "without_lead": "Regio's zonder programmamanager of projectleider",
    "missing_values": "Zaken met thema's zonder actie",
    "overdue_conversations": "Peilgesprekken die niet zijn gehouden",
}


def render(report: dict[str, Any], fmt: str) -> str:
    """The report as text in `fmt`.

    Args:
        report: the result of ``national_report``.
        fmt: one of :data:`FORMATS`.

    Returns:
        The rendered text, ending in a newline.

    Raises:
        ValueError: `fmt` is not one of :data:`FORMATS`.
    """
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "table": _table, "md": markdown, "csv": to_csv, "json": to_json, "html": to_html,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown report format '{fmt}'; use one of {', '.join(FORMATS)}")
    return renderers[fmt](report)


# --- shared words ----------------------------------------------------------------------------


def workflow_heading(group: dict[str, Any]) -> str:
    """``Subsidietraject onderwijsregio (subsidie, ronde 2025): 9 regio's``."""
    where = group["workflow"] + (f", ronde {group['round']}" if group["round"] else "")
    return f"{group['title']} ({where}): {_regions(group['cases'])}"


def blocking_sentence(row: dict[str, Any]) -> str:
    """``14 regio's missen: De beroepsgroep is volwaardig partner``."""
    verb = "mist" if row["count"] == 1 else "missen"
    return f"{_regions(row['count'])} {verb}: {row['label']}"


def upcoming_title(report: dict[str, Any]) -> str:
    """The heading of the upcoming milestones, with the number of weeks."""
    weeks = report["weeks"]
    return f"Mijlpalen in de komende {weeks} {'week' if weeks == 1 else 'weken'}"


def total_rows(report: dict[str, Any]) -> list[list[Any]]:
    """(label, number) per total; the upcoming milestones say how many weeks ahead."""
    labels = {**TOTALS, "upcoming": upcoming_title(report)}
    return [[labels[k], v] for k, v in report["totals"].items() if k in labels]


def examples(regions: Sequence[str]) -> str:
    """The first few slugs, and how many more there are."""
    shown = ", ".join(regions[:EXAMPLES])
    rest = len(regions) - EXAMPLES
    return shown + (f" (+{rest} meer)" if rest > 0 else "")


def short_due(iso: str | None) -> str:
    """``2024-10-15 16:00`` from a local ISO moment."""
    return iso[:16].replace("T", " ") if iso else ""


def _regions(count: int) -> str:
    return f"{count} regio" if count == 1 else f"{count} regio's"


def _case(row: dict[str, Any]) -> str:
    workflow: str = row["workflow"]
    return workflow + (f" {row['round']}" if row["round"] else "")


def headlines(report: dict[str, Any]) -> list[str]:
    """The requirements that hold back most regions, as sentences (``14 regio's missen: ...``)."""
    return [blocking_sentence(b) for b in report["blocking"][:HEADLINES]]


_Section = tuple[str, list[str], Sequence[str], list[list[Any]]]


def _sections(report: dict[str, Any]) -> list[_Section]:
    """The tabular parts of the report after the charts: (title, sentences, columns, rows)."""
    deadline_columns = ("Vervalt", "Regio", "Zaak", "Mijlpaal")

    def deadline_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [[short_due(r["due"]), r["name"], _case(r), r["label"]] for r in rows]

    def region_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [[r["region"], r["name"], r["coordinator"] or ""] for r in rows]

    return [
        ("Eisen die de meeste regio's tegenhouden", headlines(report),
         ("Regio's", "Eis", "Workflow", "Bijvoorbeeld"),
         [[b["count"], b["label"], ", ".join(b["workflows"]),
           examples(b.get("region_names") or b["regions"])]
          for b in report["blocking"]]),
        ("Thema's zonder actie", [], ("Regio", "Zaak", "Eis", "Ontbreekt"),
         [[r["name"], _case(r), r["label"], ", ".join(r["missing"])]
          for r in report.get("missing_values", [])]),
        ("Peilgesprekken die niet zijn gehouden", [], deadline_columns,
         deadline_rows(report.get("overdue_conversations", []))),
        ("Verlopen mijlpalen", [], deadline_columns, deadline_rows(report["overdue"])),
        (upcoming_title(report), [], deadline_columns, deadline_rows(report["upcoming"])),
        ("Regio's zonder coördinator", [], ("Regio", "Naam", "Coördinator"),
         region_rows(report["without_coordinator"])),
        ("Regio's zonder programmamanager of projectleider", [], ("Regio", "Naam", "Coördinator"),
         region_rows(report["without_lead"])),
    ]


def _state_rows(group: dict[str, Any]) -> list[list[Any]]:
    return [[s["label"] + (" (eindstatus)" if s["final"] else ""), s["state"], s["count"]]
            for s in group["states"]]


STATE_COLUMNS = ("Status", "Naam", "Regio's")


# --- Markdown ----------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    """Headings and pipe tables (GitHub-flavoured Markdown)."""
    lines = [f"# {TITLE}", "", f"Gegenereerd op {short_due(report['generated_at'])}.", "",
             "## Totalen", ""]
    lines += _md_table(("", "Aantal"), total_rows(report))
    lines += ["## Regio's per status", ""]
    for group in report["workflows"]:
        lines += [f"### {_md_text(workflow_heading(group))}", ""]
        lines += _md_table(STATE_COLUMNS, _state_rows(group))
    for title, sentences, columns, rows in _sections(report):
        lines += [f"## {_md_text(title)}", ""]
        lines += [*(f"- {_md_text(s)}" for s in sentences), ""] if sentences else []
        lines += _md_table(columns, rows) if rows else ["Geen.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(_md_cell(c) for c in columns) + " |",
           "|" + "|".join(" ---: " if c in ("Aantal", "Regio's") else " --- " for c in columns) + "|"]
    out += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return [*out, ""]


def _md_cell(value: Any) -> str:
    return _md_text("" if value is None else str(value)).replace("|", "\\|")


def _md_text(text: str) -> str:
    """One line, with the characters Markdown would act on inside a line escaped."""
    text = " ".join(text.split())
    for char in ("\\", "`", "*", "[", "]", "<"):
        text = text.replace(char, "\\" + char)
    return text


# --- CSV and JSON ------------------------------------------------------------------------------


def to_csv(report: dict[str, Any]) -> str:
    """One flat table with the columns of :data:`CSV_COLUMNS` (RFC 4180, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(csv_rows(report))
    return buffer.getvalue()


def csv_rows(report: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The report as flat rows, one `section` at a time.

    Sections: ``total`` (key, label, count), ``state`` (workflow, round, key = state,
    label, count), ``blocking`` (key = requirement names joined by ``+``, label, count),
    ``overdue`` / ``upcoming`` (workflow, round, key = milestone, label, region, due,
    status), ``without_coordinator`` / ``without_lead`` (region, label = region name).
    """
    generated = report["generated_at"]
    labels = {**TOTALS, "upcoming": upcoming_title(report)}
    yield {"section": "generated_at", "label": "Gegenereerd op", "due": generated}
    for key, count in report["totals"].items():
        yield {"section": "total", "key": key, "label": labels.get(key, key), "count": count}
    for group in report["workflows"]:
        for s in group["states"]:
            yield {"section": "state", "workflow": group["workflow"], "round": group["round"] or "",
                   "key": s["state"], "label": s["label"], "count": s["count"]}
    for b in report["blocking"]:
        yield {"section": "blocking", "workflow": "+".join(b["workflows"]),
               "key": "+".join(b["requirements"]), "label": b["label"], "count": b["count"]}
    for section in ("overdue", "upcoming"):
        for r in report[section]:
            yield {"section": section, "workflow": r["workflow"], "round": r["round"] or "",
                   "key": r["milestone"], "label": r["label"], "region": r["region"],
                   "due": r["due"], "status": r["status"]}
    for section in ("without_coordinator", "without_lead"):
        for r in report[section]:
            yield {"section": section, "label": r["name"], "region": r["region"]}
    for r in report.get("missing_values", []):
        yield {"section": "missing_values", "workflow": r["workflow"], "round": r["round"] or "",
               "key": r["requirement"], "label": ", ".join(r["missing"]), "region": r["region"]}
    for r in report.get("overdue_conversations", []):
        yield {"section": "overdue_conversations", "workflow": r["workflow"],
               "round": r["round"] or "", "key": r["milestone"], "label": r["label"],
               "region": r["region"], "due": r["due"], "status": r["status"]}


def to_json(report: dict[str, Any]) -> str:
    """The report as one JSON document (UTF-8 text, not ASCII escapes)."""
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


# --- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1c2733;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #d5dde5;
padding-bottom:.2rem}h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
.meta{color:#5b6b7a;margin-top:0}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.92rem}
th,td{border-bottom:1px solid #e3e8ee;padding:.3rem .7rem;text-align:left;vertical-align:top}
th{background:#f2f5f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
.totals{display:flex;flex-wrap:wrap;gap:.6rem;padding:0;list-style:none}
.totals li{background:#f2f5f8;border-radius:.4rem;padding:.5rem .8rem;min-width:9rem}
.totals b{display:block;font-size:1.4rem}
svg.chart{width:100%;max-width:60rem;height:auto}
svg.chart text{font-size:13px;fill:#1c2733}svg.chart text.count{font-weight:600}
rect.bar{fill:#1f6fb2}rect.bar.final{fill:#9aa7b4}
.none{color:#5b6b7a;font-style:italic}ul.lead{font-size:1.05rem;font-weight:600}
"""

#: Geometry of the bar charts (SVG user units).
_CHART_WIDTH, _LABEL_WIDTH, _BAR_WIDTH, _ROW = 900, 380, 440, 26


def to_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page (``lang="nl"``): totals, one bar chart per workflow, tables."""
    body = [
        f"<h1>{escape(TITLE)}</h1>",
        f'<p class="meta">Gegenereerd op {_e(short_due(report["generated_at"]))}</p>',
        _html_totals(report),
        "<h2>Regio's per status</h2>",
    ]
    for index, group in enumerate(report["workflows"]):
        body += [f"<h3>{_e(workflow_heading(group))}</h3>", bar_chart(group, f"chart-{index}")]
    if not report["workflows"]:
        body.append('<p class="none">Nog geen zaken.</p>')
    for title, sentences, columns, rows in _sections(report):
        body.append(f"<h2>{_e(title)}</h2>")
        if sentences:
            body.append('<ul class="lead">' + "".join(f"<li>{_e(s)}</li>" for s in sentences) + "</ul>")
        body.append(_html_table(columns, rows))
    return (
        '<!DOCTYPE html>\n<html lang="nl">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(TITLE)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body) + "\n</body>\n</html>\n"
    )


def bar_chart(group: dict[str, Any], ident: str) -> str:
    """An inline SVG: one horizontal bar per state, its length the number of regions.

    Final states are grey. Each bar carries ``data-state`` and ``data-count`` and a tooltip.
    """
    states = group["states"]
    most = max((s["count"] for s in states), default=0) or 1
    height = _ROW * len(states) + 8
    parts = [
        f'<svg class="chart" id="{_e(ident)}" viewBox="0 0 {_CHART_WIDTH} {height}" role="img" '
        f'aria-labelledby="{_e(ident)}-title">',
        f'<title id="{_e(ident)}-title">{_e(workflow_heading(group))}</title>',
    ]
    for row, state in enumerate(states):
        y = 4 + row * _ROW
        width = round(_BAR_WIDTH * state["count"] / most, 1)
        label = state["label"] if len(state["label"]) <= 52 else state["label"][:50] + "…"
        final = " final" if state["final"] else ""
        parts += [
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 14}" text-anchor="end">{_e(label)}</text>',
            f'<rect class="bar{final}" x="{_LABEL_WIDTH}" y="{y}" width="{width}" height="18" '
            f'data-state="{_e(state["state"])}" data-count="{state["count"]}">'
            f'<title>{_e(state["label"])}: {_e(_regions(state["count"]))}</title></rect>',
            f'<text class="count" x="{_LABEL_WIDTH + width + 6}" y="{y + 14}">{state["count"]}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def _html_totals(report: dict[str, Any]) -> str:
    items = [f"<li><b>{_e(number)}</b>{_e(label)}</li>" for label, number in total_rows(report)]
    return '<ul class="totals">' + "".join(items) + "</ul>"


def _html_table(columns: Sequence[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="none">Geen.</p>'
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(_html_cell(v) for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_cell(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="n">{value}</td>'
    return f"<td>{_e(value)}</td>"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


# --- rich tables -------------------------------------------------------------------------------


def rich_renderables(report: dict[str, Any], *, limit: int | None = TABLE_ROWS) -> list[Any]:
    """The report as rich renderables (a heading, totals and tables), for a terminal.

    Args:
        report: the result of ``national_report``.
        limit: the most rows a list shows (the rest is counted, and in every other format);
            None for all.
    """
    from rich.table import Table
    from rich.text import Text

    def grid(title: str, columns: Sequence[str], rows: list[list[Any]]) -> Any:
        table = Table(title=title, title_justify="left", title_style="bold")
        for column in columns:
            table.add_column(column, justify="right" if column in ("Aantal", "Regio's") else "left")
        shown = rows if limit is None else rows[:limit]
        for row in shown:
            table.add_row(*(Text("" if v is None else str(v)) for v in row))
        if len(shown) < len(rows):
            rest = len(rows) - len(shown)
            table.caption = f"… en nog {rest}; alle rijen met --format csv, md, html of json"
            table.caption_justify = "left"
        return table if rows else Text(f"{title}: geen")

    out: list[Any] = [Text(f"{TITLE}, gegenereerd op {short_due(report['generated_at'])}", style="bold")]
    out.append(grid("Totalen", ("", "Aantal"), total_rows(report)))
    for group in report["workflows"]:
        out.append(grid(workflow_heading(group), STATE_COLUMNS, _state_rows(group)))
    for title, sentences, columns, rows in _sections(report):
        out += [Text(sentence) for sentence in sentences]
        out.append(grid(title, columns, rows))
    return out


def _table(report: dict[str, Any]) -> str:
    """The rich tables as plain text (for ``--output FILE`` with the table format)."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=140, color_system=None, highlight=False, soft_wrap=False)
    for renderable in rich_renderables(report):
        console.print(renderable)
    return buffer.getvalue()
