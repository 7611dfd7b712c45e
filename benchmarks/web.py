"""§7 Web: a dossier page within 100 ms server time and the board within 1 s, at 10,000 regions.

The demonstration database plus N imported regions (10,000; 1,000 with ``--quick``), the
pages requested through the ASGI application in process (routing, the library's reads,
template rendering; no network) by :mod:`onderwijsflow.web.speed`. Each page stands beside
its CLI equivalent, the library call the command makes: ``region show`` for the dossier,
``report --json`` for the board. Skipped, with the reason, without the web extra.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.table import Figure, Ref, Target

TITLE = "7. web view (server time, in process)"


def run(args: argparse.Namespace, work: Path) -> list[Figure]:
    try:
        import httpx  # noqa: F401
        import starlette  # noqa: F401
    except ImportError as err:
        return [Figure("web view", 0, "ms", info="(skipped)",
                       note=f"the web extra is not installed ({err.name}): pip install '.[web]' httpx")]
    # A child process on the shipped workflows (the demo's), not the frozen ones of this run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                        if p and "frozen_site" not in p)
    count = 1_000 if args.quick else 10_000
    done = subprocess.run(
        [sys.executable, "-m", "onderwijsflow.web.speed", "--regions", str(count), "--repeat",
         "5" if args.quick else "15", "--keep", str(work / "web"), "--json"],
        cwd=work, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"onderwijsflow.web.speed exited {done.returncode}: {done.stderr[-500:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])  # after the demo's notice
    regions, rows = found["regions"], found["rows"]
    by_label = {label: (median, most) for label, median, most, _ in rows}
    dossier, dossier_max = by_label["dossier page, rich region (lindedal)"]
    board, board_max = by_label["board /"]
    return [
        Figure(f"dossier page, {regions:,} regions", dossier, "ms", [Target("value", 100)],
               [Ref("region show (library)", by_label["  region show (library)"][0])],
               note=f"slowest {dossier_max:.1f} ms; an imported region "
                    f"{by_label['dossier page, imported region'][0]:.1f} ms; the page's library reads "
                    f"{by_label['  its library reads (gather)'][0]:.1f} ms"),
        Figure(f"board, {regions:,} regions", board, "ms", [Target("value", 1000)],
               [Ref("report --json (library)", by_label["  report (library)"][0])],
               note=f"slowest {board_max:.0f} ms; regions list {by_label['regions list /regios'][0]:.0f} ms"),
    ]
