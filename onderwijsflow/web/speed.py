"""Measure design §7's web targets: a dossier page within 100 ms server time and the board
within 1 s, at 10,000 regions.

    python -m onderwijsflow.web.speed [--regions 10000] [--repeat 15] [--keep DIR]

It builds the demonstration database (ten regions with full histories), imports N more
regions from a generated CSV (three partners, two people and a coordinator each), then
times requests through the ASGI application in process (routing, the library's reads,
template rendering; no network), beside the library calls the page is made of (what
``region show``, ``history --all``, ``check`` and ``report --json`` do). Medians and the
slowest run, in milliseconds. Not a test: figures to read, on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["main"]

PROVINCES = ["Groningen", "Friesland", "Drenthe", "Overijssel", "Flevoland", "Gelderland",
             "Utrecht", "Noord-Holland", "Zuid-Holland", "Zeeland", "Noord-Brabant", "Limburg"]


def write_csv(path: Path, count: int) -> None:
    """`count` regions as the import reads them."""
    import csv

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["slug", "name", "provinces", "sectors", "coordinator", "partners", "people"])
        for i in range(count):
            writer.writerow([
                f"r{i:05d}", f"Onderwijsregio {i}", PROVINCES[i % 12], "PO|VO",
                "" if i % 20 == 0 else f"coordinator{i % 40}@example.org",
                f"Stichting Primair {i}:schoolbestuur:PO|Pabo {i}:lerarenopleiding|"
                f"AOb {i}:vakbond",
                f"programmamanager:Anne {i}:pm{i}@example.org",
            ])


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """The median and the slowest of `repeat` runs of `action` (after one warm-up), in ms."""
    action()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), max(runs)


def main(argv: list[str] | None = None) -> None:
    """Build the database, time the pages, print a table."""
    parser = argparse.ArgumentParser(prog="python -m onderwijsflow.web.speed")
    parser.add_argument("--regions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", metavar="DIR", help="build the database in DIR and keep it")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON document")
    args = parser.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="onderwijsflow-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "speed.db"
    if not db.exists():
        build(db, work, args.regions)
    regions, rows = measure(db, args.repeat)
    if args.json:
        import json

        print(json.dumps({"regions": regions, "rows": rows}))
        return
    print(f"{regions} regions; median and slowest of {args.repeat} runs, ms (server time, in process)")
    print(f"{'what':42} {'median':>8} {'max':>8} {'target':>8}")
    for label, median, most, target in rows:
        verdict = "" if target is None else ("meets" if median <= target else "misses")
        print(f"{label:42} {median:8.1f} {most:8.1f} {target or '':>8} {verdict}")


#: One measured row: what, median ms, slowest ms, the §7 target in ms (None: none).
Row = tuple[str, float, float, int | None]


def build(db: Path, work: Path, count: int) -> None:
    """The demonstration plus `count` imported regions."""
    from onderwijsflow.demo import run_demo
    from onderwijsflow.service import Onderwijsflow

    start = time.perf_counter()
    run_demo(db, quiet=True)
    csv = work / "regions.csv"
    write_csv(csv, count)
    app = Onderwijsflow.open(db=f"sqlite:///{db}")
    try:
        app.import_regions(csv)
    finally:
        app.close()
    print(f"built {db} with {count} + 10 regions in {time.perf_counter() - start:.1f} s", file=sys.stderr)


def measure(db: Path, repeat: int) -> tuple[int, list[Row]]:
    """Time the pages and their library calls over `db`: the number of regions, and a row per
    page or call (``benchmarks.web`` puts them beside the CLI's equivalents)."""
    import asyncio

    import httpx

    from onderwijsflow.reporting.national import national_report
    from onderwijsflow.service import Onderwijsflow
    from onderwijsflow.web.dossier import gather
    from onderwijsflow.web.server import build as build_app

    app = Onderwijsflow.open(db=f"sqlite:///{db}")
    transport = httpx.ASGITransport(app=build_app(app, local_user="speed"))
    regions = len(app.list_regions())
    loop = asyncio.new_event_loop()

    async def fetch(path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://speed") as client:
            return await client.get(path)

    def get(path: str) -> Callable[[], Any]:
        def once() -> Any:
            answer = loop.run_until_complete(fetch(path))
            assert answer.status_code == 200, (path, answer.status_code)
            return answer
        return once

    rows = [
        ("dossier page, rich region (lindedal)", get("/regios/lindedal"), 100),
        ("  its library reads (gather)", lambda: gather(app, "lindedal"), None),
        ("  region show (library)", lambda: app.show_region("lindedal"), None),
        ("dossier page, imported region", get(f"/regios/r{max(0, regions - 10) // 2:05d}"), 100),
        ("event page", get("/regios/lindedal/gebeurtenis/11"), 100),
        ("board /", get("/"), 1000),
        ("  report (library)", lambda: national_report(app), None),
        ("regions list /regios", get("/regios"), None),
        ("regions list, search", get("/regios?q=regio+42"), None),
        ("/api/regions/lindedal", get("/api/regions/lindedal"), None),
        ("dossier file (HTML, with audit verify)", get("/regios/lindedal/dossier.html"), None),
    ]
    measured: list[Row] = []
    for label, action, target in rows:
        median, most = timed(action, repeat if target != 1000 else max(3, repeat // 3))
        measured.append((label, median, most, target))
    loop.close()
    app.close()
    return regions, measured


if __name__ == "__main__":
    main()
