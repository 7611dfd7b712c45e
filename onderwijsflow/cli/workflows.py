"""Commands on definitions and the installation: init, workflow, demo."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from onderwijsflow import i18n
from onderwijsflow.cli import Settings, completion, pass_settings
from onderwijsflow.cli.output import emit_json, esc, json_option, say, table
from onderwijsflow.i18n import N_, _, ngettext, pgettext


@click.command()
@click.option("--practice", is_flag=True,
              help="Create a practice database: a simulated clock (--now) and --actor are allowed.")
@json_option
@pass_settings
def init(settings: Settings, practice: bool, as_json: bool) -> None:
    """Create or upgrade the database schema and store the workflows in use."""
    app = settings.app
    if practice:
        app.practice = True
    result = app.init()
    if as_json:
        emit_json(result)
        return
    if result["from_revision"] in (None, result["revision"]):
        say(_("database at revision {revision}").format(revision=result["revision"]))
    else:
        say(_("database at revision {revision} (was {previous})").format(
            revision=result["revision"], previous=result["from_revision"]))
    for name in result["workflows_stored"]:
        say(_("stored workflow {name}").format(name=name))
    if result.get("practice"):
        say(_("this is a practice database: --now and --actor are allowed"))


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
    table(_("Workflows"), [_("workflow"), _("version"), _("title"), _("states"), _("transitions"),
                           _("file")],
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
    say(_("{title} ({workflow} v{version}), initial: {initial}").format(
        title=f"[bold]{esc(d.title)}[/bold]", workflow=esc(d.workflow), version=d.version,
        initial=esc(d.initial)), markup=True)
    label = pgettext("column", "label")
    if d.params:
        table(_("Parameters"), [_("param"), label, pgettext("column", "type")],
              [(k, p.label or "", p.type) for k, p in d.params.items()])
    if rounds:
        table(_("Rounds (configuration)"), [_("round"), label, *d.params],
              [(key, r.label or "", *(str(r.params.get(p, "")) for p in d.params))
               for key, r in rounds.items()])
    final = pgettext("state", "final")
    table(_("States"), [_("state"), label, final],
          [(k, s.label, final if s.final else "") for k, s in d.states.items()])
    table(_("Transitions"), [_("trigger"), pgettext("transition", "from"),
                             pgettext("transition", "to"), _("requires"), pgettext("transition", "by")],
          [(t.trigger, ", ".join(t.source), t.dest, ", ".join(t.requires),
            ", ".join(t.by or ())) for t in d.transitions])
    table(_("Requirements"), [_("requirement"), label],
          [(k, r.label) for k, r in d.requirements.items()])
    if d.milestones:
        table(_("Milestones"), [_("milestone"), label, _("active in"), _("remind"), _("met by")],
              [(m.name, m.label, ", ".join(m.active_in), ", ".join(map(str, m.remind)),
                m.met_by.record if m.met_by else "") for m in d.milestones])
    if d.records:
        table(_("Records"), [_("record"), label, _("scope"), _("fields")],
              [(k, r.label, _(SCOPES[r.scope]), ", ".join(f"{n} ({f.type})" for n, f in r.fields.items()))
               for k, r in d.records.items()])
    decided = [(t.trigger, t.decision) for t in d.transitions if t.decision]
    if decided:
        table(_("Decisions"), [_("trigger"), _("decided by"), _("document")],
              [(trigger, ", ".join(d.body_label(b) for b in decision.by), decision.document or "")
               for trigger, decision in decided])


@workflow.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@json_option
def workflow_validate(files: tuple[str, ...], as_json: bool) -> None:
    """Check workflow FILES; every problem is named with file and line."""
    from onderwijsflow.engine.loading import load_workflow_file
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
                say(_("{file}: valid ({workflow} v{version})").format(
                    file=r["file"], workflow=r["workflow"], version=r["version"]))
                for w in r["warnings"]:
                    say("  " + _("warning: {message}").format(message=w))
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
            click.echo(_("error: {message}").format(message=problem), err=True)


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
    _show_migration(settings, result)


def _show_migration(settings: Settings, result: Mapping[str, Any]) -> None:
    cases: list[dict[str, Any]] = result["cases"]
    n, workflow, version = len(cases), result["workflow"], result["to_version"]
    if result["dry_run"]:
        say(ngettext("[dry run] {n} case of {workflow} would move to version {version}; nothing was "
                     "written",
                     "[dry run] {n} cases of {workflow} would move to version {version}; nothing was "
                     "written", n)
            .format(n=n, workflow=workflow, version=version))
    else:
        say(ngettext("{n} case of {workflow} moved to version {version}",
                     "{n} cases of {workflow} moved to version {version}", n)
            .format(n=n, workflow=workflow, version=version))
    milestone = _milestone_labels(settings, workflow, version)
    for c in cases:
        fields = {"region": c["region"], "round": c["round"], "version": c["from_version"],
                  "source": c["from_state"], "dest": c["to_state"], "label": c["to_state_label"]}
        say(_("- {region} (round {round}): v{version} {source} -> {dest} (‘{label}’)").format(**fields)
            if c["round"] else
            _("- {region}: v{version} {source} -> {dest} (‘{label}’)").format(**fields))
        for u in c["newly_unmet"]:
            say("    " + _("newly unmet: {label} ({requirement}): {detail}").format(**u))
        for u in c["newly_met"]:
            say("    " + _("newly met: {label} ({requirement}): {detail}").format(**u))
        ms = c["milestones"]
        for m in ms["added"]:
            say("    " + _("milestone added: {milestone}, due {due}").format(
                milestone=milestone(m["milestone"]), due=_moment(m["due"])))
        for m in ms["removed"]:
            say("    " + _("milestone removed: {milestone} (was due {due})").format(
                milestone=milestone(m["milestone"]), due=_moment(m["due"])))
        for m in ms["moved"]:
            say("    " + _("milestone moved: {milestone}, from {old} to {new}").format(
                milestone=milestone(m["milestone"]), old=_moment(m["old"]), new=_moment(m["new"])))
    for r in result["refused"]:
        say(_("- {region}: cannot move: {reason}").format(region=r["region"], reason=r["reason"]))


def _milestone_labels(settings: Settings, workflow: str, version: int) -> Any:
    """How a migration report names a milestone: ‘label’ (name), from the version moved to."""
    definition = settings.app.catalog.current(workflow).definition
    labels = ({m.name: m.label for m in definition.milestones if m.label}
              if definition.version == version else {})

    def name(milestone: str) -> str:
        label = labels.get(milestone)
        return f"‘{label}’ ({milestone})" if label else milestone

    return name


def _moment(iso: str) -> str:
    """A due moment of the report (ISO 8601), as a person reads it."""
    from datetime import datetime

    return i18n.format_datetime(datetime.fromisoformat(iso))


DEMO_FILE = "onderwijsflow-demo.db"


@click.command()
@click.option("--db", "db_file", metavar="FILE",
              help="The SQLite file to play the story in, replaced if it exists "
                   "[default: onderwijsflow-demo.db, or FILE of onderwijsflow --db sqlite:///FILE demo].")
@click.option("--db-file", "old_db_file", metavar="FILE", hidden=True,
              help="Deprecated name of --db.")
@click.option("--lang", type=click.Choice(i18n.LANGUAGES, case_sensitive=False),
              help="The language of the story, as the global --lang [default: nl].")
@click.option("--quiet", is_flag=True, help="Only the final summary.")
@click.pass_context
def demo(ctx: click.Context, db_file: str | None, old_db_file: str | None, lang: str | None,
         quiet: bool) -> None:
    """Play a realistic demonstration in a fresh SQLite file (invented data).

    The story speaks Dutch, or English with --lang en. `onderwijsflow demo --db FILE` and
    `onderwijsflow --db sqlite:///FILE demo` both play it in FILE.
    """
    from onderwijsflow.demo import run_demo

    if lang:
        i18n.set_language(lang)
    run_demo(_demo_file(ctx, db_file, old_db_file), quiet=quiet)


def _demo_file(ctx: click.Context, given: str | None, old: str | None) -> Path:
    """The demo's SQLite file: its own --db, else the global --db given on the command line
    (a sqlite:/// URL), else onderwijsflow-demo.db. The global --db that comes from
    ONDERWIJSFLOW_DB is left alone: the demo replaces its file, and that one is someone's work."""
    from click.core import ParameterSource

    from onderwijsflow.errors import UsageError

    if old is not None:
        click.echo(_("warning: demo --db-file is deprecated; use demo --db"), err=True)
        if given is not None and _sqlite_file(given) != _sqlite_file(old):
            raise UsageError(_("give demo --db or its old name --db-file, not both"))
        given = old
    root = ctx.find_root()
    url = root.params.get("db")
    if url is not None and root.get_parameter_source("db") != ParameterSource.COMMANDLINE:
        url = None
    if given is not None:
        path = _sqlite_file(given)
        if url is not None and _sqlite_file(url).resolve() != path.resolve():
            raise UsageError(_("two databases for the demo: onderwijsflow --db {url} and demo --db "
                               "{file}; give one").format(url=url, file=given))
        return path
    if url is not None:
        return _sqlite_file(url)
    return Path(DEMO_FILE)


def _sqlite_file(value: str) -> Path:
    """The file of a SQLite URL (``sqlite:///demo.db``) or a plain path; any other database is
    refused: the demo plays on a fresh SQLite file of its own."""
    from onderwijsflow.errors import UsageError

    prefix = "sqlite:///"
    if value.startswith(prefix) and len(value) > len(prefix) and value[len(prefix):] != ":memory:":
        return Path(value[len(prefix):].split("?")[0])
    if "://" in value or value.startswith("sqlite:") or not value.strip():
        raise UsageError(_("the demo plays on a fresh SQLite file; '{value}' is not one (give a file "
                           "path, or a sqlite:/// URL)").format(value=value))
    return Path(value)


#: A record's or fact's `scope:` as a person reads it.
SCOPES = {"region": N_("region"), "case": N_("case (one round)")}

COMMANDS = [init, workflow, demo]
