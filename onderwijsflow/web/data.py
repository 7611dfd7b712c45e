"""The regions list's index: every region with its provinces, coordinator and cases' states.

``list_regions`` gives no provinces, and a ``show_region`` per region is too slow for
10,000 regions, so the index is read here: two plain Core selects (regions, cases) in the
library's read transaction, the same rows ``list_regions`` reads, without building ORM
objects (a third of the time at 10,000 regions). Should ``list_regions`` carry provinces one
day, this module is one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from onderwijsflow.service import Onderwijsflow

__all__ = ["RegionIndex", "region_index"]


@dataclass
class RegionIndex:
    """The regions, and the choices of the list's filters."""

    regions: list[dict[str, Any]]
    #: ("workflow:state", "workflow: label") for every state a case is in; the filter also
    #: takes a bare state code (``?status=ingediend``: in any workflow).
    states: list[tuple[str, str]]
    coordinators: list[str]
    provinces: list[str]


def region_index(app: Onderwijsflow) -> RegionIndex:
    """Every region for the list page, with the choices its filters offer."""
    from sqlalchemy import select

    from onderwijsflow.store.tables import Case, Region

    r_, c_ = Region.__table__.c, Case.__table__.c  # type: ignore[attr-defined]
    with app.reading() as session:
        connection = session.connection()
        found = connection.execute(select(r_.id, r_.slug, r_.name, r_.coordinator, r_.provinces)
                                   .order_by(r_.slug)).all()
        cases: dict[int, dict[str, str]] = {row.id: {} for row in found}
        for case in connection.execute(select(c_.region_id, c_.workflow, c_.round, c_.state)
                                       .order_by(c_.id)):
            key = case.workflow + (f"/{case.round}" if case.round else "")
            cases[case.region_id][key] = case.state
    regions = [{"slug": row.slug, "name": row.name, "coordinator": row.coordinator,
                "cases": cases[row.id]} for row in found]
    provinces = {row.slug: list(row.provinces or []) for row in found}
    labels: dict[tuple[str, str], str] = {}
    rows = []
    for r in regions:
        states = []
        for key, state in r["cases"].items():
            workflow = key.split("/")[0]
            if (workflow, state) not in labels:
                labels[workflow, state] = app.state_label(workflow, state)
            states.append((key, labels[workflow, state]))
        codes = {*r["cases"].values(), *(f"{k.split('/')[0]}:{s}" for k, s in r["cases"].items())}
        rows.append({**r, "provinces": provinces.get(r["slug"], []), "states": states,
                     "codes": codes})
    choices = sorted({(f"{workflow}:{state}", f"{workflow}: {label}")
                      for (workflow, state), label in labels.items()}, key=lambda item: item[1])
    return RegionIndex(
        regions=rows, states=choices,
        coordinators=sorted({r["coordinator"] for r in regions if r["coordinator"]}),
        provinces=sorted({p for found in provinces.values() for p in found}))
