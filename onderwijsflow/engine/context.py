"""What a requirement sees of a region: a plain, read-only snapshot.

Its parts are named tuples: immutable like frozen dataclasses, and made several times
faster, which counts when the national report reads every region's rows.

The store builds one per command; checks never touch the database, which keeps them
fast (the engine target is 20,000 evaluations per second) and trivially testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple


class PartnerInfo(NamedTuple):
    """An organisation in the region."""

    name: str
    kind: str
    sector: str | None = None


class RoleInfo(NamedTuple):
    """A person in a named role for the region."""

    role: str
    person: str
    email: str | None = None


class DocumentInfo(NamedTuple):
    """A piece of evidence."""

    kind: str
    title: str
    ref: str | None = None
    date: date | None = None
    added: datetime | None = None


class RecordInfo(NamedTuple):
    """A structured entry (a peilgesprek, an action): its kind, case and typed fields.

    `fields` holds JSON-safe values (dates as ISO text); `case_id` is None for a record kept
    on the region.
    """

    kind: str
    fields: dict[str, Any]
    at: datetime
    case_id: int | None = None
    workflow: str | None = None


class LocationInfo(NamedTuple):
    """A school location of the region, as the reference data of the year describes it."""

    code: str
    name: str
    sector: str
    municipality: str
    pupils: int | None = None


@dataclass(frozen=True)
class NetworkInfo:
    """The region's place in the national network (reference data of `year`).

    Attributes:
        locations: the region's school locations found in the year's reference data.
        unknown: the region's location codes the year's reference data lacks.
        municipalities: the region's municipalities, code -> name.
        borders: the pairs of the region's municipalities that share a border.
        elsewhere: location code -> the other regions (names) it also takes part in.
        has_adjacency: whether adjacency (or boundaries) of the year is loaded.
    """

    year: int | None = None
    locations: tuple[LocationInfo, ...] = ()
    unknown: tuple[str, ...] = ()
    municipalities: dict[str, str] = field(default_factory=dict)
    borders: frozenset[tuple[str, str]] = frozenset()
    elsewhere: dict[str, tuple[str, ...]] = field(default_factory=dict)
    has_adjacency: bool = False


@dataclass
class RegionContext:
    """Everything checks may read, for one region at one moment.

    Attributes:
        cases: workflow name -> states of this region's cases of that workflow.
        rounds: workflow name -> round -> state, for the cases opened for a round.
        milestones: milestone name -> due moment (UTC) for the case being evaluated.
        facts: the region's facts, overlaid by the evaluated case's own (``scope: case``).
        case_facts: case id -> that case's own facts.
        case_id: the case being evaluated (its records and facts come first).
        network: the region's locations and municipalities (None: not read).
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
    records: list[RecordInfo] = field(default_factory=list)
    rounds: dict[str, dict[str, str]] = field(default_factory=dict)
    case_facts: dict[int, dict[str, Any]] = field(default_factory=dict)
    case_id: int | None = None
    network: NetworkInfo | None = None
    _region_facts: dict[str, Any] | None = field(default=None, repr=False)

    def focus(self, case_id: int | None) -> None:
        """Evaluate for `case_id` from now on: its own facts overlay the region's."""
        if self._region_facts is None:
            self._region_facts = dict(self.facts)
        self.case_id = case_id
        own = self.case_facts.get(case_id) if case_id is not None else None
        self.facts = {**self._region_facts, **own} if own else self._region_facts

    def records_of(self, kind: str) -> list[RecordInfo]:
        """Records of `kind` kept on the region or on the evaluated case."""
        return [r for r in self.records
                if r.kind == kind and (r.case_id is None or r.case_id == self.case_id)]
