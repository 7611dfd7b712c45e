"""`import regions FILE.csv`: many regions with their partners, people and facts at once.

Coordinators keep their regions in Excel, so the format is what Excel writes when a sheet
is saved as CSV: one row per region under a header line naming the columns.

==============  ========  =====================================================================
column          required  content
==============  ========  =====================================================================
``slug``        yes       ``zuidoost-brabant``: lower-case letters, digits and hyphens
``name``        yes       the region's name
``provinces``   no        ``Noord-Brabant|Limburg``
``sectors``     no        ``PO|VO|MBO`` (PO, VO, SO, VSO, MBO, HO)
``coordinator`` no        the RE coordinator's e-mail address
``partners``    no        ``Naam:kind[:sector]`` items, e.g.
                          ``Stichting Primair Oost:schoolbestuur:PO|Pabo Oost:lerarenopleiding``
``people``      no        ``role:Naam[:e-mail]`` items, e.g.
                          ``programmamanager:Jan Jansen:jan@example.org``
``fact:NAME``   no        one column per fact declared in a workflow (``fact:leerlingen_po``),
                          holding a value of the declared type; an empty cell sets nothing
``municipalities`` no     the CBS codes of the municipalities the region covers,
                          ``GM0363|GM0362`` (or ``0363``); they must be in the reference data
``locations``   no        the DUO vestigingscodes of its school locations, ``16AH00|16AH01``
==============  ========  =====================================================================

Column names are case-insensitive and may come in any order. Items of a list are separated
by ``|`` or by a line break inside the cell (Alt+Enter in Excel). Sectors may be written in
lower case, partner kinds and roles in any case. The delimiter is a comma or a semicolon
(Dutch Excel writes semicolons), read from the header line; the text is UTF-8 with or
without a byte-order mark ("CSV UTF-8" in Excel). Empty rows are skipped.

How it is applied:

* Every row is checked before anything is written, and all problems are reported at once,
  each with its line number, in one :class:`~onderwijsflow.errors.UsageError`. A file with
  any problem changes nothing.
* The import is one transaction: all regions or none. A new region gets what ``region
  create`` gives it (the `start_with_region` cases) and every partner, person and fact
  with the same audit event the single commands write.
* A region that already exists is updated *additively*, so that re-importing an edited
  sheet brings the database in line with it without ever losing what the sheet does not
  mention: new partners and people are added, facts that differ are set, provinces and
  sectors are added, a different name or coordinator is taken over (a ``region_updated``
  event with old and new). A partner whose kind or sector changed, or a person whose
  e-mail address changed, is removed and added again, as a coordinator would do by hand.
  Nothing is removed otherwise, and an empty cell never clears anything.
* Re-importing the same file therefore changes nothing and writes no event.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlmodel import Session

from onderwijsflow.definition.model import FactDef, WorkflowDef, dump_value, stored_value
from onderwijsflow.errors import Conflict, UsageError
from onderwijsflow.i18n import N_, _, join_or, ngettext
from onderwijsflow.service.base import SLUG
from onderwijsflow.service.cases import CaseOps, _typed_params
from onderwijsflow.service.planning import on_enter
from onderwijsflow.store.audit import EventBatch
from onderwijsflow.store.network import RegionLocation, RegionMunicipality
from onderwijsflow.store.tables import Case, Fact, Partner, Region, RoleAssignment
from onderwijsflow.validation import MAX_NAME, MAX_SLUG, MAX_TEXT, check_mailbox
from onderwijsflow.vocabulary import PARTNER_KINDS, REGION_ROLES, SECTORS, require_member, suggest

__all__ = ["COLUMNS", "ImportOps", "PartnerItem", "PersonItem", "Progress", "RegionRow", "read_regions_csv"]

#: The plain columns, in the order the documentation lists them.
COLUMNS: tuple[str, ...] = ("slug", "name", "provinces", "sectors", "coordinator", "partners", "people")
#: The region's part of the national network (issue 13), by reference-data code.
NETWORK_COLUMNS: tuple[str, ...] = ("municipalities", "locations")
REQUIRED: tuple[str, ...] = ("slug", "name")
#: What a sentence calls the value of a one-line column ("name 'X' contains a line break").
_WHAT: dict[str, str] = {"slug": N_("slug"), "name": N_("name"), "coordinator": N_("coordinator")}
FACT_PREFIX = "fact:"

#: Called with (regions done, regions in the file) while the import writes.
Progress = Callable[[int, int], None]

#: Unicode category Cc: line breaks, tabs, NUL (which PostgreSQL refuses in text) and the like.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ITEMS = re.compile(r"\||\r\n|\r|\n")
#: Rows written per batch: large enough to batch the INSERTs, small enough that the
#: progress bar moves while the work is done rather than all at the commit.
_BATCH = 500
#: Parameters per IN (...) list when preloading; far below SQLite's and PostgreSQL's limits.
_CHUNK = 900

T = TypeVar("T")


# --- the parsed file -----------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerItem:
    """One ``Naam:kind[:sector]`` item of the `partners` column."""

    name: str
    kind: str
    sector: str | None

    def as_data(self) -> dict[str, Any]:
        """The audit shape of ``partner add``."""
        return {"name": self.name, "kind": self.kind, "sector": self.sector}


@dataclass(frozen=True)
class PersonItem:
    """One ``role:Naam[:e-mail]`` item of the `people` column."""

    role: str
    person: str
    email: str | None

    def as_data(self) -> dict[str, Any]:
        """The audit shape of ``role assign``."""
        return {"role": self.role, "person": self.person, "email": self.email}


@dataclass
class RegionRow:
    """One valid row: a region as the file describes it (facts in their stored form)."""

    line: int
    slug: str
    name: str
    provinces: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    coordinator: str | None = None
    partners: list[PartnerItem] = field(default_factory=list)
    people: list[PersonItem] = field(default_factory=list)
    facts: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (type, value)
    municipalities: list[str] = field(default_factory=list)  # CBS codes, GM0363
    locations: list[str] = field(default_factory=list)  # DUO vestigingscodes


def read_regions_csv(path: str | Path, facts: Mapping[str, FactDef]) -> list[RegionRow]:
    """Read and check a regions file completely, without touching a database.

    Args:
        path: the CSV file.
        facts: the facts the workflows declare, by name (`fact:NAME` columns must be one).

    Returns:
        The rows, in file order, each valid on its own and with a slug of its own.

    Raises:
        UsageError: the file cannot be read, is not UTF-8, or has problems; the message
            starts with the first problem and ``details["problems"]`` lists every one as
            ``FILE:LINE: what``.
    """
    path = Path(path)
    parser = _Parser(path.name, facts)
    rows = parser.parse(_read_text(path))
    if parser.problems:
        raise _problems_error(parser.sorted_problems())
    return rows


def _problems_error(problems: list[str]) -> UsageError:
    more = len(problems) - 1
    tail = ngettext(" (and {n} more problem; nothing was imported)",
                    " (and {n} more problems; nothing was imported)", more).format(n=more) if more \
        else _(" (nothing was imported)")
    return UsageError(problems[0] + tail, problems=problems)


def _read_text(path: Path) -> str:
    """The file's text; a byte-order mark, which Excel writes, is dropped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _problems_error([_("{file}: no such file").format(file=path)]) from None
    except OSError as err:
        raise _problems_error([_("{file}: cannot read the file ({reason})").format(
            file=path, reason=err.strerror or err)]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise _problems_error([
            f"{path.name}:{line}: "
            + _("the file is not UTF-8 text; in Excel save it as 'CSV UTF-8 (door komma's gescheiden)'")
        ]) from None


def _delimiter(header_line: str) -> str:
    """Comma or semicolon, whichever the header line uses more (Dutch Excel: semicolon)."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


class _Parser:
    """Turns the text into rows and collects every problem with its line number."""

    def __init__(self, label: str, facts: Mapping[str, FactDef]) -> None:
        self.label = label
        self.facts = facts
        self.problems: list[tuple[int, str]] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, f"{self.label}:{line}: {message}"))

    def sorted_problems(self) -> list[str]:
        return [text for _, text in sorted(self.problems, key=lambda p: p[0])]

    # --- the file ----------------------------------------------------------------------

    def parse(self, text: str) -> list[RegionRow]:
        first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
        if "\t" in first_line and not {",", ";"} & set(first_line):
            self.problem(1, _("the file is separated by tabs; save it from Excel as CSV "
                              "(comma or semicolon)"))
            return []
        records = self.records(text, _delimiter(first_line))
        header = next(records, None)
        if header is None:
            self.problem(1, _("the file is empty; the first line must name the columns, "
                              "e.g. {columns}").format(columns=",".join(COLUMNS)))
            return []
        columns = self.header(header[1])
        if columns is None:
            return []
        named = max((i + 1 for i, cell in enumerate(header[1]) if cell.strip()), default=0)
        return self.rows(records, columns, named)

    def records(self, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
        """(first line, cells) per record; a quoted cell may span lines."""
        # strict: an unclosed quote is an error, not a cell that swallows the rest of the file.
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        start = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                self.problem(start, _("the CSV cannot be read here ({reason}); check the quotes")
                             .format(reason=err))
                return
            yield start, cells
            start = reader.line_num + 1

    def rows(
        self, records: Iterator[tuple[int, list[str]]], columns: dict[str, int], width: int
    ) -> list[RegionRow]:
        rows: list[RegionRow] = []
        first_seen: dict[str, int] = {}
        for line, cells in records:
            if not any(cell.strip() for cell in cells):
                continue
            reader = _RowReader(self, line, cells, columns, width)
            row = reader.read()
            if row.slug in first_seen:
                reader.problem(_("region '{slug}' appears again (first on line {line})").format(
                    slug=row.slug, line=first_seen[row.slug]))
            elif row.slug:
                first_seen[row.slug] = line
            if reader.ok:
                rows.append(row)
        return rows

    # --- the header --------------------------------------------------------------------

    def header(self, cells: list[str]) -> dict[str, int] | None:
        """Column name -> index; None when a required column is missing."""
        columns: dict[str, int] = {}
        last = max((i for i, cell in enumerate(cells) if cell.strip()), default=-1)
        for index, cell in enumerate(cells[: last + 1]):
            name = self.column_name(index, cell)
            if name is None:
                continue
            if name in columns:
                self.problem(1, _("column '{column}' appears twice").format(column=name))
                continue
            columns[name] = index
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            self.problem(1, _("no column {columns}; the first line must name the columns, "
                              "e.g. {example}").format(columns=join_or([repr(m) for m in missing]),
                                                       example=",".join(COLUMNS)))
            return None
        return columns

    def column_name(self, index: int, cell: str) -> str | None:
        text = cell.strip()
        lowered = text.lower()
        if not text:
            self.problem(1, _("column {number} has no name").format(number=index + 1))
            return None
        if lowered.startswith(FACT_PREFIX):
            fact = text[len(FACT_PREFIX):].strip()
            if fact not in self.facts:
                self.problem(1, _("column '{column}': no workflow declares a fact '{fact}'{suggestion}")
                             .format(column=text, fact=fact, suggestion=suggest(fact, self.facts)))
                return None
            if self.facts[fact].scope == "case":
                self.problem(1, _("column '{column}': fact '{fact}' belongs to a case (one round), "
                                  "not to a region; set it with fact set --round").format(
                                      column=text, fact=fact))
                return None
            return FACT_PREFIX + fact
        if lowered not in COLUMNS and lowered not in NETWORK_COLUMNS:
            self.problem(1, _("unknown column '{column}'{suggestion}; columns are {columns} and "
                              "fact:NAME").format(column=text,
                                                  suggestion=suggest(lowered, COLUMNS + NETWORK_COLUMNS),
                                                  columns=", ".join(COLUMNS)))
            return None
        return lowered


class _RowReader:
    """Reads one record into a :class:`RegionRow`, reporting each bad cell."""

    def __init__(
        self, parser: _Parser, line: int, cells: list[str], columns: dict[str, int], width: int
    ) -> None:
        self.parser = parser
        self.line = line
        self.cells = cells
        self.columns = columns
        self.width = width  # cells from here on lie beyond the named columns
        self.ok = True

    def problem(self, message: str) -> None:
        self.ok = False
        self.parser.problem(self.line, message)

    def cell(self, column: str) -> str:
        index = self.columns.get(column)
        return self.cells[index].strip() if index is not None and index < len(self.cells) else ""

    def read(self) -> RegionRow:
        """The row as far as it could be read; `ok` says whether all of it was valid."""
        self.check_width()
        row = RegionRow(line=self.line, slug=self.slug(), name=self.text("name", required=True))
        row.provinces = _unique(self.text_items("provinces", _("province")))
        row.sectors = _unique(self.sectors())
        row.coordinator = self.email(_("coordinator"), self.text("coordinator")) or None
        row.partners = self.partners()
        row.people = self.people()
        row.facts = self.fact_values()
        row.municipalities = _unique(self.codes("municipalities"))
        row.locations = _unique(self.codes("locations"))
        return row

    def check_width(self) -> None:
        for index, cell in enumerate(self.cells[self.width:], self.width):
            if cell.strip():
                self.problem(_("a value in column {number}, beyond the columns the first line "
                               "names ('{value}')").format(number=index + 1, value=_short(cell)))
                return

    # --- single values -----------------------------------------------------------------

    def text(self, column: str, *, required: bool = False) -> str:
        value = self.cell(column)
        if not value:
            if required:
                self.problem(_("no {column}").format(column=column))
            return ""
        return value if self.plain(_(_WHAT.get(column, column)), value) else ""

    def plain(self, what: str, value: str, most: int = MAX_NAME) -> bool:
        """True for one line of text without control characters, at most `most` characters
        long (`what`: what a person calls the value, translated)."""
        if _CONTROL.search(value):
            self.problem(_("{what} '{value}' contains a line break or control character").format(
                what=what, value=_short(value)))
            return False
        if len(value) > most:
            self.problem(_("{what} '{value}' is longer than {most} characters").format(
                what=what, value=_short(value), most=most))
            return False
        return True

    def slug(self) -> str:
        value = self.text("slug", required=True)
        if len(value) > MAX_SLUG:
            self.problem(_("slug '{value}' is longer than {most} characters").format(
                value=_short(value), most=MAX_SLUG))
        elif value and not SLUG.fullmatch(value):
            self.problem(_("'{value}' is not a valid slug: use lower-case letters, digits and "
                           "hyphens (e.g. zuidoost-brabant)").format(value=value))
        return value

    def email(self, what: str, value: str) -> str:
        """One e-mail address (:func:`~onderwijsflow.validation.check_mailbox`)."""
        if not value:
            return value
        try:
            return check_mailbox(value)
        except ValueError:
            self.problem(_("'{value}' ({what}) is not an e-mail address").format(
                value=_short(value), what=what))
            return value

    def member(self, kind: str, word: str, choices: tuple[str, ...]) -> str:
        if problem := require_member(kind, word, choices):
            self.problem(problem)
        return word

    # --- lists -------------------------------------------------------------------------

    def items(self, column: str) -> list[str]:
        return [item.strip() for item in _ITEMS.split(self.cell(column)) if item.strip()]

    def text_items(self, column: str, what: str) -> list[str]:
        return [item for item in self.items(column) if self.plain(what, item)]

    def sectors(self) -> list[str]:
        return [self.member("sector", s.upper(), SECTORS) for s in self.text_items("sectors", _("sector"))]

    def partners(self) -> list[PartnerItem]:
        found: dict[str, PartnerItem] = {}
        for item in self.text_items("partners", _("partner")):
            parts = [part.strip() for part in item.split(":")]
            if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
                self.problem(_("partner '{item}' must be Naam:kind or Naam:kind:sector").format(item=item))
                continue
            kind = self.member("partner kind", parts[1].lower(), PARTNER_KINDS)
            sector = self.member("sector", parts[2].upper(), SECTORS) if len(parts) == 3 and parts[2] \
                else None
            if parts[0] in found:
                self.problem(_("partner '{name}' is listed twice").format(name=parts[0]))
            found[parts[0]] = PartnerItem(parts[0], kind, sector)
        return list(found.values())

    def people(self) -> list[PersonItem]:
        found: dict[tuple[str, str], PersonItem] = {}
        for item in self.text_items("people", _("person")):
            parts = [part.strip() for part in item.split(":")]
            if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
                self.problem(_("person '{item}' must be role:Naam or role:Naam:e-mail").format(item=item))
                continue
            role = self.member("role", parts[0].lower(), REGION_ROLES)
            email = self.email(_("e-mail of {person}").format(person=parts[1]), parts[2]) \
                if len(parts) == 3 else ""
            if (role, parts[1]) in found:
                self.problem(_("{person} is listed twice as {role}").format(person=parts[1], role=role))
            found[role, parts[1]] = PersonItem(role, parts[1], email or None)
        return list(found.values())

    def codes(self, column: str) -> list[str]:
        """The municipality codes (normalised to GM0363) or vestigingscodes of a column."""
        from onderwijsflow.network.readers import location_code, municipality_code

        found = []
        for item in self.text_items(column, column):
            code = municipality_code(item) if column == "municipalities" else location_code(item)
            if code is None:
                message = (_("'{value}' is not a municipality code (GM0363 or 0363)")
                           if column == "municipalities" else
                           _("'{value}' is not a vestigingscode (BRIN and two digits, e.g. 16AH00)"))
                self.problem(message.format(value=_short(item)))
                continue
            found.append(code)
        return found

    # --- facts -------------------------------------------------------------------------

    def fact_values(self) -> dict[str, tuple[str, Any]]:
        values: dict[str, tuple[str, Any]] = {}
        for column in self.columns:
            if not column.startswith(FACT_PREFIX):
                continue
            raw = self.cell(column)
            name = column[len(FACT_PREFIX):]
            if raw and self.plain(_("fact '{name}'").format(name=name), raw, MAX_TEXT):
                typed = self.fact(name, self.parser.facts[name], raw)
                if typed is not None:
                    values[name] = (self.parser.facts[name].type, dump_value(typed))
        return values

    def fact(self, name: str, definition: FactDef, raw: str) -> Any:
        try:
            typed = definition.value(raw)
        except ValueError as err:
            self.problem(_("fact '{name}': {problem}").format(name=name, problem=err))
            return None
        if definition.choices and typed not in definition.choices:
            self.problem(_("fact '{name}' must be one of {choices}, not '{value}'").format(
                name=name, choices=", ".join(definition.choices), value=_short(raw)))
            return None
        return typed


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _short(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- applying it ---------------------------------------------------------------------------
#
# Writing goes through SQLAlchemy Core, a batch of rows at a time, each kind of row in one
# executemany: 10,000 regions with their partners, people, facts and events are 190,000
# rows, and building an ORM object for each and flushing region by region (through
# `_open_case` and `append_event`) took ten times as long (measured: 70 s of CPU, not 7).
# The rows written are the ones the single commands write through the ORM, and every event
# is chained by the one batch writer, `audit.EventBatch`, as `audit.append_event` chains it, so that
# `audit verify`, `history` and `region show` see no difference (tests/test_import.py
# compares an import with the same regions made by the single commands).

_REGIONS = Region.__table__  # type: ignore[attr-defined]
_CASES = Case.__table__  # type: ignore[attr-defined]
_PARTNERS = Partner.__table__  # type: ignore[attr-defined]
_ROLES = RoleAssignment.__table__  # type: ignore[attr-defined]
_FACTS = Fact.__table__  # type: ignore[attr-defined]

_REGION_FIELDS = ("name", "provinces", "sectors", "coordinator")


#: The membership tables by the file's column.
_MEMBER_TABLES: dict[str, Any] = {
    "municipalities": RegionMunicipality.__table__,  # type: ignore[attr-defined]
    "locations": RegionLocation.__table__,  # type: ignore[attr-defined]
}


@dataclass
class _Head:
    """One region as the import sees it: its own fields and the head of its audit chain."""

    id: int
    fields: dict[str, Any]
    event_seq: int = 0
    event_hash: str = ""


@dataclass
class _Known:
    """What an existing region already holds, keyed as the file names things."""

    partners: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> id, kind, sector
    people: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # -> id, email
    facts: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (type, value)
    members: set[tuple[str, str]] = field(default_factory=set)  # (municipalities|locations, code)


@dataclass(frozen=True)
class _Opening:
    """A workflow every new region starts with (`start_with_region`), prepared once."""

    workflow: str
    definition: WorkflowDef
    params: dict[str, Any]

    @property
    def plans_milestones(self) -> bool:
        """True when a milestone is active in the initial state (so opening plans it)."""
        return any(self.definition.initial in m.active_in for m in self.definition.milestones)


def _load_existing(session: Session, slugs: Sequence[str]) -> tuple[dict[str, _Head], dict[int, _Known]]:
    """The file's regions that exist already, with their partners, people and facts: a
    handful of queries, however long the file.

    The regions are locked as `append_event` locks a region (FOR NO KEY UPDATE on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the database), in slug order, so
    that two imports sharing regions queue instead of deadlocking.
    """
    r = _REGIONS.c
    heads: dict[str, _Head] = {}
    for slug_chunk in _chunks(sorted(slugs)):
        query = select(r.id, r.slug, r.event_seq, r.event_hash, *(r[name] for name in _REGION_FIELDS))
        query = query.where(r.slug.in_(slug_chunk)).order_by(r.slug).with_for_update(key_share=True)
        for row in session.execute(query):
            fields = {name: row._mapping[name] for name in _REGION_FIELDS}
            for name in ("provinces", "sectors"):
                fields[name] = list(fields[name] or [])
            heads[row.slug] = _Head(row.id, fields, row.event_seq, row.event_hash)
    known = {head.id: _Known() for head in heads.values()}
    for chunk in _chunks(list(known)):
        for p in session.execute(select(_PARTNERS).where(_PARTNERS.c.region_id.in_(chunk))):
            known[p.region_id].partners[p.name] = {"id": p.id, "kind": p.kind, "sector": p.sector}
        for a in session.execute(select(_ROLES).where(_ROLES.c.region_id.in_(chunk))):
            known[a.region_id].people[a.role, a.person] = {"id": a.id, "email": a.email}
        for f in session.execute(select(_FACTS).where(_FACTS.c.region_id.in_(chunk))):
            known[f.region_id].facts[f.name] = (f.type, f.value)
        for column, members in _MEMBER_TABLES.items():
            for region_id, code in session.execute(
                    select(members.c.region_id, members.c.code).where(members.c.region_id.in_(chunk))):
                known[region_id].members.add((column, code))
    return heads, known


def _member_names(session: Session, rows: Sequence[RegionRow]) -> dict[tuple[str, str], str]:
    """The name of every municipality and school location the file names, from the latest
    year of the reference data that has it.

    Raises:
        UsageError: codes the reference data does not know, each with its line.
    """
    from onderwijsflow.network.store import table
    from onderwijsflow.store.network import Municipality, SchoolLocation

    names: dict[tuple[str, str], str] = {}
    for column, model in (("municipalities", Municipality), ("locations", SchoolLocation)):
        codes = sorted({code for row in rows for code in getattr(row, column)})
        ref = table(model)
        for chunk in _chunks(codes):
            for code, name in session.execute(select(ref.code, ref.name).where(ref.code.in_(chunk))
                                              .order_by(ref.year)):
                names[column, code] = name  # the latest year comes last
    unknown = [
        (row.line, _("no municipality {code} in the reference data; import the CBS municipalities "
                     "first") if column == "municipalities" else
         _("no school location {code} in the reference data; import the DUO locations first"), code)
        for row in rows for column in NETWORK_COLUMNS for code in getattr(row, column)
        if (column, code) not in names]
    if unknown:
        raise _problems_error([f"{line}: {message.format(code=code)}" for line, message, code in unknown])
    return names


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


class _Batch:
    """The writes of a batch of rows, collected and then sent kind by kind in one statement."""

    def __init__(self, actor: str, at: datetime, names: dict[tuple[str, str], str]) -> None:
        self.actor = actor
        self.at = at
        self.names = names
        self.chain = EventBatch()
        self.inserts: dict[Any, list[dict[str, Any]]] = {
            _PARTNERS: [], _ROLES: [], _FACTS: [], **{members: [] for members in _MEMBER_TABLES.values()}}
        self.region_updates: list[dict[str, Any]] = []
        self.partner_updates: list[dict[str, Any]] = []
        self.people_updates: list[dict[str, Any]] = []
        self.fact_updates: list[dict[str, Any]] = []

    def event(self, head: _Head, kind: str, data: dict[str, Any], **columns: Any) -> None:
        """Chain the next event to `head` (the one batch writer, as `append_event` would)."""
        self.chain.append(head, kind=kind, actor=self.actor, at=self.at, data=data, **columns)

    # --- what the single commands write ----------------------------------------------

    def created(self, head: _Head, row: RegionRow, cases: list[tuple[int, _Opening]]) -> None:
        """``region create`` (with its cases), then every partner, person and fact."""
        self.event(head, "region_created", {"new": head.fields})
        for case_id, opening in cases:
            self.event(head, "case_opened", {"version": opening.definition.version, "round": None,
                                             "params": opening.params},
                       case_id=case_id, workflow=opening.workflow, to_state=opening.definition.initial)
        known = _Known()
        for partner in row.partners:
            self.partner(head, partner, known)
        for person in row.people:
            self.person(head, person, known)
        for name, value in row.facts.items():
            self.fact(head, name, value, known)
        self.members(head, row, known)

    def updated(self, head: _Head, row: RegionRow, known: _Known) -> bool:
        """The additive update of an existing region; True when anything changed."""
        changes = [self.region(head, row)]
        changes += [self.partner(head, partner, known) for partner in row.partners]
        changes += [self.person(head, person, known) for person in row.people]
        changes += [self.fact(head, name, value, known) for name, value in row.facts.items()]
        changes.append(self.members(head, row, known))
        return any(changes)

    def members(self, head: _Head, row: RegionRow, known: _Known) -> bool:
        """``region add-municipality`` / ``add-location`` for each code not yet the region's."""
        added = False
        for column, kind in (("municipalities", "municipality_added"), ("locations", "location_added")):
            for code in getattr(row, column):
                if (column, code) in known.members:
                    continue
                known.members.add((column, code))
                self.inserts[_MEMBER_TABLES[column]].append(
                    {"region_id": head.id, "code": code, "added_at": self.at})
                self.event(head, kind, {"new": {"code": code, "name": self.names[column, code]}})
                added = True
        return added

    def region(self, head: _Head, row: RegionRow) -> bool:
        """Take over a new name or coordinator; add provinces and sectors."""
        old = head.fields
        new = {"name": row.name, "provinces": _unique(old["provinces"] + row.provinces),
               "sectors": _unique(old["sectors"] + row.sectors),
               "coordinator": row.coordinator or old["coordinator"]}
        changed = [key for key in _REGION_FIELDS if old[key] != new[key]]
        if not changed:
            return False
        self.event(head, "region_updated", {"old": {k: old[k] for k in changed},
                                            "new": {k: new[k] for k in changed}})
        head.fields = new
        self.region_updates.append({"b_id": head.id, **new})
        return True

    def partner(self, head: _Head, item: PartnerItem, known: _Known) -> bool:
        """``partner add``; a partner whose kind or sector changed is removed and added again."""
        found = known.partners.get(item.name)
        sector = item.sector or (found["sector"] if found else None)
        wanted = PartnerItem(item.name, item.kind, sector)
        if found is not None:
            old = PartnerItem(item.name, found["kind"], found["sector"])
            if old == wanted:
                return False
            self.event(head, "partner_removed", {"old": old.as_data()})
            self.partner_updates.append({"b_id": found["id"], "kind": wanted.kind,
                                         "sector": wanted.sector, "added_at": self.at})
        else:
            self.inserts[_PARTNERS].append({"region_id": head.id, **wanted.as_data(), "added_at": self.at})
        known.partners[item.name] = {"id": found["id"] if found else None, "kind": wanted.kind,
                                     "sector": wanted.sector}
        self.event(head, "partner_added", {"new": wanted.as_data()})
        return True

    def person(self, head: _Head, item: PersonItem, known: _Known) -> bool:
        """``role assign``; a changed e-mail address is unassigned and assigned again."""
        found = known.people.get((item.role, item.person))
        if found is not None:
            if item.email is None or item.email == found["email"]:
                return False
            old = PersonItem(item.role, item.person, found["email"])
            self.event(head, "role_unassigned", {"old": old.as_data()})
            self.people_updates.append({"b_id": found["id"], "email": item.email, "assigned_at": self.at})
        else:
            self.inserts[_ROLES].append({"region_id": head.id, **item.as_data(), "assigned_at": self.at})
        known.people[item.role, item.person] = {"id": found["id"] if found else None, "email": item.email}
        self.event(head, "role_assigned", {"new": item.as_data()})
        return True

    def fact(self, head: _Head, name: str, value: tuple[str, Any], known: _Known) -> bool:
        """``fact set``, when the value differs from what is stored."""
        found = known.facts.get(name)
        if found == value:
            return False
        kind, new = value
        if found is None:
            self.inserts[_FACTS].append({"region_id": head.id, "name": name, "type": kind, "value": new,
                                         "updated_at": self.at})
        else:
            self.fact_updates.append({"b_region": head.id, "b_name": name, "type": kind, "value": new,
                                      "updated_at": self.at})
        # What `fact set` records as old: the stored value read back as its type.
        old = dump_value(stored_value(found[0], found[1])) \
            if found and found[1] is not None else None
        known.facts[name] = value
        self.event(head, "fact_set", {"name": name, "old": old, "new": new})
        return True

    # --- to the database --------------------------------------------------------------

    def write(self, session: Session) -> None:
        """Send everything collected: rows first, then the events, then the chain heads."""
        for table, rows in self.inserts.items():
            if rows:
                session.execute(insert(table), rows)
        by_id = {_REGIONS: self.region_updates, _PARTNERS: self.partner_updates, _ROLES: self.people_updates}
        for table, rows in by_id.items():
            if rows:
                session.execute(update(table).where(table.c.id == bindparam("b_id")), rows)
        if self.fact_updates:
            session.execute(update(_FACTS).where(_FACTS.c.region_id == bindparam("b_region"),
                                                 _FACTS.c.name == bindparam("b_name")), self.fact_updates)
        self.chain.write(session)


class _RolledBack(Exception):
    """Raised inside the transaction of a dry run so that it rolls back."""


class ImportOps(CaseOps):
    """Bulk import of regions (it opens cases as ``region create`` does, hence `CaseOps`)."""

    def import_regions(self, path: str | Path, *, progress: Progress | None = None,
                       dry_run: bool = False) -> dict[str, Any]:
        """Create or additively update every region of a CSV file, all or nothing.

        The file format and the update rule are described in :mod:`onderwijsflow.service.importing`.

        Args:
            path: the CSV file.
            progress: called with (regions done, regions in the file) after each batch.
            dry_run: do all of it in a transaction that is then rolled back: the outcome says
                exactly what would be created and changed, and nothing is written.

        Returns:
            ``{"file", "rows", "dry_run", "created": [...], "updated": [...], "unchanged": [...]}``,
            the slugs of each outcome in file order.

        Raises:
            UsageError: the file has problems; ``details["problems"]`` lists every one with
                its line number. Nothing was written.
            Refused: the actor may not write.
            Conflict: someone created one of the regions meanwhile; nothing was written.
        """
        rows = read_regions_csv(path, self._declared_facts())
        label = Path(path).name
        openings = self._openings()
        self.require_writer()
        outcome: dict[str, Any] = {"file": str(path), "rows": len(rows), "dry_run": dry_run,
                                   "created": [], "updated": [], "unchanged": []}
        try:
            with self.writing() as session:
                heads, known = _load_existing(session, [row.slug for row in rows])
                try:
                    names = _member_names(session, rows)
                except UsageError as err:
                    raise _problems_error([f"{label}:{problem}" for problem in
                                           err.details.get("problems", [])]) from None
                if progress is not None:
                    progress(0, len(rows))
                for start in range(0, len(rows), _BATCH):
                    self._import_batch(session, rows[start:start + _BATCH], heads, known, openings,
                                       outcome, names)
                    if progress is not None:
                        progress(min(start + _BATCH, len(rows)), len(rows))
                if dry_run:
                    raise _RolledBack  # everything above is undone; the outcome stays
        except _RolledBack:
            pass
        except SAIntegrityError:
            raise Conflict(_("regions in the file were created or changed at the same time by "
                             "someone else; nothing was imported, try again")) from None
        return outcome

    def _declared_facts(self) -> dict[str, FactDef]:
        declared: dict[str, FactDef] = {}
        for loaded in self.catalog.files.values():
            for name, fact in loaded.definition.facts.items():
                declared.setdefault(name, fact)
        return declared

    def _openings(self) -> list[_Opening]:
        """The `start_with_region` workflows, checked before anything is written."""
        openings = []
        for workflow in self.config.start_with_region:
            definition = self.catalog.current(workflow).definition
            openings.append(_Opening(workflow, definition, _typed_params(definition, {})))
        return openings

    def _import_batch(
        self, session: Session, rows: Sequence[RegionRow], heads: dict[str, _Head],
        known: dict[int, _Known], openings: list[_Opening], outcome: dict[str, Any],
        names: dict[tuple[str, str], str],
    ) -> None:
        batch = _Batch(self.actor, self.now(), names)
        created = self._insert_regions(session, [row for row in rows if row.slug not in heads])
        cases = self._open_cases(session, list(created.values()), openings)
        for row in rows:
            if row.slug in created:
                batch.created(created[row.slug], row, cases[created[row.slug].id])
                outcome["created"].append(row.slug)
            else:
                head = heads[row.slug]
                changed = batch.updated(head, row, known[head.id])
                outcome["updated" if changed else "unchanged"].append(row.slug)
        batch.write(session)

    def _insert_regions(self, session: Session, rows: list[RegionRow]) -> dict[str, _Head]:
        """The new regions of a batch, in one INSERT; their ids come back with it."""
        if not rows:
            return {}
        fields = {row.slug: {"name": row.name, "provinces": row.provinces, "sectors": row.sectors,
                             "coordinator": row.coordinator} for row in rows}
        values = [{"slug": slug, **f, "created_at": self.now(), "event_seq": 0, "event_hash": ""}
                  for slug, f in fields.items()]
        inserted = session.execute(
            insert(_REGIONS).returning(_REGIONS.c.id, _REGIONS.c.slug, sort_by_parameter_order=True), values
        )
        return {slug: _Head(region_id, fields[slug]) for region_id, slug in inserted}

    def _open_cases(
        self, session: Session, created: list[_Head], openings: list[_Opening]
    ) -> dict[int, list[tuple[int, _Opening]]]:
        """What `_open_case` does for each new region, one INSERT per workflow."""
        opened: dict[int, list[tuple[int, _Opening]]] = {head.id: [] for head in created}
        now = self.now()
        for opening in openings:
            if not created:
                break
            values = [{"region_id": head.id, "workflow": opening.workflow, "round": "",
                       "workflow_version": opening.definition.version, "params": opening.params,
                       "state": opening.definition.initial, "state_entered_at": now, "opened_at": now,
                       "lock_version": 0} for head in created]
            inserted = session.execute(
                insert(_CASES).returning(_CASES.c.id, _CASES.c.region_id, sort_by_parameter_order=True),
                values,
            ).all()
            for case_id, region_id in inserted:
                opened[region_id].append((case_id, opening))
                if opening.plans_milestones:
                    case = session.get(Case, case_id)
                    assert case is not None
                    on_enter(session, case, opening.definition, state=case.state, entered_at=now,
                             reminder_time=self.config.reminder_time)
        return opened
