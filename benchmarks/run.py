#!/usr/bin/env python
"""Performance figures of onderwijsflow beside the targets of design §7 and a measured floor.

Run from a checkout with the package installed (``pip install -e .``)::

    python benchmarks/run.py            # full run (10,000 regions, 100,000 reminders; ~5 minutes)
    python benchmarks/run.py --quick    # smaller run, for a quick look
    python benchmarks/run.py --profile  # also print import times and profiles of the slow paths
    python benchmarks/run.py --only scheduler --only national   # some sections only (--skip: leave out)

Sections: cli, engine, persisted, scheduler (a tick over many pending reminders, SQLite) and
national (import, advance-all and the national report over 10,000 regions, on SQLite and on
PostgreSQL when one is reachable: --pg URL, else ONDERWIJSFLOW_TEST_PG, else the local test
server; each run in a schema of its own, dropped afterwards).

Every figure is printed beside its §7 target and beside a *floor*: the same kind of work done
by the bare library underneath (the interpreter, `transitions`, `sqlite3`, `psycopg`), measured in the same
run on the same machine, so that a miss can be told apart from a slow or busy machine (the
load average is printed at the start and the end; the notes give CPU times, which a busy
machine inflates much less than wall times). Nothing here asserts on timings; the script
only reports. Everything is written to temporary directories.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The workload: the workflows and configuration as shipped until December 2024 (regiovorming
#: v1 with its 9-requirement definitive status), frozen with the tests so that figures stay
#: comparable across changes of the shipped content.
WORKFLOWS = ROOT / "tests" / "data" / "workflows-2024"
FROZEN_SITE = ROOT / "tests" / "data" / "frozen_site"


def use_frozen_workload() -> None:
    """Make this process and its children read the frozen workflows and configuration."""
    os.environ["ONDERWIJSFLOW_TEST_FROZEN"] = "1"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(FROZEN_SITE), os.environ.get("PYTHONPATH")]))
    import importlib.util

    spec = importlib.util.spec_from_file_location("_frozen_site", FROZEN_SITE / "sitecustomize.py")
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # patches resources.shipped

#: The sections, in the order they run (--skip, --only).
SECTIONS = ["cli", "engine", "persisted", "scheduler", "national"]

#: The trigger the engine and persisted rows fire: 9 requirements, the heaviest of regiovorming.
TRIGGER = "verleen_definitieve_status"


# --- table ------------------------------------------------------------------------------


@dataclass
class Figure:
    """One row of the table: a measurement, its target and the floors beside it."""

    name: str
    value: float
    unit: str  # "ms", "MB", "n" (a count; lower is better) or "/s" (higher is better)
    target: float | None = None
    target_text: str = "-"
    floors: list[tuple[str, float]] = field(default_factory=list)
    note: str = ""

    def meets(self) -> str:
        if self.target is None:
            return "-"
        ok = self.value >= self.target if self.unit == "/s" else self.value <= self.target
        return "yes" if ok else "NO"


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        if value < 1:
            return f"{value:.3f} ms"
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "n":
        return f"{value:,.0f}"
    return f"{value:,.0f}/s"


def _ratio(value: float, floor: float, unit: str) -> str:
    times = floor / value if unit == "/s" else value / floor
    return f"{times:,.1f}x floor"


def print_table(sections: list[tuple[str, list[Figure]]]) -> None:
    head = ("figure", "measured", "§7 target", "meets", "floor (same run)", "floor", "vs floor")
    rows: list[tuple[str, ...]] = []
    for title, figures in sections:
        rows.append((f"[{title}]", "", "", "", "", "", ""))
        for f in figures:
            first = f.floors[0] if f.floors else ("-", None)
            rows.append((
                f.name, _fmt(f.value, f.unit), f.target_text, f.meets(), first[0],
                _fmt(first[1], f.unit) if first[1] is not None else "-",
                _ratio(f.value, first[1], f.unit) if first[1] else "-",
            ))
            for label, floor in f.floors[1:]:
                rows.append(("", "", "", "", label, _fmt(floor, f.unit), _ratio(f.value, floor, f.unit)))
    measured = [r for r in rows if not r[0].startswith("[")]
    widths = [max(len(r[i]) for r in [head, *measured]) for i in range(len(head))]
    line = "  ".join("-" * w for w in widths)

    def show(r: tuple[str, ...]) -> str:
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) if i in (0, 4, 5) else c.ljust(w)
            for i, (c, w) in enumerate(zip(r[1:], widths[1:], strict=True))
        ]
        return "  ".join(cells).rstrip()

    print(show(head))
    print(line)
    for r in rows:
        print(r[0] if r[0].startswith("[") else show(r))
    notes = [(title.split(" ")[0], f.name, f.note) for title, figures in sections for f in figures
             if f.note]
    if notes:
        print()
        for number, name, note in notes:
            print(f"* {number} {name.strip()}: {note}")


# --- helpers ----------------------------------------------------------------------------


def header(args: argparse.Namespace) -> None:
    versions = []
    for dist in ("onderwijsflow", "transitions", "SQLAlchemy", "sqlmodel", "pydantic", "click"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"onderwijsflow benchmarks ({'quick' if args.quick else 'full'} run) "
          f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"Python {platform.python_version()} ({platform.python_implementation()}) on "
          f"{platform.system()} {platform.machine()}; SQLite {sqlite3.sqlite_version}; "
          f"cores: {os.cpu_count()} ({usable} usable); load average {load}")
    print("; ".join(versions))
    print()


def rate(fn: Callable[[], Any], seconds: float, batches: int = 5) -> tuple[float, float]:
    """Calls per second of `fn` by wall clock and by this process's CPU time.

    Each is the median of `batches` timed batches of equal size.
    """
    n, elapsed = 1, 0.0
    while True:  # calibrate: a batch takes about seconds / batches
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / batches / 4:
            break
        n *= 4
    n = max(1, int(n * (seconds / batches) / elapsed))
    wall, cpu = [], []
    for _ in range(batches):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        wall.append(n / (time.perf_counter() - start))
        cpu.append(n / max(time.process_time() - start_cpu, 1e-9))
    return statistics.median(wall), statistics.median(cpu)


@dataclass
class Timing:
    """Wall and CPU time of a command over several runs, in ms."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def least(self) -> float:
        return min(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def cold_starts(commands: dict[str, list[str]], runs: int, cwd: Path,
                env: dict[str, str]) -> dict[str, Timing]:
    """Wall time (and the child's CPU time) of each command, run to completion `runs` times.

    The commands take turns (round robin) after one untimed warm-up each, so that a change
    in machine load hits them alike. CPU time (user + system of the child) is printed in the
    notes because it moves much less than wall time when other processes compete for cores.
    """
    times = {name: Timing() for name in commands}
    for i in range(runs + 1):
        for name, argv in commands.items():
            with tempfile.TemporaryFile() as errors:
                start = time.perf_counter()
                child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                         stderr=errors)
                _, status, usage = os.wait4(child.pid, 0)
                elapsed = time.perf_counter() - start
                child.returncode = os.waitstatus_to_exitcode(status)
                if child.returncode != 0:
                    errors.seek(0)
                    raise RuntimeError(f"{' '.join(argv)} exited {child.returncode}: "
                                       f"{errors.read().decode(errors='replace').strip()}")
            if i:
                times[name].wall.append(elapsed * 1000)
                times[name].cpu.append((usage.ru_utime + usage.ru_stime) * 1000)
    return times


