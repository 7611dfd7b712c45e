"""The demonstration as shipped until the workflows of 2025: a test helper, frozen.

It plays the old story (regiovorming v1 with the 2023 statuses, subsidie v1 with a draft-plan
state) on the frozen workflows in ``tests/data/workflows-2024``, so that a test can build a
database on the OLD workflows and migrate it (``tests/test_demo_migration.py``). It is a copy
of ``onderwijsflow/demo.py`` at commit 5fc5664; only the application it builds differs
(:func:`legacy_app`): the frozen workflow directory and rounds with the parameters of
subsidie v1. Do not bring it up to date with the shipped workflows: its point is to stay old.

Twelve onderwijsregio names move through ``regiovorming`` and the ``subsidie`` round 2025 on a
simulated clock, from March 2024 to February 2025. The partners, people and numbers are
invented. The names are those of real regions while some outcomes (a rejection, a late
application) are invented, which shared/domain.md does not allow in a demo shown to users;
this copy is a test fixture that nobody is shown, and keeps them only to stay a faithful copy.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from onderwijsflow.clock import Clock, parse_moment
from onderwijsflow.config import RoundConfig, load_config
from onderwijsflow.errors import Refused
from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow

NOTICE = ("Fictieve gegevens / invented data: de regionamen zijn echt, maar alle partners, "
          "personen en aantallen zijn verzonnen (partners, people and numbers are invented).")

# How far a region gets in the story.
SUBSIDISED, FEATURED, REJECTED, LATE = "subsidised", "featured", "rejected", "late"
PROVISIONAL, FOUNDING, EXPLORING = "provisional", "founding", "exploring"
APPLYING = (SUBSIDISED, FEATURED, REJECTED)  # apply for the 2025 subsidy in time
DEFINITIVE = (*APPLYING, LATE)               # reach definitive status in 2024
WITH_PLAN = (*DEFINITIVE, PROVISIONAL)       # have a plan and governance from the start


class Regio(NamedTuple):
    """One region of the story: a real name, everything else invented."""

    slug: str
    name: str
    provinces: tuple[str, ...]
    stem: str  # for invented partner names
    manager: str
    union: str | None  # the profession group at the start, if any
    pupils_po: int  # pupils in primary education
    trained: int  # students and side-entrants trained in 2023/2024
    stage: str


REGIONS: tuple[Regio, ...] = (
    Regio("noorderwijzer", "Noorderwijzer (Drenthe+)", ("Drenthe",), "Drenthe", "Sanne Meijer",
          "AOb", 31000, 420, SUBSIDISED),
    Regio("twente-achterhoek-oost-salland", "Twente–Achterhoek–Oost-Salland", ("Overijssel", "Gelderland"),
          "Oost", "Daan Vos", "CNV Onderwijs", 68000, 910, SUBSIDISED),
    Regio("ra-zon", "RA-ZON Zuidoost-Nederland", ("Noord-Brabant", "Limburg"), "Zuidoost",
          "Ilse Hoekstra", "AOb", 74000, 1020, SUBSIDISED),
    Regio("leiden-duin-bollenstreek", "Leiden–Duin- en Bollenstreek", ("Zuid-Holland",), "Leiden",
          "Marieke Jansen", None, 29000, 380, FEATURED),
    Regio("utrecht", "Onderwijsregio Utrecht", ("Utrecht",), "Utrecht", "Youssef Amrani",
          "FvOv", 52000, 760, SUBSIDISED),
    Regio("rotterdam", "Onderwijsregio Rotterdam", ("Zuid-Holland",), "Rijnmond", "Noor Bakker",
          "AOb", 71000, 980, SUBSIDISED),
    Regio("amsterdam-diemen", "Amsterdam-Diemen", ("Noord-Holland",), "Amstel", "Tom Visser",
          "CNV Onderwijs", 78000, 1150, SUBSIDISED),
    Regio("zuid-limburg", "Zuid-Limburg", ("Limburg",), "Heuvelland", "Eva Smit",
          "AOb", 24000, 260, REJECTED),
    Regio("zeeland", "Zeeland", ("Zeeland",), "Zeeland", "Lars de Boer",
          "Beroepsvereniging Zeeland", 27000, 230, LATE),
    Regio("friesland", "Friesland", ("Friesland",), "Fryslân", "Fenna Dijkstra",
          None, 48000, 540, PROVISIONAL),
    Regio("groningen", "Groningen", ("Groningen",), "Ommelanden", "Karim Haddou",
          None, 39000, 470, FOUNDING),
    Regio("flevoland", "Flevoland", ("Flevoland",), "Flevoland", "Ruben Kok",
          None, 31000, 0, EXPLORING),
)
FEATURED_SLUG = "leiden-duin-bollenstreek"
UNIONS = ("AOb", "CNV Onderwijs", "FvOv")  # partner kind vakbond; others are a beroepsgroep
COORDINATORS = ("anne", "joost", "fatima")  # invented RE coordinators: the actors

#: The workflows as shipped until December 2024 (regiovorming v1, subsidie v1).
LEGACY_WORKFLOWS = Path(__file__).resolve().parent / "data" / "workflows-2024"
#: Rounds as subsidie v1 knew them (v1 had no application window nor activity dates). The
#: story uses 2025; 2026 is there for the migration test (a region preparing the next round).
LEGACY_ROUNDS = {
    "2025": RoundConfig(workflow="subsidie", label="Subsidieronde 2025",
                        params={"deadline_aanvraag": "2024-10-15", "beschikking": "2025-01-31",
                                "jaarverslag_uiterlijk": "2026-06-30"}),
    "2026": RoundConfig(workflow="subsidie", label="Subsidieronde 2026",
                        params={"deadline_aanvraag": "2025-10-15", "beschikking": "2026-01-31",
                                "jaarverslag_uiterlijk": "2027-06-30"}),
}


def run_demo(path: Path, quiet: bool = False) -> dict[str, Any]:
    """Play the story on a fresh SQLite file at `path` and return a summary.

    Args:
        path: the SQLite file to (re)create; an existing file and its -wal/-shm go first.
        quiet: print only the invented-data notice and the final summary.

    Returns:
        ``{"database", "regions", "events", "states": {workflow: {state: count}},
        "featured", "audit_ok"}``.
    """
    loud = Console(width=None if sys.stdout.isatty() else 140, highlight=False)
    out = Console(quiet=True) if quiet else loud
    app = _fresh_app(Path(path))
    try:
        loud.print(f"[bold yellow]{NOTICE}[/bold yellow]")
        app.init()
        for act in (_act_regions, _act_regiovorming, _act_round, _act_decisions, _act_look_back):
            act(app, out)
        summary = _summary(app, Path(path))
        _show_summary(loud, summary)
        return summary
    finally:
        app.close()


def _fresh_app(path: Path) -> Onderwijsflow:
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return legacy_app(path, "2024-03-01T09:00")


def legacy_app(path: Path, now: str) -> Onderwijsflow:
    """The application on the frozen 2024 workflows, on the SQLite file `path`, at `now`."""
    url = f"sqlite:///{Path(path).resolve()}"
    config = load_config().model_copy(update={"simulated_clock": True, "database": url,
                                              "rounds": LEGACY_ROUNDS,
                                              "start_with_region": ("regiovorming",)})
    return Onderwijsflow(config, db_url=url, workflows=LEGACY_WORKFLOWS, actor=COORDINATORS[0],
                         clock=Clock(fixed=parse_moment(now)))


# --- small helpers -------------------------------------------------------------------------


def _at(app: Onderwijsflow, moment: str) -> None:
    """Move the simulated clock (Europe/Amsterdam local time)."""
    app.clock.set(parse_moment(moment))


def _as(app: Onderwijsflow, regio: Regio) -> Regio:
    """Act as the region's (invented) RE coordinator, so the history shows who did what."""
    app.actor = COORDINATORS[REGIONS.index(regio) % len(COORDINATORS)]
    return regio


