"""§7 One `advance`: at most 2× django-fsm-2's per-case latency on the same workload.

Sequential `Onderwijsflow.advance` calls of ``verleen_definitieve_status`` (9 requirements) on
SQLite (WAL, ``synchronous=FULL``), each a read transaction plus a ``BEGIN IMMEDIATE`` write
transaction with its audit event, over cases cloned from a region populated through the
library and parked in ``in_oprichting``; stopped early when the time budget is spent. Peers
(`benchmarks.peers`): the same per-case workload in django-fsm-2 (the target's reference) and
python-statemachine. Floor: ``sqlite3`` one-row commits of rows the size of a transition
event. ``advance --dry-run`` shows the read-and-decide part alone (info).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks import peers
from benchmarks.floors import sqlite_floor
from benchmarks.seeding import TRIGGER, clone_regions, populate
from benchmarks.table import Figure, Ref, Target
from benchmarks.timing import profile, timed_loop

TITLE = "3. one advance on SQLite (ms per case, one transaction each)"


def run_peers(args: argparse.Namespace, work: Path, count: int) -> list[Ref]:
    """Each peer's per-case latency over `count` cases in in_oprichting."""
    refs = []
    for module, (label, _) in peers.PEERS.items():
        peer = peers.load(module, work)
        if isinstance(peer, str):
            refs.append(Ref(label, None, peer))
            continue
        slugs = peer.seed("c", count, "in_oprichting")
        measured = peers.per_case(peer, slugs, args.advance_budget)
        ok = peer.verify(slugs[0]) and peer.verify(slugs[measured.done])
        print(f"  peer {peer.name}: {measured.done:,} advances, {measured.ms:.2f} ms per case "
              f"({measured.cpu_ms:.2f} ms CPU); history chains {'intact' if ok else 'BROKEN'}", flush=True)
        refs.append(Ref(f"{peer.name}: {measured.ms:.2f} ms per case, {measured.cpu_ms:.2f} ms CPU",
                        measured.ms))
        peer.close()
    return refs


def run(args: argparse.Namespace, work: Path) -> list[Figure]:
    from sqlalchemy import text

    from onderwijsflow.service import Onderwijsflow

    n_call = args.call_regions
    db_url = f"sqlite:///{work / 'advance.db'}"
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.init()
    populate(app, "call-template")
    app.advance("call-template", "zet_in_oprichting")
    call_slugs = clone_regions(app.db, "call-template", n_call, "c")
    app.close()

    # A fresh application object, as a new process would have; one warm-up advance pays the
    # one-time costs (schema check, workflow load, catalog sync) outside the timed loops.
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.advance("call-template", TRIGGER)

    dry_n = min(n_call, args.dry_run_regions)
    dry_done, dry_wall, dry_cpu = timed_loop(
        call_slugs[:dry_n], args.advance_budget, lambda s: app.advance(s, TRIGGER, dry_run=True))
    todo = call_slugs
    if args.profile:
        profile_n = min(300, n_call // 2)
        profile(f"Onderwijsflow.advance x {profile_n} (one transaction each)",
                lambda: [app.advance(s, TRIGGER) for s in call_slugs[:profile_n]])
        todo = call_slugs[profile_n:]
    done, elapsed, cpu = timed_loop(todo, args.advance_budget, lambda s: app.advance(s, TRIGGER))
    budget_note = (f" Stopped after {done:,} of {len(todo):,} regions: the {args.advance_budget:.0f} s "
                   "budget (--advance-budget) was spent." if done < len(todo) else "")
    with app.db.engine.connect() as conn:
        row_bytes = conn.execute(text(
            "SELECT avg(length(data) + length(hash) + length(prev_hash) + length(actor) "
            "+ length(kind) + length(trigger) + length(from_state) + length(to_state) "
            "+ length(workflow) + 2 * 32) FROM events WHERE kind = 'transition'")).scalar_one()
    sample = [call_slugs[0], call_slugs[done - 1], "call-template"]
    broken = [f"{b['region']} seq {b['seq']}: {b['reason']}" for s in sample
              for b in app.verify_audit(s)["broken"]]
    app.close()
    print(f"  onderwijsflow: {done:,} advances; audit chains of {len(sample)} sample regions "
          f"{'intact' if not broken else 'BROKEN: ' + '; '.join(broken)}", flush=True)

    refs = run_peers(args, work / "peers", n_call) if not args.no_peers else []
    floor_n = min(n_call, args.floor_rows)
    per_row, single = sqlite_floor(work, floor_n, int(row_bytes))
    return [
        Figure(f"advance, {done:,} cases (ms per case)", elapsed / done * 1000, "ms",
               [Target("peer", 2)],
               [Ref(f"sqlite3 insert, 1 commit per row ({floor_n:,} rows)", 1000 / per_row),
                Ref(f"sqlite3 insert, 1 commit for all ({floor_n:,} rows)", 1000 / single)], refs,
               note=f"{done / elapsed:,.0f} advances/s; {cpu / done * 1000:.2f} ms CPU per case in this "
                    "process (the rest is waiting for fsync and for the CPU), in a database of "
                    f"{n_call + 1:,} regions.{budget_note} One Onderwijsflow.advance call per region: a "
                    "read transaction, then a BEGIN IMMEDIATE write transaction with its audit event, "
                    "fsync'ed (WAL, synchronous=FULL); it cannot beat the 1-commit-per-row floor. "
                    f"Floor rows are ~{int(row_bytes)} bytes, the average size of a transition event "
                    "here. Peers: the same workload (benchmarks/peers), one transaction per case."),
        Figure(f"  advance --dry-run (read + decide, no write), {dry_done:,}", dry_wall / dry_done * 1000,
               "ms", note=f"{dry_done / dry_wall:,.0f}/s; {dry_cpu / dry_done * 1000:.2f} ms CPU per call: "
                          "the read transaction, the snapshot and the decision; no write."),
    ]
