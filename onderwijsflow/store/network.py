"""The stored shape of the national network: reference data and region membership.

Reference data is what DUO and CBS publish, per year, so that 2024 and 2025 live side by
side: municipalities (CBS code ``GM0363``), school locations (the DUO vestigingscode, BRIN
plus two digits), which municipalities share a border, and optionally their simplified
boundaries (GeoJSON geometry in WGS84 longitude/latitude). It belongs to no region and is
replaced per year (and per sector for locations) by an import.

Membership says which municipalities and school locations a region covers. It names them by
code, not by a year's row, so it outlives a yearly reload; each change is an audited event in
the region's chain. A location may be in two regions (that is an overlap the checks and the
coverage report point out), so there is no uniqueness across regions.
"""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from onderwijsflow.clock import wall_clock

__all__ = ["Adjacency", "Boundary", "Municipality", "RegionLocation", "RegionMunicipality", "SchoolLocation"]


class Municipality(SQLModel, table=True):
    """A municipality of one year (CBS "Gemeenten alfabetisch")."""

    __tablename__ = "ref_municipalities"
    __table_args__ = (UniqueConstraint("year", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int
    code: str
    name: str
    province: str | None = None


class SchoolLocation(SQLModel, table=True):
    """A school location (vestiging) of one year, with its pupils or students when known.

    `pupils` is None when the count is unknown, also for DUO's ``<5`` (one to four).
    """

    __tablename__ = "ref_locations"
    __table_args__ = (UniqueConstraint("year", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int
    code: str
    name: str
    sector: str
    municipality: str
    pupils: int | None = None


class Adjacency(SQLModel, table=True):
    """Two municipalities of one year that share a border (`a` sorts before `b`)."""

    __tablename__ = "ref_adjacency"

    year: int = Field(primary_key=True)
    a: str = Field(primary_key=True)
    b: str = Field(primary_key=True)


class Boundary(SQLModel, table=True):
    """A municipality's simplified boundary of one year: a GeoJSON geometry in WGS84."""

    __tablename__ = "ref_boundaries"

    year: int = Field(primary_key=True)
    code: str = Field(primary_key=True)
    geometry: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class RegionMunicipality(SQLModel, table=True):
    """A municipality (by CBS code) that a region covers."""

    __tablename__ = "region_municipalities"
    __table_args__ = (UniqueConstraint("region_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    code: str = Field(index=True)
    added_at: dt.datetime = Field(default_factory=wall_clock)


class RegionLocation(SQLModel, table=True):
    """A school location (by vestigingscode) that takes part in a region."""

    __tablename__ = "region_locations"
    __table_args__ = (UniqueConstraint("region_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    code: str = Field(index=True)
    added_at: dt.datetime = Field(default_factory=wall_clock)
