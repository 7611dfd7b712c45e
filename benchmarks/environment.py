"""Where the benchmark runs: the frozen workload, the header, the CLI script, PostgreSQL."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path

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



def header(args: argparse.Namespace) -> None:
    versions = []
    for dist in ("onderwijsflow", "transitions", "SQLAlchemy", "sqlmodel", "pydantic", "click", "psycopg",
                 "django", "django-fsm-2", "python-statemachine"):
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


def cli_script() -> str:
    """The installed console script itself (not a pyenv/asdf shim in front of it)."""
    beside = Path(sys.executable).with_name("onderwijsflow")
    if beside.exists():
        return str(beside)
    found = shutil.which("onderwijsflow")
    if found is None:
        raise SystemExit("the onderwijsflow command is not installed: run pip install -e .")
    return found


#: The PostgreSQL server DEVELOPERS.md describes; used when reachable and nothing else is given.
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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

