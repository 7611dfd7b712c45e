"""The `check` answer of one case: every trigger with its unmet requirements, and the way on."""

from __future__ import annotations

from typing import Protocol

from onderwijsflow.engine.context import RegionContext
from onderwijsflow.engine.machine import WorkflowMachine
from onderwijsflow.errors import Refused
from onderwijsflow.i18n import _
from onderwijsflow.shapes import CheckJson, StepJson, TriggerJson

__all__ = ["CheckedCase", "check_json"]


class CheckedCase(Protocol):
    """A case as the answer names it: an ORM `Case` or a row read on the lean path."""

    @property
    def workflow(self) -> str: ...

    @property
    def round(self) -> str | None: ...

    @property
    def state(self) -> str: ...


def check_json(slug: str, case: CheckedCase, machine: WorkflowMachine, ctx: RegionContext,
               roles: frozenset[str] | None, target: str | None) -> CheckJson:
    """The JSON shape of design §4 (`region, workflow, state, triggers`), plus `path` (the
    shortest way to `target`, each step with what it lacks) when asked.

    Args:
        ctx: the region's snapshot, focused on the case (see `snapshot.focus.for_case`).
        roles: the asker's roles (None: every role).

    Raises:
        Refused: `target` cannot be reached from the case's state.
    """
    triggers: list[TriggerJson] = [
        {"trigger": r.trigger, "label": r.label, "dest": r.dest, "allowed": r.allowed,
         "permitted": r.permitted, "unmet": [u.as_dict() for u in r.unmet]}
        for r in machine.readiness(case.state, ctx, roles)
    ]
    out: CheckJson = {
        "region": slug, "workflow": case.workflow, "round": case.round or None,
        "state": case.state, "state_label": machine.definition.state_label(case.state),
        "triggers": triggers,
    }
    if target is not None:
        out["target"] = target
        out["path"] = _path_json(machine, case.state, target, ctx)
    return out


def _path_json(machine: WorkflowMachine, state: str, target: str,
               ctx: RegionContext) -> list[StepJson]:
    path = machine.path_to(state, target)
    if path is None:
        raise Refused(_("state '{target}' cannot be reached from '{state}' in {workflow}")
                      .format(target=target, state=state, workflow=machine.name))
    steps: list[StepJson] = []
    for t in path:
        unmet = [r.as_dict() for r in machine.evaluate(t.requires, ctx) if not r.passed]
        steps.append({"trigger": t.trigger, "label": t.label or t.trigger, "dest": t.dest,
                      "unmet": unmet})
    return steps
