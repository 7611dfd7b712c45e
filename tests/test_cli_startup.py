"""A cheap CLI start: importing the CLI (and asking for help) loads no heavy library (style §6).

Each check runs in a fresh interpreter, because this test process has long imported
everything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ["sqlalchemy", "sqlmodel", "transitions", "pydantic", "rich", "yaml", "alembic",
         "apscheduler"]

PROBE = """
import json
import sys

HEAVY = json.loads(sys.argv[1])


def loaded():
    return sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))


import onderwijsflow.cli

after_import = loaded()
try:
    onderwijsflow.cli.main(["--help"])
except SystemExit as done:
    code = done.code
print(json.dumps({"import": after_import, "help": loaded(), "code": code}), file=sys.stderr)
"""


@pytest.fixture(scope="session")
def bytecode_cache(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the CLI processes keep their compiled modules.

    The environment may set ``PYTHONDONTWRITEBYTECODE``; every process would then compile the
    package again, a third of its start-up. The processes keep their bytecode under
    ``PYTHONPYCACHEPREFIX`` instead: pytest's cache directory (reused by later runs), or a
    temporary directory when the cache is switched off.
    """
    cache = getattr(pytestconfig, "cache", None)
    return cache.mkdir("onderwijsflow-bytecode") if cache is not None else tmp_path_factory.mktemp("bytecode")


def with_bytecode_cache(env: dict[str, str], cache: Path | None) -> dict[str, str]:
    """`env` with compiled modules kept under `cache` (see `bytecode_cache`)."""
    if cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _env(tmp_path: Path, bytecode: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["ONDERWIJSFLOW_DB"] = f"sqlite:///{tmp_path / 'never-created.db'}"
    return with_bytecode_cache(env, bytecode)


def test_importing_the_cli_and_asking_for_help_imports_nothing_heavy(tmp_path: Path,
                                                                    bytecode_cache: Path) -> None:
    probe = subprocess.run([sys.executable, "-c", PROBE, json.dumps(HEAVY)], cwd=tmp_path,
                           env=_env(tmp_path, bytecode_cache), capture_output=True, text=True, timeout=60)
    report = json.loads(probe.stderr.strip().splitlines()[-1])
    assert report["import"] == [], f"importing onderwijsflow.cli imported {report['import']}"
    assert report["help"] == [], f"--help imported {report['help']}"
    assert report["code"] == 0
    assert "Usage:" in probe.stdout
    assert list(tmp_path.iterdir()) == [], "--help touched no database"


@pytest.mark.parametrize("how", ["python -m onderwijsflow", "onderwijsflow"])
def test_help_exits_0(tmp_path: Path, how: str, bytecode_cache: Path) -> None:
    if how == "onderwijsflow":
        script = shutil.which("onderwijsflow")
        if script is None:
            pytest.skip("the onderwijsflow console script is not installed (pip install -e .)")
        command = [script]
    else:
        command = [sys.executable, "-m", "onderwijsflow"]
    result = subprocess.run([*command, "--help"], cwd=tmp_path, env=_env(tmp_path, bytecode_cache),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("Usage: onderwijsflow")
    for command_name in ("advance", "check", "history", "region", "audit"):
        assert command_name in result.stdout
