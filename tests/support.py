"""Helpers shared by the tests that start onderwijsflow processes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FROZEN_SITE = Path(__file__).resolve().parent / "data" / "frozen_site"


def frozen_child(env: dict[str, str]) -> dict[str, str]:
    """`env` for a child process that must see the frozen 2024 workflows and configuration
    (as the in-process tests do, see ``conftest.frozen_workflows``), speaking English, the
    source texts the tests of mechanics read."""
    env["ONDERWIJSFLOW_TEST_FROZEN"] = "1"
    env.setdefault("ONDERWIJSFLOW_LANG", "en")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FROZEN_SITE), env.get("PYTHONPATH")]))
    return env


def with_bytecode_cache(env: dict[str, str], cache: Path | None) -> dict[str, str]:
    """`env` with compiled modules kept under `cache` (see the `bytecode_cache` fixture)."""
    if cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


@contextmanager
def library(db: Path, **options: Any) -> Iterator[Any]:
    """The application in process, for setting up state and looking inside."""
    from onderwijsflow.service import Onderwijsflow

    options.setdefault("actor", "anne")
    options.setdefault("practice", True)  # a new database is a practice one (issue 9)
    app = Onderwijsflow.open(db=f"sqlite:///{db}", **options)
    try:
        yield app
    finally:
        app.close()


def make_ready(app: Any, slug: str) -> None:
    """A region whose regiovorming case may fire `dien_aanvraag_in`."""
    app.create_region(slug, name=slug.title(), sectors=["PO"])
    app.add_partner(slug, "Stichting Primair Oost", kind="schoolbestuur", sector="PO")
    app.add_partner(slug, "Pabo Oost", kind="lerarenopleiding")
    app.add_document(slug, "intentieverklaring", title="Intentieverklaring")
    app.add_document(slug, "arbeidsmarktanalyse", title="Arbeidsmarktanalyse 2024")


# --- the CLI in process, with a clock the test sets ------------------------------------------------

#: The settings a test's environment must not leak into the CLI.
ENV_VARS = ("DB", "CONFIG", "WORKFLOWS", "ACTOR", "NOW", "LANG")


@dataclass
class Run:
    """One finished ``onderwijsflow`` command."""

    args: Sequence[str]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Stdout, which must be one JSON document and nothing else."""
        import pytest

        try:
            return json.loads(self.out)
        except json.JSONDecodeError:
            pytest.fail(f"stdout is not one JSON document:\n{self}")

    def line(self) -> str:
        """The one line on stderr (in any language), and no traceback."""
        assert "Traceback" not in self.err, str(self)
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, str(self)
        return lines[0]

    def sentence(self) -> str:
        """The error: one line on stderr, ``error: ...``, and no traceback."""
        line = self.line()
        assert line.startswith("error: "), str(self)
        return line

    def __str__(self) -> str:
        return (f"onderwijsflow {' '.join(self.args)} -> exit {self.code}\n"
                f"--- stdout\n{self.out}--- stderr\n{self.err}")


def invoke(args: Sequence[str], env: dict[str, str | None]) -> Run:
    """``onderwijsflow ARGS`` in process with `env` (None removes a variable); its result."""
    from click.testing import CliRunner

    from onderwijsflow.cli import main

    with CliRunner().isolation(env=env) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
    return Run(args, code, out.getvalue().decode(), err.getvalue().decode())


class Flow:
    """``onderwijsflow ...`` in process against one database, as actor anne.

    `now` (``ONDERWIJSFLOW_NOW``, Europe/Amsterdam), `workflows` (the directory) and `lang`
    (``ONDERWIJSFLOW_LANG``; English, the source texts the tests of mechanics read) hold for
    every following command until the test changes them.
    """

    def __init__(self, url: str, config: Path, workflows: Path, now: str, lang: str = "en") -> None:
        self.url = url
        self.config = config
        self.workflows = workflows
        self.now = now
        self.lang = lang

    def __call__(self, *args: str) -> Run:
        env: dict[str, str | None] = {f"ONDERWIJSFLOW_{name}": None for name in ENV_VARS}
        env.update({"ONDERWIJSFLOW_DB": self.url, "ONDERWIJSFLOW_CONFIG": str(self.config),
                    "ONDERWIJSFLOW_WORKFLOWS": str(self.workflows), "ONDERWIJSFLOW_ACTOR": "anne",
                    "ONDERWIJSFLOW_NOW": self.now, "ONDERWIJSFLOW_LANG": self.lang,
                    "COLUMNS": "200"})
        if args[:1] == ("init",):  # the tests' databases are practice databases (issue 9)
            args = ("init", "--practice", *args[1:])
        return invoke(args, env)

    def ok(self, *args: str) -> Run:
        """Run a command that must succeed."""
        run = self(*args)
        assert run.code == 0 and "Traceback" not in run.err, str(run)
        return run

    def json(self, *args: str) -> Any:
        """Run a command with ``--json`` that must succeed; its document."""
        return self.ok(*args, "--json").json()

    def events(self, slug: str) -> list[dict[str, Any]]:
        """Every audit event of a region (``history --all --json``)."""
        return list(self.json("history", slug, "--all")["events"])


def copy_sqlite(source: Path, target: Path) -> Path:
    """A copy of the SQLite file `source` at `target`, with its -wal and -shm files if any."""
    import shutil

    for found in source.parent.glob(source.name + "*"):
        shutil.copyfile(found, target.with_name(target.name + found.name[len(source.name):]))
    return target


def free_port() -> int:
    """A local port nothing listens on right now (aiosmtpd's Controller(port=0) cannot report
    the one it got)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_database(where: Path) -> Path:
    """The demo's database, made in `where` by ``onderwijsflow demo`` in a child process
    (the shipped workflows and configuration, whatever this process has patched)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    subprocess.run([sys.executable, "-m", "onderwijsflow", "demo"], cwd=where, env=env,
                   check=True, capture_output=True)
    path = where / "onderwijsflow-demo.db"
    assert path.is_file()
    return path


def cli_imports(db: Path | str, *args: str,
                env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """(stdout, every module imported) of ``onderwijsflow --db DB ARGS`` in a fresh process,
    read from ``python -X importtime``; the command must succeed. `db`: a SQLite file, or a
    database URL."""
    import subprocess
    import sys

    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "onderwijsflow", "--db",
                           url, *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                         if line.startswith("import time:")}
