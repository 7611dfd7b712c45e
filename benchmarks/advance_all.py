"""§7 `advance-all` over 10,000 cases with audit events: at least 1,000 per second on SQLite
and at most 0.3 ms CPU per case.

One `Onderwijsflow.advance_all` of ``verleen_definitieve_status`` (9 requirements) over every
regiovorming case in ``aanvraag_ingediend`` (10,000 cloned regions; 500 with ``--quick``), the
default batch (one write transaction per batch, an audit event per case), on SQLite (WAL,
``synchronous=FULL``). Floors: ``sqlite3`` inserts of as many rows in one commit, and one
commit per row. Peers: the same bulk workload in django-fsm-2 and python-statemachine (a
machine per case, batches of 500, one hash-chained history row per case). The national run
(`benchmarks.report`) adds advance-all of ``dien_aanvraag_in`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks import peers
from benchmarks.floors import sqlite_floor
from benchmarks.seeding import TRIGGER, clone_regions, populate
from benchmarks.table import Figure, Ref, Target
from benchmarks.timing import advance_all_within, profile

TITLE = "4. advance-all on SQLite (one call over every case)"
WORKFLOW, IN_STATE = "regiovorming", "aanvraag_ingediend"


def run_peers(work: Path, count: int) -> tuple[list[Ref], list[Ref]]:
    """Each peer's bulk rate and CPU per case over `count` cases in aanvraag_ingediend."""
    rates, cpus = [], []
    for module, (label, _) in peers.PEERS.items():
        peer = peers.load(module, work)
        if isinstance(peer, str):
            rates.append(Ref(label, None, peer))
            cpus.append(Ref(label, None, peer))
            continue
        slugs = peer.seed("a", count, "aanvraag_ingediend")
        moved, wall, cpu = peers.bulk(peer, "aanvraag_ingediend")
        ok = moved == count and peer.verify(slugs[0]) and peer.verify(slugs[-1])
        print(f"  peer {peer.name}: advance-all {moved:,} cases in {wall:.1f} s ({cpu / moved * 1000:.2f} ms "
              f"CPU per case); history chains {'intact' if ok else 'BROKEN'}", flush=True)
        rates.append(Ref(peer.name, moved / wall))
        cpus.append(Ref(peer.name, cpu / moved * 1000))
        peer.close()
    return rates, cpus


def profile_small(work: Path, count: int) -> None:
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
            lambda: small.advance_all(TRIGGER, workflow=WORKFLOW, in_state=IN_STATE))
    small.close()


def run(args: argparse.Namespace, work: Path) -> list[Figure]:
    from onderwijsflow.service import Onderwijsflow

    count = args.regions
    db_url = f"sqlite:///{work / 'advance-all.db'}"
    setup = time.perf_counter()
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.init()
    populate(app, "warm-template")
    populate(app, "all-template")
    all_slugs = ["all-template", *clone_regions(app.db, "all-template", count - 1, "a")]
    app.advance("warm-template", "zet_in_oprichting")
    app.close()
    print(f"  set-up: {count:,} regions in aanvraag_ingediend in {time.perf_counter() - setup:.1f} s",
          flush=True)
    if args.profile:
        profile_small(work, count)

    # A fresh application object; one warm-up advance (on another region) pays the one-time costs.
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.advance("warm-template", TRIGGER)
    sample = [all_slugs[0], all_slugs[-1]]
    run_ = advance_all_within(app, TRIGGER, WORKFLOW, IN_STATE, args.advance_budget, sample)
    app.close()
    done, moved, elapsed, cpu = run_.done, run_.moved, run_.wall, run_.cpu
    print(f"  onderwijsflow: advance-all {done:,} cases in {elapsed:.1f} s; {run_.chains(len(sample))}",
          flush=True)
    stopped = (f" Stopped after {done:,} of {count:,} cases: the {args.advance_budget:.0f} s budget "
               "was spent." if moved is None else f" {moved:,} cases moved, none refused.")

    rates, cpus = run_peers(work / "peers", count) if not args.no_peers else ([], [])
    floor_n = min(count, args.floor_rows)
    per_row, single = sqlite_floor(work, floor_n, 1_000)
    return [
        Figure(f"advance-all, {done:,} cases", done / elapsed, "/s", [Target("value", 1_000, most=False)],
               [Ref(f"sqlite3 insert of ~1 KB rows, 1 commit for all ({floor_n:,} rows)", single),
                Ref(f"sqlite3 insert of ~1 KB rows, 1 commit per row ({floor_n:,} rows)", per_row)], rates,
               note=f"{elapsed / done * 1000:.2f} ms per case; one Onderwijsflow.advance_all call, default "
                    f"batch (one write transaction per batch, an audit event per case).{stopped}"),
        Figure("  advance-all, CPU per case", cpu / done * 1000, "ms", [Target("value", 0.3)], [], cpus,
               note="CPU time of this process (user + system) over the call, per case; the peers' the "
                    "same way."),
    ]
