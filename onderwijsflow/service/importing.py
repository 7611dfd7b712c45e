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
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlmodel import Session, col, select

from onderwijsflow.definition.model import FactDef, coerce_value, dump_value
from onderwijsflow.errors import Conflict, UsageError
from onderwijsflow.service.base import SLUG
from onderwijsflow.service.cases import CaseOps
from onderwijsflow.service.snapshot import load_fact
from onderwijsflow.store.tables import Fact, Partner, Region, RoleAssignment
from onderwijsflow.vocabulary import PARTNER_KINDS, REGION_ROLES, SECTORS, require_member, suggest

__all__ = ["COLUMNS", "ImportOps", "PartnerItem", "PersonItem", "Progress", "RegionRow", "read_regions_csv"]

#: The plain columns, in the order the documentation lists them.
COLUMNS: tuple[str, ...] = ("slug", "name", "provinces", "sectors", "coordinator", "partners", "people")
REQUIRED: tuple[str, ...] = ("slug", "name")
FACT_PREFIX = "fact:"

#: Called with (regions done, regions in the file) while the import writes.
Progress = Callable[[int, int], None]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ITEMS = re.compile(r"\||\r\n|\r|\n")
#: Regions written between flushes: large enough to batch the INSERTs, small enough that
#: the progress bar moves while the work is done rather than all at the commit.
_FLUSH_EVERY = 200
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
    tail = f" (and {more} more problem{'s' * (more > 1)}; nothing was imported)" if more else \
        " (nothing was imported)"
    return UsageError(problems[0] + tail, problems=problems)


