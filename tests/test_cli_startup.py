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
from support import with_bytecode_cache

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


def _env(tmp_path: Path, bytecode: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["ONDERWIJSFLOW_DB"] = f"sqlite:///{tmp_path / 'never-created.db'}"
    env["ONDERWIJSFLOW_LANG"] = "en"
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


def test_the_lazy_command_table_names_each_module_s_commands() -> None:
    """`COMMAND_MODULES` (what the group imports on demand) is what the modules define."""
    import importlib

    from onderwijsflow.cli import COMMAND_MODULES

    defined = {command.name: module
               for module in set(COMMAND_MODULES.values())
               for command in importlib.import_module(f"onderwijsflow.cli.{module}").COMMANDS}
    assert defined == COMMAND_MODULES


SHOW_PROBE = """
import sys

import onderwijsflow.cli

try:
    onderwijsflow.cli.main(["region", "show", "nowhere"])
except SystemExit:
    pass
print(sorted(name for name in sys.modules if name.startswith("onderwijsflow.cli.")),
      file=sys.stderr)
"""


def test_a_command_imports_only_its_own_module(tmp_path: Path, bytecode_cache: Path) -> None:
    probe = subprocess.run([sys.executable, "-c", SHOW_PROBE], cwd=tmp_path,
                           env=_env(tmp_path, bytecode_cache), capture_output=True, text=True,
                           timeout=60)
    loaded = probe.stderr.strip().splitlines()[-1]
    assert "onderwijsflow.cli.regions" in loaded
    for other in ("cases", "audit", "importing", "network", "report", "scheduling", "serve",
                  "users", "workflows"):
        assert f"onderwijsflow.cli.{other}'" not in loaded, loaded


def test_a_command_loaded_later_speaks_the_language_chosen_before() -> None:
    """A command imported after `--lang` was applied is translated on arrival."""
    from click.testing import CliRunner

    from onderwijsflow.cli import cli

    result = CliRunner().invoke(cli, ["--lang", "nl", "report", "--help"])
    english = CliRunner().invoke(cli, ["--lang", "en", "report", "--help"])
    assert result.exit_code == english.exit_code == 0
    assert result.output != english.output
    assert "Gebruik:" in result.output


def test_a_group_extended_by_another_module_has_all_its_subcommands() -> None:
    """`import` is defined in one module and the reference imports in another."""
    from click.testing import CliRunner

    from onderwijsflow.cli import cli

    result = CliRunner().invoke(cli, ["--lang", "en", "import", "--help"])
    assert result.exit_code == 0, result.output
    for sub in ("regions", "municipalities", "locations", "adjacency", "boundaries"):
        assert sub in result.output


def test_the_catalog_reads_the_english_source_of_help_shown_in_dutch() -> None:
    """Commands are translated as they load; the extractor still reads what the source says."""
    from onderwijsflow import i18n
    from onderwijsflow.cli import cli
    from onderwijsflow.cli.localize import localize
    from onderwijsflow.i18n.catalog import help_texts

    try:
        with i18n.using("nl"):
            localize(cli)
            partner = cli.get_command(None, "partner")  # type: ignore[arg-type]
            assert partner is not None
            texts = dict((where, text) for where, text in help_texts())
            shown = partner.commands["add"].params  # type: ignore[attr-defined]
            kind = next(p for p in shown if p.name == "kind")
            assert kind.help.startswith("schoolbestuur, lerarenopleiding") and " of " in kind.help
    finally:
        localize(cli)
    assert texts["cli/onderwijsflow/partner/add/--kind"] == (
        "schoolbestuur, lerarenopleiding, beroepsgroep, vakbond, gemeente or overig.")