def import_breakdown(argv: list[str], cwd: Path, env: dict[str, str], limit: int = 14) -> None:
    """Print where a command's imports spend their time (``python -X importtime``), by package."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    by_package: dict[str, int] = {}
    ours: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.removeprefix("import time:").split("|")
        name = name.strip()
        top = name.split(".")[0]
        by_package[top] = by_package.get(top, 0) + int(self_us)
        if top == "onderwijsflow":
            ours[name] = int(self_us)
    total = sum(by_package.values())
    print(f"\n===== imports of: {' '.join(Path(a).name for a in argv)} "
          f"(python -X importtime, self time summed per package; total {total / 1000:.0f} ms) =====")
    for name, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:limit]:
        print(f"  {us / 1000:8.1f} ms  {name}")
    print("  onderwijsflow modules (self time):")
    for name, us in sorted(ours.items(), key=lambda kv: -kv[1])[:limit]:
        print(f"  {us / 1000:8.1f} ms  {name}")


def cli_script() -> str:
    """The installed console script itself (not a pyenv/asdf shim in front of it)."""
    beside = Path(sys.executable).with_name("onderwijsflow")
    if beside.exists():
        return str(beside)
    found = shutil.which("onderwijsflow")
    if found is None:
        raise SystemExit("the onderwijsflow command is not installed: run pip install -e .")
    return found


def profile(title: str, fn: Callable[[], Any], limit: int = 25) -> None:
    """Print where `fn` spends its time: a pyinstrument call tree if installed, else cProfile."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        Profiler = None
    print(f"\n===== profile: {title} =====")
    if Profiler is not None:
        sampler = Profiler(interval=0.0005)
        sampler.start()
        fn()
        sampler.stop()
        print(sampler.output_text(unicode=False, color=False, show_all=False))
        return
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


# --- a realistic region -----------------------------------------------------------------

PARTNERS = [
    ("Stichting Primair Twente", "schoolbestuur", "PO"),
    ("Scholengroep Oost", "schoolbestuur", "VO"),
    ("ROC Oost-Nederland", "schoolbestuur", "MBO"),
    ("Hogeschool Saxion", "lerarenopleiding", None),
    ("Universiteit Twente", "lerarenopleiding", None),
    ("AOb", "vakbond", None),
    ("Gemeente Enschede", "gemeente", None),
]
ROLES = [("programmamanager", "Anne de Vries", "anne@example.org"),
         ("projectleider", "Joost Bakker", "joost@example.org")]
DOCUMENTS = ["intentieverklaring", "governance", "arbeidsmarktanalyse", "plan_van_aanpak"]
FACTS = {"leerlingen_po": 16000, "leerlingen_vo": 12000, "studenten_mbo": 8000,
         "opgeleide_studenten_2023": 180}


def region_context(slug: str = "twente"):  # type: ignore[no-untyped-def]
    from onderwijsflow.engine.context import DocumentInfo, PartnerInfo, RegionContext, RoleInfo

    return RegionContext(
        slug=slug,
        now=datetime.now(UTC),
        partners=[PartnerInfo(*p) for p in PARTNERS],
        roles=[RoleInfo(*r) for r in ROLES],
        documents=[DocumentInfo(k, f"{k} 2024", f"DOC-{i}", date(2024, 5, 1))
                   for i, k in enumerate(DOCUMENTS)],
        facts=dict(FACTS),
        cases={"regiovorming": ["voorlopige_status"]},
    )


def populate(app: Any, slug: str) -> None:
    """One region through the library, as a coordinator would fill it, up to aanvraag_ingediend."""
    app.create_region(slug, name=f"Regio {slug}", provinces=["Overijssel"], sectors=["PO", "VO"],
                      coordinator="coordinator@example.org")
    for name, kind, sector in PARTNERS:
        app.add_partner(slug, name, kind=kind, sector=sector)
    for role, person, email in ROLES:
        app.assign_role(slug, role, person, email=email)
    for i, kind in enumerate(DOCUMENTS):
        app.add_document(slug, kind, title=f"{kind} 2024", ref=f"DOC-{i}", on=date(2024, 5, 1))
    for name, value in FACTS.items():
        app.set_fact(slug, name, str(value))
    app.advance(slug, "dien_aanvraag_in")


def clone_regions(db: Any, template: str, count: int, prefix: str) -> list[str]:
    """Copy `template` (its rows and its whole audit chain) `count` times, in one transaction.

    Populating 10,000 regions through the library takes ~14 transactions each (minutes), so
    one region is filled through the library and copied here with SQLAlchemy Core. Every
    copy gets its own ids and a re-computed, valid hash chain (``audit verify`` passes).
    Tables are found in the metadata (any table with a ``region_id`` column is copied), so
    the copy follows schema changes; a row it cannot re-point is an error, not a silent skip.
    """
    from sqlalchemy import bindparam, func, insert, select, update

    from onderwijsflow.store.audit import event_hash
    from onderwijsflow.store.tables import Case, Event, Region, metadata

    regions, cases, events = Region.__table__, Case.__table__, Event.__table__  # type: ignore[attr-defined]
    others = [t for t in metadata.sorted_tables
              if "region_id" in t.c and t not in (regions, cases, events)]
    slugs = [f"{prefix}{i:05d}" for i in range(count)]
    with db.engine.begin() as conn:
        reg = dict(conn.execute(select(regions).where(regions.c.slug == template)).mappings().one())
        rid = reg["id"]
        case_rows = [dict(r) for r in conn.execute(select(cases).where(cases.c.region_id == rid)
                                                   .order_by(cases.c.id)).mappings()]
        child_rows = {}
        for t in others:
            rows = [dict(r) for r in conn.execute(select(t).where(t.c.region_id == rid)).mappings()]
            foreign = {fk.parent.name for fk in t.foreign_keys
                       if fk.column.table not in (regions, cases)}
            if rows and foreign:
                raise RuntimeError(f"clone_regions cannot re-point {t.name}.{sorted(foreign)}")
            child_rows[t] = rows
        event_rows = [dict(r) for r in conn.execute(select(events).where(events.c.region_id == rid)
                                                    .order_by(events.c.seq)).mappings()]
        next_region = conn.execute(select(func.max(regions.c.id))).scalar_one() + 1
        next_case = conn.execute(select(func.max(cases.c.id))).scalar_one() + 1
        new_regions, new_cases, new_events, heads = [], [], [], []
        new_children: dict[Any, list[dict[str, Any]]] = {t: [] for t in others}
        for i, slug in enumerate(slugs):
            new_rid = next_region + i
            new_regions.append({**reg, "id": new_rid, "slug": slug, "name": f"Regio {slug}"})
            case_map = {}
            for c in case_rows:
                case_map[c["id"]] = next_case
                new_cases.append({**c, "id": next_case, "region_id": new_rid})
                next_case += 1
            for t, rows in child_rows.items():
                surrogate = [c.name for c in t.primary_key.columns if c.autoincrement is True
                             or (c.name == "id" and len(t.primary_key.columns) == 1)]
                for r in rows:
                    copy = {k: v for k, v in r.items() if k not in surrogate}
                    copy["region_id"] = new_rid
                    if "case_id" in copy and copy["case_id"] is not None:
                        copy["case_id"] = case_map[copy["case_id"]]
                    new_children[t].append(copy)
            prev = ""
            for e in event_rows:
                fields = {**e, "region_id": new_rid, "case_id": case_map.get(e["case_id"]),
                          "prev_hash": prev}
                fields.pop("id")
                fields["hash"] = prev = event_hash(prev, fields)
                new_events.append(fields)
            heads.append({"rid": new_rid, "h": prev})
        conn.execute(insert(regions), new_regions)
        conn.execute(insert(cases), new_cases)
        for t, rows in new_children.items():
            if rows:
                conn.execute(insert(t), rows)
        conn.execute(insert(events), new_events)
        conn.execute(update(regions).where(regions.c.id == bindparam("rid"))
                     .values(event_hash=bindparam("h")), heads)
    return slugs


# --- 1. CLI cold start ------------------------------------------------------------------


def bench_cli(args: argparse.Namespace, work: Path) -> list[Figure]:
    from onderwijsflow.service import Onderwijsflow

    db_url = f"sqlite:///{work / 'cli.db'}"
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.init()
    populate(app, "twente")
    app.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    script = cli_script()
    py = sys.executable
    runs = args.cli_runs
    show = [script, "--db", db_url, "region", "show", "twente"]
    timed = cold_starts({
        "help": [script, "--help"],
        "pass": [py, "-c", "pass"],
        "show": show,
        "imports": [py, "-c", "import sqlalchemy, sqlmodel"],
    }, runs, work, env)
    help_, pass_, show_, imports_ = timed["help"], timed["pass"], timed["show"], timed["imports"]
    if args.profile:
        import_breakdown([script, "--help"], work, env)
        import_breakdown(show, work, env)
    note = (f"median of {runs} runs (commands take turns) after a warm-up; minimum {help_.least:.0f} ms "
            f"(floor {pass_.least:.0f} ms); CPU time {help_.cpu_median:.0f} ms (floor "
            f"{pass_.cpu_median:.0f} ms); script {script}")
    return [
        Figure("onderwijsflow --help", help_.median, "ms", 150, "< 150 ms",
               [("python -c pass", pass_.median)], note=note),
        Figure("onderwijsflow region show SLUG", show_.median, "ms", 400, "< 400 ms",
               [("python -c 'import sqlalchemy, sqlmodel'", imports_.median)],
               note=f"minimum {show_.least:.0f} ms (floor {imports_.least:.0f} ms); CPU time "
                    f"{show_.cpu_median:.0f} ms (floor {imports_.cpu_median:.0f} ms); a SQLite DB "
                    "with one region populated through the library (7 partners, 2 roles, "
                    "4 documents, 4 facts, its case in aanvraag_ingediend)"),
    ]


