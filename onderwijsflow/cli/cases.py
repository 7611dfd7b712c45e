"""Commands on cases: start, advance, check, history."""

from __future__ import annotations

from typing import Any

import click

from onderwijsflow.cli import Settings, completion, pass_settings
from onderwijsflow.cli.output import (
    ProgressBar,
    decision_options,
    decision_text,
    emit_json,
    esc,
    json_option,
    say,
    short_time,
    table,
    unmet_lines,
)


@click.command()
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("workflow", shell_complete=completion.workflows)
@click.option("--param", "params", multiple=True, metavar="K=V", help="A case parameter.")
@click.option("--round", "round_", metavar="R", help="A round from the configuration.")
@json_option
@pass_settings
def start(settings: Settings, slug: str, workflow: str, params: tuple[str, ...],
          round_: str | None, as_json: bool) -> None:
    """Open a case of WORKFLOW for region SLUG."""
    from onderwijsflow.errors import UsageError

    given = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param '{item}' is not K=V")
        given[key.strip()] = value.strip()
    result = settings.app.start_case(slug, workflow, params=given, round=round_)
    if as_json:
        emit_json(result)
    else:
        say(f"{workflow} case opened for {slug} in state {result['state']}")
    for warning in result["warnings"]:  # on stderr, so that --json stays one document
        click.echo(f"warning: {warning}", err=True)


@click.command()
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("trigger", shell_complete=completion.triggers)
@click.option("--workflow", help="The workflow of the case (when the region has several).")
@click.option("--round", "round_", help="The round of the case (when there are several).")
@click.option("--reason", help="Why; required with --override.")
@click.option("--dry-run", is_flag=True, help="Decide and show, but write nothing.")
@click.option("--override", is_flag=True,
              help="Pass unmet requirements (needs the override role and a --reason).")
@decision_options
@json_option
@pass_settings
def advance(settings: Settings, /, slug: str, trigger: str, workflow: str | None,
            round_: str | None, reason: str | None, dry_run: bool, override: bool,
            as_json: bool, **decision: str | None) -> None:
    """Fire TRIGGER on region SLUG's case; a refusal says exactly what is missing.

    A transition that records a decision taken elsewhere (by OCW, DUS-I, ...) needs
    --decided-by, --decision-date and --decision-ref.
    """
    from onderwijsflow.errors import Refused

    try:
        result = settings.app.advance(slug, trigger, workflow=workflow, round=round_,
                                      reason=reason, dry_run=dry_run, override=override,
                                      **decision)
    except Refused as refused:
        result = refused.details.get("result")
        if result is None:
            raise
        _show_advance(result, as_json)
        raise
    _show_advance(result, as_json)
    if dry_run and not result["ok"]:
        raise Refused(f"[dry run] {result['region']}: '{trigger}' would be refused: "
                      f"{result['refusal']}")


