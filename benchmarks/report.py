"""§7 Report: the national report over 10,000 regions within 2× its raw-SELECT floor on both
databases; memory under 200 MB at 50,000 regions.

A CSV as Dutch Excel saves it (semicolons, UTF-8 with BOM) with 10,000 regions (1,000 with
``--quick``), each with 3 partners, 2 people and 2 facts, is imported with `import_regions`
(info; floor: the bare driver inserting as many rows in one transaction); what a CSV cannot
hold is added with Core, untimed (`benchmarks.seeding.seed_national_extras`). Advance-all of
``dien_aanvraag_in`` then moves every regiovorming case out of ``verkenning`` (4 requirements;
at least 1,000/s). The report runs in a fresh process, as ``onderwijsflow report`` would: the
figure is its first call, its floor the bare driver fetching every row of the 7 tables it
reads. All of it on SQLite, then on PostgreSQL (a scratch schema, dropped afterwards). The
memory run imports 50,000 regions (5,000 with ``--quick``) into SQLite and reads the peak RSS
(``VmHWM``) of the report's process; ``ru_maxrss`` is not used because Linux carries it over
from the forking parent across ``exec``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.environment import PgSchema, pg_target
from benchmarks.floors import insert_floor
from benchmarks.seeding import NATIONAL_TRIGGER, seed_national_extras, write_regions_csv
from benchmarks.table import Figure, Ref, Target
from benchmarks.timing import advance_all_within, profile

TITLE = "national report"


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
                 work: Path, memory: bool = False) -> list[Figure]:
    """Import `count` regions, advance-all over their regiovorming cases, then the report.

    With `memory`, the run for the peak RSS: the import and the report only, and the RSS row
    carries the §7 target."""
    from sqlalchemy import func, select

    from onderwijsflow.service import Onderwijsflow
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

    if memory:
        child, _ = run_report_child(url, work)
        if "error" in child:
            print(f"  {label}: national report failed: {child['error']}")
            return [Figure(f"peak RSS of the report process, {count:,} regions", 0, "MB",
                           info="(the report failed)", note=child["error"])]
        print(f"  {label}: report {child['wall_ms']:,.0f} ms; peak RSS {child['rss_peak']:.0f} MB",
              flush=True)
        return [Figure(f"peak RSS of the report process, {count:,} regions", child["rss_peak"], "MB",
                       [Target("value", 200)], [Ref("same process before the report", child["rss_before"])],
                       note=f"the report took {child['wall_ms']:,.0f} ms (first call in a fresh process, "
                            f"floor {child['floor_ms']:,.0f} ms); peak RSS (VmHWM) "
                            f"{child['rss_start']:.0f} MB at start, {child['rss_before']:.0f} MB after "
                            "imports and opening the app, "
                            f"{child['rss_peak']:.0f} MB after the report.")]

    # 2. advance-all over the regiovorming cases the import opened (all in verkenning).
    sample = [f"n{0:05d}", f"n{count - 1:05d}"]
    run_ = advance_all_within(app, NATIONAL_TRIGGER, "regiovorming", "verkenning", args.advance_budget,
                              sample)
    app.close()
    done, moved, adv_wall, adv_cpu = run_.done, run_.moved, run_.wall, run_.cpu
    stopped = (f" Stopped after {done:,} of {count:,}: the {args.advance_budget:.0f} s budget "
               "(--advance-budget) was spent." if moved is None else f" {moved:,} moved, none refused.")
    print(f"  {label}: advance-all {done:,} cases in {adv_wall:.1f} s; {run_.chains(len(sample))}",
          flush=True)

    # 3. the report, in a fresh process (peak RSS is a per-process high-water mark).
    child, child_cpu = run_report_child(url, work)

    if args.profile and "error" not in child:
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
        Figure(f"import_regions, {count:,} regions", count / imp_wall, "/s", [],
               [Ref(f"{driver} executemany, 1 commit, {rows_per_region:.0f} rows/region",
                    ins_floor / rows_per_region)], info="(no §7 target)",
               note=f"{imp_wall:.1f} s ({imp_cpu:.1f} s CPU in this process) for {count:,} regions of "
                    "3 partners, 2 people, 2 facts; one transaction, with the regiovorming case and "
                    f"the audit events of each region ({rows_per_region:.1f} rows per region). Floor: "
                    f"{floor_rows:,} rows of 200 bytes by the bare driver in one transaction."),
        Figure(f"  advance-all {NATIONAL_TRIGGER}, {done:,} cases", done / adv_wall, "/s",
               [Target("value", 1_000, most=False)],
               [Ref(f"{driver} executemany, 1 commit, 2 rows/case", ins_floor / 2)],
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
        Figure(f"national_report, {count:,} regions", child["wall_ms"], "ms", [Target("floor", 2)],
               [Ref(f"{driver}: SELECT * of the {child['floor_rows']:,} rows of its 7 tables",
                    child["floor_ms"])],
               note=f"first call in a fresh process ({child['cpu_ms']:,.0f} ms CPU; floor "
                    f"{child['floor_cpu_ms']:,.0f} ms CPU); a second call "
                    f"{child['warm_ms']:,.0f} ms; before it, importing onderwijsflow, opening the app, "
                    f"schema check and workflow files {child['setup_ms']:,.0f} ms; the whole "
                    f"process {child_cpu:,.0f} ms CPU. {count:,} regions with "
                    f"{extras['subsidie cases']:,} subsidie cases and milestones besides the "
                    "regiovorming cases."),
        Figure("  peak RSS of the report process", child["rss_peak"], "MB", [],
               [Ref("same process before the report", child["rss_before"])],
               info="(< 200 MB at 50,000)",
               note=f"peak RSS (VmHWM) of a fresh process: {child['rss_start']:.0f} MB at start, "
                    f"{child['rss_before']:.0f} MB after imports and opening the app, "
                    f"{child['rss_peak']:.0f} MB after the report: the report itself added "
                    f"{child['rss_peak'] - child['rss_before']:.0f} MB."),
    ]
    return figures



def run(args: argparse.Namespace, work: Path) -> list[tuple[str, list[Figure]]]:
    """The national run on SQLite, then on PostgreSQL when one is reachable; then the memory run."""
    work = work / "national"
    work.mkdir()
    count = args.national_regions
    csv_path = work / "regions.csv"
    write_regions_csv(csv_path, count)
    sections = [(f"6a. {TITLE} on SQLite ({count:,} regions)",
                 national_run("SQLite", f"sqlite:///{work / 'national.db'}", csv_path, count, args, work))]
    base, source = pg_target(args)
    if base is None:
        print(f"  PostgreSQL skipped: {source}")
    else:
        shown = base.split("@")[-1]
        try:
            with PgSchema(base) as url:
                print(f"  PostgreSQL at {shown} ({source}), schema dropped afterwards", flush=True)
                sections.append((f"6b. {TITLE} on PostgreSQL ({count:,} regions, {shown})",
                                 national_run("PostgreSQL", url, csv_path, count, args, work)))
        except Exception as err:  # the SQLite figures are still worth printing
            print(f"  PostgreSQL run failed, its rows are left out: {type(err).__name__}: {err}")
    big = args.memory_regions
    if big:
        big_csv = work / "regions-memory.csv"
        write_regions_csv(big_csv, big)
        sections.append((f"6c. {TITLE} memory on SQLite ({big:,} regions)",
                         national_run("SQLite (memory)", f"sqlite:///{work / 'memory.db'}", big_csv, big,
                                      args, work, memory=True)))
    return sections
