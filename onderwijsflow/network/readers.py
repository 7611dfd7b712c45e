"""Read the open-data files of CBS and DUO as they are downloaded (no database here).

Rules, after ``shared/data-sources.md``:

* Columns are matched by name, trimmed, case-insensitive and with runs of spaces as one, in
  any order; other columns are ignored. Both DUO header generations are accepted
  (``BRIN NUMMER``/``VESTIGINGSNUMMER`` and ``INSTELLINGSCODE``/``VESTIGINGSCODE``), and the
  known misspellings of older files.
* The text is UTF-8 (with or without a byte-order mark), else Windows-1252, which is what DUO
  and CBS write. The separator is read from the header line: ``;``, ``,`` or a tab.
* ``GEMEENTENUMMER`` ``0114`` is municipality ``GM0114``; CBS ``Gemeentecode`` ``14`` too.
* A count ``<5`` means one to four: unknown, not a number (stored as no count).

Every problem is collected with its file and line and reported together in one
:class:`~onderwijsflow.errors.UsageError`; a file with any problem gives no rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from onderwijsflow.errors import UsageError
from onderwijsflow.i18n import N_, _, ngettext
from onderwijsflow.validation import check_name

__all__ = [
    "NETWORK_SECTORS",
    "AdjacencyRow",
    "LocationRow",
    "MunicipalityRow",
    "municipality_code",
    "read_adjacency",
    "read_counts",
    "read_locations",
    "read_municipalities",
    "read_text",
]

#: The sectors the network counts locations of (the regulation's size thresholds).
NETWORK_SECTORS: tuple[str, ...] = ("PO", "VO", "MBO")

_CODE = re.compile(r"GM\d{4}")
_LOCATION = re.compile(r"[0-9A-Z]{4}\d{2}")


@dataclass(frozen=True)
class MunicipalityRow:
    """One municipality of a CBS file."""

    line: int
    code: str
    name: str
    province: str | None


@dataclass(frozen=True)
class LocationRow:
    """One school location of a DUO file (`pupils` None: not given, or ``<5``)."""

    line: int
    code: str
    name: str
    sector: str
    municipality: str
    pupils: int | None


@dataclass(frozen=True)
class AdjacencyRow:
    """Two municipalities that share a border."""

    line: int
    a: str
    b: str


def problems_error(problems: list[str]) -> UsageError:
    """One error for a file's problems: the first in the message, all in ``details``."""
    more = len(problems) - 1
    tail = ngettext(" (and {n} more problem; nothing was imported)",
                    " (and {n} more problems; nothing was imported)", more).format(n=more) if more \
        else _(" (nothing was imported)")
    return UsageError(problems[0] + tail, problems=problems)


def read_text(path: Path) -> str:
    """The file's text: UTF-8 (a byte-order mark dropped), else Windows-1252.

    Raises:
        UsageError: the file is missing or unreadable.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise problems_error([_("{file}: no such file").format(file=path)]) from None
    except OSError as err:
        raise problems_error([_("{file}: cannot read the file ({reason})").format(
            file=path, reason=err.strerror or err)]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def municipality_code(value: str) -> str | None:
    """``GM0363`` from ``GM0363``, ``gm363``, ``0363`` or ``363``; None when it is none of those."""
    text = value.strip().upper()
    digits = text[2:] if text.startswith("GM") else text
    if not digits.isdigit() or len(digits) > 4:
        return None
    return "GM" + digits.zfill(4)


def location_code(value: str) -> str | None:
    """A DUO vestigingscode (``16AH00``: BRIN and two digits) in capitals; None when it is none."""
    text = value.strip().upper()
    return text if _LOCATION.fullmatch(text) else None


def _header_key(cell: str) -> str:
    return re.sub(r"\s+", " ", cell.strip().upper())


class _Table:
    """A CSV file's header and rows, with a problem list naming file and line."""

    def name(self, line: int, value: str, what: str) -> str | None:
        """`value` as a name (one line, no control characters, bounded: validation.check_name);
        None and a problem on `line` otherwise. `what` is a msgid."""
        try:
            return check_name(value, what)
        except ValueError as err:
            self.problem(line, str(err))
            return None

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[tuple[int, str]] = []
        text = read_text(path)
        first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
        counts = {sep: first.count(sep) for sep in (";", ",", "\t")}
        self.delimiter = max(counts, key=lambda sep: counts[sep])
        self.text = text
        self.columns: dict[str, int] = {}

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, f"{self.path.name}:{line}: {message}"))

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) per record after the header (read into `columns`)."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True)
        start = 1
        try:
            for cells in reader:
                if start == 1:
                    self.columns = {}
                    for index, cell in enumerate(cells):
                        self.columns.setdefault(_header_key(cell), index)
                elif any(cell.strip() for cell in cells):
                    yield start, cells
                start = reader.line_num + 1
        except csv.Error as err:
            self.problem(start, _("the CSV cannot be read here ({reason}); check the quotes").format(
                reason=err))

    def column(self, *names: str) -> int | None:
        """The index of the first of `names` the header has."""
        for name in names:
            if name in self.columns:
                return self.columns[name]
        return None

    def need(self, what: str, *names: str) -> int | None:
        """Like :meth:`column`, reporting a missing column on line 1."""
        index = self.column(*names)
        if index is None:
            self.problem(1, _("no column for {what}; expected one of {names}").format(
                what=what, names=", ".join(names)))
        return index

    def fail(self) -> None:
        """Raise the collected problems, if any, in line order."""
        if self.problems:
            raise problems_error([text for _line, text in sorted(self.problems, key=lambda p: p[0])])


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


