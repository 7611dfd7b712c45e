"""Commands on a region's data: region, partner, role, document, fact, record."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from onderwijsflow import i18n
from onderwijsflow.cli import Settings, completion, pass_settings
from onderwijsflow.cli.output import emit_json, esc, json_option, say, short_time, table
from onderwijsflow.i18n import N_, _, ngettext, pgettext
from onderwijsflow.vocabulary import document_label, partner_label, role_label

if TYPE_CHECKING:
    from onderwijsflow.lean.labels import FactLike, LabelSource

SECTORS = ["PO", "VO", "SO", "VSO", "MBO", "HO"]
#: `--sector po` is as good as `--sector PO`.
SECTOR = click.Choice(SECTORS, case_sensitive=False)


@click.group()
def region() -> None:
    """Create, list and show regions."""


@region.command("create")
@click.argument("slug", shell_complete=completion.slugs)
@click.option("--name", required=True, help="The region's name.")
@click.option("--province", "provinces", multiple=True, help="A province (repeatable).")
@click.option("--sector", "sectors", multiple=True, type=SECTOR,
              help="A sector (repeatable).")
@click.option("--coordinator", metavar="EMAIL", help="The region's RE coordinator.")
@json_option
@pass_settings
def region_create(settings: Settings, slug: str, name: str, provinces: tuple[str, ...],
                  sectors: tuple[str, ...], coordinator: str | None, as_json: bool) -> None:
    """Create a region; opens the workflows configured to start with a region."""
    shown = settings.app.create_region(slug, name=name, provinces=provinces, sectors=sectors,
                                       coordinator=coordinator)
    if as_json:
        emit_json(shown)
    else:
        opened = ", ".join(f"{w} ({_state(settings, w, c['state'], c['version'])})"
                           for w, c in shown["cases"].items())
        say(_("Region {slug} created; cases opened: {cases}").format(slug=slug, cases=opened)
            if opened else _("Region {slug} created; no cases opened").format(slug=slug))


@region.command("update")
@click.argument("slug", shell_complete=completion.slugs)
@click.option("--name", help="The region's new name.")
@click.option("--province", "provinces", multiple=True, help="The provinces (repeatable; replaces them).")
@click.option("--sector", "sectors", multiple=True, type=SECTOR,
              help="The sectors (repeatable; replaces them).")
@click.option("--coordinator", metavar="EMAIL", help="The region's RE coordinator.")
@json_option
@pass_settings
def region_update(settings: Settings, /, slug: str, name: str | None, provinces: tuple[str, ...],
                  sectors: tuple[str, ...], coordinator: str | None, as_json: bool) -> None:
    """Change what is given of region SLUG; the audit log keeps the old values."""
    result = settings.app.update_region(slug, name=name, provinces=provinces or None,
                                        sectors=sectors or None, coordinator=coordinator)
    changes = ", ".join(
        pgettext("region update", "{field}: {old} -> {new}").format(
            field=_(_REGION_FIELDS.get(k, k)), old=_shown(v), new=_shown(result["new"][k]))
        for k, v in result["old"].items())
    _done(as_json, result,
          pgettext("region update", "{slug}: {changes}").format(slug=slug, changes=changes)
          if changes else _("{slug}: nothing changed").format(slug=slug))


@region.command("list")
@click.option("--state", help="Only regions with a case in this state.")
@click.option("--workflow", help="Only regions with a case of this workflow.")
@json_option
@pass_settings
def region_list(settings: Settings, state: str | None, workflow: str | None, as_json: bool) -> None:
    """Overview of the regions and their cases' states."""
    from onderwijsflow.lean.reader import lean_read

    # The lean path (sqlite3, no ORM) when it can; the labels only when a table shows cases.
    lean = lean_read(settings.options, lambda reader: reader.list_regions(state=state,
                                                                          workflow=workflow),
                     None if as_json else lambda found: [] if any(r["cases"] for r in found)
                     else None)
    regions = lean[0] if lean is not None else settings.app.list_regions(state=state,
                                                                         workflow=workflow)
    if as_json:
        emit_json({"regions": regions})
        return
    labels: LabelSource = (lean[1] if lean is not None and lean[1] is not None
                           else _LazyApp(settings))
    table(ngettext("{n} region", "{n} regions", len(regions)).format(n=i18n.format_number(len(regions))),
          _columns(N_("slug"), N_("name"), N_("coordinator"), N_("cases")),
          [(r["slug"], r["name"], r["coordinator"],
            ", ".join(f"{w}: {labels.state_label(w.split('/')[0], s)}" for w, s in r["cases"].items()))
           for r in regions],
          empty=_("No regions match.") if state or workflow else _("No regions yet."))


