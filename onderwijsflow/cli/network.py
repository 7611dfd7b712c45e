"""The national network on the command line: reference data (``import municipalities``,
``import locations``, ``import adjacency``, ``import boundaries``, ``reference list``,
``reference example``) and the ``coverage`` report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.importing import import_group
from onderwijsflow.cli.output import emit_json, json_option, say, table
from onderwijsflow.i18n import N_, _, format_number

#: As :data:`onderwijsflow.service.network.REFERENCE_KINDS` (not imported: start-up stays cheap).
KINDS = ["municipalities", "locations", "adjacency"]
#: What a person calls each kind of reference data.
KIND_LABELS = {"municipalities": N_("municipalities"), "locations": N_("school locations"),
               "adjacency": N_("pairs of neighbouring municipalities")}
#: As :data:`onderwijsflow.reporting.coverage.FORMATS`.
FORMATS = ["table", "md", "csv", "json", "html"]
SECTORS = click.Choice(["PO", "VO", "MBO"], case_sensitive=False)


def _year_option(func: Any) -> Any:
    return click.option("--year", type=click.IntRange(1900, 2200), default=None,
                        help="The year the data describes [default: the current year].")(func)


def _year(settings: Settings, year: int | None) -> int:
    return year if year is not None else settings.app.now().year


@import_group.command("municipalities", short_help="Load the municipalities of a year (CBS file).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_year_option
@json_option
@pass_settings
def import_municipalities(settings: Settings, /, file: Path, year: int | None, as_json: bool) -> None:
    """Replace the municipalities of a year with those of FILE, the CBS "Gemeenten alfabetisch"
    CSV as downloaded (columns GemeentecodeGM or Gemeentecode, Gemeentenaam, Provincienaam;
    ';' or ','; UTF-8 or Windows-1252). A file with any problem changes nothing."""
    result = settings.app.import_municipalities(file, year=_year(settings, year))
    if as_json:
        emit_json(result)
        return
    say(_("{file}: {n} municipalities for {year}").format(
        file=file.name, n=format_number(result["municipalities"]), year=result["year"]))


@import_group.command("locations", short_help="Load the school locations of a year (DUO file).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_year_option
@click.option("--sector", type=SECTORS, help="PO, VO or MBO, for a file without a SECTOR column.")
@click.option("--counts", type=click.Path(dir_okay=False, path_type=Path),
              help="A DUO file with pupils per vestiging, joined on the vestigingscode.")
@json_option
@pass_settings
def import_locations(settings: Settings, /, file: Path, year: int | None, sector: str | None,
                     counts: Path | None, as_json: bool) -> None:
    """Replace the school locations of a year (of the file's sector) with those of FILE, a DUO
    vestigingen CSV as downloaded: both header generations (INSTELLINGSCODE/VESTIGINGSCODE and
    BRIN NUMMER/VESTIGINGSNUMMER), GEMEENTENUMMER, and a count column (AANTAL LEERLINGEN) when
    present; '<5' is an unknown small count. Import the year's municipalities first. A file with
    any problem (an unknown municipality, a duplicate vestigingscode) changes nothing."""
    result = settings.app.import_locations(file, year=_year(settings, year), sector=sector, counts=counts)
    if as_json:
        emit_json(result)
        return
    say(_("{file}: {n} school locations ({sectors}) for {year}").format(
        file=file.name, n=format_number(result["locations"]), sectors=", ".join(result["sectors"]),
        year=result["year"]))


@import_group.command("adjacency", short_help="Load which municipalities share a border.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_year_option
@json_option
@pass_settings
def import_adjacency(settings: Settings, /, file: Path, year: int | None, as_json: bool) -> None:
    """Replace the adjacency of a year with the pairs in FILE (columns gemeente_a, gemeente_b:
    CBS codes such as GM0363), for when no boundary file is at hand."""
    result = settings.app.import_adjacency(file, year=_year(settings, year))
    if as_json:
        emit_json(result)
        return
    say(_("{file}: {n} pairs of neighbouring municipalities for {year}").format(
        file=file.name, n=format_number(result["pairs"]), year=result["year"]))


@import_group.command("boundaries", short_help="Load municipal boundaries (GeoJSON) and their borders.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_year_option
@json_option
@pass_settings
def import_boundaries(settings: Settings, /, file: Path, year: int | None, as_json: bool) -> None:
    """Store the simplified municipal boundaries of FILE (GeoJSON, RD New EPSG:28992 or WGS84;
    the code in property statcode) for the map, and derive the adjacency from shared borders.
    Needs shapely: pip install 'onderwijsflow[geo]'."""
    result = settings.app.import_boundaries(file, year=_year(settings, year))
    if as_json:
        emit_json(result)
        return
    say(_("{file}: {n} boundaries and {pairs} pairs of neighbouring municipalities for {year}").format(
        file=file.name, n=format_number(result["boundaries"]), pairs=format_number(result["pairs"]),
        year=result["year"]))


@click.group()
def reference() -> None:
    """Reference data of the national network: municipalities, school locations, borders."""


@reference.command("list")
@click.argument("kind", type=click.Choice(KINDS))
@_year_option
@json_option
@pass_settings
def reference_list(settings: Settings, /, kind: str, year: int | None, as_json: bool) -> None:
    """The municipalities, school locations or adjacency pairs of a year [default: the latest]."""
    result = settings.app.list_reference(kind, year=year)
    if as_json:
        emit_json(result)
        return
    rows = result["rows"]
    columns = list(rows[0]) if rows else []
    label = _(KIND_LABELS[kind])
    table(_("{kind} ({year})").format(kind=label, year=result["year"]), columns,
          [[row[c] for c in columns] for row in rows],
          empty=_("no {kind} loaded").format(kind=label))


@reference.command("example")
@_year_option
@json_option
@pass_settings
def reference_example(settings: Settings, /, year: int | None, as_json: bool) -> None:
    """Load the shipped invented dataset (16 fictitious municipalities in a grid, their schools
    and borders) as the reference data of a year: for trying things out and the demo."""
    result = settings.app.import_example(year=_year(settings, year))
    if as_json:
        emit_json(result)
        return
    say(_("invented example data for {year}: {municipalities} municipalities, {locations} school "
          "locations, {pairs} pairs of neighbours").format(**result))


@click.command()
@_year_option
@click.option("--sector", type=SECTORS, help="Only this sector's school locations.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="table (the default), md, csv, json or html (a self-contained page with a map).")
@click.option("--out", "output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write the report to FILE instead of stdout.")
@json_option
@pass_settings
def coverage(settings: Settings, /, year: int | None, sector: str | None, fmt: str | None,
             output: str | None, as_json: bool) -> None:
    """How much of the country the regions cover: school locations and pupils per sector (share
    of the country and per province), white spots, overlaps and each region's contiguity."""
    from onderwijsflow.reporting.coverage import render

    data = settings.app.coverage(year=year, sector=sector)
    fmt = fmt or ("json" if as_json else "table")
    if data.get("year") is None and fmt != "json":
        say(_("no reference data loaded yet: import the CBS municipalities and the DUO school "
              "locations (onderwijsflow import municipalities FILE, import locations FILE), or try "
              "the invented example (onderwijsflow reference example)"))
        return
    if output is not None:
        Path(output).write_text(render(data, fmt), encoding="utf-8")
        if as_json:
            emit_json(_public(data))
        else:
            click.echo(_("wrote the {format} report to {path}").format(format=fmt, path=output), err=True)
        return
    if fmt == "json":
        emit_json(_public(data))
    elif fmt == "table":
        from onderwijsflow.reporting.coverage import sections, shown

        for title, columns, rows in sections(data):
            table(title, columns, [[shown(v) for v in row] for row in rows],
                  empty=f"{title}: {_('None.')}")
    else:
        click.echo(render(data, fmt), nl=False)


def _public(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: everything but the map's geometry."""
    return {k: v for k, v in data.items() if k != "boundaries"}


COMMANDS = [reference, coverage]
