"""§7 Engine: requirement evaluation plus trigger in memory at least 20,000 per second, and at
least 0.8× a bare shared `transitions` machine firing the same trigger.

`WorkflowMachine.fire` of ``verleen_definitieve_status`` (9 requirements) on the frozen
regiovorming workflow, as `Onderwijsflow.catalog` builds it, against a `RegionContext` in
which every requirement passes; the same refused; the requirement evaluation alone and
language 1.1's ``record`` check (info). Floor: a bare shared `transitions` machine firing the
same trigger, unconditioned, on a plain token. Peer: python-statemachine firing the same
trigger with the 9 conditions as guards, a machine bound to each case as that library does
it (info; no §7 target).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks.seeding import TRIGGER, region_context
from benchmarks.table import PEER_MISSING, Figure, Ref, Target
from benchmarks.timing import profile, rate

TITLE = "2. engine in memory (WorkflowMachine.fire, frozen regiovorming)"


def peer_rate(args: argparse.Namespace, source: str) -> Ref:
    """python-statemachine: bind a machine to a case object and fire with the 9 guards."""
    label = "python-statemachine, a machine per case, 9 guards"
    from benchmarks.peers import region_snapshot
    from benchmarks.peers.statemachine import CaseRow, machine_class

    try:
        machine = machine_class()
    except ImportError:
        return Ref(label, None, PEER_MISSING)
    snapshot = region_snapshot()

    def fire() -> None:
        case = CaseRow((1, 1, source, 0, "twente", 1, ""))
        machine(case, state_field="state").send(TRIGGER, snapshot=snapshot)

    fire()
    return Ref(label, rate(fire, args.engine_seconds)[0])


def run(args: argparse.Namespace, work: Path) -> list[Figure]:
    from transitions import Machine

    from onderwijsflow.service import Onderwijsflow

    # The machine as the service builds it from the (frozen) workflow files.
    app = Onderwijsflow.open(db=f"sqlite:///{work / 'engine.db'}", actor="bench")
    machine = app.catalog.current("regiovorming")
    app.close()
    ctx = region_context()
    source = "voorlopige_status"
    decision = machine.fire(source, TRIGGER, ctx)
    if not decision.ok:
        raise RuntimeError(f"engine set-up is wrong, {TRIGGER} refused: {decision.refusal}")
    n_req = len(decision.results)
    definition = machine.definition
    spec = definition.transition(source, TRIGGER)
    if spec is None:
        raise RuntimeError(f"engine set-up is wrong: no {TRIGGER} from {source}")
    requires = spec.requires

    fire_rate = rate(lambda: machine.fire(source, TRIGGER, ctx), args.engine_seconds)
    eval_rate = rate(lambda: machine.evaluate(requires, ctx), args.engine_seconds)
    refused_ctx = region_context()
    refused_ctx.partners = [p for p in refused_ctx.partners if p.kind != "vakbond"]
    if machine.fire(source, TRIGGER, refused_ctx).ok:
        raise RuntimeError("engine set-up is wrong: the refused context passed")
    refuse_rate = rate(lambda: machine.fire(source, TRIGGER, refused_ctx), args.engine_seconds)

    # Floor: the bare library, same states and transition, no condition, a fresh plain token.
    bare = Machine(model=None, states=list(definition.states), initial=definition.initial,
                   auto_transitions=False)
    bare.add_transition(TRIGGER, list(spec.source), spec.dest)
    event = bare.events[TRIGGER]

    class Token:
        __slots__ = ("state",)

        def __init__(self, state: str) -> None:
            self.state = state

    probe = Token(source)
    event.trigger(probe)
    if probe.state != spec.dest:
        raise RuntimeError("bare transitions floor did not move")
    floor_rate = rate(lambda: event.trigger(Token(source)), args.engine_seconds)

    each_rate, within_rate = _record_check_rates(args, ctx)

    if args.profile:
        profile(f"WorkflowMachine.fire x 20,000 ({TRIGGER}, {n_req} requirements)",
                lambda: [machine.fire(source, TRIGGER, ctx) for _ in range(20_000)])

    bare_floor = [Ref("bare shared transitions machine, same trigger, no condition", floor_rate[0])]
    peers = [peer_rate(args, source)]
    targets = [Target("value", 20_000, most=False), Target("floor", 0.8, most=False)]

    def cpu_note(measured: tuple[float, float]) -> str:
        return (f"{1e6 / measured[0]:.1f} µs per call; by CPU time {measured[1]:,.0f}/s "
                f"(floor {floor_rate[1]:,.0f}/s)")

    return [
        Figure(f"fire {TRIGGER} ({n_req} requirements pass)", fire_rate[0], "/s", targets,
               bare_floor, peers, note=cpu_note(fire_rate)),
        Figure(f"  same, refused (1 of {n_req} unmet)", refuse_rate[0], "/s", targets,
               bare_floor, note=cpu_note(refuse_rate)),
        Figure(f"  evaluate the {n_req} requirements only", eval_rate[0], "/s",
               note=cpu_note(eval_rate)),
        Figure("  record check: each of 5 themes, 25 actions", each_rate[0], "/s",
               note=cpu_note(each_rate)),
        Figure("  record check: within P6M, 4 peilgesprekken", within_rate[0], "/s",
               note=cpu_note(within_rate)),
    ]


def _record_check_rates(args: argparse.Namespace, ctx: Any) -> tuple[tuple[float, float], ...]:
    """Language 1.1's `record` check alone, on a context holding 25 actions and 4 peilgesprekken."""
    import dataclasses
    from datetime import UTC, datetime

    from onderwijsflow.definition.model import RecordDef
    from onderwijsflow.engine.checks import CheckRegistry, CompileScope
    from onderwijsflow.engine.context import RecordInfo

    themes = ["werven", "matchen", "opleiden", "begeleiden", "professionaliseren"]
    records = {
        "actie": RecordDef.model_validate({"label": "Actie", "fields": {
            "thema": {"type": "choice", "choices": themes}, "omschrijving": {"type": "text"}}}),
        "peilgesprek": RecordDef.model_validate({"label": "Peilgesprek", "fields": {
            "datum": {"type": "date"}}}),
    }
    scope = CompileScope(facts={}, milestones=frozenset(), requirements={}, records=records)
    registry = CheckRegistry(plugins=False)
    each = registry.compile({"check": "record", "with": {"kind": "actie", "each": {"thema": themes}}},
                            scope)
    within = registry.compile({"check": "record", "with": {
        "kind": "peilgesprek", "within": "P6M", "date_field": "datum"}}, scope)
    at = datetime(2025, 1, 1, tzinfo=UTC)
    filled = dataclasses.replace(ctx, records=[
        *(RecordInfo("actie", {"thema": themes[i % 5], "omschrijving": f"actie {i}"}, at)
          for i in range(25)),
        *(RecordInfo("peilgesprek", {"datum": f"{ctx.now.year}-{m:02d}-15"}, at)
          for m in (3, 6, 9, 12)),
    ])
    if not each(filled).passed:
        raise RuntimeError("record check set-up is wrong: a theme lacks an action")
    return (rate(lambda: each(filled), args.engine_seconds),
            rate(lambda: within(filled), args.engine_seconds))