@region.command("show")
@click.argument("slug", shell_complete=completion.slugs)
@json_option
@pass_settings
def region_show(settings: Settings, slug: str, as_json: bool) -> None:
    """One region in full: cases, partners, people, documents and facts."""
    from onderwijsflow.lean.reader import lean_read

    # The lean path (sqlite3, no ORM) when it can; the table needs every label first.
    lean = lean_read(settings.options, lambda reader: reader.show_region(slug),
                     None if as_json else lambda found: [
                         (w.split("/")[0], c["version"]) for w, c in found["cases"].items()])
    shown = lean[0] if lean is not None else settings.app.show_region(slug)
    if as_json:
        emit_json(shown)
        return
    _show(lean[1] if lean is not None and lean[1] is not None else _LazyApp(settings), shown)


class _LazyApp:
    """The application's labels, built only when a label is asked for (as before the lean
    path: a table without cases never loads the workflows)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def state_label(self, workflow: str, state: str, version: int | None = None) -> str:
        return str(self.settings.app.state_label(workflow, state, version))

    def declared_facts(self) -> Mapping[str, FactLike]:
        return self.settings.app.declared_facts()


def _show(labels: LabelSource, r: Mapping[str, Any]) -> None:
    facts = labels.declared_facts()

    def fact_text(name: str, value: Any) -> str:
        found = facts.get(name)
        return i18n.format_value(value, found.type if found else None)

    def fact_label(name: str) -> str:
        found = facts.get(name)
        return (found.label if found else None) or name

    say(f"[bold]{esc(r['name'])}[/bold] ({esc(r['slug'])})  "
        + _("coordinator: {coordinator}  provinces: {provinces}  sectors: {sectors}").format(
            coordinator=esc(r["coordinator"] or "-"), provinces=esc(", ".join(r["provinces"]) or "-"),
            sectors=esc(", ".join(r["sectors"]) or "-")),
        markup=True)
    table(_("Cases"), _columns(N_("workflow"), N_("state"), N_("version"), N_("opened"), N_("facts")),
          [(w, labels.state_label(w.split("/")[0], c["state"], c["version"]), c["version"],
            short_time(c["opened"]),
            ", ".join(f"{fact_label(k)}: {fact_text(k, v)}" for k, v in c.get("facts", {}).items()))
           for w, c in r["cases"].items()])
    table(_("Partners"), _columns(N_("name"), N_("kind"), N_("sector")),
          [(p["name"], partner_label(p["kind"]), p["sector"]) for p in r["partners"]])
    table(_("People"), _columns(N_("role"), N_("person"), N_("e-mail")),
          [(role_label(p["role"]), p["person"], p["email"]) for p in r["roles"]])
    table(_("Documents"), _columns(N_("kind"), N_("title"), N_("ref"), N_("date")),
          [(d["kind"], d["title"], d["ref"], _day(d["date"])) for d in r["documents"]])
    table(_("Facts"), _columns(N_("name"), N_("description"), N_("value")),
          [(name, fact_label(name) if name in facts else "", fact_text(name, value))
           for name, value in r["facts"].items()])


@click.group()
def partner() -> None:
    """Add and remove partner organisations."""


@partner.command("add")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("name")
@click.option("--kind", required=True,
              help="schoolbestuur, lerarenopleiding, beroepsgroep, vakbond, gemeente or overig.")
@click.option("--sector", type=SECTOR, help="The sector (for a schoolbestuur).")
@json_option
@pass_settings
def partner_add(settings: Settings, slug: str, name: str, kind: str, sector: str | None,
                as_json: bool) -> None:
    """Record NAME as a partner of region SLUG."""
    settings.app.add_partner(slug, name, kind=kind, sector=sector)
    _done(as_json, {"region": slug, "partner": name, "kind": kind, "sector": sector},
          _("{name} ({kind}) is now a partner of {slug}").format(
              name=name, kind=partner_label(kind), slug=slug))


@partner.command("list")
@click.argument("slug", shell_complete=completion.slugs)
@json_option
@pass_settings
def partner_list(settings: Settings, /, slug: str, as_json: bool) -> None:
    """The partners of region SLUG."""
    result = settings.app.list_partners(slug)
    if as_json:
        emit_json(result)
        return
    if not result["partners"]:
        say(_("{slug} has no partners yet").format(slug=slug))
        return
    table(_("Partners of {slug}").format(slug=slug), _columns(N_("name"), N_("kind"), N_("sector")),
          [(p["name"], partner_label(p["kind"]), p["sector"]) for p in result["partners"]])


@partner.command("remove")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("name")
@json_option
@pass_settings
def partner_remove(settings: Settings, slug: str, name: str, as_json: bool) -> None:
    """Remove partner NAME from region SLUG."""
    settings.app.remove_partner(slug, name)
    _done(as_json, {"region": slug, "partner": name, "removed": True},
          _("{name} is no longer a partner of {slug}").format(name=name, slug=slug))


@click.group()
def role() -> None:
    """Put people in roles (programmamanager, projectleider, ...) and take them out."""


@role.command("assign")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("role_name", metavar="ROLE", shell_complete=completion.region_roles)
@click.argument("person")
@click.option("--email", help="The person's e-mail address (reminders go there).")
@json_option
@pass_settings
def role_assign(settings: Settings, slug: str, role_name: str, person: str, email: str | None,
                as_json: bool) -> None:
    """Make PERSON the ROLE of region SLUG."""
    settings.app.assign_role(slug, role_name, person, email=email)
    _done(as_json, {"region": slug, "role": role_name, "person": person, "email": email},
          _("{person} is now {role} of {slug}").format(person=person, role=role_label(role_name),
                                                       slug=slug))


@role.command("unassign")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("role_name", metavar="ROLE", shell_complete=completion.region_roles)
@click.argument("person")
@json_option
@pass_settings
def role_unassign(settings: Settings, slug: str, role_name: str, person: str,
                  as_json: bool) -> None:
    """Take PERSON out of ROLE for region SLUG."""
    settings.app.unassign_role(slug, role_name, person)
    _done(as_json, {"region": slug, "role": role_name, "person": person, "removed": True},
          _("{person} is no longer {role} of {slug}").format(
              person=person, role=role_label(role_name), slug=slug))


@click.group()
def document() -> None:
    """Record evidence: plans, analyses, decisions."""


@document.command("add")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("kind", shell_complete=completion.document_kinds)
@click.option("--title", required=True, help="The document's title.")
@click.option("--ref", help="A reference (file name, URL, register number).")
@click.option("--date", "on", metavar="YYYY-MM-DD", help="The document's date.")
@json_option
@pass_settings
def document_add(settings: Settings, slug: str, kind: str, title: str, ref: str | None,
                 on: str | None, as_json: bool) -> None:
    """Record a document of KIND (plan_van_aanpak, governance, ...) for region SLUG."""
    from onderwijsflow.clock import parse_date

    day = parse_date(on) if on else None
    settings.app.add_document(slug, kind, title=title, ref=ref, on=day)
    _done(as_json, {"region": slug, "kind": kind, "title": title, "ref": ref, "date": on},
          _("{document} '{title}' recorded for {slug}").format(
              document=_capital(document_label(kind)), title=title, slug=slug))


@document.command("list")
@click.argument("slug", shell_complete=completion.slugs)
@click.option("--kind", help="Only documents of this kind.")
@json_option
@pass_settings
def document_list(settings: Settings, /, slug: str, kind: str | None, as_json: bool) -> None:
    """The documents of region SLUG, with the ids `document remove` takes."""
    result = settings.app.list_documents(slug, kind=kind)
    if as_json:
        emit_json(result)
        return
    if not result["documents"]:
        say(_("{slug} has no documents of kind {kind}").format(slug=slug, kind=kind) if kind
            else _("{slug} has no documents").format(slug=slug))
        return
    table(_("Documents of {slug}").format(slug=slug),
          _columns(N_("id"), N_("kind"), N_("title"), N_("ref"), N_("date")),
          [(d["id"], d["kind"], d["title"], d["ref"], _day(d["date"])) for d in result["documents"]])


@document.command("remove")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("document_id", metavar="ID", type=int)
@json_option
@pass_settings
def document_remove(settings: Settings, /, slug: str, document_id: int, as_json: bool) -> None:
    """Remove document ID of region SLUG (recorded by mistake); the audit log keeps it."""
    result = settings.app.remove_document(slug, document_id)
    removed = result["removed"]
    _done(as_json, result, _("{document} '{title}' removed from {slug}").format(
        document=_capital(document_label(removed["kind"])), title=removed["title"], slug=slug))


@click.group()
def fact() -> None:
    """Typed attributes of a region, declared by the workflows."""


@fact.command("set")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("name")
@click.argument("value")
@click.option("--workflow", help="The workflow of the case (a fact with scope: case).")
@click.option("--round", "round_", help="The round of the case (a fact with scope: case).")
@json_option
@pass_settings
def fact_set(settings: Settings, slug: str, name: str, value: str, workflow: str | None,
             round_: str | None, as_json: bool) -> None:
    """Set fact NAME of region SLUG to VALUE (validated against the workflows' facts).

    A fact declared with scope: case belongs to one case (one round); name it with
    --workflow and --round when the region has several.
    """
    result = settings.app.set_fact(slug, name, value, workflow=workflow, round=round_)
    if as_json:
        _done(as_json, result, "")
        return
    found = settings.app.declared_facts().get(name)
    kind = found.type if found else None
    values = {"name": name, "slug": slug, "new": i18n.format_value(result["new"], kind, sentence=True),
              "old": i18n.format_value(result["old"], kind, sentence=True)}
    if result.get("scope") != "case":
        say(_("Fact {name} of {slug} set to {new} (was: {old})").format(**values))
    elif result.get("round"):
        say(_("Fact {name} of {slug} ({workflow}, round {round}) set to {new} (was: {old})").format(
            workflow=result["workflow"], round=result["round"], **values))
    else:
        say(_("Fact {name} of {slug} ({workflow}) set to {new} (was: {old})").format(
            workflow=result["workflow"], **values))


@fact.command("unset")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("name")
@click.option("--workflow", help="The workflow of the case (a fact with scope: case).")
@click.option("--round", "round_", help="The round of the case (a fact with scope: case).")
@json_option
@pass_settings
def fact_unset(settings: Settings, /, slug: str, name: str, workflow: str | None,
               round_: str | None, as_json: bool) -> None:
    """Remove the value of fact NAME of region SLUG (or of its case); audited."""
    result = settings.app.unset_fact(slug, name, workflow=workflow, round=round_)
    if as_json:
        _done(as_json, result, "")
        return
    found = settings.app.declared_facts().get(name)
    old = i18n.format_value(result["old"], found.type if found else None, sentence=True)
    say(_("Fact {name} of {slug} unset (was: {old})").format(name=name, slug=slug, old=old))


#: The fields of a region, as `region update` names them.
_REGION_FIELDS: dict[str, str] = {"name": N_("name"), "provinces": N_("provinces"),
                                  "sectors": N_("sectors"), "coordinator": N_("coordinator")}


def _columns(*names: str) -> list[str]:
    """Column headers (marked with ``N_``) in the current language."""
    return [_(name) for name in names]


def _capital(text: str) -> str:
    """`text` at the start of a sentence."""
    return text[:1].upper() + text[1:]


def _state(settings: Settings, workflow: str, state: str, version: int | None = None) -> str:
    """A case's state as a person reads it: its label in the workflow."""
    return str(settings.app.state_label(workflow, state, version))


def _shown(value: Any) -> str:
    """A region field's old or new value (`region update`)."""
    if value is None:
        return _("(not set)")
    if isinstance(value, list):
        return ", ".join(map(str, value)) or _("(none)")
    return str(value)


def _day(iso: str | None) -> str:
    """A date in a table cell: "15 okt 2024" in Dutch; as stored (ISO) in English."""
    if not iso:
        return ""
    return i18n.format_day(date.fromisoformat(iso)) if i18n.current() == "nl" else iso


def _done(as_json: bool, data: dict[str, Any], sentence: str) -> None:
    if as_json:
        emit_json({"ok": True, **data})
    else:
        say(sentence)


@click.group()
def record() -> None:
    """Structured entries: a peilgesprek held, an action of the plan (language 1.1)."""


@record.command("add")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("kind", shell_complete=completion.record_kinds)
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="A field (repeatable; repeat a list field once per item).")
@click.option("--file", "file", metavar="FILE.yaml",
              help="A YAML file with the fields (lists as YAML lists); --field wins.")