def _regions(*stages: str) -> list[Regio]:
    return [r for r in REGIONS if r.stage in stages]


def _go(app: Onderwijsflow, regio: Regio, workflow: str, trigger: str, reason: str | None = None) -> Any:
    return app.advance(_as(app, regio).slug, trigger, workflow=workflow, reason=reason)


def _doc(app: Onderwijsflow, regio: Regio, kind: str, title: str, day: str) -> None:
    app.add_document(_as(app, regio).slug, kind, title=title, ref=f"{regio.slug}/{kind}",
                     on=date.fromisoformat(day))


def _heading(out: Console, number: int, when: str, title: str) -> None:
    out.print()
    out.rule(f"[bold]Akte {number} · {when} — {title}[/bold]", align="left")


def _table(title: str, *columns: str, caption: str | None = None) -> Table:
    grid = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for column in columns:
        grid.add_column(column)
    return grid


# --- the acts ------------------------------------------------------------------------------


def _act_regions(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 1, "maart 2024", "regio's melden zich / regions come forward")
    _at(app, "2024-03-01T09:30")
    for r in REGIONS:
        app.create_region(_as(app, r).slug, name=r.name, provinces=r.provinces,
                          sectors=("PO", "VO", "MBO"), coordinator=f"{app.actor}@re.example")
        app.add_partner(r.slug, f"Stichting Primair Onderwijs {r.stem}", kind="schoolbestuur", sector="PO")
        app.set_fact(r.slug, "leerlingen_po", str(r.pupils_po))
        if r.stage != EXPLORING:
            _partners_and_plans(app, r)
    _overview(app, out, "Twaalf regio's in verkenning / twelve regions exploring")


