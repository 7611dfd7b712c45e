"""The house has one-way arrows: which package may import which, and the linters CI keeps.

The import graph is read from the source (every ``import`` statement, also those inside
functions, which are lazy but still arrows), so a cycle cannot hide behind a late import.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "onderwijsflow"

#: package -> the packages of onderwijsflow it must never import (directly or lazily).
FORBIDDEN: dict[str, set[str]] = {
    "definition": {"engine", "store", "service", "scheduler", "notify", "reporting", "cli", "demo",
                   "web"},
    "engine": {"store", "service", "scheduler", "notify", "reporting", "cli", "demo", "web"},
    "store": {"engine", "service", "scheduler", "notify", "reporting", "cli", "demo", "web"},
    "service": {"scheduler", "reporting", "cli", "demo", "web"},
    "notify": {"service", "scheduler", "reporting", "cli", "demo", "web"},
    "scheduler": {"reporting", "cli", "demo", "web"},
    "reporting": {"scheduler", "cli", "demo", "web"},
    # The lean read path must not pull in the ORM, pydantic or the workflow language.
    "lean": {"definition", "engine", "service", "scheduler", "notify", "reporting", "cli", "demo",
             "web"},
    # Region snapshots in plain SQL: below the store's ORM, shared with the lean `check`.
    "snapshot": {"store", "service", "scheduler", "notify", "reporting", "cli", "demo", "web"},
    # `check`'s lean path: the language and the engine, but neither the ORM nor the service.
    "readiness": {"store", "service", "scheduler", "notify", "reporting", "cli", "demo", "web"},
    # The web view reads through the library, beside the CLI, never through it.
    "web": {"cli"},
}


def _imports(path: Path) -> set[str]:
    """The onderwijsflow packages `path` imports (first component after ``onderwijsflow.``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name.split(".")[1] for name in names
            if name.startswith("onderwijsflow.") and name.count(".") >= 1}


def _arrows() -> dict[str, set[tuple[str, str]]]:
    """package -> {(importing file, imported package)}."""
    found: dict[str, set[tuple[str, str]]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or "migrations" in parts:
            continue
        for target in _imports(path):
            found.setdefault(parts[0], set()).add((str(path.relative_to(ROOT)), target))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downwards(package: str) -> None:
    wrong = sorted((file, target) for file, target in _arrows().get(package, set())
                   if target in FORBIDDEN[package])
    assert not wrong, f"{package} must not import these: {wrong}"


def test_the_forbidden_arrows_catch_a_back_import(tmp_path: Path) -> None:
    """The reader sees a lazy import inside a function (the way a cycle usually hides)."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from onderwijsflow.engine.checks import CheckRegistry\n")
    assert _imports(module) == {"engine"}


def _tool(name: str) -> list[str]:
    if shutil.which(name) is None and subprocess.run(
            [sys.executable, "-m", name, "--version"], capture_output=True).returncode != 0:
        pytest.skip(f"{name} is not installed (pip install .[test])")
    return [sys.executable, "-m", name]


def test_ruff_is_clean_including_private_access() -> None:
    """ruff with the SLF rule: no package reaches into another's underscored names."""
    done = subprocess.run([*_tool("ruff"), "check", "onderwijsflow", "tests", "benchmarks"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean() -> None:
    done = subprocess.run([*_tool("mypy"), "--strict", "onderwijsflow"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
