"""One shared `transitions` machine per workflow version, and decisions over it.

A case is never a `transitions` model of its own (a machine per case costs ~400 µs and
~37 KB, see the engineering notes). Instead each firing builds a tiny token holding the
case's state and the region snapshot, fires the shared machine's event on it, and reads the
resulting state. Conditions do not return a bare bool into the void: every requirement is
evaluated and its sentence kept, so a refusal can say exactly what is missing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from transitions import EventData, Machine

from onderwijsflow.engine.checks import CheckResult
from onderwijsflow.engine.context import RegionContext
from onderwijsflow.errors import NotFound
from onderwijsflow.i18n import _, join_or

if TYPE_CHECKING:
    from onderwijsflow.definition.loader import LoadedWorkflow
    from onderwijsflow.definition.model import TransitionDef, WorkflowDef


class RequirementResult:
    """One requirement evaluated: the evidence a transition event keeps.

    The sentence (`detail`) comes from the check's result and is built when first read.
    """

    __slots__ = ("_result", "label", "passed", "requirement")

    def __init__(self, requirement: str, label: str, passed: bool, detail: str | CheckResult) -> None:
        self.requirement = requirement
        self.label = label
        self.passed = passed
        self._result = detail

    @property
    def detail(self) -> str:
        """What the check found, in one sentence."""
        return self._result if isinstance(self._result, str) else self._result.detail

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequirementResult):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.requirement, self.passed, self.detail))

    def __repr__(self) -> str:
        return (f"RequirementResult({self.requirement!r}, {self.label!r}, {self.passed!r}, "
                f"{self.detail!r})")

    def as_dict(self) -> dict[str, Any]:
        """JSON form, with the keys of design §4 (`requirement`, `label`, `detail`)."""
        return {
            "requirement": self.requirement,
            "label": self.label,
            "passed": self.passed,
            "detail": self.detail,
        }


@dataclass
class Decision:
    """The outcome of firing (or trying) one trigger on one case.

    Attributes:
        refusal: None when the case moved; else one sentence saying why not.
        code: ``ok``, ``unmet``, ``not_permitted``, ``impossible`` or ``final``.
    """

    workflow: str
    trigger: str
    source: str
    dest: str | None
    ok: bool
    code: str = "ok"
    results: list[RequirementResult] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)
    refusal: str | None = None

    _evidence: list[dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    @property
    def unmet(self) -> list[RequirementResult]:
        """The requirements that did not pass (overridden ones included)."""
        return [r for r in self.results if not r.passed]

    def evidence(self) -> list[dict[str, Any]]:
        """Every evaluated requirement in JSON form, built once: the audit event stores it and
        the caller's JSON repeats it (`results` is not changed after the decision)."""
        if self._evidence is None:
            self._evidence = [r.as_dict() for r in self.results]
        return self._evidence


@dataclass(frozen=True)
class TriggerReadiness:
    """Whether one trigger could fire now, and what it lacks."""

    trigger: str
    label: str
    dest: str
    allowed: bool
    results: list[RequirementResult]
    permitted: bool = True

    @property
    def unmet(self) -> list[RequirementResult]:
        """Requirements that did not pass."""
        return [r for r in self.results if not r.passed]


class _Token:
    """The stand-in model a shared machine fires on: state plus what guards read."""

    __slots__ = ("ctx", "override", "results", "state")

    def __init__(self, state: str, ctx: RegionContext, override: bool) -> None:
        self.state = state
        self.ctx = ctx
        self.override = override
        self.results: list[RequirementResult] = []