# --- CBS: municipalities ----------------------------------------------------------------------


def read_municipalities(path: str | Path) -> list[MunicipalityRow]:
    """The municipalities of a CBS "Gemeenten alfabetisch" file (or any file with a code and a
    name column: ``GemeentecodeGM``/``Gemeentecode``/``statcode``, ``Gemeentenaam``/``statnaam``).

    Raises:
        UsageError: missing columns, codes that are not municipality codes, duplicates.
    """
    table = _Table(Path(path))
    rows: list[MunicipalityRow] = []
    seen: dict[str, int] = {}
    records = list(table.records())
    code_at = table.need(_("the municipality code"), "GEMEENTECODEGM", "GEMEENTECODE", "STATCODE", "CODE")
    name_at = table.need(_("the municipality name"), "GEMEENTENAAM", "STATNAAM", "NAAM", "NAME")
    province_at = table.column("PROVINCIENAAM", "PROVINCIE", "PROVINCE")
    if code_at is None or name_at is None:
        table.fail()
    for line, cells in records:
        raw = _cell(cells, code_at)
        code = municipality_code(raw)
        name = _cell(cells, name_at)
        if code is None:
            table.problem(line, _("'{value}' is not a municipality code (GM0363 or 0363)").format(value=raw))
            continue
        if not name:
            table.problem(line, _("municipality {code} has no name").format(code=code))
            continue
        if code in seen:
            table.problem(line, _("municipality {code} appears again (first on line {line})").format(
                code=code, line=seen[code]))
            continue
        seen[code] = line
        province = _cell(cells, province_at)
        if table.name(line, name, N_("municipality name")) is None or (
                province and table.name(line, province, N_("province")) is None):
            continue
        rows.append(MunicipalityRow(line, code, name, province or None))
    if not rows and not table.problems:
        table.problem(1, _("the file holds no municipalities"))
    table.fail()
    return rows


# --- DUO: school locations ---------------------------------------------------------------------

_BRIN = ("INSTELLINGSCODE", "BRIN NUMMER", "BRINNUMMER", "BRIN")
_VESTIGING = ("VESTIGINGSCODE", "VESTIGINGSNUMMER", "VESTIGINGS NUMMER", "VESTIGINSNUMMER")
_NAME = ("VESTIGINGSNAAM", "INSTELLINGSNAAM VESTIGING", "INSTELLINGSNAAM", "NAAM")
_COUNT = ("TOTAAL AANTAL LEERLINGEN", "AANTAL LEERLINGEN", "AANTAL STUDENTEN", "LEERLINGEN", "STUDENTEN")


def _location_code(cells: list[str], brin_at: int | None, code_at: int | None) -> str:
    code = _cell(cells, code_at).upper().replace(" ", "")
    if len(code) <= 2 and code.isdigit():  # the vestiging's two digits after a BRIN column
        code = _cell(cells, brin_at).upper() + code.zfill(2)
    return code


def _count(value: str) -> tuple[int | None, bool]:
    """(count, valid): ``<5`` and an empty cell are no count; thousands separators are dropped."""
    text = value.strip().replace(".", "").replace(" ", "")
    if not text or text.startswith("<"):
        return None, True
    if not text.isdigit():
        return None, False
    return int(text), True


