"""A region's snapshot narrowed to one case: its parameters, own facts and milestone dates."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from onderwijsflow.definition.model import WorkflowDef
from onderwijsflow.engine.context import RegionContext
from onderwijsflow.engine.milestones import due_moment

__all__ = ["FocusCase", "case_moments", "for_case"]


class FocusCase(Protocol):
    """A case as :func:`for_case` reads it: an ORM `Case` or a selected row."""

    @property
    def id(self) -> int | None: ...

    @property
    def params(self) -> dict[str, Any] | None: ...

    @property
    def state(self) -> str: ...

    @property
    def state_entered_at(self) -> dt.datetime | None: ...

    @property
    def decided_on(self) -> dt.date | None: ...


def for_case(ctx: RegionContext, case: FocusCase, definition: WorkflowDef) -> RegionContext:
    """`ctx` with the case's own parameters, facts, records and milestone dates filled in."""
    ctx.focus(case.id)
    ctx.params = dict(case.params or {})
    ctx.milestones = case_moments(definition, case.state, ctx.params, case.state_entered_at,
                                  case.decided_on)
    return ctx


def case_moments(definition: WorkflowDef, state: str, params: dict[str, Any],
                 entered: dt.datetime | None, decided_on: dt.date | None) -> dict[str, dt.datetime]:
    """The due moment of each milestone of a case in `state` (those that have one)."""
    moments = {}
    for m in definition.milestones:
        moment = due_moment(m, params, entered if state in m.active_in else None, decided_on)
        if moment is not None:
            moments[m.name] = moment
    return moments