# --- 2. engine in memory ----------------------------------------------------------------


def bench_engine(args: argparse.Namespace) -> list[Figure]:
    from transitions import Machine

    from onderwijsflow.definition.loader import load_directory
    from onderwijsflow.engine.machine import WorkflowMachine

    loaded = load_directory(WORKFLOWS)["regiovorming"]
    machine = WorkflowMachine(loaded)
    ctx = region_context()
    source = "voorlopige_status"
    decision = machine.fire(source, TRIGGER, ctx)
    if not decision.ok:
        raise RuntimeError(f"engine set-up is wrong, {TRIGGER} refused: {decision.refusal}")
    n_req = len(decision.results)
    definition = loaded.definition
    requires = definition.transition(source, TRIGGER).requires

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
    spec = next(t for t in definition.transitions if t.trigger == TRIGGER)
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

    bare_floor = [("bare transitions fire, no condition", floor_rate[0])]

    def cpu_note(measured: tuple[float, float]) -> str:
        return (f"{1e6 / measured[0]:.1f} µs per call; by CPU time {measured[1]:,.0f}/s "
                f"(floor {floor_rate[1]:,.0f}/s)")

    return [
        Figure(f"fire {TRIGGER} ({n_req} requirements pass)", fire_rate[0], "/s", 20_000,
               ">= 20,000/s", bare_floor, note=cpu_note(fire_rate)),
        Figure(f"  same, refused (1 of {n_req} unmet)", refuse_rate[0], "/s", 20_000, ">= 20,000/s",
               bare_floor, note=cpu_note(refuse_rate)),
        Figure(f"  evaluate the {n_req} requirements only", eval_rate[0], "/s", None, "(info)",
               note=cpu_note(eval_rate)),
        Figure("  record check: each of 5 themes, 25 actions", each_rate[0], "/s", None, "(info)",
               note=cpu_note(each_rate)),
        Figure("  record check: within P6M, 4 peilgesprekken", within_rate[0], "/s", None, "(info)",
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


# --- 3. persisted transitions on SQLite ---------------------------------------------------


class _OutOfTime(Exception):
    """Raised from advance_all's progress callback when the time budget is spent."""


def _timed_loop(items: list[str], budget: float, step: Callable[[str], Any]) -> tuple[int, float, float]:
    """Run `step` over `items` until done or `budget` seconds passed: (count, wall s, CPU s)."""
    done = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    deadline = start + budget
    for item in items:
        step(item)
        done += 1
        if time.perf_counter() > deadline:
            break
    return done, time.perf_counter() - start, time.process_time() - start_cpu


def bench_persisted(args: argparse.Namespace, work: Path) -> list[Figure]:
    """Sequential `advance` calls, and `advance_all` when the library has it, on one SQLite file.

    Two templates are filled through the library and cloned: one parked in ``in_oprichting``
    for the per-call advances, one in ``aanvraag_ingediend`` for advance-all (which selects
    by state, so the two sets never mix). Both fire verleen_definitieve_status, 9 requirements.
    """
    from sqlalchemy import text

    from onderwijsflow.service import Onderwijsflow
    from onderwijsflow.store.audit import verify

    n_all, n_call = args.regions, args.call_regions
    db_url = f"sqlite:///{work / 'advance.db'}"
    setup = time.perf_counter()
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.init()
    populate(app, "call-template")
    app.advance("call-template", "zet_in_oprichting")
    call_slugs = clone_regions(app.db, "call-template", n_call, "c")
    has_all = hasattr(app, "advance_all")
    all_slugs: list[str] = []
    if has_all:
        populate(app, "all-template")
        all_slugs = clone_regions(app.db, "all-template", n_all, "a")
    app.close()
    total_regions = 2 + n_call + len(all_slugs)
    print(f"  set-up: {total_regions:,} regions ({n_call + 1:,} in in_oprichting, "
          f"{len(all_slugs) + 1 if has_all else 0:,} in aanvraag_ingediend) in "
          f"{time.perf_counter() - setup:.1f} s")

    # A fresh application object, as a new process would have; one warm-up advance pays the
    # one-time costs (schema check, workflow load, catalog sync) outside the timed loops.
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.advance("call-template", TRIGGER)
    db = app.db

    dry_n = min(n_call, args.dry_run_regions)
    dry_done, dry_wall, dry_cpu = _timed_loop(
        call_slugs[:dry_n], args.advance_budget, lambda s: app.advance(s, TRIGGER, dry_run=True))

    todo = call_slugs
    if args.profile:
        profile_n = min(300, n_call // 2)
        profile(f"Onderwijsflow.advance x {profile_n} (one transaction each)",
                lambda: [app.advance(s, TRIGGER) for s in call_slugs[:profile_n]])
        todo = call_slugs[profile_n:]
    # Until every region moved or the time budget is spent (a loaded machine must not make
    # the run endless); the rate is per transition either way.
    done, elapsed, cpu = _timed_loop(todo, args.advance_budget, lambda s: app.advance(s, TRIGGER))
    budget_note = (f" Stopped after {done:,} of {len(todo):,} regions: the {args.advance_budget:.0f} s "
                   "budget (--advance-budget) was spent." if done < len(todo) else "")

    figures = []
    if has_all:
        figures.append(bench_advance_all(args, app, work, len(all_slugs)))
    with db.engine.connect() as conn:
        moved = conn.execute(text("SELECT count(*) FROM cases WHERE state = 'definitieve_status'")
                             ).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        row_bytes = conn.execute(text(
            "SELECT avg(length(data) + length(hash) + length(prev_hash) + length(actor) "
            "+ length(kind) + length(trigger) + length(from_state) + length(to_state) "
            "+ length(workflow) + 2 * 32) FROM events WHERE kind = 'transition'")).scalar_one()
    with db.session(write=False) as session:
        sample = [call_slugs[0], call_slugs[-1], "call-template", *all_slugs[:1], *all_slugs[-1:]]
        broken = [b.sentence for s in sample for b in verify(session, s).broken]
    app.close()
    print(f"  sanity: {moved:,} cases in definitieve_status, {events:,} events; audit chains of "
          f"{len(sample)} sample regions {'intact' if not broken else 'BROKEN: ' + '; '.join(broken)}")

    floor_n = min(n_call, args.floor_rows)
    per_row, single = sqlite_floor(work, floor_n, int(row_bytes))
    floors = [(f"sqlite3 insert, 1 commit per row ({floor_n:,} rows)", per_row),
              (f"sqlite3 insert, 1 commit for all ({floor_n:,} rows)", single)]
    for figure in figures:  # advance-all: its floor is the batched one
        figure.floors = [floors[1], floors[0]]
    figures.append(Figure(
        f"advance (one transaction each), {done:,} regions", done / elapsed, "/s", None,
        "(1,000/s is for advance-all)", floors,
        note=f"{elapsed / done * 1000:.2f} ms per transition ({cpu / done * 1000:.2f} ms of it CPU in "
             "this process; the rest is waiting for fsync and for the CPU), in a database of "
             f"{total_regions:,} regions.{budget_note} One Onderwijsflow.advance call per region: "
             "a read transaction, then a BEGIN IMMEDIATE write transaction with its audit event, "
             "fsync'ed (WAL, synchronous=FULL); it cannot beat the 1-commit-per-row floor. "
             f"Floor rows are ~{int(row_bytes)} bytes, the average size of a transition event here."))
    figures.append(Figure(
        f"  advance --dry-run (read + decide, no write), {dry_done:,}", dry_done / dry_wall, "/s", None,
        "(info)", note=f"{dry_wall / dry_done * 1000:.2f} ms per call ({dry_cpu / dry_done * 1000:.2f} ms "
                       "CPU): the read transaction, the snapshot and the decision; no write."))
    if not has_all:
        figures[0].note += " advance_all is not in this version of the library: no advance-all row."
    return figures


def bench_advance_all(args: argparse.Namespace, app: Any, work: Path, count: int) -> Figure:
    """One `advance_all` over every case in aanvraag_ingediend (the design's 10,000)."""
    kwargs = {"workflow": "regiovorming", "in_state": "aanvraag_ingediend"}
    if args.profile:
        from onderwijsflow.service import Onderwijsflow

        small_url = f"sqlite:///{work / 'profile-all.db'}"
        small = Onderwijsflow.open(db=small_url, actor="bench")
        small.init()
        populate(small, "all-template")
        clone_regions(small.db, "all-template", min(count, 1000), "a")
        small.close()
        small = Onderwijsflow.open(db=small_url, actor="bench")
        small.advance("all-template", "zet_in_oprichting")  # warm-up, outside the profile
        profile(f"Onderwijsflow.advance_all over {min(count, 1000):,} cases (separate database)",
                lambda: small.advance_all(TRIGGER, **kwargs))
        small.close()
    progress = {"done": 0}
    deadline = time.perf_counter() + args.advance_budget

    def tick(done: int, _total: int) -> None:
        progress["done"] = done
        if time.perf_counter() > deadline:
            raise _OutOfTime

    start, start_cpu = time.perf_counter(), time.process_time()
    moved = refused = None
    try:
        result = app.advance_all(TRIGGER, progress=tick, **kwargs)
        moved, refused = len(result["moved"]), len(result["refused"])
    except _OutOfTime:
        pass
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    done = progress["done"]
    if refused:
        raise RuntimeError(f"advance-all set-up is wrong: {refused} cases refused")
    stopped = (f" Stopped after {done:,} of {count + 1:,} cases: the {args.advance_budget:.0f} s budget "
               "was spent." if moved is None else f" {moved:,} cases moved, none refused.")
    return Figure(
        f"advance-all (batched), {done:,} cases", done / elapsed, "/s", 1_000, ">= 1,000/s", [],
        note=f"{elapsed / done * 1000:.2f} ms per case ({cpu / done * 1000:.2f} ms of it CPU); one "
             "Onderwijsflow.advance_all call, default batch (one write transaction per batch, "
             f"an audit event per case).{stopped}")


def sqlite_floor(work: Path, rows: int, size: int) -> tuple[float, float]:
    """Inserts per second with sqlite3 alone, WAL + synchronous=FULL: committing each row, and once."""
    results = []
    payload = "x" * size
    for name, per_row in (("floor_each.db", True), ("floor_once.db", False)):
        conn = sqlite3.connect(work / name, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL, "
                     "seq INTEGER NOT NULL, payload TEXT NOT NULL, UNIQUE (region_id, seq))")
        start = time.perf_counter()
        if per_row:
            for i in range(rows):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO events (region_id, seq, payload) VALUES (?, ?, ?)",
                             (i, 1, payload))
                conn.execute("COMMIT")
        else:
            conn.execute("BEGIN IMMEDIATE")
            for i in range(rows):
                conn.execute("INSERT INTO events (region_id, seq, payload) VALUES (?, ?, ?)",
                             (i, 1, payload))
            conn.execute("COMMIT")
        results.append(rows / (time.perf_counter() - start))
        conn.close()
    return results[0], results[1]


# --- 4. scheduler tick on SQLite ----------------------------------------------------------


class _QuietLogChannel:
    """A `log` channel that does nothing: `deliver` returns a DeliveryReport without any I/O,
    so the delivery phase measures the scheduler and the database, not a mail server."""

    name = "log"

    def __init__(self) -> None:
        from onderwijsflow.notify.channels import DeliveryReport

        self._report = DeliveryReport
        self.delivered = 0

    def deliver(self, message: Any) -> Any:
        self.delivered += 1
        return self._report(channel=self.name, accepted=tuple(message.recipients))


class _StatementLog:
    """Counts the SQL statements an engine sends (``before_cursor_execute``), by phase."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.engine = engine
        self.phase = "-"
        self.counts: dict[str, int] = {}
        self.statements: list[tuple[str, str, Any]] = []
        self.keep = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
              _executemany: bool) -> None:
        self.counts[self.phase] = self.counts.get(self.phase, 0) + 1
        if self.keep:
            self.statements.append((self.phase, statement, parameters))

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)


def _short_sql(statement: str, limit: int = 70) -> str:
    one = " ".join(statement.split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


class SubsidieRows:
    """Rows of subsidie cases in their first state, each with the shipped ``deadline_aanvraag``
    milestone (reminders P30D, P14D, P7D, P1D and the overdue row: five rows per milestone),
    its moments computed by the product's own `due_moment` and `reminder_moments`."""

    def __init__(self, app: Any) -> None:
        from onderwijsflow.engine.milestones import due_moment
        from onderwijsflow.service.planning import reminder_moments

        self.definition = app.catalog.current("subsidie").definition
        self.spec = next(m for m in self.definition.milestones if m.name == "deadline_aanvraag")
        self.per_milestone = len(self.spec.remind) + 1
        self._due_moment, self._reminder_moments = due_moment, reminder_moments
        self._reminder_time = app.config.reminder_time
        self._moments: dict[date, tuple[datetime, list[tuple[str, datetime]]]] = {}

    @staticmethod
    def params(day: date) -> dict[str, str]:
        from datetime import timedelta

        return {"deadline_aanvraag": day.isoformat(),
                "beschikking": (day + timedelta(days=108)).isoformat(),
                "jaarverslag_uiterlijk": (day + timedelta(days=623)).isoformat()}

    def moments(self, day: date) -> tuple[datetime, list[tuple[str, datetime]]]:
        """The deadline of a round closing on `day` and its reminder moments (cached per day)."""
        if day not in self._moments:
            deadline = self._due_moment(self.spec, self.params(day), None)
            assert deadline is not None
            self._moments[day] = (deadline, list(self._reminder_moments(self.spec, deadline,
                                                                        self._reminder_time)))
        return self._moments[day]

    def case(self, region_id: int, day: date, entered: datetime) -> dict[str, Any]:
        return {"region_id": region_id, "workflow": "subsidie", "workflow_version": self.definition.version,
                "round": "2025", "params": self.params(day), "state": self.spec.active_in[0],
                "state_entered_at": entered, "opened_at": entered, "lock_version": 0}

    def milestone(self, region_id: int, case_id: int, day: date, entered: datetime) -> dict[str, Any]:
        return {"case_id": case_id, "region_id": region_id, "workflow": "subsidie",
                "name": self.spec.name, "occurrence": 1, "due_at": self.moments(day)[0],
                "status": "pending", "planned_at": entered, "closed_at": None}

    def reminders(self, region_id: int, milestone_id: int, day: date,
                  entered: datetime) -> list[dict[str, Any]]:
        deadline, offsets = self.moments(day)
        rows = [(("reminder", offset), moment) for offset, moment in offsets]
        rows.append((("overdue", ""), deadline))
        return [{"milestone_id": milestone_id, "region_id": region_id, "kind": kind, "offset": offset,
                 "due_at": moment, "status": "pending", "claimed_by": None, "lease_until": None,
                 "updated_at": entered} for (kind, offset), moment in rows]


def seed_reminders(app: Any, pending: int, due: int) -> dict[str, Any]:
    """Rows for `pending` pending reminders, `due` of them due now, inserted with Core.

    One region (coordinator, a programmamanager with an e-mail address, two partners) and
    one subsidie case in ``voorbereiding`` per milestone (`SubsidieRows`). A due milestone's
    deadline lies 20 days ahead, so its P30D reminder fell due 10 days ago (one due row
    each, spread over the id range) and the rest is in the future; every other deadline
    lies 45 days or more ahead, so none of its reminders is due.
    """
    from datetime import timedelta

    from sqlalchemy import insert

    from onderwijsflow.clock import to_local
    from onderwijsflow.store.tables import Case, Milestone, Partner, Region, Reminder, RoleAssignment

    subsidie = SubsidieRows(app)
    count = max(1, pending // subsidie.per_milestone)
    due = min(due, count)
    now = app.now()
    today = to_local(now).date()
    entered = now - timedelta(days=30)
    every = max(1, count // due)
    regions, cases, roles, partners, milestones, reminders = [], [], [], [], [], []
    made_due = 0
    for i in range(count):
        is_due = i % every == 0 and made_due < due
        made_due += is_due
        day = today + timedelta(days=20 if is_due else 45 + i % 320)
        rid = cid = mid = i + 1  # a fresh database: the ids are ours
        regions.append({"id": rid, "slug": f"s{i:06d}", "name": f"Regio s{i:06d}",
                        "provinces": ["Utrecht"], "sectors": ["PO", "VO"],
                        "coordinator": "coordinator@example.org", "created_at": entered,
                        "event_seq": 0, "event_hash": ""})
        cases.append({"id": cid, **subsidie.case(rid, day, entered)})
        roles.append({"region_id": rid, "role": "programmamanager", "person": f"Anne {i}",
                      "email": f"pm{i}@example.org", "assigned_at": entered})
        partners.append({"region_id": rid, "name": f"Stichting Primair {i}", "kind": "schoolbestuur",
                         "sector": "PO", "added_at": entered})
        partners.append({"region_id": rid, "name": f"Pabo {i}", "kind": "lerarenopleiding",
                         "sector": None, "added_at": entered})
        milestones.append({"id": mid, **subsidie.milestone(rid, cid, day, entered)})
        reminders += subsidie.reminders(rid, mid, day, entered)
    with app.db.engine.begin() as conn:
        for table, rows in ((Region, regions), (Case, cases), (RoleAssignment, roles),
                            (Partner, partners), (Milestone, milestones), (Reminder, reminders)):
            conn.execute(insert(table.__table__), rows)  # type: ignore[union-attr]
    due_rows = sum(1 for r in reminders if r["due_at"] <= now)
    return {"regions": count, "milestones": count, "reminders": len(reminders), "due": due_rows,
            "due_milestones": made_due}


def bench_scheduler(args: argparse.Namespace, work: Path) -> list[Figure]:
    """One `Scheduler.tick` over many pending reminders, some due; then ticks with none due."""
    from onderwijsflow.scheduler.tick import Scheduler
    from onderwijsflow.service import Onderwijsflow

    work = work / "scheduler"
    work.mkdir()
    path = work / "scheduler.db"
    db_url = f"sqlite:///{path}"
    setup = time.perf_counter()
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.init()
    seeded = seed_reminders(app, args.reminders, args.due)
    app.close()
    if args.profile:  # a copy, so that the profiled tick finds the same due reminders
        shutil.copyfile(path, work / "profile.db")
    print(f"  set-up: {seeded['regions']:,} regions, cases and milestones, {seeded['reminders']:,} "
          f"pending reminders ({seeded['due']:,} due now) in {time.perf_counter() - setup:.1f} s")

    # A fresh application, as a worker process has; a long-running worker has paid its
    # one-time costs (schema check, workflow files, catalog sync) before its ticks.
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.ensure_ready()
    app.catalog.current("subsidie")
    with app.writing():
        pass
    channel = _QuietLogChannel()
    scheduler = Scheduler(app, channels=[channel])
    statements = _StatementLog(app.db.engine)
    phases: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            statements.phase = name
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent = phases.setdefault(name, [0.0, 0.0])
                spent[0] += time.perf_counter() - start
                spent[1] += time.process_time() - start_cpu
                statements.phase = "-"

        return wrapper

    # The real tick(); its three steps are wrapped on this instance to time them apart.
    for name in ("_act", "_expire", "_deliver_batch"):
        setattr(scheduler, name, timed(name, getattr(scheduler, name)))

    start, start_cpu = time.perf_counter(), time.process_time()
    report = scheduler.tick()
    total, total_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    act, deliver = phases["_act"], phases["_deliver_batch"]
    expire = phases.get("_expire", [0.0, 0.0])
    n_due = seeded["due"]
    if report.queued != n_due or report.sent != n_due or channel.delivered != n_due:
        raise RuntimeError(f"scheduler set-up is wrong: {n_due} due, tick queued {report.queued}, "
                           f"sent {report.sent}, channel got {channel.delivered}")
    act_sql, deliver_sql = statements.counts.get("_act", 0), statements.counts.get("_deliver_batch", 0)
    print(f"  due tick: {report.milestones:,} milestones, {report.queued:,} queued, {report.skipped:,} "
          f"skipped, {report.sent:,} sent; phase 1 {act[0] * 1000:,.0f} ms ({act_sql:,} statements), "
          f"phase 2 {deliver[0] * 1000:,.0f} ms ({deliver_sql:,} statements)")

    # Ticks with nothing due: time them, count their statements, keep the SQL of one.
    idle_runs = 5 if args.quick else 15
    idle_wall, idle_cpu = [], []
    for i in range(idle_runs + 1):
        statements.counts.clear()
        statements.keep = i == idle_runs
        start, start_cpu = time.perf_counter(), time.process_time()
        idle = scheduler.tick()
        if i:  # the first one is a warm-up
            idle_wall.append((time.perf_counter() - start) * 1000)
            idle_cpu.append((time.process_time() - start_cpu) * 1000)
        if idle.milestones or idle.sent:
            raise RuntimeError("the idle tick found work")
    statements.close()
    idle_statements = statements.statements
    work_statements = [s for s in idle_statements if not s[1].lstrip().upper().startswith("BEGIN")]
    on_reminders = [s for s in work_statements if "FROM reminders" in s[1]]
    plans: list[str] = []
    with app.db.engine.connect() as conn:
        for _, sql, params in work_statements:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
            plans.append(" / ".join(r[-1] for r in rows))
        conn.rollback()
    due_plan = plans[work_statements.index(on_reminders[0])] if on_reminders else "(no query on reminders)"
    uses_index = "ix_reminders_status_due_at" in due_plan
    print("  idle tick statements (EXPLAIN QUERY PLAN):")
    for (phase, sql, _), plan in zip(work_statements, plans, strict=True):
        print(f"    {phase:15} {_short_sql(sql)}\n    {'':15}   -> {plan}")
    print(f"  due-milestone query plan: {due_plan}")

    # Floors with sqlite3 alone on the same file: an indexed SELECT of as many reminder rows
    # as fell due (now `queued`, so the same index range), and of none (`pending`, none due);
    # for the delivery phase, as many one-row commits (WAL, synchronous=FULL).
    from onderwijsflow.store.tables import Reminder

    due_type = Reminder.__table__.c.due_at.type  # type: ignore[attr-defined]
    now_param = due_type.bind_processor(app.db.engine.dialect)(app.now())
    floor_conn = sqlite3.connect(path)
    select_due = ("SELECT milestone_id FROM reminders INDEXED BY ix_reminders_status_due_at "
                  "WHERE status = ? AND due_at <= ?")
    got = len(floor_conn.execute(select_due, ("queued", now_param)).fetchall())
    sel_due_ms = _median_ms(lambda: floor_conn.execute(select_due, ("queued", now_param)).fetchall(), 20)
    sel_none_ms = _median_ms(lambda: floor_conn.execute(select_due, ("pending", now_param)).fetchall(), 200)
    floor_conn.close()
    per_row, once = sqlite_floor(work, n_due, 1_000)
    app.close()
    if args.profile:
        profile_scheduler_phase1(work / "profile.db", n_due)

    phase1_note = (
        f"Scheduler.tick() phase 1 (_act, batch {scheduler.batch}): claim {report.milestones:,} due "
        f"milestones, coalesce, render and write {report.queued:,} outbox rows; "
        f"{act[1] * 1000:,.0f} ms CPU; {act_sql:,} SQL statements "
        f"({act_sql / max(1, report.milestones):.1f} per milestone). Among {seeded['reminders']:,} "
        f"pending reminders ({seeded['milestones']:,} milestones of subsidie/deadline_aanvraag).")
    return [
        Figure(f"tick phase 1: claim+coalesce+outbox, {n_due:,} due", act[0] * 1000, "ms", 1000,
               "< 1 s", [(f"sqlite3 indexed SELECT of the {got:,} due reminders", sel_due_ms),
                         (f"sqlite3 {n_due:,} inserts of ~1 KB, 1 commit for all", n_due / once * 1000)],
               note=phase1_note),
        Figure(f"  phase 2: deliver {report.sent:,} (1 commit each)", deliver[0] * 1000, "ms", None,
               "(in the tick)", [(f"sqlite3 {n_due:,} inserts, 1 commit each", n_due / per_row * 1000)],
               note=f"{deliver[0] / max(1, report.sent) * 1000:.2f} ms per message "
                    f"({deliver[1] / max(1, report.sent) * 1000:.2f} ms CPU); {deliver_sql:,} SQL "
                    f"statements ({deliver_sql / max(1, report.sent):.1f} per message); a channel "
                    "that does no I/O; each message is marked sending, handed over and recorded "
                    "with its audit event (design §6), one fsync'ed commit each."),
        Figure("  whole tick() (phase 1 + expire + phase 2)", total * 1000, "ms", 1000, "< 1 s",
               [(f"sqlite3 {n_due:,} inserts, 1 commit each", n_due / per_row * 1000)],
               note=f"{total_cpu * 1000:,.0f} ms CPU; expire step {expire[0] * 1000:.1f} ms."),
        Figure("tick with none due", statistics.median(idle_wall), "ms", None, "(1 indexed query)",
               [("sqlite3 indexed SELECT on reminders, none due", sel_none_ms)],
               note=f"median of {idle_runs} ticks (minimum {min(idle_wall):.1f} ms; CPU "
                    f"{statistics.median(idle_cpu):.1f} ms) over {seeded['reminders'] - n_due:,} "
                    "pending reminders."),
        Figure("  SQL statements in a tick with none due", len(idle_statements), "n", 1,
               "1 indexed query", [],
               note=f"{len(work_statements)} queries + {len(idle_statements) - len(work_statements)} "
                    f"BEGIN: " + "; ".join(f"{_short_sql(s, 60)}" for _, s, _ in work_statements)
                    + f". The due-milestone query {'uses' if uses_index else 'DOES NOT use'} "
                    f"ix_reminders_status_due_at: {due_plan}"),
    ]


def profile_scheduler_phase1(path: Path, due: int) -> None:
    """Profile phase 1 of a tick (`Scheduler._act` until no batch is left) on a copy of the
    seeded database, with a warm application as in the timed run."""
    from onderwijsflow.scheduler.tick import Scheduler, TickReport
    from onderwijsflow.service import Onderwijsflow

    app = Onderwijsflow.open(db=f"sqlite:///{path}", actor="bench")
    app.ensure_ready()
    app.catalog.current("subsidie")
    with app.writing():
        pass
    scheduler = Scheduler(app, channels=[_QuietLogChannel()])
    report = TickReport()

    def phase1() -> None:
        while scheduler._act(report):
            pass

    profile(f"Scheduler.tick phase 1 (_act) over {due:,} due milestones (a copy of the database)",
            phase1)
    app.close()


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    """The median wall time of `fn` over `runs` calls, in ms."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# --- 5. national scale: import, advance-all, report (SQLite and PostgreSQL) ----------------

#: The PostgreSQL server DEVELOPERS.md describes; used when reachable and nothing else is given.
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROVINCES = ["Groningen", "Friesland", "Drenthe", "Overijssel", "Flevoland", "Gelderland", "Utrecht",
             "Noord-Holland", "Zuid-Holland", "Zeeland", "Noord-Brabant", "Limburg"]
#: The trigger advance-all fires over the imported regions (verkenning -> aanvraag_ingediend).
NATIONAL_TRIGGER = "dien_aanvraag_in"


def write_regions_csv(path: Path, count: int) -> None:
    """A file as Dutch Excel saves it (semicolons, UTF-8 with BOM): `count` regions with 3
    partners, 2 people and 2 facts each, varied so the report has something to say (a third
    lack the profession group, one in 20 has no coordinator, sizes around the thresholds)."""
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["slug", "name", "provinces", "sectors", "coordinator", "partners", "people",
                         "fact:leerlingen_po", "fact:opgeleide_studenten_2023"])
        for i in range(count):
            third = (f"AOb afdeling {i}:vakbond" if i % 3 else f"Gemeente {i}:gemeente")
            writer.writerow([
                f"n{i:05d}", f"Onderwijsregio {i}",
                PROVINCES[i % 12] + ("|" + PROVINCES[(i + 1) % 12] if i % 7 == 0 else ""),
                "PO|VO" if i % 2 else "PO|VO|MBO",
                "" if i % 20 == 0 else f"coordinator{i % 40}@example.org",
                f"Stichting Primair {i}:schoolbestuur:PO|Pabo {i}:lerarenopleiding|{third}",
                f"programmamanager:Anne {i}:pm{i}@example.org|projectleider:Joost {i}:pl{i}@example.org",
                str(9_000 + (i * 37) % 12_000), str(100 + i % 120),
            ])


def pg_target(args: argparse.Namespace) -> tuple[str | None, str]:
    """The PostgreSQL URL to use and where it came from, or None and why not."""
    if args.pg == "none":
        return None, "--pg none"
    url, source = args.pg, "--pg"
    if not url and os.environ.get("ONDERWIJSFLOW_TEST_PG"):
        url, source = os.environ["ONDERWIJSFLOW_TEST_PG"], "ONDERWIJSFLOW_TEST_PG"
    if not url:
        url, source = DEFAULT_PG, "the default"
    from sqlalchemy import create_engine, text

    from onderwijsflow.store.db import Database

    try:
        engine = create_engine(Database(url).url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as err:  # any failure means: not reachable; say so
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        if source == "the default":
            return None, f"{url} is not reachable ({first[:120]})"
        raise SystemExit(f"PostgreSQL at {url} ({source}) is not reachable: {first}") from None
    return url, source


class PgSchema:
    """A fresh schema ``bench_<random>`` in `base`, dropped on exit; `url` points into it
    (``?options=-csearch_path=...``, as tests/conftest.py does)."""

    def __init__(self, base: str) -> None:
        import uuid

        self.base = base
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        from urllib.parse import quote

        from sqlalchemy import create_engine, text

        from onderwijsflow.store.db import Database

        self.admin = create_engine(Database(self.base).url)
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        separator = "&" if "?" in self.base else "?"
        return f"{self.base}{separator}options={quote(f'-csearch_path={self.schema}')}"

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import text

        try:
            with self.admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        finally:
            self.admin.dispose()


def seed_national_extras(app: Any, count: int) -> dict[str, int]:
    """What a CSV cannot carry, inserted with Core after the import (not timed).

    Documents (every region: intentieverklaring and arbeidsmarktanalyse, so that
    dien_aanvraag_in passes for all; two in three a plan van aanpak, one in two governance,
    so the report finds requirements that block), and a subsidie case of round 2025 per
    region with its deadline_aanvraag milestone and five reminders (`SubsidieRows`), the
    deadlines spread from 30 days ago to 90 days ahead, so the report has overdue and
    upcoming milestones.
    """
    from datetime import timedelta

    from sqlalchemy import insert, select

    from onderwijsflow.clock import to_local
    from onderwijsflow.store.tables import Case, Document, Milestone, Region, Reminder

    subsidie = SubsidieRows(app)
    now = app.now()
    today = to_local(now).date()
    entered = now - timedelta(days=60)
    tables = {t: t.__table__ for t in (Case, Document, Milestone, Region, Reminder)}  # type: ignore[union-attr]

    def returning_ids(conn: Any, table: Any, rows: list[dict[str, Any]]) -> list[int]:
        return list(conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                 rows).scalars())

    with app.db.engine.begin() as conn:
        region_ids = list(conn.execute(select(tables[Region].c.id).order_by(tables[Region].c.id)).scalars())
        docs = []
        for n, rid in enumerate(region_ids):
            kinds = ["intentieverklaring", "arbeidsmarktanalyse"]
            kinds += ["plan_van_aanpak"] * (n % 3 != 0) + ["governance"] * (n % 2 == 0)
            docs += [{"region_id": rid, "kind": k, "title": f"{k} 2024", "ref": f"DOC-{rid}-{k}",
                      "date": date(2024, 5, 1), "added_at": entered} for k in kinds]
        conn.execute(insert(tables[Document]), docs)
        days = [today + timedelta(days=n % 120 - 30) for n in range(len(region_ids))]
        case_ids = returning_ids(conn, tables[Case], [subsidie.case(rid, day, entered)
                                                      for rid, day in zip(region_ids, days, strict=True)])
        milestone_ids = returning_ids(conn, tables[Milestone], [
            subsidie.milestone(rid, cid, day, entered)
            for rid, cid, day in zip(region_ids, case_ids, days, strict=True)])
        reminders = [row for rid, mid, day in zip(region_ids, milestone_ids, days, strict=True)
                     for row in subsidie.reminders(rid, mid, day, entered)]
        conn.execute(insert(tables[Reminder]), reminders)
    return {"documents": len(docs), "subsidie cases": len(case_ids), "milestones": len(milestone_ids),
            "reminders": len(reminders)}


def insert_floor(url: str, work: Path, rows: int, size: int) -> float:
    """Rows per second inserted by the bare driver in one transaction (executemany), on the
    same kind of database: sqlite3 in WAL with synchronous=FULL, or psycopg into the schema."""
    payload = "x" * size
    params = [(i, 1, payload) for i in range(rows)]
    create = ("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL, "
              "seq INTEGER NOT NULL, payload TEXT NOT NULL, UNIQUE (region_id, seq))")
    if url.startswith("sqlite"):
        path = work / f"insert-floor-{rows}.db"
        path.unlink(missing_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(create)
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO bench_floor (region_id, seq, payload) VALUES (?, ?, ?)", params)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return rows / elapsed
    from sqlalchemy import create_engine

    from onderwijsflow.store.db import Database

    engine = create_engine(Database(url).url)
    try:
        with engine.begin() as pg:
            pg.exec_driver_sql(create.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY"))
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            start = time.perf_counter()
            cursor.executemany("INSERT INTO bench_floor (region_id, seq, payload) VALUES (%s, %s, %s)",
                               params)
            raw.commit()
            elapsed = time.perf_counter() - start
            cursor.execute("DROP TABLE bench_floor")
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()
    return rows / elapsed


#: Runs in a fresh interpreter: the national report as `onderwijsflow report` would run it,
#: its wall and CPU time, and the process's peak RSS (VmHWM) before and after it.
REPORT_CHILD = r"""
import json, resource, sys, time, traceback

def peak_mb():
    # VmHWM, the peak RSS of this process image. ru_maxrss would do on a fresh process, but
    # Linux carries it over from the forking parent across exec (here the benchmark itself).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB; macOS: bytes

out = {"rss_start": peak_mb()}
try:
    start = time.perf_counter()
    from onderwijsflow.service import Onderwijsflow
    try:
        from onderwijsflow.reporting.national import national_report
    except Exception as err:
        print(json.dumps({"error": "cannot import national_report: %s: %s" % (type(err).__name__, err)}))
        sys.exit(0)
    app = Onderwijsflow.open(db=sys.argv[1], actor="bench")
    with app.reading():
        pass
    app.catalog.names
    out["setup_ms"] = (time.perf_counter() - start) * 1000
    out["rss_before"] = peak_mb()
    start, start_cpu = time.perf_counter(), time.process_time()
    report = national_report(app)
    out["wall_ms"] = (time.perf_counter() - start) * 1000
    out["cpu_ms"] = (time.process_time() - start_cpu) * 1000
    out["rss_peak"] = peak_mb()
    start = time.perf_counter()
    national_report(app)
    out["warm_ms"] = (time.perf_counter() - start) * 1000
    totals = report.get("totals", {})
    blocking = report.get("blocking") or []
    out["summary"] = {"totals": totals,
                      "top_blocking": [(b.get("label"), b.get("count")) for b in blocking[:2]]}
    # Floor: every row of the tables the report reads, fetched by the bare driver's cursor.
    raw = app.db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        start, start_cpu = time.perf_counter(), time.process_time()
        n = 0
        for table in ("regions", "partners", "role_assignments", "documents", "facts", "cases",
                      "milestones"):
            cursor.execute("SELECT * FROM " + table)
            n += len(cursor.fetchall())
        out["floor_ms"] = (time.perf_counter() - start) * 1000
        out["floor_cpu_ms"] = (time.process_time() - start_cpu) * 1000
        out["floor_rows"] = n
    finally:
        raw.close()
    app.close()
except Exception as err:
    out["error"] = "%s: %s" % (type(err).__name__, err)
    out["traceback"] = traceback.format_exc(limit=4)
print(json.dumps(out))
"""


def run_report_child(url: str, work: Path) -> tuple[dict[str, Any], float]:
    """The child's JSON and its CPU time (user + system, from wait4)."""
    import json

    with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as errors:
        child = subprocess.Popen([sys.executable, "-c", REPORT_CHILD, url], cwd=work,
                                 stdout=output, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        output.seek(0)
        errors.seek(0)
        text_out = output.read().decode(errors="replace").strip()
        text_err = errors.read().decode(errors="replace").strip()
    cpu = (usage.ru_utime + usage.ru_stime) * 1000
    try:
        return json.loads(text_out.splitlines()[-1]), cpu
    except (ValueError, IndexError):
        return {"error": f"the report process exited {os.waitstatus_to_exitcode(status)}: "
                         f"{(text_err or text_out)[-300:]}"}, cpu


def national_run(label: str, url: str, csv_path: Path, count: int, args: argparse.Namespace,
                 work: Path) -> list[Figure]:
    """Import `count` regions, advance-all over their regiovorming cases, then the report."""
    from sqlalchemy import func, select

    from onderwijsflow.service import Onderwijsflow
    from onderwijsflow.store.audit import verify
    from onderwijsflow.store.tables import Case, Event, Fact, Partner, Region, RoleAssignment

    app = Onderwijsflow.open(db=url, actor="bench")
    app.init()
    app.close()

    # 1. import: a fresh application object, as `onderwijsflow import regions` has.
    app = Onderwijsflow.open(db=url, actor="bench")
    start, start_cpu = time.perf_counter(), time.process_time()
    result = app.import_regions(csv_path)
    imp_wall, imp_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    if len(result["created"]) != count:
        raise RuntimeError(f"import set-up is wrong: {len(result['created'])} of {count} created")
    with app.db.engine.connect() as conn:
        written = {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one()
                   for t in (Region, Case, Partner, RoleAssignment, Fact, Event)}
    rows_per_region = sum(written.values()) / count
    extras_start = time.perf_counter()
    extras = seed_national_extras(app, count)
    print(f"  {label}: imported {count:,} regions in {imp_wall:.1f} s ({sum(written.values()):,} rows: "
          + ", ".join(f"{n:,} {t}" for t, n in written.items())
          + f"); then added with Core in {time.perf_counter() - extras_start:.1f} s: "
          + ", ".join(f"{n:,} {k}" for k, n in extras.items()), flush=True)

    # 2. advance-all over the regiovorming cases the import opened (all in verkenning).
    progress = {"done": 0}
    deadline = time.perf_counter() + args.advance_budget

    def tick(done: int, _total: int) -> None:
        progress["done"] = done
        if time.perf_counter() > deadline:
            raise _OutOfTime

    start, start_cpu = time.perf_counter(), time.process_time()
    moved = refused = None
    try:
        outcome = app.advance_all(NATIONAL_TRIGGER, workflow="regiovorming", in_state="verkenning",
                                  progress=tick)
        moved, refused = len(outcome["moved"]), len(outcome["refused"])
    except _OutOfTime:
        pass
    adv_wall, adv_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    done = progress["done"]
    if refused:
        raise RuntimeError(f"advance-all set-up is wrong: {refused} cases refused")
    with app.db.session(write=False) as session:
        sample = [f"n{0:05d}", f"n{count - 1:05d}"]
        broken = [b.sentence for s in sample for b in verify(session, s).broken]
    app.close()
    stopped = (f" Stopped after {done:,} of {count:,}: the {args.advance_budget:.0f} s budget "
               "(--advance-budget) was spent." if moved is None else f" {moved:,} moved, none refused.")
    print(f"  {label}: advance-all {done:,} cases in {adv_wall:.1f} s; audit chains of "
          f"{len(sample)} sample regions {'intact' if not broken else 'BROKEN: ' + '; '.join(broken)}",
          flush=True)

    # 3. the report, in a fresh process (peak RSS is a per-process high-water mark).
    child, child_cpu = run_report_child(url, work)

    if args.profile and url.startswith("sqlite") and "error" not in child:
        from onderwijsflow.reporting.national import national_report

        app = Onderwijsflow.open(db=url, actor="bench")
        with app.reading():
            pass
        profile(f"national_report over {count:,} regions (in this process, {label})",
                lambda: national_report(app))
        app.close()

    floor_rows = min(int(rows_per_region * count), args.floor_rows * 10)
    ins_floor = insert_floor(url, work, floor_rows, 200)
    driver = "sqlite3" if url.startswith("sqlite") else "psycopg"
    figures = [
        Figure(f"import_regions, {count:,} regions", count / imp_wall, "/s", None, "(no §7 target)",
               [(f"{driver} executemany, 1 commit, {rows_per_region:.0f} rows/region",
                 ins_floor / rows_per_region)],
               note=f"{imp_wall:.1f} s ({imp_cpu:.1f} s CPU in this process) for {count:,} regions of "
                    "3 partners, 2 people, 2 facts; one transaction, with the regiovorming case and "
                    f"the audit events of each region ({rows_per_region:.1f} rows per region). Floor: "
                    f"{floor_rows:,} rows of 200 bytes by the bare driver in one transaction."),
        Figure(f"  advance-all {NATIONAL_TRIGGER}, {done:,} cases", done / adv_wall, "/s", 1_000,
               ">= 1,000/s", [(f"{driver} executemany, 1 commit, 2 rows/case", ins_floor / 2)],
               note=f"{adv_wall / max(done, 1) * 1000:.2f} ms per case ({adv_cpu / max(done, 1) * 1000:.2f} "
                    f"ms CPU); Onderwijsflow.advance_all, default batch, 4 requirements each, an audit "
                    f"event per case.{stopped}"),
    ]
    if "error" in child:
        print(f"  {label}: national report skipped: {child['error']}")
        if child.get("traceback"):
            print("    " + child["traceback"].strip().replace("\n", "\n    "))
        figures[-1].note += f" National report row skipped: {child['error']}"
        return figures
    summary = child.get("summary", {})
    print(f"  {label}: report {child['wall_ms']:,.0f} ms; totals {summary.get('totals')}; "
          f"most blocking {summary.get('top_blocking')}", flush=True)
    figures += [
        Figure(f"  national_report, {count:,} regions", child["wall_ms"], "ms", 1000, "< 1 s",
               [(f"{driver}: SELECT * of the {child['floor_rows']:,} rows of its 7 tables",
                 child["floor_ms"])],
               note=f"first call in a fresh process ({child['cpu_ms']:,.0f} ms CPU; floor "
                    f"{child['floor_cpu_ms']:,.0f} ms CPU); a second call "
                    f"{child['warm_ms']:,.0f} ms; before it, importing onderwijsflow, opening the app, "
                    f"schema check and workflow files {child['setup_ms']:,.0f} ms; the whole "
                    f"process {child_cpu:,.0f} ms CPU. {count:,} regions with "
                    f"{extras['subsidie cases']:,} subsidie cases and milestones besides the "
                    "regiovorming cases."),
        Figure("    peak RSS of the report process", child["rss_peak"], "MB", 200, "< 200 MB",
               [("same process before the report", child["rss_before"])],
               note=f"peak RSS (VmHWM) of a fresh process: {child['rss_start']:.0f} MB at start, "
                    f"{child['rss_before']:.0f} MB after imports and opening the app, "
                    f"{child['rss_peak']:.0f} MB after the report: the report itself added "
                    f"{child['rss_peak'] - child['rss_before']:.0f} MB."),
    ]
    return figures


def bench_national(args: argparse.Namespace, work: Path) -> list[tuple[str, list[Figure]]]:
    """The national-scale run on SQLite, then on PostgreSQL when one is reachable."""
    work = work / "national"
    work.mkdir()
    count = args.national_regions
    csv_path = work / "regions.csv"
    write_regions_csv(csv_path, count)
    sections = [(f"5a. national scale on SQLite ({count:,} regions)",
                 national_run("SQLite", f"sqlite:///{work / 'national.db'}", csv_path, count, args, work))]
    base, source = pg_target(args)
    if base is None:
        print(f"  PostgreSQL skipped: {source}")
        return sections
    shown = base.split("@")[-1]
    try:
        with PgSchema(base) as url:
            print(f"  PostgreSQL at {shown} ({source}), schema dropped afterwards", flush=True)
            sections.append((f"5b. national scale on PostgreSQL ({count:,} regions, {shown})",
                             national_run("PostgreSQL", url, csv_path, count, args, work)))
    except Exception as err:  # the SQLite figures are still worth printing
        print(f"  PostgreSQL run failed, its rows are left out: {type(err).__name__}: {err}")
    return sections


# --- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    use_frozen_workload()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (about a minute)")
    parser.add_argument("--regions", type=int,
                        help="cases for advance-all (full 10,000, quick 500); a fifth as many for advance")
    parser.add_argument("--advance-budget", type=float, metavar="SECONDS",
                        help="stop each advance loop after this long (full 45, quick 20)")
    parser.add_argument("--profile", action="store_true",
                        help="print import times and profiles of the engine, advance, advance-all, "
                             "the scheduler's phase 1 and the national report")
    parser.add_argument("--skip", action="append", default=[], choices=SECTIONS,
                        help="leave a section out (repeatable)")
    parser.add_argument("--only", action="append", default=[], choices=SECTIONS,
                        help="run only this section (repeatable)")
    parser.add_argument("--reminders", type=int,
                        help="pending reminders for the scheduler tick (full 100,000, quick 10,000)")
    parser.add_argument("--due", type=int, help="of which due now (full 1,000, quick 100)")
    parser.add_argument("--national-regions", type=int,
                        help="regions imported for the national run (full 10,000, quick 1,000)")
    parser.add_argument("--pg", metavar="URL",
                        help="PostgreSQL for the national run (default: ONDERWIJSFLOW_TEST_PG, else "
                             f"{DEFAULT_PG} if reachable); 'none' skips it")
    args = parser.parse_args(argv)
    args.regions = args.regions or (500 if args.quick else 10_000)
    args.call_regions = max(1, args.regions // 5)
    args.cli_runs = 5 if args.quick else 10
    args.engine_seconds = 0.5 if args.quick else 1.5
    args.dry_run_regions = 200 if args.quick else 500
    args.floor_rows = 500 if args.quick else 3_000
    args.advance_budget = args.advance_budget or (20.0 if args.quick else 45.0)
    args.reminders = args.reminders or (10_000 if args.quick else 100_000)
    args.due = args.due or (100 if args.quick else 1_000)
    args.national_regions = args.national_regions or (1_000 if args.quick else 10_000)
    if args.only:
        args.skip = [s for s in SECTIONS if s not in args.only]

    header(args)
    sections: list[tuple[str, list[Figure]]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="onderwijsflow-bench-") as tmp:
        work = Path(tmp)
        if "cli" not in args.skip:
            print("1. CLI cold start ...", flush=True)
            sections.append(("1. CLI cold start (wall time of a fresh process)", bench_cli(args, work)))
        if "engine" not in args.skip:
            print("2. engine in memory ...", flush=True)
            sections.append(("2. engine in memory (WorkflowMachine.fire, shipped regiovorming)",
                             bench_engine(args)))
        if "persisted" not in args.skip:
            print("3. persisted transitions on SQLite ...", flush=True)
            sections.append((f"3. persisted transitions on SQLite (files in {tmp})",
                             bench_persisted(args, work)))
        if "scheduler" not in args.skip:
            print("4. scheduler tick on SQLite ...", flush=True)
            sections.append((f"4. scheduler tick on SQLite ({args.reminders:,} pending reminders)",
                             bench_scheduler(args, work)))
        if "national" not in args.skip:
            print("5. national scale: import, advance-all, report ...", flush=True)
            sections += bench_national(args, work)
    print()
    print_table(sections)
    print()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"total {time.perf_counter() - started:.0f} s; load average now {load}. "
          "Figures only; nothing here is a pass/fail test.")


if __name__ == "__main__":
    main()