@click.option("--workflow", help="The workflow that declares KIND (when several do).")
@click.option("--round", "round_", help="The round of the case (a record kept on a case).")
@json_option
@pass_settings
def record_add(settings: Settings, slug: str, kind: str, fields: tuple[str, ...], file: str | None,
               workflow: str | None, round_: str | None, as_json: bool) -> None:
    """Add a record of KIND to region SLUG; every field is checked before anything is written."""
    given = _record_fields(fields, file)
    result = settings.app.add_record(slug, kind, given, workflow=workflow, round=round_)
    if as_json:
        emit_json(result)
        return
    definition = settings.app.workflow_definition(result["workflow"]) if result.get("workflow") else None
    spec = definition.records.get(kind) if definition is not None else None
    say(_("{record} recorded for {slug} (record {id})").format(
        record=spec.label if spec is not None else kind, id=result["id"], slug=slug))
    for m in result["met"]:
        owner = settings.app.workflow_definition(m["workflow"])
        milestone = next((x for x in owner.milestones if x.name == m["milestone"]), None) \
            if owner is not None else None
        say(_("  milestone {milestone} (due {due}) met").format(
            milestone=(milestone.label if milestone is not None else None) or m["milestone"],
            due=_moment(m["due"])))


def _moment(iso: str) -> str:
    """A moment in a sentence: "dinsdag 15 oktober 2024, 16:00" in Dutch; ISO in English."""
    return i18n.format_datetime(datetime.fromisoformat(iso)) if i18n.current() == "nl" else iso


