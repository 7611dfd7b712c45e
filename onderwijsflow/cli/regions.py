"""Commands on a region's data: region, partner, role, document, fact."""

from __future__ import annotations

from typing import Any

import click

from onderwijsflow.cli import Settings, completion, pass_settings
from onderwijsflow.cli.output import emit_json, esc, json_option, say, table

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
        opened = ", ".join(f"{w} ({c['state']})" for w, c in shown["cases"].items()) or "none"
        say(f"Region {slug} created; cases opened: {opened}")


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
    changes = ", ".join(f"{k}: {_shown(v)} -> {_shown(result['new'][k])}"
                        for k, v in result["old"].items())
    _done(as_json, result, f"{slug}: {changes}" if changes else f"{slug}: nothing changed")


@region.command("list")
@click.option("--state", help="Only regions with a case in this state.")
@click.option("--workflow", help="Only regions with a case of this workflow.")
@json_option
@pass_settings
def region_list(settings: Settings, state: str | None, workflow: str | None, as_json: bool) -> None:
    """Overview of the regions and their cases' states."""
    regions = settings.app.list_regions(state=state, workflow=workflow)
    if as_json:
        emit_json({"regions": regions})
        return
    table(f"{len(regions)} regions", ["slug", "name", "coordinator", "cases"],
          [(r["slug"], r["name"], r["coordinator"],
            ", ".join(f"{w}: {s}" for w, s in r["cases"].items())) for r in regions],
          empty="No regions match." if state or workflow else "No regions yet.")


@region.command("show")
@click.argument("slug", shell_complete=completion.slugs)
@json_option
@pass_settings
def region_show(settings: Settings, slug: str, as_json: bool) -> None:
    """One region in full: cases, partners, people, documents and facts."""
    shown = settings.app.show_region(slug)
    if as_json:
        emit_json(shown)
        return
    _show(shown)


def _show(r: dict[str, Any]) -> None:
    say(f"[bold]{esc(r['name'])}[/bold] ({r['slug']})  coordinator: {esc(r['coordinator'] or '-')}  "
        f"provinces: {esc(', '.join(r['provinces']) or '-')}  sectors: {', '.join(r['sectors']) or '-'}",
        markup=True)
    table("Cases", ["workflow", "state", "version", "opened", "facts"],
          [(w, c["state"], c["version"], c["opened"],
            ", ".join(f"{k}: {v}" for k, v in c.get("facts", {}).items()))
           for w, c in r["cases"].items()])
    table("Partners", ["name", "kind", "sector"],
          [(p["name"], p["kind"], p["sector"]) for p in r["partners"]])
    table("People", ["role", "person", "e-mail"],
          [(p["role"], p["person"], p["email"]) for p in r["roles"]])
    table("Documents", ["kind", "title", "ref", "date"],
          [(d["kind"], d["title"], d["ref"], d["date"]) for d in r["documents"]])
    table("Facts", ["name", "value"], list(r["facts"].items()))


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
          f"{name} ({kind}) is now a partner of {slug}")


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
        say(f"{slug} has no partners yet")
        return
    table(f"Partners of {slug}", ["name", "kind", "sector"],
          [(p["name"], p["kind"], p["sector"]) for p in result["partners"]])


@partner.command("remove")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("name")
@json_option
@pass_settings
def partner_remove(settings: Settings, slug: str, name: str, as_json: bool) -> None:
    """Remove partner NAME from region SLUG."""
    settings.app.remove_partner(slug, name)
    _done(as_json, {"region": slug, "partner": name, "removed": True},
          f"{name} is no longer a partner of {slug}")


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
          f"{person} is now {role_name} of {slug}")


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
          f"{person} is no longer {role_name} of {slug}")


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
          f"{kind} '{title}' recorded for {slug}")


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
        say(f"{slug} has no documents" + (f" of kind {kind}" if kind else ""))
        return
    table(f"Documents of {slug}", ["id", "kind", "title", "ref", "date"],
          [(d["id"], d["kind"], d["title"], d["ref"], d["date"]) for d in result["documents"]])


@document.command("remove")
@click.argument("slug", shell_complete=completion.slugs)
@click.argument("document_id", metavar="ID", type=int)
@json_option
@pass_settings
def document_remove(settings: Settings, /, slug: str, document_id: int, as_json: bool) -> None:
    """Remove document ID of region SLUG (recorded by mistake); the audit log keeps it."""
    result = settings.app.remove_document(slug, document_id)
    removed = result["removed"]
    _done(as_json, result, f"{removed['kind']} '{removed['title']}' removed from {slug}")


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
    where = f" ({result['workflow']}" + (f", round {result['round']})" if result.get("round") else ")") \
        if result.get("scope") == "case" else ""
    _done(as_json, result, f"{name} of {slug}{where}: {_shown(result['old'])} -> {result['new']}")


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
    _done(as_json, result, f"{name} of {slug}: {result['old']} -> (not set)")


def _shown(value: Any) -> str:
    return "(not set)" if value is None else str(value)


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
    say(f"{kind} {result['id']} recorded for {slug}")
    for m in result["met"]:
        say(f"  milestone {m['milestone']} (due {m['due']}) met")


def _record_fields(items: tuple[str, ...], file: str | None) -> dict[str, Any]:
    from onderwijsflow.definition.records import read_fields_file

    given: dict[str, Any] = read_fields_file(file) if file else {}
    from_options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            from onderwijsflow.errors import UsageError

            raise UsageError(f"--field '{item}' is not NAME=VALUE")
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
        say(f"{slug} has no records" + (f" of kind {kind}" if kind else "") + " yet")
        return
    table(f"Records of {slug}", ["id", "kind", "workflow", "round", "at", "actor", "fields"],
          [(r["id"], r["kind"], r["workflow"], r["round"], r["at"][:16].replace("T", " "),
            r["actor"], "; ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}"
                                  for k, v in r["fields"].items()))
           for r in result["records"]])


COMMANDS = [region, partner, role, document, fact, record]
