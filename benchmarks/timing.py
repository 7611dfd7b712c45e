"""Timing helpers: calls per second, cold starts of fresh processes, timed loops, profiles."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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

class OutOfTime(Exception):
    """Raised from advance_all's progress callback when the time budget is spent."""


@dataclass
class AdvanceAllRun:
    """One timed `advance_all`: how far it got in its budget, and whether chains still hold."""

    done: int  # cases moved or refused when it ended (the last batch reported)
    moved: int | None  # None: the budget ran out first
    wall: float
    cpu: float
    broken: list[str]

    def chains(self, sample: int) -> str:
        """The audit-chain verdict of the sampled regions, for a progress line."""
        verdict = "intact" if not self.broken else "BROKEN: " + "; ".join(self.broken)
        return f"audit chains of {sample} sample regions {verdict}"


def advance_all_within(app: Any, trigger: str, workflow: str, in_state: str, budget: float,
                       sample: list[str]) -> AdvanceAllRun:
    """`app.advance_all` until done or `budget` seconds passed (checked after each batch), then
    `verify_audit` of the `sample` regions.

    Raises:
        RuntimeError: a case was refused (the set-up is wrong, not the code under test).
    """
    progress = {"done": 0}
    deadline = time.perf_counter() + budget

    def tick(done: int, _total: int) -> None:
        progress["done"] = done
        if time.perf_counter() > deadline:
            raise OutOfTime

    start, start_cpu = time.perf_counter(), time.process_time()
    moved: int | None = None
    try:
        outcome = app.advance_all(trigger, workflow=workflow, in_state=in_state, progress=tick)
        moved, refused = len(outcome["moved"]), len(outcome["refused"])
        if refused:
            raise RuntimeError(f"advance-all set-up is wrong: {refused} cases refused")
    except OutOfTime:
        pass
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    broken = [f"{b['region']} seq {b['seq']}: {b['reason']}" for slug in sample
              for b in app.verify_audit(slug)["broken"]]
    return AdvanceAllRun(progress["done"], moved, wall, cpu, broken)


def timed_loop(items: list[str], budget: float, step: Callable[[str], Any]) -> tuple[int, float, float]:
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

def median_ms(fn: Callable[[], Any], runs: int) -> float:
    """The median wall time of `fn` over `runs` calls, in ms."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)