def _record_fields(items: tuple[str, ...], file: str | None) -> dict[str, Any]:
    from onderwijsflow.definition.records import read_fields_file

    given: dict[str, Any] = read_fields_file(file) if file else {}
    from_options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            from onderwijsflow.errors import UsageError

            raise UsageError(_("--field '{item}' is not NAME=VALUE").format(item=item))
        from_options.setdefault(key.strip(), []).append(value)
    for key, values in from_options.items():
        given[key] = values if len(values) > 1 else values[0]
    return given


@record.command("list")
@click.argument("slug", shell_complete=completion.slugs)
@click.option("--kind", help="Only records of this kind.")
@json_option
@pass_settings
def record_list(settings: Settings, slug: str, kind: str | None, as_json: bool) -> None:
    """The records of region SLUG, oldest first."""
    result = settings.app.list_records(slug, kind=kind)
    if as_json:
        emit_json(result)
        return
    if not result["records"]:
        say(_("{slug} has no records of kind {kind} yet").format(slug=slug, kind=kind) if kind
            else _("{slug} has no records yet").format(slug=slug))
        return
    table(_("Records of {slug}").format(slug=slug),
          _columns(N_("id"), N_("kind"), N_("workflow"), N_("round"), N_("at"), N_("actor"), N_("fields")),
          [(r["id"], r["kind"], r["workflow"], r["round"], short_time(r["at"]), r["actor"],
            _fields_text(settings, r)) for r in result["records"]])


