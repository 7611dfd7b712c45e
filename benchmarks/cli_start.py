"""§7 CLI cold start: ``--help`` ≤ 3×, ``region show`` ≤ 4× and ``check`` ≤ 8× ``python -c pass``.

The wall time of a fresh process, median of several runs that take turns after a warm-up
each, on a SQLite database with one region populated through the library. The warm-up
leaves what any run leaves an installation: compiled bytecode and the lean path's cache of
parsed workflow files (``~/.cache/onderwijsflow``). The floor of all
three is ``python -c pass``; ``python -c "import sqlalchemy, sqlmodel"`` (the least a command
that loads the ORM costs) stands beside ``region show`` and ``check`` as a second floor.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.environment import PgSchema, cli_script, pg_target
from benchmarks.seeding import populate
from benchmarks.table import Figure, Ref, Target
from benchmarks.timing import Timing, cold_starts, import_breakdown

TITLE = "1. CLI cold start (wall time of a fresh process)"


def run(args: argparse.Namespace, work: Path) -> list[Figure]:
    from onderwijsflow.service import Onderwijsflow

    db_url = f"sqlite:///{work / 'cli.db'}"
    app = Onderwijsflow.open(db=db_url, actor="bench")
    app.init()
    populate(app, "twente")
    app.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    # As installed: pip compiles the package's bytecode, so the warm-up run writes it here too
    # (a machine with PYTHONDONTWRITEBYTECODE set would otherwise compile every module each run).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    script = cli_script()
    # The region was populated on the frozen workflows; `init` as the CLI runs it stores the
    # shipped versions too, as any installation has them, so that the read commands find the
    # workflow files they read already validated (else the lean path falls back).
    subprocess.run([script, "--db", db_url, "init"], cwd=work, env=env, check=True,
                   capture_output=True)
    py = sys.executable
    runs = args.cli_runs
    show = [script, "--db", db_url, "region", "show", "twente"]
    check = [script, "--db", db_url, "check", "twente"]
    timed = cold_starts({
        "help": [script, "--help"],
        "pass": [py, "-c", "pass"],
        "show": show,
        "check": check,
        "imports": [py, "-c", "import sqlalchemy, sqlmodel"],
    }, runs, work, env)
    pass_, imports_ = timed["pass"], timed["imports"]
    if args.profile:
        import_breakdown([script, "--help"], work, env)
        import_breakdown(show, work, env)
        import_breakdown(check, work, env)

    def note(t: Timing) -> str:
        return (f"minimum {t.least:.0f} ms (floor {pass_.least:.0f} ms); CPU time {t.cpu_median:.0f} ms "
                f"(floor {pass_.cpu_median:.0f} ms)")

    floor = Ref("python -c pass", pass_.median)
    orm = Ref("python -c 'import sqlalchemy, sqlmodel'", imports_.median)
    db_note = ("; a SQLite DB with one region populated through the library (7 partners, 2 roles, "
               "4 documents, 4 facts, its case in aanvraag_ingediend)")
    return [*_cli_figures(timed, runs, note, floor, orm, db_note, script),
            *_postgresql(args, work, env, script, runs, floor)]


def _postgresql(args: argparse.Namespace, work: Path, env: dict[str, str], script: str,
                runs: int, floor: Ref) -> list[Figure]:
    """`region show` on PostgreSQL: the lean path (psycopg) beside the service's (info)."""
    base, why = pg_target(args)
    if base is None:
        print(f"  PostgreSQL skipped: {why}")
        return []
    from onderwijsflow.resources import shipped
    from onderwijsflow.service import Onderwijsflow

    with PgSchema(base) as url:
        app = Onderwijsflow.open(db=url, actor="bench")
        app.init()
        populate(app, "twente")
        app.close()
        subprocess.run([script, "--db", url, "init"], cwd=work, env=env, check=True,
                       capture_output=True)
        show = [script, "--db", url, "region", "show", "twente"]
        config = str(shipped("config") / "onderwijsflow.yaml")  # --config: the service's path
        timed = cold_starts({"lean": show, "full": [script, "--config", config, *show[1:]]},
                            runs, work, env)
    return [Figure("onderwijsflow region show SLUG on PostgreSQL", timed["lean"].median, "ms",
                   [], [floor, Ref("the same through the service (--config)", timed["full"].median)],
                   info="(no §7 target)",
                   note="the lean path through psycopg, median of the same runs; the same region "
                        "populated through the library in a schema of its own")]


def _cli_figures(timed: dict[str, Timing], runs: int, note: Callable[[Timing], str], floor: Ref,
                 orm: Ref, db_note: str, script: str) -> list[Figure]:
    return [
        Figure("onderwijsflow --help", timed["help"].median, "ms", [Target("floor", 3)], [floor],
               note=f"median of {runs} runs (commands take turns) after a warm-up (bytecode "
                    f"and the parsed-YAML cache warm); "
                    f"{note(timed['help'])}; script {script}"),
        Figure("onderwijsflow region show SLUG", timed["show"].median, "ms", [Target("floor", 4)],
               [floor, orm], note=note(timed["show"]) + db_note),
        Figure("onderwijsflow check SLUG", timed["check"].median, "ms", [Target("floor", 8)],
               [floor, orm], note=note(timed["check"]) + "; the same database"),
    ]