def _read_text(path: Path) -> str:
    """The file's text; a byte-order mark, which Excel writes, is dropped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _problems_error([f"{path}: no such file"]) from None
    except OSError as err:
        raise _problems_error([f"{path}: cannot read the file ({err.strerror or err})"]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise _problems_error([
            f"{path.name}:{line}: the file is not UTF-8 text; in Excel save it as "
            "'CSV UTF-8 (door komma's gescheiden)'"
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
            self.problem(1, "the file is separated by tabs; save it from Excel as CSV "
                            "(comma or semicolon)")
            return []
        records = self.records(text, _delimiter(first_line))
        header = next(records, None)
        if header is None:
            self.problem(1, f"the file is empty; the first line must name the columns, "
                            f"e.g. {','.join(COLUMNS)}")
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
                self.problem(start, f"the CSV cannot be read here ({err}); check the quotes")
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
                reader.problem(f"region '{row.slug}' appears again (first on line "
                               f"{first_seen[row.slug]})")
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
                self.problem(1, f"column '{name}' appears twice")
                continue
            columns[name] = index
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            self.problem(1, f"no column {' or '.join(repr(m) for m in missing)}; the first line must "
                            f"name the columns, e.g. {','.join(COLUMNS)}")
            return None
        return columns

    def column_name(self, index: int, cell: str) -> str | None:
        text = cell.strip()
        lowered = text.lower()
        if not text:
            self.problem(1, f"column {index + 1} has no name")
            return None
        if lowered.startswith(FACT_PREFIX):
            fact = text[len(FACT_PREFIX):].strip()
            if fact not in self.facts:
                self.problem(1, f"column '{text}': no workflow declares a fact '{fact}'"
                                f"{suggest(fact, self.facts)}")
                return None
            return FACT_PREFIX + fact
        if lowered not in COLUMNS:
            self.problem(1, f"unknown column '{text}'{suggest(lowered, COLUMNS)}; columns are "
                            f"{', '.join(COLUMNS)} and fact:NAME")
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
        row.provinces = _unique(self.text_items("provinces", "province"))
        row.sectors = _unique(self.sectors())
        row.coordinator = self.email("coordinator", self.text("coordinator")) or None
        row.partners = self.partners()
        row.people = self.people()
        row.facts = self.fact_values()
        return row

    def check_width(self) -> None:
        for index, cell in enumerate(self.cells[self.width:], self.width):
            if cell.strip():
                self.problem(f"a value in column {index + 1}, beyond the columns the first line "
                             f"names ('{_short(cell)}')")
                return

    # --- single values -----------------------------------------------------------------

    def text(self, column: str, *, required: bool = False) -> str:
        value = self.cell(column)
        if not value:
            if required:
                self.problem(f"no {column}")
            return ""
        return value if self.plain(column, value) else ""

    def plain(self, what: str, value: str) -> bool:
        """True for one line of text without control characters."""
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            self.problem(f"{what} '{_short(value)}' contains a line break or control character")
            return False
        return True

    def slug(self) -> str:
        value = self.text("slug", required=True)
        if value and not SLUG.fullmatch(value):
            self.problem(f"'{value}' is not a valid slug: use lower-case letters, digits and "
                         "hyphens (e.g. zuidoost-brabant)")
        return value

    def email(self, what: str, value: str) -> str:
        if value and not _EMAIL.fullmatch(value):
            self.problem(f"'{value}' ({what}) is not an e-mail address")
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
        return [self.member("sector", s.upper(), SECTORS) for s in self.text_items("sectors", "sector")]

    def partners(self) -> list[PartnerItem]:
        found: dict[str, PartnerItem] = {}
        for item in self.text_items("partners", "partner"):
            parts = [part.strip() for part in item.split(":")]
            if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
                self.problem(f"partner '{item}' must be Naam:kind or Naam:kind:sector")
                continue
            kind = self.member("partner kind", parts[1].lower(), PARTNER_KINDS)
            sector = self.member("sector", parts[2].upper(), SECTORS) if len(parts) == 3 and parts[2] \
                else None
            if parts[0] in found:
                self.problem(f"partner '{parts[0]}' is listed twice")
            found[parts[0]] = PartnerItem(parts[0], kind, sector)
        return list(found.values())

    def people(self) -> list[PersonItem]:
        found: dict[tuple[str, str], PersonItem] = {}
        for item in self.text_items("people", "person"):
            parts = [part.strip() for part in item.split(":")]
            if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
                self.problem(f"person '{item}' must be role:Naam or role:Naam:e-mail")
                continue
            role = self.member("role", parts[0].lower(), REGION_ROLES)
            email = self.email(f"e-mail of {parts[1]}", parts[2]) if len(parts) == 3 else ""
            if (role, parts[1]) in found:
                self.problem(f"{parts[1]} is listed twice as {role}")
            found[role, parts[1]] = PersonItem(role, parts[1], email or None)
        return list(found.values())

    # --- facts -------------------------------------------------------------------------

    def fact_values(self) -> dict[str, tuple[str, Any]]:
        values: dict[str, tuple[str, Any]] = {}
        for column in self.columns:
            if not column.startswith(FACT_PREFIX):
                continue
            raw = self.cell(column)
            name = column[len(FACT_PREFIX):]
            if raw and self.plain(f"fact '{name}'", raw):
                typed = self.fact(name, self.parser.facts[name], raw)
                if typed is not None:
                    values[name] = (self.parser.facts[name].type, dump_value(typed))
        return values

    def fact(self, name: str, definition: FactDef, raw: str) -> Any:
        try:
            typed = coerce_value(definition.type, raw)
        except ValueError as err:
            self.problem(f"fact '{name}': {err}")
            return None
        if definition.choices and typed not in definition.choices:
            self.problem(f"fact '{name}' must be one of {', '.join(definition.choices)}, "
                         f"not '{_short(raw)}'")
            return None
        return typed


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _short(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- applying it ---------------------------------------------------------------------------


@dataclass
class _Existing:
    """What the database already holds for the file's slugs, loaded in a few queries."""

    regions: dict[str, Region]
    partners: dict[int, dict[str, Partner]]
    roles: dict[int, dict[tuple[str, str], RoleAssignment]]
    facts: dict[int, dict[str, Fact]]

    @classmethod
    def load(cls, session: Session, slugs: Sequence[str]) -> _Existing:
        regions = {
            region.slug: region
            for chunk in _chunks(slugs)
            for region in session.exec(select(Region).where(col(Region.slug).in_(chunk)))
        }
        ids = [region.id for region in regions.values()]
        found = cls(regions, {i: {} for i in ids}, {i: {} for i in ids}, {i: {} for i in ids})
        for chunk in _chunks(ids):
            for p in session.exec(select(Partner).where(col(Partner.region_id).in_(chunk))):
                found.partners[p.region_id][p.name] = p
            for r in session.exec(select(RoleAssignment).where(col(RoleAssignment.region_id).in_(chunk))):
                found.roles[r.region_id][r.role, r.person] = r
            for f in session.exec(select(Fact).where(col(Fact.region_id).in_(chunk))):
                found.facts[f.region_id][f.name] = f
        return found


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