def _fields_text(settings: Settings, r: Mapping[str, Any]) -> str:
    """A record's fields in a table cell, each value as a person reads it."""
    definition = settings.app.workflow_definition(r["workflow"]) if r.get("workflow") else None
    spec = definition.records.get(r["kind"]) if definition is not None else None

    def one(name: str, value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(map(str, value))
        field = spec.fields.get(name) if spec is not None else None
        return i18n.format_value(value, field.type if field is not None else None)

    return "; ".join(f"{k}: {one(k, v)}" for k, v in r["fields"].items())


COMMANDS = [region, partner, role, document, fact, record]


# --- the national network: which municipalities and school locations a region covers ---------


@region.command("add-municipality")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("code")
@json_option
@pass_settings
def region_add_municipality(settings: Settings, /, slug: str, code: str, as_json: bool) -> None:
    """Add municipality CODE (CBS code, e.g. GM0363) to the area of region SLUG."""
    result = settings.app.add_municipality(slug, code)
    _done(as_json, result, _("{name} ({code}) is now part of the area of {slug}").format(
        name=result["name"], code=result["code"], slug=slug))


@region.command("remove-municipality")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("code")
@json_option
@pass_settings
def region_remove_municipality(settings: Settings, /, slug: str, code: str, as_json: bool) -> None:
    """Take municipality CODE out of the area of region SLUG."""
    result = settings.app.remove_municipality(slug, code)
    _done(as_json, {**result, "removed": True},
          _("{code} is no longer part of {slug}").format(code=result["code"], slug=slug))


@region.command("add-location")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("code")
@json_option
@pass_settings
def region_add_location(settings: Settings, /, slug: str, code: str, as_json: bool) -> None:
    """Add school location CODE (DUO vestigingscode, e.g. 16AH00) to region SLUG."""
    result = settings.app.add_location(slug, code)
    _done(as_json, result, _("{name} ({code}) now takes part in {slug}").format(
        name=result["name"], code=result["code"], slug=slug))


@region.command("remove-location")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("code")
@json_option
@pass_settings
def region_remove_location(settings: Settings, /, slug: str, code: str, as_json: bool) -> None:
    """Take school location CODE out of region SLUG."""
    result = settings.app.remove_location(slug, code)
    _done(as_json, {**result, "removed": True},
          _("{code} is no longer part of {slug}").format(code=result["code"], slug=slug))


@region.command("network")
@click.argument("slug", shell_complete=completion.slugs)
@json_option
@pass_settings
def region_network(settings: Settings, /, slug: str, as_json: bool) -> None:
    """The municipalities and school locations of region SLUG, and where a location is shared."""
    result = settings.app.region_network(slug)
    if as_json:
        emit_json(result)
        return
    table(_("Municipalities of {slug}").format(slug=slug), [_("code"), _("name")],
          [(m["code"], m["name"]) for m in result["municipalities"]],
          empty=_("{slug} has no municipalities yet").format(slug=slug))
    table(_("School locations of {slug}").format(slug=slug),
          [_("code"), _("name"), _("sector"), _("pupils"), _("also in")],
          [(loc["code"], loc["name"], loc["sector"], loc["pupils"], ", ".join(loc["also_in"]))
           for loc in result["locations"]],
          empty=_("{slug} has no school locations yet").format(slug=slug))
