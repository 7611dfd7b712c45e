"""The national report for spreadsheets: one table per CSV file, or one sheet per table in .xlsx.

Each part of the report is one :class:`Table` with a header row and typed cells (text, whole
numbers, decimals, local date-times), named by a stable English code (:data:`SECTIONS`, used
in file names and ``report --section``) and titled in the reader's language.

CSV comes in two dialects, registered with the :mod:`csv` module:

- ``excel-nl`` (the default in Dutch): ``;`` between cells and a decimal comma, what Excel
  expects in a Dutch locale;
- ``excel`` (the default in English): ``,`` and a decimal point.

Dates are written ``YYYY-MM-DD HH:MM`` (local time), which Excel reads as a date in every
locale. Text that a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return, or their full-width forms) is neutralised with a leading
``'`` (OWASP's advice against CSV injection); numbers the tool writes itself stay numbers,
negative ones too. In the workbook such text is a plain text cell, never a formula.

Example::

    from onderwijsflow.reporting.export import to_csv, to_xlsx

    regions = to_csv(report, section="statussen", dialect="excel-nl")
    Path("report.xlsx").write_bytes(to_xlsx(report))
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from onderwijsflow import i18n
from onderwijsflow.i18n import _
from onderwijsflow.reporting.render import (
    BLOCKING_TITLE,
    CONVERSATIONS_TITLE,
    NO_COORDINATOR_TITLE,
    NO_LEAD_TITLE,
    OVERDUE_TITLE,
    STATES_TITLE,
    THEMES_TITLE,
    TITLE,
    total_rows,
    upcoming_title,
)

__all__ = ["DIALECTS", "SECTIONS", "Table", "csv_cell", "default_dialect", "file_names",
           "neutralise", "sheet_name", "tables", "to_csv", "to_xlsx"]


class ExcelNL(csv.excel):
    """Excel in a Dutch locale: ``;`` between cells, since the comma is the decimal mark."""

    delimiter = ";"


csv.register_dialect("excel-nl", ExcelNL)

#: The CSV dialects of ``report --dialect``; the first is the default in Dutch.
DIALECTS = ("excel-nl", "excel")

#: The decimal mark per dialect (a point where not named).
_DECIMAL_MARK = {"excel-nl": ","}

#: The tables of the report, in order: file suffixes and ``report --section`` values. Dutch
#: codes, as every slug a person types in onderwijsflow (states, roles, document kinds), the
#: same in both languages so that scripts find the files.
SECTIONS = ("samenvatting", "statussen", "voorwaarden", "themas", "peilgesprekken", "verlopen",
            "komend", "zonder-coordinator", "zonder-projectleiding")

#: What a spreadsheet reads as the start of a formula (OWASP, CSV injection), and the
#: full-width forms some spreadsheets fold into them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

#: The longest sheet name Excel accepts, and the characters it refuses in one.
_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = str.maketrans({c: " " for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Table:
    """One part of the report as a table.

    Attributes:
        name: the stable code (one of :data:`SECTIONS`): file suffix and ``--section`` value.
        title: what the table is, in the reader's language.
        sheet: a short title, for a sheet name (at most 31 characters).
        columns: the header row, in the reader's language.
        rows: typed cells: ``str``, ``int``, ``float`` (a decimal), ``datetime`` (local, naive)
            or None (empty).
    """

    name: str
    title: str
    sheet: str
    columns: tuple[str, ...]
    rows: list[list[Any]]


def default_dialect() -> str:
    """``excel-nl`` when the reader's language is Dutch, else ``excel``."""
    return "excel-nl" if i18n.current() == "nl" else "excel"


