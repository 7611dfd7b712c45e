"""Commands on cases: start, advance, check, history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from onderwijsflow import i18n
from onderwijsflow.cli import Settings, completion, pass_settings
from onderwijsflow.cli.output import (
    ProgressBar,
    decision_options,
    emit_json,
    esc,
    json_option,
    say,
    short_time,
    table,
)
from onderwijsflow.i18n import _, ngettext, pgettext
from onderwijsflow.vocabulary import kind_word

if TYPE_CHECKING:
    from onderwijsflow.lean.labels import Labels


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
            raise UsageError(_("--param '{item}' is not K=V").format(item=item))
        given[key.strip()] = value.strip()
    result = settings.app.start_case(slug, workflow, params=given, round=round_)
    if as_json:
        emit_json(result)
    else:
        say(_("{region}: case {workflow} opened in state ‘{state}’.").format(
            region=slug, workflow=workflow, state=_Labels(settings).state(workflow, result["state"])))
    for warning in result["warnings"]:  # on stderr, so that --json stays one document
        click.echo(_("warning: {message}").format(message=warning), err=True)


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
        refused_result = refused.details.get("result")
        if refused_result is None:
            raise
        _show_advance(settings, refused_result, as_json)
        raise
    _show_advance(settings, result, as_json)
    if dry_run and not result["ok"]:
        raise Refused(_("[dry run] {region}: '{trigger}' would be refused: {refusal}").format(
            region=result["region"], trigger=trigger, refusal=result["refusal"]))


def _show_advance(settings: Settings, result: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    labels = _Labels(settings)
    workflow, dry_run = result["workflow"], result["dry_run"]
    if result["ok"]:
        moved = (_("[dry run] {region}: would move from ‘{source}’ to ‘{dest}’; nothing was "
                   "written.") if dry_run else _("{region}: moved from ‘{source}’ to ‘{dest}’."))
        say(moved.format(region=result["region"], source=labels.state(workflow, result["from"]),
                         dest=labels.state(workflow, result["to"])))
        if result["overridden"]:
            say(_("Overridden:"))
            named = {r["requirement"]: r["label"] for r in result["evidence"]}
            for requirement in result["overridden"]:
                say(f"  - {named.get(requirement, requirement)}")
        if result.get("decision"):
            recorded = (_("Decision to be recorded: {decision}.") if dry_run
                        else _("Decision recorded: {decision}."))
            say(recorded.format(decision=_decision(result["decision"])))
        return
    step = labels.step(workflow, result["from"], result["trigger"])
    if result["code"] == "unmet":
        refused = (_("[dry run] {region}: ‘{step}’ would be refused; these requirements are "
                     "unmet:") if dry_run
                   else _("{region}: ‘{step}’ refused; these requirements are unmet:"))
        say(refused.format(region=result["region"], step=step))
    else:
        refused = (_("[dry run] {region}: ‘{step}’ would be refused: {refusal}") if dry_run
                   else _("{region}: ‘{step}’ refused: {refusal}"))
        say(refused.format(region=result["region"], step=step, refusal=result["refusal"]))
    for line in _unmet(result["unmet"]):
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
    from onderwijsflow.readiness.lean import lean_check

    # The lean path (sqlite3, no ORM) when it can: the same checks on the same snapshot.
    lean = lean_check(settings.options, slug, workflow=workflow, round_=round_, target=target)
    result = lean[0] if lean is not None else settings.app.check(
        slug, workflow=workflow, round=round_, target=target)
    if as_json:
        emit_json(result)
        return
    labels = _Labels(settings, lean=lean[1] if lean is not None else None)
    case = result["workflow"]
    say(_("{region}: {workflow} is in state ‘{state}’.").format(
        region=esc(slug), workflow=esc(case),
        state=f"[bold]{esc(result['state_label'])}[/bold]"), markup=True)
    for t in result["triggers"]:
        if t["allowed"]:
            verdict = "[green]" + esc(_("allowed")) + "[/green]"
        elif t["permitted"]:
            verdict = "[red]" + esc(_("blocked")) + "[/red]"
        else:
            verdict = "[red]" + esc(_("blocked (not permitted for you)")) + "[/red]"
        say(_("- {trigger} ({step}) to ‘{dest}’: {verdict}").format(
            trigger=esc(t["trigger"]), step=esc(t["label"]),
            dest=esc(labels.state(case, t["dest"])), verdict=verdict), markup=True)
        for line in _unmet(t["unmet"]):
            say("  " + line)
    if target is not None:
        steps = result["path"]
        say(_("Way to ‘{target}’: {steps}").format(
            target=labels.state(case, target),
            steps=" -> ".join(s["trigger"] for s in steps) or _("the case is there already")))
        for s in steps:
            if s["unmet"]:
                say("  " + _("Still unmet for {trigger}:").format(trigger=s["trigger"]))
                for line in _unmet(s["unmet"]):
                    say("  " + line)


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
    from onderwijsflow.lean.reader import lean_read

    if seq is not None:
        # The lean path (sqlite3, no ORM) when it can, with the labels read before printing.
        found = lean_read(settings.options, lambda reader: reader.event(slug, seq),
                          None if as_json else lambda _found: [])
        if found is not None:
            _show_event(settings, found[0], as_json, lean=found[1])
        else:
            _show_event(settings, settings.app.event(slug, seq), as_json)
        return
    lean = None
    if as_of is None and since is None:
        lean = lean_read(settings.options,
                         lambda reader: reader.history(slug, workflow=workflow, all_events=all_events,
                                                       kinds=kinds, limit=limit),
                         None if as_json else lambda found: [] if found["events"] else None)
    moment = parse_moment(as_of) if as_of else None
    start = parse_moment(since, end_of_day=False) if since else None
    result = lean[0] if lean is not None else settings.app.history(
        slug, workflow=workflow, as_of=moment, all_events=all_events, since=start, kinds=kinds,
        limit=limit)
    if as_json:
        emit_json(result)
        return
    labels = _Labels(settings, lean=lean[1] if lean is not None else None)
    table(_("History of {slug}").format(slug=slug), _history_columns(),
          [(e["seq"], short_time(e["at"]), e["actor"], kind_word(e["kind"]), e["workflow"],
            e["trigger"], labels.state(e["workflow"], e["from"]),
            labels.state(e["workflow"], e["to"]), _details(e, labels), e["reason"])
           for e in result["events"]],
          empty=_("No events of {slug} match.").format(slug=slug))
    if moment is not None:
        versions = result.get("versions", {})
        states = []
        for key, state in result["state"].items():
            shown = f"{key}: ‘{labels.state(key.split('/')[0], state)}’"
            if versions.get(key):
                shown = _("{case} (version {version})").format(case=shown, version=versions[key])
            states.append(shown)
        say(_("State on {moment}: {states}").format(
            moment=_day_or_moment(moment), states=", ".join(states) or _("no cases yet")))


def _history_columns() -> list[str]:
    return [pgettext("history column", "seq"), pgettext("history column", "at"),
            pgettext("history column", "actor"), pgettext("history column", "kind"),
            pgettext("history column", "workflow"), pgettext("history column", "trigger"),
            pgettext("history column", "from"), pgettext("history column", "to"),
            pgettext("history column", "details"), pgettext("history column", "reason")]


def _details(event: dict[str, Any], labels: _Labels) -> str:
    """What the event did, in a few words: the decision, what was added, old -> new."""

    data = event.get("data") or {}
    if event["kind"] == "migrated":
        return _("version {old} -> {new}").format(old=event["from_version"],
                                                  new=event["to_version"])
    if event.get("decision"):
        return _decision(event["decision"])
    if event["kind"] == "refused":
        missing = [r.get("label") or r["requirement"]
                   for r in data.get("evidence", []) if not r["passed"]]
        if missing:
            return _("unmet: {requirements}").format(requirements="; ".join(missing))
        return str(data.get("refusal") or "")
    if "name" in data and ("old" in data or "new" in data):  # a fact
        kind = labels.fact_type(data["name"])
        return _("{name}: {old} -> {new}").format(name=data["name"],
                                                  old=i18n.format_value(data.get("old"), kind),
                                                  new=i18n.format_value(data.get("new"), kind))
    change = data.get("new") or data.get("old")
    if isinstance(change, dict):
        words = ", ".join(str(change[k]) for k in ("name", "person", "title", "kind")
                          if change.get(k))
        return words if "new" in data else _("removed: {what}").format(what=words)
    return ""


def _show_event(settings: Settings, result: dict[str, Any], as_json: bool, *,
                lean: Labels | None = None) -> None:
    if as_json:
        emit_json(result)
        return
    e = result["event"]
    labels = _Labels(settings, lean=lean)
    say(_("{region}, event {seq}: {kind}, {moment}, by {actor}").format(
        region=result["region"], seq=e["seq"], kind=kind_word(e["kind"]),
        moment=i18n.format_datetime(datetime.fromisoformat(e["at"])), actor=e["actor"]))
    if e["to"]:
        dest = labels.state(e["workflow"], e["to"])
        if e["from"]:
            moved = _("{workflow}: from ‘{source}’ to ‘{dest}’").format(
                workflow=e["workflow"], source=labels.state(e["workflow"], e["from"]), dest=dest)
        else:
            moved = _("{workflow}: into ‘{dest}’").format(workflow=e["workflow"], dest=dest)
        say(moved)
    details = _details(e, labels)
    if details and e["kind"] != "refused" and not e.get("decision"):
        say(_("Details: {details}").format(details=details))
    if e["reason"]:
        say(_("Reason: {reason}").format(reason=e["reason"]))
    if e.get("decision"):
        say(_("Decision: {decision}").format(decision=_decision(e["decision"])))
    for item in (e.get("data") or {}).get("evidence", []):
        mark = (pgettext("requirement", "passed") if item["passed"]
                else pgettext("requirement", "unmet"))
        say(f"  {mark}: {item['label']}: {item['detail']}")
    say(f"hash: {e['hash']}")


# --- shared -----------------------------------------------------------------------------------


class _Labels:
    """State and step labels from the workflow definitions on disk; a name the definitions do not
    (or no longer) know is shown as it is."""

    def __init__(self, settings: Settings, *, lean: Labels | None = None) -> None:
        self.settings = settings
        #: The lean path's labels (same answers, read without the application), if given.
        self.lean = lean
        self._definitions: dict[str, Any] = {}

    def _definition(self, workflow: str | None) -> Any:
        if not workflow:
            return None
        if workflow not in self._definitions:
            from onderwijsflow.errors import NotFound

            try:
                self._definitions[workflow] = self.settings.app.catalog.current(workflow).definition
            except NotFound:
                self._definitions[workflow] = None
        return self._definitions[workflow]

    def state(self, workflow: str | None, state: str | None) -> str:
        """The label of `state` ("" for none)."""
        if not state:
            return ""
        if self.lean is not None:
            return self.lean.state_label(workflow, state) if workflow else state
        definition = self._definition(workflow)
        return str(definition.state_label(state)) if definition is not None else state

    def fact_type(self, name: str) -> str | None:
        """The declared type of fact `name` (None when no workflow declares it any more)."""
        from onderwijsflow.errors import NotFound

        if self.lean is not None:
            return self.lean.fact_type(name)
        try:
            return str(self.settings.app.fact_definition(name)[0].type)
        except NotFound:
            return None

    def step(self, workflow: str | None, source: str, trigger: str) -> str:
        """The label of the transition `trigger` fires from `source` (any with that trigger
        when it is not possible from there)."""
        definition = self._definition(workflow)
        if definition is None:
            return trigger
        found = definition.transition(source, trigger) or next(
            (t for t in definition.transitions if t.trigger == trigger), None)
        return str(found.label or trigger) if found is not None else trigger


def _unmet(unmet: list[dict[str, Any]]) -> list[str]:
    """``  - label: detail`` for each unmet requirement."""
    return [f"  - {u['label']}: {u['detail']}" for u in unmet]


def _decision(decision: dict[str, Any]) -> str:
    """``DUS-I on Monday 20 January 2025, reference DUS-I/2025/123``."""
    return _("{body} on {date}, reference {ref}").format(
        body=decision.get("by_label") or decision["by"],
        date=i18n.format_date(date.fromisoformat(decision["date"])), ref=decision["ref"])


def _day_or_moment(moment: datetime) -> str:
    """The end of a day given as a date is that day; a moment given with its time, that moment."""
    from onderwijsflow.clock import END_OF_DAY, to_local

    local = to_local(moment)
    return (i18n.format_date(local.date()) if local.time() == END_OF_DAY
            else i18n.format_datetime(moment))


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
                decided_by: str | None, decision_date: str | None, decision_ref: str | None) -> None:
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
                _("Fire {trigger} for {count} cases of {workflow}? Each is audited").format(
                    trigger=trigger, count=count, workflow=workflow), err=True):
            raise click.Abort()
    with ProgressBar(_("advancing ({trigger})").format(trigger=trigger),
                     enabled=not as_json and sys.stderr.isatty()) as report:
        result = settings.app.advance_all(trigger, workflow=workflow, in_state=in_state,
                                          dry_run=dry_run, reason=reason, progress=report,
                                          decided_by=decided_by, decision_date=decision_date,
                                          decision_ref=decision_ref)
    if as_json:
        emit_json(result)
    else:
        matched, moved, refused = result["matched"], len(result["moved"]), len(result["refused"])
        if dry_run:
            summary = ngettext(
                "[dry run] {moved} of {matched} case(s) would move by {trigger}; {refused} would "
                "be refused; nothing was written",
                "[dry run] {moved} of {matched} case(s) would move by {trigger}; {refused} would "
                "be refused; nothing was written", matched)
        else:
            summary = ngettext("{moved} of {matched} case(s) moved by {trigger}; {refused} refused",
                               "{moved} of {matched} case(s) moved by {trigger}; {refused} refused",
                               matched)
        say(summary.format(moved=moved, matched=matched, trigger=trigger, refused=refused))
        for item in result["refused"]:
            why = _("requirements unmet") if item["code"] == "unmet" else item["refusal"]
            say(f"- {item['region']}: {why}")
            for line in _unmet(item["unmet"]):
                say("  " + line)
    if result["refused"]:
        count = len(result["refused"])
        raise Refused(ngettext("{refused} of {matched} case(s) refused '{trigger}'",
                               "{refused} of {matched} case(s) refused '{trigger}'",
                               result["matched"]).format(refused=count, matched=result["matched"],
                                                         trigger=trigger))


COMMANDS = [start, advance, advance_all, check, history]
