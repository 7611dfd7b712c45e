#!/usr/bin/env python
"""Performance figures of onderwijsflow beside the targets of design §7 and a measured floor.

Run from a checkout with the package installed (``pip install -e .``)::

    python benchmarks/run.py            # full run (advance-all over 10,000 cases; < 3 minutes)
    python benchmarks/run.py --quick    # smaller run, for a quick look
    python benchmarks/run.py --profile  # also print import times and profiles of the slow paths

Every figure is printed beside its §7 target and beside a *floor*: the same kind of work done
by the bare library underneath (the interpreter, `transitions`, `sqlite3`), measured in the same
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
WORKFLOWS = ROOT / "workflows"

#: The trigger the engine and persisted rows fire: 9 requirements, the heaviest of regiovorming.
TRIGGER = "verleen_definitieve_status"


# --- table ------------------------------------------------------------------------------


@dataclass
class Figure:
    """One row of the table: a measurement, its target and the floors beside it."""

    name: str
    value: float
    unit: str  # "ms" (lower is better) or "/s" (higher is better)
    target: float | None = None
    target_text: str = "-"
    floors: list[tuple[str, float]] = field(default_factory=list)
    note: str = ""

    def meets(self) -> str:
        if self.target is None:
            return "-"
        ok = self.value <= self.target if self.unit == "ms" else self.value >= self.target
        return "yes" if ok else "NO"


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    return f"{value:,.0f}/s"


def _ratio(value: float, floor: float, unit: str) -> str:
    times = value / floor if unit == "ms" else floor / value
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
    notes = [(f.name, f.note) for _, figures in sections for f in figures if f.note]
    if notes:
        print()
        for name, note in notes:
            print(f"* {name}: {note}")


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
    ]


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


# --- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (about 20 s)")
    parser.add_argument("--regions", type=int,
                        help="cases for advance-all (full 10,000, quick 500); a fifth as many for advance")
    parser.add_argument("--advance-budget", type=float, metavar="SECONDS",
                        help="stop each advance loop after this long (full 45, quick 20)")
    parser.add_argument("--profile", action="store_true",
                        help="print import times and profiles of the engine, advance and advance-all")
    parser.add_argument("--skip", action="append", default=[], choices=["cli", "engine", "persisted"],
                        help="leave a section out (repeatable)")
    args = parser.parse_args(argv)
    args.regions = args.regions or (500 if args.quick else 10_000)
    args.call_regions = max(1, args.regions // 5)
    args.cli_runs = 5 if args.quick else 10
    args.engine_seconds = 0.5 if args.quick else 1.5
    args.dry_run_regions = 200 if args.quick else 500
    args.floor_rows = 500 if args.quick else 3_000
    args.advance_budget = args.advance_budget or (20.0 if args.quick else 45.0)

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
    print()
    print_table(sections)
    print()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"total {time.perf_counter() - started:.0f} s; load average now {load}. "
          "Figures only; nothing here is a pass/fail test.")


if __name__ == "__main__":
    main()