def neutralise(text: str) -> str:
    """`text` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def tables(report: dict[str, Any]) -> list[Table]:
    """The report as :data:`SECTIONS` tables, in the current language.

    Args:
        report: the result of ``national_report``.
    """
    deadline_columns = (_("Due"), _("Region"), _("Region name"), _("Workflow"), _("Round"),
                        _("Milestone"))
    region_columns = (_("Region"), _("Region name"), _("Coordinator"))
    active = report["totals"].get("active_regions")

    def deadlines(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [[_moment(r["due"]), r["region"], r["name"], r["workflow"], r["round"] or "",
                 r["label"]] for r in rows]

    def regions(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [[r["region"], r["name"], r["coordinator"] or ""] for r in rows]

    def share(count: int) -> float | None:
        return round(100 * count / active, 1) if active else None

    summary: list[list[Any]] = [[_("Generated on"), _moment(report["generated_at"])],
                                [_("Upcoming milestones are counted up to"), _moment(report["horizon"])],
                                *total_rows(report)]
    return [
        Table("samenvatting", _("Summary"), _("Summary"), (_("Subject"), _("Value")), summary),
        Table("statussen", _(STATES_TITLE), _(STATES_TITLE),
              (_("Workflow"), _("Round"), _("State"), _("Code"), _("Final state"), _("Regions")),
              [[g["workflow"], g["round"] or "", s["label"], s["state"],
                _("yes") if s["final"] else _("no"), s["count"]]
               for g in report["workflows"] for s in g["states"]]),
        Table("voorwaarden", _(BLOCKING_TITLE), _("Requirements"),
              (_("Requirement"), _("Number of regions"), _("Share of active regions (%)"),
               _("Workflows"), _("Regions")),
              [[b["label"], b["count"], share(b["count"]), ", ".join(b["workflows"]),
                ", ".join(b.get("region_names") or b["regions"])] for b in report["blocking"]]),
        Table("themas", _(THEMES_TITLE), _(THEMES_TITLE),
              (_("Region"), _("Region name"), _("Workflow"), _("Round"), _("Requirement"),
               _("Missing")),
              [[r["region"], r["name"], r["workflow"], r["round"] or "", r["label"],
                ", ".join(r["missing"])] for r in report.get("missing_values", [])]),
        Table("peilgesprekken", _(CONVERSATIONS_TITLE), _("Peilgesprekken not held"),
              deadline_columns, deadlines(report.get("overdue_conversations", []))),
        Table("verlopen", _(OVERDUE_TITLE), _(OVERDUE_TITLE), deadline_columns,
              deadlines(report["overdue"])),
        Table("komend", upcoming_title(report), _("Upcoming milestones"), deadline_columns,
              deadlines(report["upcoming"])),
        Table("zonder-coordinator", _(NO_COORDINATOR_TITLE), _("Without a coordinator"), region_columns,
              regions(report["without_coordinator"])),
        Table("zonder-projectleiding", _(NO_LEAD_TITLE), _("Without a programme lead"), region_columns,
              regions(report["without_lead"])),
    ]


def _moment(iso: str | None) -> dt.datetime | None:
    """A local ISO moment of the report as a naive local date-time (spreadsheets know no zones)."""
    return dt.datetime.fromisoformat(iso).replace(tzinfo=None) if iso else None


# --- CSV ---------------------------------------------------------------------------------------


def to_csv(report: dict[str, Any], *, section: str | None = None, dialect: str | None = None) -> str:
    """The report's tables as CSV text (CRLF line ends).

    Args:
        report: the result of ``national_report``.
        section: one of :data:`SECTIONS`: that table alone (a header row and its rows). None:
            every table in turn, each introduced by a row with its title and separated from
            the one before by an empty line.
        dialect: one of :data:`DIALECTS`; by default the current language's.

    Raises:
        ValueError: an unknown `section` or `dialect`.
    """
    dialect = dialect or default_dialect()
    if dialect not in DIALECTS:
        raise ValueError(_("unknown CSV dialect '{dialect}'; use one of {dialects}").format(
            dialect=dialect, dialects=", ".join(DIALECTS)))
    chosen = tables(report)
    if section is not None:
        chosen = [t for t in chosen if t.name == section]
        if not chosen:
            raise ValueError(_("unknown report section '{section}'; use one of {sections}").format(
                section=section, sections=", ".join(SECTIONS)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect=dialect)
    for index, table in enumerate(chosen):
        if section is None:
            if index:
                writer.writerow([])
            writer.writerow([neutralise(table.title)])
        _write_table(writer, table, dialect)
    return buffer.getvalue()


def _write_table(writer: Any, table: Table, dialect: str) -> None:
    writer.writerow([neutralise(c) for c in table.columns])
    writer.writerows([csv_cell(v, dialect) for v in row] for row in table.rows)


def csv_cell(value: Any, dialect: str) -> str:
    """One cell as CSV text in `dialect`: numbers as numbers (a decimal comma in ``excel-nl``),
    date-times as ``YYYY-MM-DD HH:MM``, text neutralised (:func:`neutralise`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        text = format(Decimal(str(value)), "f")
        return text.replace(".", _DECIMAL_MARK.get(dialect, "."))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


# --- xlsx --------------------------------------------------------------------------------------

#: Number formats of the workbook's cells (Excel codes; shown in the reader's locale).
_DATETIME_FORMAT = {"nl": "dd-mm-yyyy hh:mm", "en": "yyyy-mm-dd hh:mm"}
_DECIMAL_FORMAT = "0.0"


def to_xlsx(report: dict[str, Any]) -> bytes:
    """The report as an Excel workbook: one sheet per table (:data:`SECTIONS` order).

    Each sheet has a bold, frozen header row and a filter on it; numbers are number cells,
    moments date cells, and text is text, never a formula.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    book.properties.title = _(TITLE)
    book.properties.creator = "onderwijsflow"
    bold = Font(bold=True)
    moment_format = _DATETIME_FORMAT[i18n.current()]
    used: set[str] = set()
    for table in tables(report):
        sheet = book.create_sheet(title=sheet_name(table.sheet, used))
        widths = [len(c) for c in table.columns]
        for column, text in enumerate(table.columns, start=1):
            cell = sheet.cell(row=1, column=column, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", text))
            cell.font = bold
            _as_text(cell)
        for number, row in enumerate(table.rows, start=2):
            for column, value in enumerate(row, start=1):
                if isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) or None  # empty: no cell
                cell = sheet.cell(row=number, column=column, value=value)
                if isinstance(value, str):
                    _as_text(cell)
                elif isinstance(value, dt.datetime):
                    cell.number_format = moment_format
                elif isinstance(value, float | Decimal):
                    cell.number_format = _DECIMAL_FORMAT
                shown = len(moment_format) if isinstance(value, dt.datetime) else len(str(value or ""))
                widths[column - 1] = max(widths[column - 1], shown)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"
        for column, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(column)].width = min(max(width, 6) + 2, 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _as_text(cell: Any) -> None:
    """Keep a text cell text: openpyxl takes ``=...`` for a formula; a text that starts like
    one also gets Excel's quote prefix, so that editing the cell does not turn it into one."""
    if cell.data_type == "f" or str(cell.value).startswith(FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


def sheet_name(title: str, used: set[str]) -> str:
    """`title` as a sheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``, not
    starting or ending with ``'``, and unique in the workbook (`used` collects the names)."""
    name = " ".join(title.translate(_SHEET_NAME_BAD).split()).strip("'")[:_SHEET_NAME_MAX].strip()
    name = name or "Sheet"
    candidate, n = name, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate = name[: _SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    used.add(candidate.lower())
    return candidate


def file_names(base: str, sections: Sequence[str] = SECTIONS) -> dict[str, str]:
    """``{section: "BASE-SECTION.csv"}``: the CSV file of each table (``overzicht-verlopen.csv``)."""
    return {name: f"{base}-{name}.csv" for name in sections}
