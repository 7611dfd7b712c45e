"""Commands on definitions and the installation: init, workflow, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from onderwijsflow.cli import Settings, completion, pass_settings
from onderwijsflow.cli.output import emit_json, esc, json_option, say, table


@click.command()
@json_option
@pass_settings
def init(settings: Settings, as_json: bool) -> None:
    """Create or upgrade the database schema and store the workflows in use."""
    result = settings.app.init()
    if as_json:
        emit_json(result)
        return
    say(f"database at revision {result['revision']}"
        + (f" (was {result['from_revision']})" if result["from_revision"] not in
           (None, result["revision"]) else ""))
    for name in result["workflows_stored"]:
        say(f"stored workflow {name}")


@click.group()
def workflow() -> None:
    """Inspect and check workflow definitions."""


@workflow.command("list")
@json_option
@pass_settings
def workflow_list(settings: Settings, as_json: bool) -> None:
    """The workflows in the workflow directory."""
    files = settings.app.catalog.files
    rows = [{"workflow": w.name, "version": w.version, "title": w.definition.title,
             "states": len(w.definition.states), "transitions": len(w.definition.transitions),
             "file": Path(w.source).name} for w in files.values()]
    if as_json:
        emit_json({"workflows": rows})
        return
    table("Workflows", ["workflow", "version", "title", "states", "transitions", "file"],
          [tuple(r.values()) for r in rows])


@workflow.command("show")
@click.argument("name", shell_complete=completion.workflows)
@json_option
@pass_settings
def workflow_show(settings: Settings, name: str, as_json: bool) -> None:
    """States, transitions and requirements of workflow NAME."""
    d = settings.app.catalog.current(name).definition
    rounds = {key: r for key, r in settings.app.config.rounds.items() if r.workflow == name}
    if as_json:
        emit_json({**d.model_dump(mode="json", by_alias=True, exclude_none=True),
                   "rounds": {key: r.model_dump(mode="json") for key, r in rounds.items()}})
        return
    say(f"[bold]{esc(d.title)}[/bold] ({d.workflow} v{d.version}), initial: {d.initial}", markup=True)
    if d.params:
        table("Parameters", ["param", "label", "type"],
              [(k, p.label or "", p.type) for k, p in d.params.items()])
    if rounds:
        table("Rounds (configuration)", ["round", "label", *d.params],
              [(key, r.label or "", *(str(r.params.get(p, "")) for p in d.params))
               for key, r in rounds.items()])
    table("States", ["state", "label", "final"],
          [(k, s.label, "final" if s.final else "") for k, s in d.states.items()])
    table("Transitions", ["trigger", "from", "to", "requires", "by"],
          [(t.trigger, ", ".join(t.source), t.dest, ", ".join(t.requires),
            ", ".join(t.by or ())) for t in d.transitions])
    table("Requirements", ["requirement", "label"],
          [(k, r.label) for k, r in d.requirements.items()])
    if d.milestones:
        table("Milestones", ["milestone", "label", "active in", "remind", "met by"],
              [(m.name, m.label, ", ".join(m.active_in), ", ".join(map(str, m.remind)),
                m.met_by.record if m.met_by else "") for m in d.milestones])
    if d.records:
        table("Records", ["record", "label", "scope", "fields"],
              [(k, r.label, r.scope, ", ".join(f"{n} ({f.type})" for n, f in r.fields.items()))
               for k, r in d.records.items()])
    decided = [t for t in d.transitions if t.decision]
    if decided:
        table("Decisions", ["trigger", "decided by", "document"],
              [(t.trigger, ", ".join(d.body_label(b) for b in t.decision.by),
                t.decision.document or "") for t in decided])


@workflow.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@json_option
def workflow_validate(files: tuple[str, ...], as_json: bool) -> None:
    """Check workflow FILES; every problem is named with file and line."""
    from onderwijsflow.definition.loader import load_workflow_file
    from onderwijsflow.errors import DefinitionError

    results: list[dict[str, Any]] = []
    problems: list[str] = []
    for file in files:
        try:
            loaded = load_workflow_file(Path(file))
        except DefinitionError as err:
            problems.extend(err.problems)
            results.append({"file": file, "valid": False, "problems": err.problems})
            continue
        results.append({"file": file, "valid": True, "workflow": loaded.name,
                        "version": loaded.version, "warnings": list(loaded.warnings)})
    if as_json:
        emit_json({"valid": not problems, "files": results})
    else:
        for r in results:
            if r["valid"]:
                say(f"{r['file']}: valid ({r['workflow']} v{r['version']})")
                for w in r["warnings"]:
                    say(f"  warning: {w}")
    if problems:
        raise DefinitionErrorExit(problems)


class DefinitionErrorExit(click.ClickException):
    """Exit 1 listing every problem, one per line."""

    exit_code = 1

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0])
        self.problems = problems

    def show(self, file: object = None) -> None:
        for problem in self.problems:
            click.echo(f"error: {problem}", err=True)


@workflow.command("graph")
@click.argument("name", shell_complete=completion.workflows)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid",
              show_default=True, help="Mermaid (for Markdown) or Graphviz dot.")
@pass_settings
def workflow_graph(settings: Settings, name: str, fmt: str) -> None:
    """Workflow NAME as a Mermaid or Graphviz diagram (Dutch labels)."""
    from onderwijsflow.definition.graph import to_dot, to_mermaid

    d = settings.app.catalog.current(name).definition
    click.echo(to_mermaid(d) if fmt == "mermaid" else to_dot(d))


@workflow.command("migrate")
@click.argument("name", shell_complete=completion.workflows)
@click.option("--to", "to_version", type=int, required=True, metavar="VERSION",
              help="The version to move the running cases to.")
@click.option("--dry-run", is_flag=True, help="Show what would change per case; write nothing.")
@click.option("--region", "region", metavar="SLUG", help="Only this region's case(s).")
@json_option
@pass_settings
def workflow_migrate(settings: Settings, name: str, to_version: int, dry_run: bool,
                     region: str | None, as_json: bool) -> None:
    """Move the running cases of workflow NAME to VERSION (see migrates_from).

    The dry run shows, per case, the new state, the requirements of its next steps that
    become unmet or met, and the milestones added, removed or moved. Applying is one
    transaction for all cases, audited per case, and refuses as a whole (exit 3) when any
    case cannot move.
    """
    from onderwijsflow.errors import Refused

    try:
        result = settings.app.migrate_workflow(name, to_version=to_version, dry_run=dry_run,
                                               region=region)
    except Refused as refused:
        if as_json and refused.details.get("result"):
            emit_json(refused.details["result"])
        raise
    if as_json:
        emit_json(result)
        return
    _show_migration(result)


def _show_migration(result: dict[str, object]) -> None:
    prefix = "[dry run] " if result["dry_run"] else ""
    cases = result["cases"]
    assert isinstance(cases, list)
    verb = "would move" if result["dry_run"] else "moved"
    say(f"{prefix}{len(cases)} case(s) of {result['workflow']} {verb} to version {result['to_version']}")
    for c in cases:
        say(f"- {c['region']}" + (f" (round {c['round']})" if c["round"] else "")
            + f": v{c['from_version']} {c['from_state']} -> {c['to_state']}")
        for u in c["newly_unmet"]:
            say(f"    newly unmet: {u['label']} ({u['requirement']}): {u['detail']}")
        for u in c["newly_met"]:
            say(f"    newly met: {u['label']} ({u['requirement']}): {u['detail']}")
        ms = c["milestones"]
        for m in ms["added"]:
            say(f"    milestone added: {m['milestone']} due {m['due']}")
        for m in ms["removed"]:
            say(f"    milestone removed: {m['milestone']} (was due {m['due']})")
        for m in ms["moved"]:
            say(f"    milestone moved: {m['milestone']} {m['old']} -> {m['new']}")
    refused = result["refused"]
    assert isinstance(refused, list)
    for r in refused:
        say(f"- {r['region']}: cannot move: {r['reason']}")


@click.command()
@click.option("--db-file", default="onderwijsflow-demo.db", show_default=True,
              help="The SQLite file to create (replaced if it exists).")
@click.option("--quiet", is_flag=True, help="Only the final summary.")
def demo(db_file: str, quiet: bool) -> None:
    """Play a realistic demonstration in a fresh SQLite file (invented numbers)."""
    from onderwijsflow.demo import run_demo

    run_demo(Path(db_file), quiet=quiet)


COMMANDS = [init, workflow, demo]
