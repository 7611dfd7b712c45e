"""The command: parse the options, run the sections in order, print one table.

Run ``python -m benchmarks`` from a checkout (``python benchmarks/run.py`` is an alias); see
``--help`` and benchmarks/README.md. Nothing here asserts on timings: a run only reports.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks import advance, advance_all, cli_start, engine, report, scheduler, web
from benchmarks.environment import DEFAULT_PG, header, use_frozen_workload
from benchmarks.table import Figure, print_table, verdicts

Sections = list[tuple[str, list[Figure]]]

#: The sections, one per design §7 target, in the order they run (--skip, --only).
SECTIONS = ["cli", "engine", "advance", "advance-all", "scheduler", "report", "web"]
#: Names of the sections of the single-script benchmark, still accepted.
ALIASES = {"persisted": ["advance", "advance-all"], "national": ["report"]}


def runners(args: argparse.Namespace, work: Path) -> dict[str, tuple[str, Callable[[], Sections]]]:
    """Each section's progress line and how to run it (every one returns titled figures)."""
    return {
        "cli": ("1. CLI cold start", lambda: [(cli_start.TITLE, cli_start.run(args, work))]),
        "engine": ("2. engine in memory", lambda: [(engine.TITLE, engine.run(args, work))]),
        "advance": ("3. one advance on SQLite, and its peers",
                    lambda: [(advance.TITLE, advance.run(args, work))]),
        "advance-all": ("4. advance-all on SQLite, and its peers",
                        lambda: [(advance_all.TITLE, advance_all.run(args, work))]),
        "scheduler": ("5. scheduler tick on SQLite and PostgreSQL", lambda: scheduler.run(args, work)),
        "report": ("6. national scale: import, advance-all, report, memory", lambda: report.run(args, work)),
        "web": ("7. web view: dossier page and board", lambda: [(web.TITLE, web.run(args, work))]),
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Performance figures of onderwijsflow beside the targets of design §7, "
                    "their floors and their peers, measured in one run.")
    choices = [*SECTIONS, *ALIASES]
    parser.add_argument("--quick", action="store_true", help="a smaller run (about a minute)")
    parser.add_argument("--regions", type=int,
                        help="cases for advance-all (full 10,000, quick 500); a fifth as many for advance")
    parser.add_argument("--advance-budget", type=float, metavar="SECONDS",
                        help="stop each advance loop after this long (full 45, quick 20)")
    parser.add_argument("--profile", action="store_true",
                        help="print import times and profiles of the engine, advance, advance-all, "
                             "the scheduler's tick and the national report")
    parser.add_argument("--skip", action="append", default=[], choices=choices,
                        help="leave a section out (repeatable)")
    parser.add_argument("--only", action="append", default=[], choices=choices,
                        help="run only this section (repeatable)")
    parser.add_argument("--reminders", type=int,
                        help="pending reminders for the scheduler tick (full 100,000, quick 10,000)")
    parser.add_argument("--due", type=int, help="of which due now (full 1,000, quick 100)")
    parser.add_argument("--national-regions", type=int,
                        help="regions imported for the national run (full 10,000, quick 1,000)")
    parser.add_argument("--memory-regions", type=int,
                        help="regions for the report's peak memory (full 50,000, quick 5,000; 0 skips)")
    parser.add_argument("--pg", metavar="URL",
                        help="PostgreSQL for the scheduler and report runs (default: ONDERWIJSFLOW_TEST_PG, "
                             f"else {DEFAULT_PG} if reachable); 'none' skips it")
    parser.add_argument("--no-peers", action="store_true",
                        help="leave the peers (django-fsm-2, python-statemachine) out")
    args = parser.parse_args(argv)
    args.regions = args.regions or (500 if args.quick else 10_000)
    args.call_regions = max(2, args.regions // 5)
    args.cli_runs = 5 if args.quick else 10
    args.engine_seconds = 0.5 if args.quick else 1.5
    args.dry_run_regions = 200 if args.quick else 500
    args.floor_rows = 500 if args.quick else 3_000
    args.advance_budget = args.advance_budget or (20.0 if args.quick else 45.0)
    args.reminders = args.reminders or (10_000 if args.quick else 100_000)
    args.due = args.due or (100 if args.quick else 1_000)
    args.national_regions = args.national_regions or (1_000 if args.quick else 10_000)
    if args.memory_regions is None:
        args.memory_regions = 5_000 if args.quick else 50_000

    def expand(names: list[str]) -> list[str]:
        return [s for n in names for s in ALIASES.get(n, [n])]

    args.only, args.skip = expand(args.only), expand(args.skip)
    if args.only:
        args.skip = [s for s in SECTIONS if s not in args.only]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    use_frozen_workload()
    header(args)
    sections: Sections = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="onderwijsflow-bench-") as tmp:
        work = Path(tmp)
        for name, (progress, run) in runners(args, work).items():
            if name in args.skip:
                continue
            print(f"{progress} ...", flush=True)
            try:
                sections += run()
            except Exception as err:  # one broken section must not cost the others' figures
                print(traceback.format_exc().rstrip())
                sections.append((f"{progress}: FAILED, {type(err).__name__}: {err}", []))
    print()
    print_table(sections)
    print()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"§7 verdicts: {verdicts(sections)}.")
    print(f"total {time.perf_counter() - started:.0f} s; load average now {load}. "
          "Figures only; nothing here is a pass/fail test.")