def _partners_and_plans(app: Onderwijsflow, r: Regio) -> None:
    app.add_partner(r.slug, f"Scholengroep {r.stem}", kind="schoolbestuur", sector="VO")
    app.add_partner(r.slug, f"Lerarenopleiding {r.stem}", kind="lerarenopleiding")
    if r.union:
        app.add_partner(r.slug, r.union, kind="vakbond" if r.union in UNIONS else "beroepsgroep")
    app.set_fact(r.slug, "opgeleide_studenten_2023", str(r.trained))
    app.assign_role(r.slug, "programmamanager", r.manager,
                    email=f"{r.manager.split()[0].lower()}@{r.slug}.example")
    _doc(app, r, "intentieverklaring", "Intentieverklaring van de partners", "2024-02-20")
    _doc(app, r, "arbeidsmarktanalyse", f"Arbeidsmarktanalyse {r.stem} 2024", "2024-02-28")
    if r.stage in WITH_PLAN:
        _doc(app, r, "plan_van_aanpak", f"Plan van aanpak {r.name}", "2024-03-01")
        _doc(app, r, "governance", "Governance: communicatie, besluitvorming, evaluatie", "2024-03-01")


def _act_regiovorming(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 2, "april–juli 2024", "aanvraag en status / application and status")
    _at(app, "2024-04-12T11:00")
    for r in REGIONS:
        if r.stage != EXPLORING:
            _go(app, r, "regiovorming", "dien_aanvraag_in")
    _at(app, "2024-05-21T14:00")
    for r in _regions(SUBSIDISED, REJECTED, LATE):
        _go(app, r, "regiovorming", "verleen_definitieve_status")
    featured = _regions(FEATURED)[0]
    out.print(f"\n[bold]{featured.name}[/bold] vraagt de definitieve status / asks for definitive status:")
    _refused(app, out, featured, "regiovorming", "verleen_definitieve_status")
    for r in _regions(FEATURED, PROVISIONAL):
        _go(app, r, "regiovorming", "verleen_voorlopige_status", "Beroepsgroep nog geen volwaardig partner")
    for r in _regions(FOUNDING):
        _go(app, r, "regiovorming", "zet_in_oprichting", "Plan van aanpak volgt; regio bouwt verder")
    out.print("→ voorlopige status / provisional status, zoals in 2023 / as in 2023")
    _at(app, "2024-06-12T10:00")
    app.add_partner(_as(app, featured).slug, "AOb", kind="vakbond")
    out.print("\n[bold]De oplossing / the fix[/bold] (12 juni 2024): partner add AOb --kind vakbond")
    _at(app, "2024-07-04T10:00")
    result = _go(app, featured, "regiovorming", "verleen_definitieve_status", "Beroepsgroep aangesloten")
    passed = sum(1 for e in result["evidence"] if e["passed"])
    out.print(f"[green]✓ {result['from']} → {result['to']}[/green]: {passed} eisen voldaan, bewijs "
              "vastgelegd / requirements met, evidence kept in the audit log")


def _refused(app: Onderwijsflow, out: Console, regio: Regio, workflow: str, trigger: str) -> None:
    try:
        _go(app, regio, workflow, trigger)
    except Refused as refused:
        out.print(f"[red]✗ geweigerd / refused:[/red] {trigger}")
        for item in refused.details["result"]["unmet"]:
            out.print(f"   [red]mist / missing[/red] {escape(item['requirement'])}: "
                      f"{escape(item['label'])} — {escape(item['detail'])}")
    else:
        raise RuntimeError(f"the story expected {trigger} to be refused for {regio.slug}")


