"""The national report as text: a terminal table, Markdown, CSV, JSON and an HTML page.

Every renderer takes the plain ``dict`` of :func:`onderwijsflow.reporting.national.national_report`
and returns text in the reader's language (:mod:`onderwijsflow.i18n`); the keys scripts read
(JSON) stay English. Labels of states, requirements and milestones come from the workflows.
The HTML page is self-contained: inline CSS, an inline SVG bar chart per workflow, no scripts,
no external assets, every value escaped. rich is imported only for the table format. CSV and
the .xlsx workbook, one table per file or sheet, are :mod:`onderwijsflow.reporting.export`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from onderwijsflow import i18n
from onderwijsflow.i18n import N_, _, ngettext

__all__ = ["FILE_FORMATS", "FORMATS", "render", "rich_renderables"]

#: The formats :func:`render` turns into text (``report --format``).
FORMATS = ("table", "md", "csv", "json", "html")

#: The formats written to a file only (``report --format xlsx --out FILE``).
FILE_FORMATS = ("xlsx",)

#: How many region slugs a table shows per blocking requirement before "+N more".
EXAMPLES = 5

#: How many blocking requirements are also said in a sentence above their table.
HEADLINES = 3

#: How many rows a list shows in the terminal table format.
TABLE_ROWS = 50

TITLE = N_("National picture of the onderwijsregio's")

TOTALS = {
    "regions": N_("Regions"),
    "active_regions": N_("Active regions"),
    "closed_regions": N_("Closed regions (all cases finished)"),
    "cases": N_("Cases"),
    "blocked_regions": N_("Regions lacking a requirement for a next step"),
    "overdue": N_("Overdue milestones"),
    "upcoming": N_("Upcoming milestones"),
    "without_coordinator": N_("Regions without a coordinator"),
    "without_lead": N_("Regions without a programme manager or project leader"),
    "missing_values": N_("Cases with themes without an action"),
    "overdue_conversations": N_("Progress conversations (peilgesprekken) not held"),
}

#: Section titles, shared by the text formats and the spreadsheet tables.
BLOCKING_TITLE = N_("Requirements holding back the most regions")
THEMES_TITLE = N_("Themes without an action")
CONVERSATIONS_TITLE = TOTALS["overdue_conversations"]
OVERDUE_TITLE = TOTALS["overdue"]
NO_COORDINATOR_TITLE = TOTALS["without_coordinator"]
NO_LEAD_TITLE = TOTALS["without_lead"]
STATES_TITLE = N_("Regions per state")


def render(report: dict[str, Any], fmt: str) -> str:
    """The report as text in `fmt`, in the current language.

    Args:
        report: the result of ``national_report``.
        fmt: one of :data:`FORMATS`.

    Returns:
        The rendered text, ending in a newline. CSV is every table in turn (see
        :func:`onderwijsflow.reporting.export.to_csv`), in the current language's dialect.

    Raises:
        ValueError: `fmt` is not one of :data:`FORMATS`.
    """
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "table": _table, "md": markdown, "csv": _csv, "json": to_json, "html": to_html,
    }
    if fmt not in renderers:
        raise ValueError(_("unknown report format '{format}'; use one of {formats}").format(
            format=fmt, formats=", ".join(FORMATS)))
    return renderers[fmt](report)


# --- shared words ----------------------------------------------------------------------------


def workflow_heading(group: dict[str, Any]) -> str:
    """``Subsidietraject onderwijsregio (subsidie, round 2025): 9 regions``."""
    if group["round"]:
        where = _("{workflow}, round {round}").format(workflow=group["workflow"], round=group["round"])
    else:
        where = group["workflow"]
    return _("{title} ({where}): {regions}").format(title=group["title"], where=where,
                                                     regions=regions_text(group["cases"]))


def blocking_sentence(row: dict[str, Any]) -> str:
    """``14 regions lack: De beroepsgroep is volwaardig partner``."""
    return ngettext("{n} region lacks: {requirement}", "{n} regions lack: {requirement}",
                    row["count"]).format(n=row["count"], requirement=row["label"])


#: ``P6W``, ``P14D``, ``P3M``, ``P1Y``: a look-ahead in one unit, said in words.
_ONE_UNIT = re.compile(r"^P(\d+)([YMWD])$")


def upcoming_title(report: dict[str, Any]) -> str:
    """The heading of the upcoming milestones: how far ahead they are counted.

    ``Milestones in the coming 6 weeks`` (``P6W``, or a report of ``weeks``), ``... 3 months``,
    ``... 14 days``; a look-ahead of mixed units names its last day.
    """
    within = report.get("within")
    found = _ONE_UNIT.match(within) if isinstance(within, str) else None
    if found is not None:
        n, unit = int(found[1]), found[2]
    elif within is None and isinstance(report.get("weeks"), int):
        n, unit = report["weeks"], "W"
    else:
        day = dt.datetime.fromisoformat(report["horizon"]).date()
        return _("Milestones due by {day}").format(day=i18n.format_day(day))
    words = {
        "W": ngettext("Milestones in the coming {n} week", "Milestones in the coming {n} weeks", n),
        "D": ngettext("Milestones in the coming {n} day", "Milestones in the coming {n} days", n),
        "M": ngettext("Milestones in the coming {n} month", "Milestones in the coming {n} months", n),
        "Y": ngettext("Milestones in the coming {n} year", "Milestones in the coming {n} years", n),
    }
    return words[unit].format(n=n)


def total_rows(report: dict[str, Any]) -> list[list[Any]]:
    """(label, number) per total; the upcoming milestones say how far ahead."""
    labels = {**{k: _(v) for k, v in TOTALS.items()}, "upcoming": upcoming_title(report)}
    return [[labels[k], v] for k, v in report["totals"].items() if k in labels]


def examples(regions: Sequence[str]) -> str:
    """The first few regions, and how many more there are."""
    shown = ", ".join(regions[:EXAMPLES])
    rest = len(regions) - EXAMPLES
    return _("{regions} (+{n} more)").format(regions=shown, n=rest) if rest > 0 else shown


#: A moment in a table cell: day-month order in Dutch (as ``cli.output.short_time``).
_SHORT_MOMENT = {"nl": "dd-MM-y HH:mm", "en": "y-MM-dd HH:mm"}


def short_due(iso: str | None) -> str:
    """``15-10-2024 16:00`` (Dutch) or ``2024-10-15 16:00`` from a local ISO moment."""
    if not iso:
        return ""
    from babel.dates import format_datetime

    local = dt.datetime.fromisoformat(iso).replace(tzinfo=None)  # already Europe/Amsterdam
    return format_datetime(local, _SHORT_MOMENT[i18n.current()], locale=i18n.locale())


def generated_on(report: dict[str, Any]) -> str:
    """The moment of the report, as a person reads it (``Monday 25 November 2024, 09:00``)."""
    return i18n.format_datetime(dt.datetime.fromisoformat(report["generated_at"]))


def regions_text(count: int) -> str:
    """``1 region``, ``5 regions``."""
    return ngettext("{n} region", "{n} regions", count).format(n=count)


def _case(row: dict[str, Any]) -> str:
    workflow: str = row["workflow"]
    return workflow + (f" {row['round']}" if row["round"] else "")


def headlines(report: dict[str, Any]) -> list[str]:
    """The requirements that hold back most regions, as sentences (``14 regions lack: ...``)."""
    return [blocking_sentence(b) for b in report["blocking"][:HEADLINES]]


_Section = tuple[str, list[str], Sequence[str], list[list[Any]]]


def _sections(report: dict[str, Any]) -> list[_Section]:
    """The tabular parts of the report after the charts: (title, sentences, columns, rows)."""
    deadline_columns = (_("Due"), _("Region"), _("Case"), _("Milestone"))
    region_columns = (_("Region"), _("Name"), _("Coordinator"))

    def deadline_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [[short_due(r["due"]), r["name"], _case(r), r["label"]] for r in rows]

    def region_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [[r["region"], r["name"], r["coordinator"] or ""] for r in rows]

    return [
        (_(BLOCKING_TITLE), headlines(report),
         (_("Regions"), _("Requirement"), _("Workflow"), _("For example")),
         [[b["count"], b["label"], ", ".join(b["workflows"]),
           examples(b.get("region_names") or b["regions"])]
          for b in report["blocking"]]),
        (_(THEMES_TITLE), [], (_("Region"), _("Case"), _("Requirement"), _("Missing")),
         [[r["name"], _case(r), r["label"], ", ".join(r["missing"])]
          for r in report.get("missing_values", [])]),
        (_(CONVERSATIONS_TITLE), [], deadline_columns,
         deadline_rows(report.get("overdue_conversations", []))),
        (_(OVERDUE_TITLE), [], deadline_columns, deadline_rows(report["overdue"])),
        (upcoming_title(report), [], deadline_columns, deadline_rows(report["upcoming"])),
        (_(NO_COORDINATOR_TITLE), [], region_columns, region_rows(report["without_coordinator"])),
        (_(NO_LEAD_TITLE), [], region_columns, region_rows(report["without_lead"])),
    ]


def _state_rows(group: dict[str, Any]) -> list[list[Any]]:
    return [[_("{state} (final state)").format(state=s["label"]) if s["final"] else s["label"],
             s["state"], s["count"]]
            for s in group["states"]]


def _state_columns() -> tuple[str, ...]:
    return (_("State"), _("Code"), _("Regions"))


def _numeric(rows: Sequence[Sequence[Any]]) -> set[int]:
    """The columns whose values are all numbers (shown right-aligned)."""
    width = max((len(row) for row in rows), default=0)
    return {i for i in range(width)
            if all(isinstance(row[i], int | float) and not isinstance(row[i], bool)
                   for row in rows if i < len(row) and row[i] is not None)}


# --- Markdown ----------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    """Headings and pipe tables (GitHub-flavoured Markdown)."""
    lines = [f"# {_md_text(_(TITLE))}", "",
             _md_text(_("Generated on {moment}.").format(moment=generated_on(report))), "",
             f"## {_md_text(_('Totals'))}", ""]
    lines += _md_table(("", _("Number")), total_rows(report))
    lines += [f"## {_md_text(_(STATES_TITLE))}", ""]
    for group in report["workflows"]:
        lines += [f"### {_md_text(workflow_heading(group))}", ""]
        lines += _md_table(_state_columns(), _state_rows(group))
    for title, sentences, columns, rows in _sections(report):
        lines += [f"## {_md_text(title)}", ""]
        lines += [*(f"- {_md_text(s)}" for s in sentences), ""] if sentences else []
        lines += _md_table(columns, rows) if rows else [_("None."), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    numeric = _numeric(rows)
    out = ["| " + " | ".join(_md_cell(c) for c in columns) + " |",
           "|" + "|".join(" ---: " if i in numeric else " --- " for i in range(len(columns))) + "|"]
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


def _csv(report: dict[str, Any]) -> str:
    from onderwijsflow.reporting.export import to_csv

    return to_csv(report)


def to_json(report: dict[str, Any]) -> str:
    """The report as one JSON document (UTF-8 text, not ASCII escapes)."""
    return json.dumps(public(report), ensure_ascii=False, indent=2) + "\n"


def public(report: dict[str, Any]) -> dict[str, Any]:
    """The report without the map's geometry (the coverage's boundaries), for JSON."""
    if not isinstance(report.get("coverage"), dict):
        return report
    return {**report, "coverage": {k: v for k, v in report["coverage"].items() if k != "boundaries"}}


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
svg.chart,svg.map{width:100%;max-width:60rem;height:auto}
svg.chart text{font-size:13px;fill:#1c2733}svg.chart text.count{font-weight:600}
rect.bar{fill:#1f6fb2}rect.bar.final{fill:#9aa7b4}
.none{color:#5b6b7a;font-style:italic}ul.lead{font-size:1.05rem;font-weight:600}
"""