class WorkflowMachine:
    """The executable form of one loaded workflow version, shared by all its cases."""

    def __init__(self, loaded: LoadedWorkflow) -> None:
        self.loaded = loaded
        self.definition: WorkflowDef = loaded.definition
        d = self.definition
        self._triggers = frozenset(d.triggers)
        self._labels = {name: r.label for name, r in d.requirements.items()}
        self._machine = Machine(
            model=None,
            states=list(d.states),
            initial=d.initial,
            auto_transitions=False,
            send_event=True,
        )
        for t in d.transitions:
            self._machine.add_transition(
                t.trigger, list(t.source), t.dest, conditions=[self._guard(t.requires)]
            )

    @property
    def name(self) -> str:
        """The workflow's slug."""
        return self.definition.workflow

    def evaluate(self, names: tuple[str, ...], ctx: RegionContext) -> list[RequirementResult]:
        """Evaluate the named requirements against `ctx`, keeping every sentence."""
        compiled, labels = self.loaded.requirements, self._labels
        out = []
        for name in names:
            result = compiled[name](ctx)
            out.append(RequirementResult(name, labels[name], result.passed, result))
        return out

    def _guard(self, names: tuple[str, ...]) -> Callable[[EventData], bool]:
        def condition(event: EventData) -> bool:
            token = cast(_Token, event.model)  # fire() passes a _Token; transitions types it object
            token.results = self.evaluate(names, token.ctx)
            return token.override or all(r.passed for r in token.results)

        return condition

    def fire(
        self,
        state: str,
        trigger: str,
        ctx: RegionContext,
        *,
        actor_roles: frozenset[str] | None = None,
        override: bool = False,
    ) -> Decision:
        """Try `trigger` from `state`; the case itself is untouched (the caller persists).

        Args:
            actor_roles: the acting person's roles; None means single-user mode (all roles).
            override: pass unmet requirements (the caller checks the actor may override).

        Raises:
            NotFound: when this workflow has no such trigger at all.
        """
        d = self.definition
        if trigger not in self._triggers:
            raise NotFound(_("workflow '{workflow}' has no trigger '{trigger}'").format(
                workflow=d.workflow, trigger=trigger))
        decision = Decision(d.workflow, trigger, state, None, ok=False)
        transition = d.transition(state, trigger)
        if d.states[state].final:
            return self._refuse(decision, "final",
                                _("the case is in final state '{state}'").format(state=state))
        if transition is None:
            possible = ", ".join(t.trigger for t in d.transitions_from(state)) or _("none")
            return self._refuse(
                decision,
                "impossible",
                _("'{trigger}' is not possible from state '{state}' (possible: {possible})").format(
                    trigger=trigger, state=state, possible=possible),
            )
        decision.dest = transition.dest
        if not _permitted(transition, actor_roles):
            roles = join_or(list(transition.by or ()))
            return self._refuse(decision, "not_permitted",
                                _("only {roles} may fire '{trigger}'").format(roles=roles, trigger=trigger))
        token = _Token(state, ctx, override)
        moved = self._machine.events[trigger].trigger(token)
        decision.results = token.results
        if not moved:
            missing = "; ".join(f"{r.label}: {r.detail}" for r in decision.unmet)
            return self._refuse(decision, "unmet",
                                _("requirements unmet: {missing}").format(missing=missing))
        decision.ok = True
        decision.dest = token.state
        decision.overridden = [r.requirement for r in decision.unmet]
        return decision

    @staticmethod
    def _refuse(decision: Decision, code: str, sentence: str) -> Decision:
        decision.code = code
        decision.refusal = sentence
        return decision

    def readiness(
        self, state: str, ctx: RegionContext, actor_roles: frozenset[str] | None = None
    ) -> list[TriggerReadiness]:
        """Every trigger possible from `state`, each with its evaluated requirements."""
        out = []
        for t in self.definition.transitions_from(state):
            results = self.evaluate(t.requires, ctx)
            permitted = _permitted(t, actor_roles)
            allowed = permitted and all(r.passed for r in results)
            out.append(
                TriggerReadiness(t.trigger, t.label or t.trigger, t.dest, allowed, results, permitted)
            )
        return out

    def path_to(self, state: str, target: str) -> list[TransitionDef] | None:
        """The shortest sequence of transitions from `state` to `target` (breadth first).

        Returns:
            The transitions in order ([] when already there), or None if unreachable.
        """
        if target not in self.definition.states:
            raise NotFound(_("workflow '{workflow}' has no state '{state}'").format(
                workflow=self.name, state=target))
        came_from: dict[str, tuple[str, TransitionDef] | None] = {state: None}
        queue = deque([state])
        while queue:
            current = queue.popleft()
            if current == target:
                break
            for t in self.definition.transitions_from(current):
                if t.dest not in came_from:
                    came_from[t.dest] = (current, t)
                    queue.append(t.dest)
        if target not in came_from:
            return None
        path: list[TransitionDef] = []
        node = target
        while (step := came_from[node]) is not None:
            node, transition = step
            path.append(transition)
        return path[::-1]


def _permitted(transition: TransitionDef, actor_roles: frozenset[str] | None) -> bool:
    return actor_roles is None or not transition.by or bool(actor_roles & set(transition.by))