class ImportOps(CaseOps):
    """Bulk import of regions (it opens cases as ``region create`` does, hence `CaseOps`)."""

    def import_regions(self, path: str | Path, *, progress: Progress | None = None) -> dict[str, Any]:
        """Create or additively update every region of a CSV file, all or nothing.

        The file format and the update rule are described in :mod:`onderwijsflow.service.importing`.

        Args:
            path: the CSV file.
            progress: called with (regions done, regions in the file) while writing.

        Returns:
            ``{"file", "rows", "created": [...], "updated": [...], "unchanged": [...]}`` with
            the slugs of each outcome in file order.

        Raises:
            UsageError: the file has problems; ``details["problems"]`` lists all of them
                with their line numbers. Nothing was written.
            Refused: the actor may not write.
            Conflict: another writer created one of the regions meanwhile; nothing was written.
        """
        rows = read_regions_csv(path, self._declared_facts())
        self._require_writer()
        outcome: dict[str, Any] = {"file": str(path), "rows": len(rows),
                                   "created": [], "updated": [], "unchanged": []}
        try:
            with self._write() as session:
                existing = _Existing.load(session, [row.slug for row in rows])
                for done, row in enumerate(rows, 1):
                    outcome[self._apply(session, row, existing)].append(row.slug)
                    if done % _FLUSH_EVERY == 0:
                        session.flush()
                    if progress is not None:
                        progress(done, len(rows))
        except SAIntegrityError:
            raise Conflict("regions in the file were changed at the same time by someone else; "
                           "nothing was imported, try again") from None
        return outcome

    def _declared_facts(self) -> dict[str, FactDef]:
        declared: dict[str, FactDef] = {}
        for loaded in self.catalog.files.values():
            for name, fact in loaded.definition.facts.items():
                declared.setdefault(name, fact)
        return declared

    def _apply(self, session: Session, row: RegionRow, existing: _Existing) -> str:
        """Write one row; returns ``created``, ``updated`` or ``unchanged``."""
        region = existing.regions.get(row.slug)
        if region is None:
            self._create(session, row)
            return "created"
        assert region.id is not None
        changed = [
            self._update_region(session, region, row),
            *(self._put_partner(session, region, p, existing.partners[region.id]) for p in row.partners),
            *(self._put_person(session, region, p, existing.roles[region.id]) for p in row.people),
            *(self._put_fact(session, region, name, value, existing.facts[region.id])
              for name, value in row.facts.items()),
        ]
        return "updated" if any(changed) else "unchanged"

    def _event(self, session: Session, region: Region, kind: str, **data: Any) -> None:
        # No flush per event: the batch flush (or the next query) writes them together.
        self._record(session, region, kind, data=data, flush=False)

    # --- a new region ------------------------------------------------------------------

    def _create(self, session: Session, row: RegionRow) -> None:
        """What ``region create`` and the ``partner add`` / ``role assign`` / ``fact set``
        commands would write, event for event."""
        region = Region(slug=row.slug, name=row.name, provinces=row.provinces, sectors=row.sectors,
                        coordinator=row.coordinator, created_at=self.now())
        session.add(region)
        self._event(session, region, "region_created", new={
            "name": row.name, "provinces": row.provinces, "sectors": row.sectors,
            "coordinator": row.coordinator})
        for workflow in self.config.start_with_region:
            self._open_case(session, region, workflow, params={}, round_="")
        for partner in row.partners:
            self._put_partner(session, region, partner, {})
        for person in row.people:
            self._put_person(session, region, person, {})
        for name, value in row.facts.items():
            self._put_fact(session, region, name, value, {})

    # --- an existing region ------------------------------------------------------------

    def _update_region(self, session: Session, region: Region, row: RegionRow) -> bool:
        """Take over a new name or coordinator and add provinces and sectors."""
        old = {"name": region.name, "provinces": list(region.provinces or []),
               "sectors": list(region.sectors or []), "coordinator": region.coordinator}
        new = {"name": row.name, "provinces": _unique(old["provinces"] + row.provinces),
               "sectors": _unique(old["sectors"] + row.sectors),
               "coordinator": row.coordinator or region.coordinator}
        changed = [key for key in old if old[key] != new[key]]
        if not changed:
            return False
        for key in changed:
            setattr(region, key, new[key])
        session.add(region)
        self._event(session, region, "region_updated",
                    old={k: old[k] for k in changed}, new={k: new[k] for k in changed})
        return True

    def _put_partner(
        self, session: Session, region: Region, item: PartnerItem, known: dict[str, Partner]
    ) -> bool:
        """Add the partner; one whose kind or sector changed is removed and added again."""
        found = known.get(item.name)
        wanted = PartnerItem(item.name, item.kind, item.sector or (found.sector if found else None))
        if found is not None:
            old = PartnerItem(found.name, found.kind, found.sector)
            if old == wanted:
                return False
            self._event(session, region, "partner_removed", old=old.as_data())
            found.kind, found.sector, found.added_at = wanted.kind, wanted.sector, self.now()
            session.add(found)
        else:
            known[item.name] = Partner(region_id=region.id, name=item.name, kind=wanted.kind,
                                       sector=wanted.sector, added_at=self.now())
            session.add(known[item.name])
        self._event(session, region, "partner_added", new=wanted.as_data())
        return True

    def _put_person(
        self, session: Session, region: Region, item: PersonItem,
        known: dict[tuple[str, str], RoleAssignment],
    ) -> bool:
        """Assign the role; a changed e-mail address is unassigned and assigned again."""
        found = known.get((item.role, item.person))
        if found is not None:
            if item.email is None or item.email == found.email:
                return False
            old = PersonItem(found.role, found.person, found.email)
            self._event(session, region, "role_unassigned", old=old.as_data())
            found.email, found.assigned_at = item.email, self.now()
            session.add(found)
        else:
            known[item.role, item.person] = RoleAssignment(
                region_id=region.id, role=item.role, person=item.person, email=item.email,
                assigned_at=self.now())
            session.add(known[item.role, item.person])
        self._event(session, region, "role_assigned", new=item.as_data())
        return True

    def _put_fact(
        self, session: Session, region: Region, name: str, value: tuple[str, Any],
        known: dict[str, Fact],
    ) -> bool:
        """Set the fact when it differs from what is stored (the event of ``fact set``)."""
        kind, new = value
        row = known.get(name)
        if row is not None and (row.type, row.value) == (kind, new):
            return False
        old = dump_value(load_fact(row)) if row is not None else None
        if row is None:
            row = known[name] = Fact(region_id=region.id, name=name, type=kind, value=new,
                                     updated_at=self.now())
        else:
            row.value, row.type, row.updated_at = new, kind, self.now()
        session.add(row)
        self._event(session, region, "fact_set", name=name, old=old, new=new)
        return True