def _act_round(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 3, "juli–oktober 2024", "subsidieronde 2025 / subsidy round 2025")
    _at(app, "2024-07-08T09:00")
    for r in _regions(*DEFINITIVE):
        app.start_case(_as(app, r).slug, "subsidie", round="2025")
    out.print(f"{len(_regions(*DEFINITIVE))} subsidietrajecten geopend / subsidy cases opened; "
              "deadline 15 oktober 2024 16:00")
    _readiness(app, out, FEATURED_SLUG, "subsidie", "ingediend")
    _at(app, "2024-08-26T10:00")
    for r in _regions(*APPLYING):
        _doc(app, r, "concept_plan_van_aanpak", "Conceptplan van aanpak 2025", "2024-08-23")
        _go(app, r, "subsidie", "leg_concept_voor")
    _tick(app, out, "2024-09-16T09:00")
    _at(app, "2024-09-20T10:00")
    for r in _regions(*DEFINITIVE):
        app.assign_role(_as(app, r).slug, "penvoerder", f"Stichting Primair Onderwijs {r.stem}")
        if r.stage == LATE:
            _go(app, r, "subsidie", "maak_gereed")
            continue
        _doc(app, r, "advies_re", "Advies Realisatie-Eenheid", "2024-09-18")
        _go(app, r, "subsidie", "verwerk_advies")
    _at(app, "2024-10-08T15:00")
    for r in _regions(*APPLYING):
        _doc(app, r, "subsidieaanvraag", "Subsidieaanvraag 2025", "2024-10-08")
        _go(app, r, "subsidie", "dien_aanvraag_in")
    out.print(f"{len(_regions(*APPLYING))} aanvragen op tijd ingediend / applications in on time")
    late = _regions(LATE)[0]
    _at(app, "2024-10-15T16:30")
    _doc(app, late, "subsidieaanvraag", "Subsidieaanvraag 2025", "2024-10-15")
    out.print(f"\n[bold]{late.name}[/bold] dient een half uur te laat in / submits half an hour late:")
    _refused(app, out, late, "subsidie", "dien_aanvraag_in")
    _tick(app, out, "2024-10-16T09:00")


def _tick(app: Onderwijsflow, out: Console, moment: str) -> None:
    """One pass of the scheduler: reminders go out (to the log), passed deadlines act."""
    _at(app, moment)
    report = Scheduler(app).tick()
    out.print(f"scheduler tick {moment[:10]}: {report.queued} herinnering(en) / reminder(s), "
              f"{report.overdue} verlopen / overdue")
    for moved in report.transitions:
        out.print(f"   door de scheduler / by the scheduler: {escape(moved)}")


def _readiness(app: Onderwijsflow, out: Console, slug: str, workflow: str, target: str) -> None:
    result = app.check(slug, workflow=workflow, target=target)
    grid = _table(f"check {slug} --workflow {workflow} --target {target}  (nu / now: {result['state']})",
                  "stap / step", "naar / to", "ontbreekt / missing")
    for step in result["path"]:
        missing = "\n".join(escape(f"{u['requirement']}: {u['detail']}") for u in step["unmet"])
        grid.add_row(step["trigger"], step["dest"], missing or "[green]gereed / ready[/green]")
    out.print(grid)


def _act_decisions(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 4, "januari–februari 2025", "beschikkingen van DUS-I / decisions by DUS-I")
    _at(app, "2025-01-24T11:00")
    grid = _table("Beschikkingen (fictief) / decisions (invented)", "regio", "besluit / decision",
                  "bedrag / amount")
    for r in _regions(*APPLYING):
        _doc(app, r, "beschikking", "Beschikking DUS-I subsidieronde 2025", "2025-01-23")
        if r.stage == REJECTED:
            _go(app, r, "subsidie", "wijs_af", "Acties onvoldoende SMART uitgewerkt (fictief)")
            grid.add_row(r.name, "[red]afgewezen / rejected[/red]", "—")
            continue
        amount = r.trained * 1250  # the 2025 round paid €1,250 per trainee; the counts are invented
        app.set_fact(r.slug, "subsidiebedrag", f"{amount}.00")
        _go(app, r, "subsidie", "verleen")
        _go(app, r, "regiovorming", "subsidieer")
        grid.add_row(r.name, "[green]verleend / granted[/green]", f"€ {amount:,}".replace(",", "."))
    out.print(grid)
    _at(app, "2025-02-03T09:00")
    for r in _regions(SUBSIDISED, FEATURED):
        _go(app, r, "subsidie", "start_uitvoering")


