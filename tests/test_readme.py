"""The README cannot rot: its set-up commands are the ones CI runs, and its examples run.

Blocks are marked in the README with an HTML comment on the line before the fence:

- ``<!-- quickstart -->``: a shell block; each line is one command, run in order in one
  temporary directory with ``ONDERWIJSFLOW_DB`` pointing at a SQLite file there. A line ends
  in ``# exits N: why`` when it is expected to fail with exit code N; otherwise it must exit 0.
  ``export K=V ...`` lines set the environment of the following lines and blocks.
- ``<!-- file: NAME -->``: the block is written to NAME in that directory (a configuration
  or a workflow the following commands use).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# The README shows the shipped workflows, and a reader follows it on a fresh database: plain
# `init` makes a production one, as for them.
pytestmark = [pytest.mark.shipped_workflows, pytest.mark.production]

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
MARKER = re.compile(r"<!--\s*(quickstart|file:\s*(\S+))\s*-->\s*\n```[^\n]*\n(.*?)^```", re.S | re.M)
EXPECT = re.compile(r"#\s*exits\s+(\d+)\b")


@dataclass(frozen=True)
class Step:
    """One thing the README asks for: write a file, set variables, or run a command."""

    kind: str  # "file", "export" or "run"
    text: str
    expect: int = 0
    name: str = ""


def readme_steps(text: str) -> list[Step]:
    """The marked blocks of `text`, in order, as steps."""
    steps: list[Step] = []
    for match in MARKER.finditer(text):
        marker, name, body = match.groups()
        if marker.startswith("file:"):
            steps.append(Step("file", body, name=name))
            continue
        for line in _command_lines(body):
            if line.startswith("export "):
                steps.append(Step("export", line.removeprefix("export ")))
            else:
                found = EXPECT.search(line)
                steps.append(Step("run", line, int(found.group(1)) if found else 0))
    return steps


def _command_lines(body: str) -> list[str]:
    lines, pending = [], ""
    for raw in body.splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _shims(directory: Path) -> Path:
    """`onderwijsflow` and `python` on PATH, both the interpreter running these tests."""
    directory.mkdir()
    for name, args in (("onderwijsflow", "-m onderwijsflow"), ("python", "")):
        shim = directory / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {args} "$@"\n')
        shim.chmod(0o755)
    return directory


@pytest.fixture
def readme_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["PATH"] = f"{_shims(tmp_path / 'bin')}{os.pathsep}{env.get('PATH', '')}"
    env["ONDERWIJSFLOW_DB"] = f"sqlite:///{tmp_path / 'readme.db'}"
    env["COLUMNS"] = "160"
    return env


def test_readme_opens_with_the_two_set_up_commands() -> None:
    blocks = [b.strip() for b in FENCE.findall(README.read_text(encoding="utf-8"))]
    assert blocks[:2] == ['pip install . && onderwijsflow demo',
                          'pip install ".[test]" && python -m pytest']


def test_ci_runs_the_readme_test_command() -> None:
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r'pip install (--quiet )?"\.\[test\]" && python3? -m pytest', ci)


def test_quickstart_has_a_refusal_and_its_fix() -> None:
    steps = readme_steps(README.read_text(encoding="utf-8"))
    runs = [s for s in steps if s.kind == "run"]
    refused = next(i for i, s in enumerate(runs) if s.expect == 3 and "ken_definitieve_status_toe" in s.text)
    assert any("partner add" in s.text and "vakbond" in s.text for s in runs[refused:])
    assert any(s.expect == 0 and "ken_definitieve_status_toe" in s.text and "--dry-run" not in s.text
               for s in runs[refused:])


@pytest.mark.skipif(sys.platform == "win32", reason="the README's commands are POSIX shell")
def test_readme_commands_run_with_the_exit_codes_it_states(tmp_path: Path,
                                                           readme_env: dict[str, str]) -> None:
    steps = readme_steps(README.read_text(encoding="utf-8"))
    assert sum(1 for s in steps if s.kind == "run") >= 20
    env = dict(readme_env)
    for step in steps:
        if step.kind == "file":
            (tmp_path / step.name).write_text(step.text, encoding="utf-8")
        elif step.kind == "export":
            env.update(item.split("=", 1) for item in shlex.split(step.text))
        else:
            _run(step, tmp_path, env)


def _run(step: Step, cwd: Path, env: dict[str, str]) -> None:
    code, out, err = _in_process(step, cwd, env) if _plain_cli(step.text) else _in_shell(step, cwd, env)
    assert code == step.expect, (
        f"README command exited {code}, README says {step.expect}:\n$ {step.text}\n{out}\n{err}"
    )
    assert "Traceback" not in err, step.text
    if step.expect == 3 and "ken_definitieve_status_toe" in step.text:
        assert "beroepsgroep_betrokken" in out + err  # the refusal names it


def _plain_cli(text: str) -> bool:
    """An ``onderwijsflow ...`` line without shell syntax: run it in process (fast)."""
    return text.startswith("onderwijsflow ") and not any(c in text for c in "|&;<>$`")


def _in_shell(step: Step, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    done = subprocess.run(step.text, shell=True, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    return done.returncode, done.stdout, done.stderr


def _in_process(step: Step, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """`main` with the line's arguments, the README's environment and working directory.

    The subprocess route is covered by the demo and end-to-end tests; running the many
    README lines in process keeps this test fast.
    """
    from click.testing import CliRunner

    from onderwijsflow.cli import main

    args = shlex.split(step.text, comments=True)[1:]
    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ONDERWIJSFLOW_")}
    overrides.update({k: v for k, v in env.items() if k.startswith("ONDERWIJSFLOW_")})
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with CliRunner().isolation(env=overrides) as (out, err, _):
            try:
                main(args)
                code = 0
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 1
        return code, out.getvalue().decode(), err.getvalue().decode()
    finally:
        os.chdir(previous)