#: Geometry of the bar charts (SVG user units).
_CHART_WIDTH, _LABEL_WIDTH, _BAR_WIDTH, _ROW = 900, 380, 440, 26


def to_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page in the current language (``lang="nl"`` or ``"en"``):
    totals, one bar chart per workflow, tables."""
    title = _(TITLE)
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">{_e(_("Generated on {moment}.").format(moment=generated_on(report)))}</p>',
        _html_totals(report),
        f"<h2>{_e(_(STATES_TITLE))}</h2>",
    ]
    for index, group in enumerate(report["workflows"]):
        body += [f"<h3>{_e(workflow_heading(group))}</h3>", bar_chart(group, f"chart-{index}")]
    if not report["workflows"]:
        body.append(f'<p class="none">{_e(_("No cases yet."))}</p>')
    for title, sentences, columns, rows in _sections(report):
        body.append(f"<h2>{_e(title)}</h2>")
        if sentences:
            body.append('<ul class="lead">' + "".join(f"<li>{_e(s)}</li>" for s in sentences) + "</ul>")
        body.append(_html_table(columns, rows))
    if report.get("coverage"):
        from onderwijsflow.reporting.coverage import html_section

        body.append(html_section(report["coverage"]))
    return (
        f'<!DOCTYPE html>\n<html lang="{i18n.current()}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
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
            f'<title>{_e(state["label"])}: {_e(regions_text(state["count"]))}</title></rect>',
            f'<text class="count" x="{_LABEL_WIDTH + width + 6}" y="{y + 14}">{state["count"]}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def _html_totals(report: dict[str, Any]) -> str:
    items = [f"<li><b>{_e(number)}</b>{_e(label)}</li>" for label, number in total_rows(report)]
    return '<ul class="totals">' + "".join(items) + "</ul>"


def _html_table(columns: Sequence[str], rows: list[list[Any]]) -> str:
    if not rows:
        return f'<p class="none">{_e(_("None."))}</p>'
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
        numeric = _numeric(rows)
        for index, column in enumerate(columns):
            table.add_column(column, justify="right" if index in numeric else "left")
        shown = rows if limit is None else rows[:limit]
        for row in shown:
            table.add_row(*(Text("" if v is None else str(v)) for v in row))
        if len(shown) < len(rows):
            rest = len(rows) - len(shown)
            table.caption = _("… and {n} more; every row with --format csv, xlsx, md, html or json"
                              ).format(n=rest)
            table.caption_justify = "left"
        return table if rows else Text(_("{title}: none").format(title=title))

    out: list[Any] = [Text(_("{title}, generated on {moment}").format(
        title=_(TITLE), moment=generated_on(report)), style="bold")]
    out.append(grid(_("Totals"), ("", _("Number")), total_rows(report)))
    for group in report["workflows"]:
        out.append(grid(workflow_heading(group), _state_columns(), _state_rows(group)))
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
