"""The CLI in process, through click's test runner: the same flows as the end-to-end tests, fast.

Commands run through :func:`onderwijsflow.cli.main` (the real entry point, which maps errors
to exit codes) inside ``CliRunner.isolation``, on a real SQLite file in the test's temporary
directory; the help texts are checked by walking the :data:`onderwijsflow.cli.cli` group.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from support import copy_sqlite, library, make_ready

from onderwijsflow import __version__
from onderwijsflow.cli import cli as cli_group
from onderwijsflow.cli import main

REPO = Path(__file__).resolve().parents[1]
APPLICATION_REQUIREMENTS = [
    "schoolbestuur_betrokken",
    "lerarenopleiding_betrokken",
    "samenwerking_vastgelegd",
    "arbeidsmarktanalyse_aanwezig",
]
ENV_VARS = ("DB", "CONFIG", "WORKFLOWS", "ACTOR", "NOW")


@dataclass
class Run:
    """One finished command."""

    args: Sequence[str]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Stdout, which must be exactly one JSON document."""
        return one_json_document(self.out)

    def __str__(self) -> str:
        return (f"onderwijsflow {' '.join(self.args)} -> exit {self.code}\n"
                f"--- stdout\n{self.out}--- stderr\n{self.err}")


def one_json_document(text: str) -> Any:
    """Parse `text`, failing unless it is one JSON document and nothing else."""
    stripped = text.strip()
    assert stripped.startswith(("{", "[")), f"not a JSON document:\n{text}"
    doc, end = json.JSONDecoder().raw_decode(stripped)
    assert stripped[end:].strip() == "", f"more than one JSON document:\n{text}"
    return doc


class InProcess:
    """``onderwijsflow ...`` as `main` runs it, with the environment a test chooses."""

    def __init__(self, db: Path, *, actor: str = "anne", config: Path | None = None) -> None:
        self.db = db
        self.env: dict[str, str | None] = {f"ONDERWIJSFLOW_{name}": None for name in ENV_VARS}
        self.env["ONDERWIJSFLOW_DB"] = f"sqlite:///{db}"
        self.env["ONDERWIJSFLOW_ACTOR"] = actor
        if config is not None:
            self.env["ONDERWIJSFLOW_CONFIG"] = str(config)

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Run:
        runner = CliRunner()
        with runner.isolation(env={**self.env, **(env or {})}) as (out, err, _):
            try:
                main(list(args))
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 1
            else:  # pragma: no cover - main always exits
                code = 0
        return Run(args, code, out.getvalue().decode(), err.getvalue().decode())


def assert_one_error_line(run: Run, *fragments: str) -> None:
    """One sentence on stderr starting with ``error:``, no traceback."""
    assert "Traceback" not in run.err, str(run)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), str(run)
    for fragment in fragments:
        assert fragment in lines[0], str(run)




@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with a ready region `twente` and an empty region `leeg`."""
    path = tmp_path_factory.mktemp("template") / "onderwijsflow.db"
    with library(path) as app:
        app.init()
        make_ready(app, "twente")
        app.create_region("leeg", name="Leeg")
    return path


@pytest.fixture
def db_file(tmp_path: Path, template_db: Path) -> Path:
    """A fresh copy of the template database."""
    return copy_sqlite(template_db, tmp_path / "x.db")


@pytest.fixture
def run(db_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InProcess:
    """The CLI on the test's copy of the template, as anne, single-user, from a scratch directory."""
    monkeypatch.chdir(tmp_path)
    return InProcess(db_file)


# --- help for every command ---------------------------------------------------------------------


def _commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


ALL_COMMANDS = list(_commands(cli_group))


def test_the_command_tree_has_the_commands_of_the_design() -> None:
    paths = {" ".join(path) for path, _ in ALL_COMMANDS}
    for expected in ("init", "workflow list", "workflow show", "workflow validate", "workflow graph",
                     "region create", "region list", "region show", "partner add", "partner remove",
                     "role assign", "role unassign", "document add", "fact set", "start", "advance",
                     "check", "history", "audit verify"):
        assert expected in paths