def read_locations(path: str | Path, *, sector: str | None = None) -> list[LocationRow]:
    """The school locations of a DUO vestigingen file (addresses, counts or both).

    Args:
        sector: PO, VO or MBO for every row; needed unless the file has a ``SECTOR`` column.

    Raises:
        UsageError: missing columns, malformed codes or counts, duplicate vestigingscodes.
    """
    table = _Table(Path(path))
    rows: list[LocationRow] = []
    seen: dict[str, int] = {}
    records = list(table.records())
    brin_at = table.column(*_BRIN)
    code_at = table.need(_("the vestigingscode"), *_VESTIGING)
    name_at = table.column(*_NAME)
    municipality_at = table.need(_("the municipality"), "GEMEENTENUMMER", "GEMEENTECODE", "GEMEENTE")
    sector_at = table.column("SECTOR")
    count_at = table.column(*_COUNT)
    if sector_at is None and sector is None:
        table.problem(1, _("the file has no SECTOR column; say which sector with --sector PO, VO or MBO"))
    if code_at is None or municipality_at is None or table.problems:
        table.fail()
    for line, cells in records:
        code = _location_code(cells, brin_at, code_at)
        if not _LOCATION.fullmatch(code):
            table.problem(line, _("'{value}' is not a vestigingscode (BRIN and two digits, e.g. 16AH00)")
                          .format(value=code))
            continue
        if code in seen:
            table.problem(line, _("vestiging {code} appears again (first on line {line})").format(
                code=code, line=seen[code]))
            continue
        seen[code] = line
        raw = _cell(cells, municipality_at)
        municipality = municipality_code(raw)
        if municipality is None:
            table.problem(line, _("vestiging {code}: '{value}' is not a municipality number").format(
                code=code, value=raw))
            continue
        row_sector = (_cell(cells, sector_at).upper() if sector_at is not None else "") or (sector or "")
        if row_sector not in NETWORK_SECTORS:
            table.problem(line, _("vestiging {code}: sector '{value}' is not PO, VO or MBO").format(
                code=code, value=row_sector))
            continue
        pupils, valid = _count(_cell(cells, count_at))
        if not valid:
            table.problem(line, _("vestiging {code}: '{value}' is not a number of pupils").format(
                code=code, value=_cell(cells, count_at)))
            continue
        name = _cell(cells, name_at) or code
        if table.name(line, name, N_("school name")) is None:
            continue
        rows.append(LocationRow(line, code, name, row_sector, municipality, pupils))
    if not rows and not table.problems:
        table.problem(1, _("the file holds no school locations"))
    table.fail()
    return rows


def read_counts(path: str | Path) -> dict[str, int | None]:
    """Pupils per vestigingscode from a separate DUO count file (joined on the code).

    Raises:
        UsageError: missing columns, malformed codes or counts, duplicate vestigingscodes.
    """
    table = _Table(Path(path))
    out: dict[str, int | None] = {}
    seen: dict[str, int] = {}
    records = list(table.records())
    brin_at = table.column(*_BRIN)
    code_at = table.need(_("the vestigingscode"), *_VESTIGING)
    count_at = table.need(_("the number of pupils"), *_COUNT)
    if code_at is None or count_at is None:
        table.fail()
    for line, cells in records:
        code = _location_code(cells, brin_at, code_at)
        if code in seen:
            table.problem(line, _("vestiging {code} appears again (first on line {line})").format(
                code=code, line=seen[code]))
            continue
        seen[code] = line
        pupils, valid = _count(_cell(cells, count_at))
        if not valid:
            table.problem(line, _("vestiging {code}: '{value}' is not a number of pupils").format(
                code=code, value=_cell(cells, count_at)))
            continue
        out[code] = pupils
    table.fail()
    return out


# --- adjacency ----------------------------------------------------------------------------------


def read_adjacency(path: str | Path) -> list[AdjacencyRow]:
    """Pairs of municipality codes that share a border (columns ``gemeente_a``, ``gemeente_b``,
    or ``a``, ``b``); each pair once, in either order.

    Raises:
        UsageError: missing columns, codes that are not municipality codes, a municipality
            paired with itself.
    """
    table = _Table(Path(path))
    rows: list[AdjacencyRow] = []
    records = list(table.records())
    a_at = table.need(_("the first municipality"), "GEMEENTE_A", "A", "CODE_A")
    b_at = table.need(_("the second municipality"), "GEMEENTE_B", "B", "CODE_B")
    if a_at is None or b_at is None:
        table.fail()
    for line, cells in records:
        a, b = (municipality_code(_cell(cells, at)) for at in (a_at, b_at))
        if a is None or b is None:
            bad = _cell(cells, a_at) if a is None else _cell(cells, b_at)
            table.problem(line, _("'{value}' is not a municipality code (GM0363 or 0363)").format(value=bad))
            continue
        if a == b:
            table.problem(line, _("municipality {code} cannot border itself").format(code=a))
            continue
        rows.append(AdjacencyRow(line, *sorted((a, b))))
    table.fail()
    return rows
