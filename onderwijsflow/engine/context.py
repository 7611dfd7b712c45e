"""What a requirement sees of a region: a plain, read-only snapshot.

The store builds one per command; checks never touch the database, which keeps them
fast (the engine target is 20,000 evaluations per second) and trivially testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class PartnerInfo:
    """An organisation in the region."""

    name: str
    kind: str
    sector: str | None = None


@dataclass(frozen=True)
class RoleInfo:
    """A person in a named role for the region."""

    role: str
    person: str
    email: str | None = None


@dataclass(frozen=True)
class DocumentInfo:
    """A piece of evidence."""

    kind: str
    title: str
    ref: str | None = None
    date: date | None = None


@dataclass
class RegionContext:
    """Everything checks may read, for one region at one moment.

    Attributes:
        cases: workflow name -> states of this region's cases of that workflow.
        milestones: milestone name -> due moment (UTC) for the case being evaluated.
    """

    slug: str
    now: datetime
    partners: list[PartnerInfo] = field(default_factory=list)
    roles: list[RoleInfo] = field(default_factory=list)
    documents: list[DocumentInfo] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    cases: dict[str, list[str]] = field(default_factory=dict)
    milestones: dict[str, datetime] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