@pytest.mark.parametrize("path", [p for p, _ in ALL_COMMANDS], ids=lambda p: " ".join(p) or "onderwijsflow")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    command = dict(ALL_COMMANDS)[path]
    result = CliRunner().invoke(cli_group, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert command.get_short_help_str().strip(), f"'{' '.join(path)}' has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and param.name not in ("help", "version"):
            assert param.help, f"option {param.opts[0]} of '{' '.join(path)}' has no help text"
    if isinstance(command, click.Group):
        for name in command.commands:
            assert name in result.output, f"'{name}' is not listed in the help of its group"


def test_help_and_version_through_main(run: InProcess) -> None:
    helped = run("--help")
    assert helped.code == 0 and "Exit codes" in helped.out
    version = run("--version")
    assert version.code == 0 and __version__ in version.out


# --- the main flow, in process ------------------------------------------------------------------


def test_refused_then_fixed_then_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = InProcess(tmp_path / "fresh.db")
    assert run("init").code == 0
    assert run("region", "create", "twente", "--name", "Twente").code == 0

    refused = run("advance", "twente", "dien_aanvraag_in", "--json")
    assert refused.code == 3
    assert_one_error_line(refused, "4 requirement(s) unmet")
    assert [u["requirement"] for u in refused.json()["unmet"]] == APPLICATION_REQUIREMENTS

    for args in (["partner", "add", "twente", "Stichting PO", "--kind", "schoolbestuur"],
                 ["partner", "add", "twente", "Pabo", "--kind", "lerarenopleiding"],
                 ["document", "add", "twente", "samenwerkingsovereenkomst", "--title", "SOK"],
                 ["document", "add", "twente", "arbeidsmarktanalyse", "--title", "AMA",
                  "--date", "2024-03-31"]):
        done = run(*args)
        assert done.code == 0, str(done)

    moved = run("advance", "twente", "dien_aanvraag_in")
    assert moved.code == 0, str(moved)
    assert "twente: moved from ‘Verkenning’ to ‘Aanvraag ingediend’." in moved.out
    shown = run("region", "show", "twente", "--json").json()
    assert shown["cases"]["regiovorming"]["state"] == "aanvraag_ingediend"
    assert {d["kind"] for d in shown["documents"]} == {"samenwerkingsovereenkomst",
                                                       "arbeidsmarktanalyse"}
    assert list(tmp_path.glob("onderwijsflow.db*")) == [], "the default database was not used"


def test_a_second_case_needs_workflow_to_be_named(run: InProcess) -> None:
    started = run("start", "twente", "subsidie", "--round", "2025", "--json")
    assert started.code == 0, str(started)
    assert started.json()["params"]["deadline_aanvraag"] == "2024-10-15"
    again = run("start", "twente", "subsidie", "--round", "2025")
    assert again.code == 3
    assert_one_error_line(again, "already")

    ambiguous = run("check", "twente")
    assert ambiguous.code == 2
    assert_one_error_line(ambiguous, "--workflow")
    named = run("check", "twente", "--workflow", "subsidie", "--json")
    assert named.code == 0 and named.json()["state"] == "voorbereiding"
    # A trigger only one of the cases has picks that case.
    moved = run("advance", "twente", "dien_aanvraag_in", "--json")
    assert moved.code == 0 and moved.json()["workflow"] == "regiovorming"
    listed = run("region", "list", "--state", "aanvraag_ingediend", "--json").json()
    assert [r["slug"] for r in listed["regions"]] == ["twente"]


def test_check_target_lists_everything_missing_on_the_way(run: InProcess) -> None:
    result = run("check", "leeg", "--target", "definitieve_status", "--json")
    assert result.code == 0, str(result)
    doc = result.json()
    assert [s["trigger"] for s in doc["path"]] == ["dien_aanvraag_in", "verleen_definitieve_status"]
    missing = {u["requirement"] for s in doc["path"] for u in s["unmet"]}
    assert {"beroepsgroep_betrokken", "opleidingsaantal_voldoende"} <= missing
    human = run("check", "leeg", "--target", "definitieve_status")
    assert human.code == 0 and "dien_aanvraag_in -> verleen_definitieve_status" in human.out
    assert run("check", "leeg", "--target", "bestaat_niet").code == 4


def test_facts_are_typed_and_audited_with_old_and_new_value(run: InProcess) -> None:
    assert run("fact", "set", "twente", "leerlingen_po", "15000").code == 0
    changed = run("fact", "set", "twente", "leerlingen_po", "16500", "--json")
    assert changed.code == 0
    assert (changed.json()["old"], changed.json()["new"]) == (15000, 16500)
    bad = run("fact", "set", "twente", "leerlingen_po", "veel")
    assert bad.code == 2
    assert_one_error_line(bad, "leerlingen_po")
    assert run("fact", "set", "twente", "onbekend", "1").code == 4
    assert run("region", "show", "twente", "--json").json()["facts"] == {"leerlingen_po": 16500}
    events = run("history", "twente", "--all", "--json").json()["events"]
    fact_events = [e["data"] for e in events if e["kind"] == "fact_set"]
    assert fact_events == [{"name": "leerlingen_po", "old": None, "new": 15000},
                           {"name": "leerlingen_po", "old": 15000, "new": 16500}]


# --- --json: one document on stdout ---------------------------------------------------------------

JSON_COMMANDS = [
    ["init", "--json"],
    ["region", "create", "nieuw", "--name", "Nieuw", "--province", "Utrecht", "--json"],
    ["region", "list", "--json"],
    ["region", "show", "twente", "--json"],
    ["partner", "add", "twente", "AOb", "--kind", "vakbond", "--json"],
    ["partner", "remove", "twente", "Pabo Oost", "--json"],
    ["role", "assign", "twente", "programmamanager", "Els", "--email", "els@example.org", "--json"],
    ["document", "add", "twente", "governance", "--title", "Governance", "--date", "2024-06-01",
     "--json"],
    ["fact", "set", "twente", "studenten_mbo", "9500", "--json"],
    ["start", "twente", "subsidie", "--round", "2025", "--json"],
    ["advance", "twente", "dien_aanvraag_in", "--json"],
    ["advance", "twente", "dien_aanvraag_in", "--dry-run", "--json"],
    ["advance", "leeg", "dien_aanvraag_in", "--json"],
    ["advance", "leeg", "dien_aanvraag_in", "--dry-run", "--json"],
    ["check", "twente", "--json"],
    ["check", "twente", "--target", "gesubsidieerd", "--json"],
    ["history", "twente", "--json"],
    ["history", "twente", "--all", "--json"],
    ["history", "twente", "--as-of", "2000-01-01", "--json"],
    ["audit", "verify", "--json"],
    ["workflow", "list", "--json"],
    ["workflow", "show", "subsidie", "--json"],
    ["workflow", "validate", str(REPO / "workflows" / "regiovorming.yaml"), "--json"],
]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_json_output_is_exactly_one_document(run: InProcess, args: list[str]) -> None:
    result = run(*args)
    assert result.code in (0, 3), str(result)  # `leeg` is refused: its decision is still printed
    assert "Traceback" not in result.err
    doc = result.json()
    assert isinstance(doc, dict) and doc


# --- exit codes --------------------------------------------------------------------------------------

EXIT_CODES = [
    # (args, extra environment, exit code, fragment of the stderr line or None for click's usage text)
    (["advance", "nergens", "dien_aanvraag_in"], None, 4, "nergens"),
    (["region", "show", "nergens"], None, 4, "nergens"),
    (["partner", "remove", "twente", "Niemand"], None, 4, "Niemand"),
    (["audit", "verify", "nergens"], None, 4, "nergens"),
    (["advance", "twente", "vlieg_weg"], None, 4, "vlieg_weg"),
    (["advance", "twente", "dien_aanvraag_in", "--workflow", "zwemles"], None, 4, "zwemles"),
    (["start", "twente", "subsidie", "--round", "1999"], None, 4, "1999"),
    (["workflow", "show", "zwemles"], None, 4, "zwemles"),
    (["document", "add", "twente", "arbeidsmarktanalyse", "--title", "A", "--date", "15/10/2024"],
     None, 2, "15/10/2024"),
    (["document", "add", "twente", "geheim_memo", "--title", "A"], None, 2, "geheim_memo"),
    (["history", "twente", "--as-of", "gisteren"], None, 2, "gisteren"),
    (["region", "create", "Twente Oost", "--name", "X"], None, 2, "slug"),
    (["region", "create", "twente", "--name", "X", "--sector", "XX"], None, 2, None),
    (["partner", "add", "twente", "X", "--kind", "club"], None, 2, "club"),
    (["start", "twente", "subsidie", "--param", "zonder-is"], None, 2, "K=V"),
    (["advance", "twente"], None, 2, None),
    (["advance", "twente", "dien_aanvraag_in", "--override"], None, 2, "--reason"),
    (["advance", "twente", "dien_aanvraag_in", "--bogus"], None, 2, None),
    (["region", "create", "twente", "--name", "Dubbel"], None, 3, "already exists"),
    (["partner", "add", "twente", "Pabo Oost", "--kind", "lerarenopleiding"], None, 3, "already"),
    (["advance", "twente", "verleen_definitieve_status"], None, 3, "not possible"),
    (["advance", "leeg", "dien_aanvraag_in"], None, 3, "unmet"),
    (["--now", "2024-10-01T09:00", "region", "list"], None, 1, "simulated_clock"),
    (["region", "list"], {"ONDERWIJSFLOW_NOW": "2024-10-01"}, 1, "simulated_clock"),
    (["region", "list"], {"ONDERWIJSFLOW_CONFIG": "/nonexistent/config.yaml"}, 1, "config.yaml"),
    (["region", "list"], {"ONDERWIJSFLOW_DB": "mysql://x@y/z"}, 1, "not supported"),
]


@pytest.mark.parametrize(("args", "env", "code", "fragment"), EXIT_CODES,
                         ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_exit_codes(run: InProcess, args: list[str], env: dict[str, str] | None, code: int,
                    fragment: str | None) -> None:
    result = run(*args, env=env)
    assert result.code == code, str(result)
    if fragment is None:
        assert "Usage:" in result.err and "Traceback" not in result.err, str(result)
    else:
        assert_one_error_line(result, fragment)


def test_final_state_refuses_everything(run: InProcess) -> None:
    assert run("advance", "leeg", "trek_in", "--reason", "stopt").code == 0
    for trigger in ("trek_in", "dien_aanvraag_in"):
        result = run("advance", "leeg", trigger, "--json")
        assert result.code == 3
        assert result.json()["code"] == "final"
        assert_one_error_line(result, "final")
    assert run("check", "leeg", "--json").json()["triggers"] == []


def test_conflict_exits_5_and_writes_nothing(run: InProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    import onderwijsflow.service.cases as cases

    decide = cases._decision_json
    before = run("history", "twente", "--all", "--json").json()["events"]

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        with library(run.db, actor="bert") as other:
            other.assign_role("twente", "projectleider", "Bert")
        return decide(*args, **kwargs)

    monkeypatch.setattr(cases, "_decision_json", meanwhile)
    result = run("advance", "twente", "dien_aanvraag_in", "--json")
    monkeypatch.setattr(cases, "_decision_json", decide)

    assert result.code == 5, str(result)
    assert_one_error_line(result, "nothing was written")
    after = run("history", "twente", "--all", "--json").json()["events"]
    assert [e["kind"] for e in after[len(before):]] == ["role_assigned"]
    assert run("audit", "verify").code == 0


# --- dry runs, overrides and actors -----------------------------------------------------------------


def test_dry_run_says_so_and_exits_3_when_refused(run: InProcess) -> None:
    allowed = run("advance", "twente", "dien_aanvraag_in", "--dry-run")
    assert allowed.code == 0, str(allowed)
    assert allowed.out.startswith("[dry run] twente: would move from ‘Verkenning’ to ‘Aanvraag "
                                  "ingediend’; nothing was written."), allowed.out
    refused = run("advance", "leeg", "dien_aanvraag_in", "--dry-run")
    assert refused.code == 3, str(refused)
    assert refused.out.startswith("[dry run] leeg: ‘Aanvraag indienen’ would be refused; these "
                                  "requirements are unmet:"), refused.out
    unmet = run("advance", "leeg", "dien_aanvraag_in", "--dry-run", "--json").json()["unmet"]
    assert [u["requirement"] for u in unmet] == APPLICATION_REQUIREMENTS
    for u in unmet:  # each by its label (then what the check found)
        assert f"  - {u['label']}: " in refused.out
    shown = run("region", "show", "twente", "--json").json()
    assert shown["cases"]["regiovorming"]["state"] == "verkenning"


def test_override_in_single_user_mode(run: InProcess) -> None:
    moved = run("advance", "leeg", "dien_aanvraag_in", "--override", "--reason", "besluit DG",
                "--json")
    assert moved.code == 0, str(moved)
    assert moved.json()["overridden"] == APPLICATION_REQUIREMENTS
    human = run("history", "leeg")
    assert human.code == 0 and "besluit DG" in human.out
    event = run("history", "leeg", "--json").json()["events"][-1]
    assert event["data"]["overridden"] == APPLICATION_REQUIREMENTS


def test_actor_roles(run: InProcess, tmp_path: Path) -> None:
    config = tmp_path / "actors.yaml"
    config.write_text("actors:\n  anne: {roles: [coordinator]}\n"
                      "  olaf: {roles: [coordinator, override]}\n  piet: {roles: [auditor]}\n",
                      encoding="utf-8")
    env = {"ONDERWIJSFLOW_CONFIG": str(config)}
    # Reading is open to every listed actor; writing is not.
    assert run("--actor", "piet", "region", "show", "twente", env=env).code == 0
    piet = run("--actor", "piet", "advance", "twente", "dien_aanvraag_in", env=env)
    assert piet.code == 3
    assert_one_error_line(piet, "piet")
    olaf_without_reason = run("--actor", "olaf", "advance", "leeg", "dien_aanvraag_in",
                              "--override", env=env)
    assert olaf_without_reason.code == 2
    anne = run("--actor", "anne", "advance", "leeg", "dien_aanvraag_in", "--override",
               "--reason", "x", env=env)
    assert anne.code == 3
    assert_one_error_line(anne, "override")
    olaf = run("--actor", "olaf", "advance", "leeg", "dien_aanvraag_in", "--override",
               "--reason", "besluit DG", env=env)
    assert olaf.code == 0, str(olaf)
    check = run("--actor", "piet", "check", "leeg", "--json", env=env).json()
    assert {t["permitted"] for t in check["triggers"]} == {False}, "piet may fire nothing"


def test_bad_configuration_is_one_sentence(run: InProcess, tmp_path: Path) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text("simulated_clok: true\n", encoding="utf-8")
    result = run("region", "list", env={"ONDERWIJSFLOW_CONFIG": str(config)})
    assert result.code == 1
    assert_one_error_line(result, "simulated_clok", "unknown key")
    config.write_text("actors:\n  anne: {roles: [koning]}\n", encoding="utf-8")
    result = run("region", "list", env={"ONDERWIJSFLOW_CONFIG": str(config)})
    assert result.code == 1
    assert_one_error_line(result, "koning")


# --- the audit log -------------------------------------------------------------------------------------


def test_audit_verify_names_the_broken_event(run: InProcess) -> None:
    intact = run("audit", "verify")
    assert intact.code == 0 and "intact" in intact.out
    with closing(sqlite3.connect(run.db)) as raw, raw:
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                   "AND tbl_name = 'events'").fetchall():
            raw.execute(f'DROP TRIGGER "{name}"')
        raw.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2 AND region_id = "
                    "(SELECT id FROM regions WHERE slug = 'leeg')")
    broken = run("audit", "verify")
    assert broken.code == 1
    assert_one_error_line(broken, "leeg", "event 2")
    assert run("audit", "verify", "twente").code == 0


# --- workflow files ------------------------------------------------------------------------------------


def test_workflow_validate_names_file_and_line(run: InProcess, tmp_path: Path) -> None:
    files = sorted(str(p) for p in (REPO / "workflows").glob("*.yaml"))
    good = run("workflow", "validate", *files)
    assert good.code == 0, str(good)
    assert good.out.count("valid") == len(files) >= 4
    bad = tmp_path / "fout.yaml"
    text = (REPO / "workflows" / "subsidie.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("initial: voorbereiding", "initial: bestaat_niet"), encoding="utf-8")
    line = text.splitlines().index("initial: voorbereiding") + 1
    result = run("workflow", "validate", str(bad))
    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.err.startswith(f"error: fout.yaml:{line}:"), result.err
    assert "bestaat_niet" in result.err.splitlines()[0]


def test_graph(run: InProcess) -> None:
    mermaid = run("workflow", "graph", "regiovorming")
    assert mermaid.code == 0 and "verkenning" in mermaid.out
    dot = run("workflow", "graph", "regiovorming", "--format", "dot")
    assert dot.code == 0 and "digraph" in dot.out


# --- user data is printed as given, never as markup -----------------------------------------------


def test_names_with_square_brackets_are_printed_as_given(run: InProcess) -> None:
    result = run("partner", "add", "twente", "Stichting [/] Oost", "--kind", "overig")
    assert result.code == 0, str(result)
    assert "Stichting [/] Oost" in result.out
    added = run("partner", "add", "twente", "[bold]Vet[/bold]", "--kind", "overig")
    assert added.code == 0 and "[bold]Vet[/bold]" in added.out
    shown = run("region", "show", "twente")
    assert shown.code == 0, str(shown)
    assert "Stichting [/] Oost" in shown.out and "[bold]Vet[/bold]" in shown.out