def _show_advance(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    prefix = "[dry run] " if result["dry_run"] else ""
    if result["ok"]:
        extra = f" (overridden: {', '.join(result['overridden'])})" if result["overridden"] else ""
        verb = "would move" if result["dry_run"] else "moved"
        say(f"{prefix}{result['region']}: {result['workflow']} {verb} "
            f"{result['from']} -> {result['to']} by {result['trigger']}{extra}")
        if result.get("decision"):
            say(f"{prefix}decision recorded: {decision_text(result['decision'])}")
        return
    say(f"{prefix}{result['region']}: {result['trigger']} refused: "
        f"{result['refusal'] if result['code'] != 'unmet' else 'requirements unmet'}")
    for line in unmet_lines(result["unmet"]):
        say(line)


@click.command()
@click.argument("slug", shell_complete=completion.slugs)
@click.option("--workflow", help="The workflow of the case.")
@click.option("--round", "round_", help="The round of the case.")
@click.option("--target", metavar="STATE", help="List everything missing on the way to STATE.")
@json_option
@pass_settings
def check(settings: Settings, slug: str, workflow: str | None, round_: str | None,
          target: str | None, as_json: bool) -> None:
    """Readiness: each possible trigger, allowed or which requirements are unmet."""
    result = settings.app.check(slug, workflow=workflow, round=round_, target=target)
    if as_json:
        emit_json(result)
        return
    say(f"{esc(slug)}: {result['workflow']} is in [bold]{result['state']}[/bold] "
        f"({esc(result['state_label'])})", markup=True)
    for t in result["triggers"]:
        mark = "[green]allowed[/green]" if t["allowed"] else "[red]blocked[/red]"
        if not t["permitted"]:
            mark += " (not permitted for you)"
        say(f"- {t['trigger']} -> {t['dest']}: {mark}", markup=True)
        for line in unmet_lines(t["unmet"]):
            say("  " + line)
    if target is not None:
        steps = result["path"]
        say(f"Way to {target}: " + (" -> ".join(s["trigger"] for s in steps) or "already there"))
        for s in steps:
            for line in unmet_lines(s["unmet"]):
                say(f"  {s['trigger']}:{line}")


@click.command()
@click.argument("slug", shell_complete=completion.slugs)
@click.option("--workflow", help="Only this workflow's events.")
@click.option("--as-of", metavar="DATE", help="The state as it was on DATE (end of that day).")
@click.option("--all", "all_events", is_flag=True, help="Every event, not only transitions.")
@click.option("--since", metavar="DATE", help="Only events from DATE on.")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Only events of this kind (refused, fact_set, record_added, ...; repeatable).")
@click.option("--limit", type=int, metavar="N", help="Only the last N events.")
@click.option("--event", "seq", type=int, metavar="SEQ", help="One event with its full evidence.")
@json_option
@pass_settings
def history(settings: Settings, /, slug: str, workflow: str | None, as_of: str | None,
            all_events: bool, since: str | None, kinds: tuple[str, ...], limit: int | None,
            seq: int | None, as_json: bool) -> None:
    """The status history of region SLUG, or its state on a past date."""
    from onderwijsflow.clock import parse_moment

    if seq is not None:
        _show_event(settings.app.event(slug, seq), as_json)
        return
    moment = parse_moment(as_of) if as_of else None
    start = parse_moment(since, end_of_day=False) if since else None
    result = settings.app.history(slug, workflow=workflow, as_of=moment, all_events=all_events,
                                  since=start, kinds=kinds, limit=limit)
    if as_json:
        emit_json(result)
        return
    table(f"History of {slug}", ["seq", "at", "actor", "kind", "workflow", "trigger", "from",
                                 "to", "details", "reason"],
          [(e["seq"], short_time(e["at"]), e["actor"], e["kind"], e["workflow"], e["trigger"],
            e["from"], e["to"], _details(e), e["reason"]) for e in result["events"]],
          empty=f"No events of {slug} match.")
    if as_of is not None:
        versions = result.get("versions", {})
        states = ", ".join(f"{w}: {s}" + (f" (v{versions[w]})" if versions.get(w) else "")
                           for w, s in result["state"].items()) or "no cases yet"
        say(f"State on {result['as_of']}: {states}")


def _details(event: dict[str, Any]) -> str:
    """What the event did, in a few words: the decision, what was added, old -> new."""
    data = event.get("data") or {}
    if event["kind"] == "migrated":
        return f"version {event['from_version']} -> {event['to_version']}"
    if event.get("decision"):
        return decision_text(event["decision"])
    if event["kind"] == "refused":
        missing = [r["requirement"] for r in data.get("evidence", []) if not r["passed"]]
        return "missing: " + ", ".join(missing) if missing else str(data.get("refusal") or "")
    if "name" in data and ("old" in data or "new" in data):  # a fact
        return f"{data['name']}: {data.get('old')} -> {data.get('new')}"
    change = data.get("new") or data.get("old")
    if isinstance(change, dict):
        words = (change.get(k) for k in ("name", "person", "title", "kind") if change.get(k))
        return ("removed: " if "new" not in data else "") + ", ".join(map(str, words))
    return ""


def _show_event(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    e = result["event"]
    say(f"{result['region']} event {e['seq']}: {e['kind']} at {short_time(e['at'])} by {e['actor']}"
        + (f" ({e['workflow']} {e['from'] or ''} -> {e['to']})" if e["to"] else ""))
    if e["reason"]:
        say(f"reason: {e['reason']}")
    if e.get("decision"):
        say(f"decision: {decision_text(e['decision'])}")
    for item in (e.get("data") or {}).get("evidence", []):
        mark = "passed" if item["passed"] else "unmet"
        say(f"  {mark}: {item['label']} ({item['requirement']}): {item['detail']}")
    say(f"hash: {e['hash']}")


#: Above this many cases, `advance-all` asks at a terminal before it writes (unless --yes).
CONFIRM_ABOVE = 50


def at_a_terminal() -> bool:
    """Is a person typing? (Scripts, with no terminal on stdin, are never asked.)"""
    import sys

    return sys.stdin.isatty()


@click.command("advance-all")
@click.argument("trigger", shell_complete=completion.triggers)
@click.option("--workflow", required=True, help="The workflow whose cases to advance.")
@click.option("--in-state", metavar="STATE", help="Only cases in this state.")
@click.option("--dry-run", is_flag=True, help="Decide and show, but write nothing.")
@click.option("--reason", help="Why (recorded with every decision).")
@click.option("--yes", "yes", is_flag=True,
              help=f"Do not ask at a terminal before advancing more than {CONFIRM_ABOVE} cases.")
@decision_options
@json_option
@pass_settings
def advance_all(settings: Settings, /, trigger: str, workflow: str, in_state: str | None,
                dry_run: bool, reason: str | None, yes: bool, as_json: bool,
                **decision: str | None) -> None:
    """Fire TRIGGER for every matching case; each is its own audited decision.

    One decision (--decided-by, --decision-date, --decision-ref) may cover every case, as
    when DUS-I decides a whole round at once. Exits 3 when any case was refused; the refused
    ones are listed with what they miss.
    """
    import sys

    from onderwijsflow.errors import Refused

    if not (dry_run or yes) and at_a_terminal():
        count = settings.app.count_matching(trigger, workflow=workflow, in_state=in_state)
        if count > CONFIRM_ABOVE and not click.confirm(
                f"Fire {trigger} for {count} cases of {workflow}? Each is audited", err=True):
            raise click.Abort()
    with ProgressBar(f"advancing ({trigger})", enabled=not as_json and sys.stderr.isatty()) as report:
        result = settings.app.advance_all(trigger, workflow=workflow, in_state=in_state,
                                          dry_run=dry_run, reason=reason, progress=report,
                                          **decision)
    if as_json:
        emit_json(result)
    else:
        verb = "would move" if dry_run else "moved"
        say(f"{len(result['moved'])} of {result['matched']} case(s) {verb} by {trigger}; "
            f"{len(result['refused'])} refused")
        for item in result["refused"]:
            say(f"- {item['region']}: {item['refusal'] if item['code'] != 'unmet' else 'unmet'}")
            for line in unmet_lines(item["unmet"]):
                say("  " + line)
    if result["refused"]:
        raise Refused(f"{len(result['refused'])} of {result['matched']} case(s) refused '{trigger}'")


COMMANDS = [start, advance, advance_all, check, history]
