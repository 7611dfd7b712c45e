"""Shell completion through click's completion API: slugs, triggers, workflows and kinds."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.shell_completion import ShellComplete

from onderwijsflow.cli import cli
from onderwijsflow.service import Onderwijsflow

DATA = Path(__file__).resolve().parent / "data" / "taal11" / "v1"


def complete(args: list[str], incomplete: str) -> list[str]:
    completer = ShellComplete(cli, {}, "onderwijsflow", "_ONDERWIJSFLOW_COMPLETE")
    return [item.value for item in completer.get_completions(args, incomplete)]


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    config = tmp_path / "config.yaml"
    config.write_text("start_with_region: []\n", encoding="utf-8")
    app = Onderwijsflow.open(db=url, config=config, workflows=DATA, actor="anne")
    app.init()
    for slug in ("noord", "noordwest", "zuid"):
        app.create_region(slug, name=slug.title())
    app.close()
    return url


def test_region_slugs_come_from_the_database(db: str) -> None:
    base = ["--db", db, "--workflows", str(DATA)]
    assert complete([*base, "advance"], "noo") == ["noord", "noordwest"]
    assert complete([*base, "region", "show"], "") == ["noord", "noordwest", "zuid"]


def test_triggers_workflows_and_kinds(db: str) -> None:
    base = ["--db", db, "--workflows", str(DATA)]
    assert complete([*base, "advance", "noord"], "wij") == ["wijs_af"]
    assert complete([*base, "start", "noord"], "tr") == ["traject"]
    assert complete([*base, "record", "add", "noord"], "") == ["actie", "peilgesprek"]
    assert complete([*base, "document", "add", "noord"], "plan") == ["plan_van_aanpak"]
    assert complete([*base, "role", "assign", "noord"], "pen") == ["penvoerder"]


def test_a_database_that_cannot_be_read_completes_nothing(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'nope' / 'x.db'}"
    assert complete(["--db", missing, "advance"], "") == []
