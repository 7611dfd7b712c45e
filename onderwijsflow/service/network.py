"""Use cases of the national network: reference data imports, region membership, coverage.

Reference imports replace one year's rows (for locations: the year's rows of the sectors in
the file) in one transaction, after the whole file has been checked: a file with any problem
writes nothing. Reference data belongs to no region, so it has no audit events; membership
changes are events in the region's chain (``municipality_added``, ``location_removed``, ...),
written with the change as every other write is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlmodel import Session

from onderwijsflow.errors import Conflict, NotFound, Refused, UsageError
from onderwijsflow.i18n import _
from onderwijsflow.network.readers import (
    read_adjacency,
    read_counts,
    read_locations,
    read_municipalities,
)
from onderwijsflow.network.store import latest_year, table
from onderwijsflow.service.cases import CaseOps
from onderwijsflow.store.network import (
    Adjacency,
    Boundary,
    Municipality,
    RegionLocation,
    RegionMunicipality,
    SchoolLocation,
)

__all__ = ["REFERENCE_KINDS", "NetworkOps"]

#: What ``reference list`` lists.
REFERENCE_KINDS: tuple[str, ...] = ("municipalities", "locations", "adjacency")
#: The shipped invented dataset (a grid of fictitious municipalities, CBS and DUO formats).
EXAMPLE = Path(__file__).resolve().parent.parent / "network" / "voorbeeld"
_MIN_YEAR, _MAX_YEAR = 1900, 2200


def _year(year: int) -> int:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise UsageError(_("year {year} is out of range ({low}-{high})").format(
            year=year, low=_MIN_YEAR, high=_MAX_YEAR))
    return year


class NetworkOps(CaseOps):
    """Reference data, membership and coverage."""

    # --- reference data ------------------------------------------------------------------

    def import_municipalities(self, path: str | Path, *, year: int) -> dict[str, Any]:
        """Replace the municipalities of `year` with those of a CBS file.

        Raises:
            UsageError: the file has problems, or the year's locations name a municipality
                the file lacks; nothing was written.
        """
        rows = read_municipalities(path)
        self.require_writer()
        with self.writing() as session:
            run = session.connection().execute
            loc = table(SchoolLocation)
            used = {m for (m,) in run(select(loc.municipality).where(loc.year == _year(year)).distinct())}
            missing = sorted(used - {r.code for r in rows})
            if missing:
                raise UsageError(_("{file}: municipalities {codes} have school locations in {year} but are "
                                   "not in the file (nothing was imported)").format(
                                       file=Path(path).name, codes=", ".join(missing[:5]), year=year))
            ref = metadata_of(Municipality)
            run(delete(ref).where(ref.c.year == year))
            run(insert(ref), [{"year": year, "code": r.code, "name": r.name, "province": r.province}
                              for r in rows])
        return {"file": str(path), "year": year, "municipalities": len(rows)}

    def import_locations(self, path: str | Path, *, year: int, sector: str | None = None,
                         counts: str | Path | None = None) -> dict[str, Any]:
        """Replace the school locations of `year` (of the sectors in the file) with a DUO file's.

        Args:
            sector: PO, VO or MBO, for a file without a ``SECTOR`` column.
            counts: a separate DUO file with pupils per vestiging, joined on the code.

        Raises:
            UsageError: the file has problems: a municipality unknown in `year`, a duplicate
                vestigingscode (also one imported for another sector); nothing was written.
        """
        if sector is not None and sector.upper() not in ("PO", "VO", "MBO"):
            raise UsageError(_("sector '{value}' is not PO, VO or MBO").format(value=sector))
        rows = read_locations(path, sector=sector.upper() if sector else None)
        pupils = read_counts(counts) if counts is not None else {}
        self.require_writer()
        name = Path(path).name
        with self.writing() as session:
            run = session.connection().execute
            mun, loc = table(Municipality), table(SchoolLocation)
            known = {c for (c,) in run(select(mun.code).where(mun.year == _year(year)))}
            if not known:
                raise UsageError(_("{file}: no municipalities for {year}; import the municipalities of "
                                   "{year} first (nothing was imported)").format(file=name, year=year))
            sectors = sorted({r.sector for r in rows})
            other: dict[str, str] = dict(run(select(loc.code, loc.sector)
                             .where(loc.year == year, loc.sector.not_in(sectors))).all())
            problems = []
            for r in rows:
                if r.municipality not in known:
                    problems.append(_("{file}:{line}: vestiging {code}: municipality {municipality} is not "
                                      "known in {year}").format(file=name, line=r.line, code=r.code,
                                                                municipality=r.municipality, year=year))
                elif r.code in other:
                    problems.append(_("{file}:{line}: vestiging {code} was already imported for {sector} "
                                      "in {year}").format(file=name, line=r.line, code=r.code,
                                                          sector=other[r.code], year=year))
            if problems:
                from onderwijsflow.network.readers import problems_error

                raise problems_error(problems)
            ref = metadata_of(SchoolLocation)
            run(delete(ref).where(ref.c.year == year, ref.c.sector.in_(sectors)))
            run(insert(ref), [{"year": year, "code": r.code, "name": r.name, "sector": r.sector,
                               "municipality": r.municipality,
                               "pupils": pupils.get(r.code, r.pupils) if counts is not None else r.pupils}
                              for r in rows])
        matched = sum(1 for r in rows if r.code in pupils)
        return {"file": str(path), "year": year, "sectors": sectors, "locations": len(rows),
                "counts_matched": matched, "counts_unmatched": len(pupils) - matched}

    def import_adjacency(self, path: str | Path, *, year: int) -> dict[str, Any]:
        """Replace the adjacency (pairs of bordering municipalities) of `year`.

        Raises:
            UsageError: the file has problems or names a municipality unknown in `year`.
        """
        rows = read_adjacency(path)
        pairs = sorted({(r.a, r.b) for r in rows})
        self.require_writer()
        with self.writing() as session:
            self._known_municipalities(session, year, Path(path).name,
                                       [(r.line, code) for r in rows for code in (r.a, r.b)])
            self._replace_adjacency(session, year, pairs)
        return {"file": str(path), "year": year, "pairs": len(pairs)}

    def import_boundaries(self, path: str | Path, *, year: int) -> dict[str, Any]:
        """Store `year`'s simplified municipal boundaries (GeoJSON) and the adjacency derived
        from them (municipalities that share a border), replacing what `year` had.

        Raises:
            UsageError: the file has problems (projection, feature ids, invalid geometry) or
                names a municipality unknown in `year`; nothing was written.
            OnderwijsflowError: shapely is not installed.
        """
        from onderwijsflow.network.boundaries import read_boundaries

        found = read_boundaries(path)
        self.require_writer()
        with self.writing() as session:
            self._known_municipalities(session, year, Path(path).name,
                                       [(0, code) for code in sorted(found.geometries)])
            run = session.connection().execute
            ref = metadata_of(Boundary)
            run(delete(ref).where(ref.c.year == year))
            run(insert(ref), [{"year": year, "code": code, "geometry": geometry}
                              for code, geometry in found.geometries.items()])
            self._replace_adjacency(session, year, found.adjacency)
        return {"file": str(path), "year": year, "projection": found.projection,
                "boundaries": len(found.geometries), "pairs": len(found.adjacency)}

    def import_example(self, *, year: int) -> dict[str, Any]:
        """Load the shipped invented dataset (16 municipalities in a grid, their schools, their
        borders, and with shapely their boundaries) as reference data of `year`."""
        folder = EXAMPLE
        done: dict[str, Any] = {"year": year, "folder": str(folder)}
        done["municipalities"] = self.import_municipalities(
            folder / "gemeenten.csv", year=year)["municipalities"]
        done["locations"] = sum(
            self.import_locations(folder / f"vestigingen-{s.lower()}.csv", year=year, sector=s)["locations"]
            for s in ("PO", "VO", "MBO"))
        try:
            import shapely  # noqa: F401
        except ImportError:
            done["pairs"] = self.import_adjacency(folder / "aangrenzend.csv", year=year)["pairs"]
            done["boundaries"] = 0
        else:
            found = self.import_boundaries(folder / "gemeenten.geojson", year=year)
            done["pairs"], done["boundaries"] = found["pairs"], found["boundaries"]
        return done

    def _known_municipalities(self, session: Session, year: int, name: str,
                              uses: list[tuple[int, str]]) -> None:
        mun = table(Municipality)
        known = {c for (c,) in session.connection().execute(select(mun.code).where(mun.year == _year(year)))}
        if not known:
            raise UsageError(_("{file}: no municipalities for {year}; import the municipalities of "
                               "{year} first (nothing was imported)").format(file=name, year=year))
        unknown = [(line, code) for line, code in uses if code not in known]
        if unknown:
            from onderwijsflow.network.readers import problems_error

            raise problems_error([
                (f"{name}:{line}: " if line else f"{name}: ")
                + _("municipality {code} is not known in {year}").format(code=code, year=year)
                for line, code in unknown])

    @staticmethod
    def _replace_adjacency(session: Session, year: int, pairs: list[tuple[str, str]]) -> None:
        run = session.connection().execute
        ref = metadata_of(Adjacency)
        run(delete(ref).where(ref.c.year == year))
        if pairs:
            run(insert(ref), [{"year": year, "a": a, "b": b} for a, b in pairs])

    def list_reference(self, kind: str, *, year: int | None = None) -> dict[str, Any]:
        """The reference rows of `kind` (municipalities, locations, adjacency) for `year`
        (the latest loaded by default)."""
        models = {"municipalities": Municipality, "locations": SchoolLocation, "adjacency": Adjacency}
        model = models.get(kind)
        if model is None:
            raise UsageError(_("'{kind}' is not one of {kinds}").format(
                kind=kind, kinds=", ".join(REFERENCE_KINDS)))
        with self.reading() as session:
            year = year if year is not None else latest_year(session, model)
            ref = table(model)
            names = {"municipalities": ("code", "name", "province"),
                     "locations": ("code", "name", "sector", "municipality", "pupils"),
                     "adjacency": ("a", "b")}[kind]
            columns = [ref[name] for name in names]
            rows = session.connection().execute(select(*columns).where(ref.year == year)
                                                .order_by(columns[0], columns[1])).all()
        return {"kind": kind, "year": year, "rows": [dict(row._mapping) for row in rows]}

    # --- membership ----------------------------------------------------------------------

    def add_municipality(self, slug: str, code: str) -> dict[str, Any]:
        """Add a municipality (CBS code) to the region's area."""
        return self._add_member(slug, code, RegionMunicipality, "municipality_added")

    def remove_municipality(self, slug: str, code: str) -> dict[str, Any]:
        """Take a municipality out of the region's area."""
        return self._remove_member(slug, code, RegionMunicipality, "municipality_removed")

    def add_location(self, slug: str, code: str) -> dict[str, Any]:
        """Add a school location (vestigingscode) to the region."""
        return self._add_member(slug, code, RegionLocation, "location_added")

    def remove_location(self, slug: str, code: str) -> dict[str, Any]:
        """Take a school location out of the region."""
        return self._remove_member(slug, code, RegionLocation, "location_removed")

    def _reference(self, session: Session, model: Any, code: str) -> Any:
        """The latest reference row of a municipality or location, or NotFound."""
        ref = table(Municipality if model is RegionMunicipality else SchoolLocation)
        found = session.connection().execute(select(ref.code, ref.name, ref.year).where(ref.code == code)
                                             .order_by(ref.year.desc()).limit(1)).first()
        if found is None:
            if model is RegionMunicipality:
                raise NotFound(_("no municipality {code} in the reference data; import the CBS "
                                 "municipalities first").format(code=code))
            raise NotFound(_("no school location {code} in the reference data; import the DUO "
                             "locations first").format(code=code))
        return found

    def _normal(self, code: str, model: Any) -> str:
        if model is RegionMunicipality:
            from onderwijsflow.network.readers import municipality_code

            normal = municipality_code(code)
            if normal is None:
                raise UsageError(_("'{value}' is not a municipality code (GM0363 or 0363)").format(
                    value=code))
            return normal
        return code.strip().upper()

    def _add_member(self, slug: str, code: str, model: Any, kind: str) -> dict[str, Any]:
        code = self._normal(code, model)
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            found = self._reference(session, model, code)
            rows = table(model)
            if session.connection().execute(select(rows.id).where(rows.region_id == region.id,
                                                                  rows.code == code)).first():
                raise Refused(_("{code} ({name}) is already part of {slug}").format(
                    code=code, name=found.name, slug=slug))
            session.connection().execute(insert(metadata_of(model)), [
                {"region_id": region.id, "code": code, "added_at": self.now()}])
            try:
                session.flush()
            except SAIntegrityError:
                raise Conflict(_("{code} was added to {slug} at the same time by someone else; nothing "
                                 "was written, try again").format(code=code, slug=slug)) from None
            self.record_event(session, region, kind, data={"new": {"code": code, "name": found.name}})
        return {"region": slug, "code": code, "name": found.name}

    def _remove_member(self, slug: str, code: str, model: Any, kind: str) -> dict[str, Any]:
        code = self._normal(code, model)
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            rows = table(model)
            deleted = session.connection().execute(
                delete(metadata_of(model)).where(rows.region_id == region.id, rows.code == code))
            if not deleted.rowcount:
                raise NotFound(_("{code} is not part of {slug}").format(code=code, slug=slug))
            self.record_event(session, region, kind, data={"old": {"code": code}})
        return {"region": slug, "code": code}

    def region_network(self, slug: str) -> dict[str, Any]:
        """The region's municipalities and school locations (with names where known)."""
        from onderwijsflow.service.snapshot import driver_run
        from onderwijsflow.snapshot.network import read_network

        with self.reading() as session:
            region = self.region_in(session, slug)
            assert region.id is not None
            info = read_network(driver_run(session), [region.id]).get(region.id)
        if info is None:
            return {"region": slug, "municipalities": [], "locations": []}
        return {"region": slug, "year": info.year,
                "municipalities": [{"code": c, "name": n} for c, n in info.municipalities.items()],
                "locations": [{"code": loc.code, "name": loc.name, "sector": loc.sector,
                               "municipality": loc.municipality, "pupils": loc.pupils,
                               "also_in": list(info.elsewhere.get(loc.code, ()))}
                              for loc in info.locations]
                + [{"code": c, "name": None, "sector": None, "municipality": None, "pupils": None,
                    "also_in": list(info.elsewhere.get(c, ()))} for c in info.unknown]}

    # --- coverage ------------------------------------------------------------------------

    def coverage(self, *, year: int | None = None, sector: str | None = None) -> dict[str, Any]:
        """The national coverage (see :func:`onderwijsflow.network.coverage.coverage`)."""
        from onderwijsflow.network.coverage import coverage

        if sector is not None and sector.upper() not in ("PO", "VO", "MBO"):
            raise UsageError(_("sector '{value}' is not PO, VO or MBO").format(value=sector))
        with self.reading() as session:
            return coverage(session, year=year, sector=sector.upper() if sector else None)


def metadata_of(model: Any) -> Any:
    """The Core table of a model."""
    from onderwijsflow.store.tables import metadata

    return metadata.tables[model.__tablename__]