def _act_look_back(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 5, "februari 2025", "terugkijken / looking back")
    _at(app, "2025-02-14T16:00")
    _history(app, out, FEATURED_SLUG)
    then = app.history(FEATURED_SLUG, as_of=parse_moment("2024-06-01"))
    states = ", ".join(f"{w}: {s}" for w, s in then["state"].items())
    out.print(f"history {FEATURED_SLUG} --as-of 2024-06-01 → [bold]{states}[/bold]\n")
    _readiness(app, out, "friesland", "regiovorming", "gesubsidieerd")
    report = app.verify_audit()
    mark = "[green]intact[/green]" if report["ok"] else "[red]GEBROKEN / BROKEN[/red]"
    out.print(f"audit verify: hash-keten / hash chain {mark}, "
              f"{report['events']} events in {report['regions']} regio's\n")
    _overview(app, out, "Stand van zaken / where everyone stands")


def _history(app: Onderwijsflow, out: Console, slug: str) -> None:
    events = app.history(slug, all_events=True)["events"]
    first = events[0]["at"]
    setup = [e for e in events if e["at"] == first and e["kind"] not in ("region_created", "case_opened")]
    grid = _table(f"history {slug} --all", "#", "datum", "actor", "event", "workflow", "trigger",
                  "van → naar / from → to", "details",
                  caption=f"+ {len(setup)} events op / on {first[:10]} (partners, people, documents, "
                          "facts) niet getoond / not shown")
    for e in events:
        if e in setup:
            continue
        moved = " → ".join(s for s in (e["from"], e["to"]) if s) if e["to"] else ""
        style = {"refused": "red", "transition": "green"}.get(e["kind"], "")
        grid.add_row(str(e["seq"]), e["at"][:10], e["actor"], e["kind"], e["workflow"] or "",
                     e["trigger"] or "", moved, _detail(e), style=style)
    out.print(grid)


def _detail(e: dict[str, Any]) -> str:
    data = e["data"] or {}
    new = data.get("new") or {}
    if e["kind"] == "refused":
        return "mist / missing: " + ", ".join(r["requirement"] for r in data["evidence"] if not r["passed"])
    if e["kind"] == "case_opened":
        return f"ronde / round {data['round']}" if data.get("round") else ""
    if e["kind"] == "fact_set":
        return f"{data['name']} = {data['new']}"
    return e["reason"] or str(new.get("title") or new.get("person") or new.get("name") or "")


def _overview(app: Onderwijsflow, out: Console, title: str) -> None:
    grid = _table(title, "regio", "coördinator", "regiovorming", "subsidie 2025")
    for r in app.list_regions():
        cases = r["cases"]
        grid.add_row(r["name"], r["coordinator"] or "", cases.get("regiovorming", ""),
                     cases.get("subsidie/2025", "—"))
    out.print(grid)


# --- the end -------------------------------------------------------------------------------


def _summary(app: Onderwijsflow, path: Path) -> dict[str, Any]:
    states: dict[str, Counter[str]] = {}
    for r in app.list_regions():
        for key, state in r["cases"].items():
            states.setdefault(key.split("/")[0], Counter())[state] += 1
    report = app.verify_audit()
    return {"database": str(path), "regions": report["regions"], "events": report["events"],
            "states": {w: dict(sorted(c.items())) for w, c in states.items()},
            "featured": FEATURED_SLUG, "audit_ok": report["ok"]}


def _show_summary(console: Console, summary: dict[str, Any]) -> None:
    console.print()
    console.rule("[bold]Samenvatting / summary[/bold]", align="left")
    intact = "intact" if summary["audit_ok"] else "BROKEN"
    console.print(f"{summary['regions']} regio's, {summary['events']} audit-events, "
                  f"audit log {intact}; database: {summary['database']}")
    for workflow, counts in summary["states"].items():
        console.print(f"  {workflow}: " + ", ".join(f"{s} {n}" for s, n in counts.items()))
    console.print(f"Verder kijken / explore: onderwijsflow --db sqlite:///{summary['database']} "
                  f"history {FEATURED_SLUG} --all")
    console.print(f"[bold yellow]{NOTICE}[/bold yellow]")


__all__ = ["LEGACY_WORKFLOWS", "NOTICE", "REGIONS", "legacy_app", "run_demo"]
