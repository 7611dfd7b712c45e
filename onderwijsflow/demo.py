"""A short, realistic story played through the library on a fresh SQLite file.

Ten invented onderwijsregio's follow the real timeline on a simulated clock, from the pilot
selection of spring 2023 (workflow ``voorlopers``) through the 2025 regulation (``subsidie``
round 2025, decided by DUS-I in January 2025), their place in the national network
(``regiovorming``), the April 2025 top-up round (``aanvulling``) and the first half-yearly
peilgesprek of July 2025. The dates, the rules and the deciding bodies are the real ones
(shared/domain.md); the regions, partners, people, numbers and decision references are
invented, and the demo says so at the start and at the end. The setbacks (a provisional
status, a late application, a rejection) happen to invented regions only. Everything goes
through :class:`onderwijsflow.service.Onderwijsflow`, as the CLI does.
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
from onderwijsflow.config import load_config
from onderwijsflow.errors import Refused
from onderwijsflow.scheduler.deadlines import deadlines
from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow

NOTICE = ("Fictieve gegevens / invented data: alle regio's, partners, personen, aantallen en "
          "besluitkenmerken zijn verzonnen; data, regels en besluitvormers volgen de echte tijdlijn "
          "(all regions, partners, people, numbers and decision references are invented; dates, "
          "rules and deciding bodies follow the real timeline).")

# The 2023 pilot selection (voorlopers): the outcome for a region that applied.
DEFINITIVE, PROVISIONAL, FOUNDING = "definitive", "provisional", "founding"
# The 2025 round: how far a region gets.
GRANTED, FEATURED, REJECTED, LATE, EXPLORING = "granted", "featured", "rejected", "late", "exploring"
APPLYING = (GRANTED, FEATURED, REJECTED)  # apply in time for the 2025 subsidy
IN_ROUND = (*APPLYING, LATE)              # open a case in round 2025
WITH_GRANT = (GRANTED, FEATURED)          # granted by DUS-I in January 2025

THEMES = ("werven", "matchen", "opleiden", "begeleiden", "professionaliseren")


class Regio(NamedTuple):
    """One region of the story: invented, name and all."""

    slug: str
    name: str
    provinces: tuple[str, ...]
    stem: str  # for invented partner names
    manager: str
    union: str | None  # the profession group at the start, if any (vakbond or beroepsgroep)
    pupils_po: int  # pupils in primary education
    pupils_vo: int  # pupils in secondary education
    students_mbo: int  # students in vocational education
    trained: int  # students and side-entrants trained in 2023/2024
    voorloper: str | None  # the outcome of the 2023 pilot selection; None: not in it
    stage: str  # how far the region gets in the 2025 round


REGIONS: tuple[Regio, ...] = (
    Regio("waddenkust", "Regio Waddenkust (fictief)", ("Fryslân",), "Waddenkust", "Sanne Meijer",
          "AOb", 31000, 24000, 11000, 420, DEFINITIVE, GRANTED),
    Regio("lindedal", "Regio Lindedal (fictief)", ("Gelderland",), "Lindedal", "Marieke Jansen",
          None, 29000, 21000, 8000, 380, PROVISIONAL, FEATURED),
    Regio("heideveld", "Regio Heideveld (fictief)", ("Drenthe",), "Heideveld", "Daan Vos",
          "CNV Onderwijs", 22000, 17000, 7000, 260, DEFINITIVE, GRANTED),
    Regio("rivierenpoort", "Regio Rivierenpoort (fictief)", ("Gelderland", "Utrecht"), "Rivierenpoort",
          "Ilse Hoekstra", "FvOv", 41000, 30000, 15000, 610, DEFINITIVE, GRANTED),
    Regio("zilverberg", "Regio Zilverberg (fictief)", ("Limburg",), "Zilverberg", "Karim Haddou",
          None, 18000, 14000, 9500, 190, FOUNDING, GRANTED),
    Regio("korenmolen", "Regio Korenmolen (fictief)", ("Noord-Brabant",), "Korenmolen", "Eva Smit",
          "Beroepsvereniging Korenmolen", 36000, 27000, 12000, 540, DEFINITIVE, GRANTED),
    Regio("veenhoven", "Regio Veenhoven (fictief)", ("Overijssel",), "Veenhoven", "Youssef Amrani",
          "AOb", 26000, 19000, 9200, 330, None, GRANTED),
    Regio("duinzicht", "Regio Duinzicht (fictief)", ("Noord-Holland",), "Duinzicht", "Noor Bakker",
          "CNV Onderwijs", 16500, 12000, 5000, 170, None, REJECTED),
    Regio("merelwoud", "Regio Merelwoud (fictief)", ("Zuid-Holland",), "Merelwoud", "Lars de Boer",
          "AOb", 24000, 18000, 8500, 290, DEFINITIVE, LATE),
    Regio("beekdal", "Regio Beekdal (fictief)", ("Zeeland",), "Beekdal", "Fenna Dijkstra",
          None, 9000, 7000, 3000, 60, None, EXPLORING),
)
FEATURED_SLUG = "lindedal"
EARLY_SLUG = "rivierenpoort"    # tries before the window opens; applies without the RE's advice
THEME_SLUG = "heideveld"        # its plan misses a theme in August; holds no peilgesprek in 2025
TOPUP_SLUG = "waddenkust"       # applies in the April 2025 top-up round
UNIONS = ("AOb", "CNV Onderwijs", "FvOv")  # partner kind vakbond; others are a beroepsgroep
COORDINATORS = ("anne", "joost", "fatima")  # invented RE coordinators: the actors
ROUND = "2025"
TOPUP_ROUND = "2025-aanvulling"

# The bodies that decide (workflows: `bodies:`); the coordinator only records their decisions.
OCW, BO, DUSI = "ocw_landelijke_partners", "bestuurlijk_overleg", "dus_i"


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
        for act in (_act_voorlopers, _act_round, _act_decisions, _act_topup, _act_peilgesprek,
                    _act_look_back):
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
    url = f"sqlite:///{path.resolve()}"
    config = load_config().model_copy(update={"simulated_clock": True, "database": url})
    clock = Clock(fixed=parse_moment("2023-03-15T09:00"))
    return Onderwijsflow(config, db_url=url, actor=COORDINATORS[0], clock=clock)


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


def _voorlopers(*outcomes: str) -> list[Regio]:
    return [r for r in REGIONS if r.voorloper and (not outcomes or r.voorloper in outcomes)]


def _regio(slug: str) -> Regio:
    return next(r for r in REGIONS if r.slug == slug)


def _decided(body: str, day: str, ref: str) -> dict[str, str]:
    """The decision a move records: who took it, on which date, with which reference."""
    return {"decided_by": body, "decision_date": day, "decision_ref": ref}


def _go(app: Onderwijsflow, regio: Regio, workflow: str, trigger: str, reason: str | None = None,
        **options: Any) -> Any:
    if workflow in ("voorlopers", "subsidie", "aanvulling"):
        options.setdefault("round", {"voorlopers": "2023", "subsidie": ROUND,
                                     "aanvulling": TOPUP_ROUND}[workflow])
    return app.advance(_as(app, regio).slug, trigger, workflow=workflow, reason=reason, **options)


def _doc(app: Onderwijsflow, regio: Regio, kind: str, title: str, day: str) -> None:
    app.add_document(_as(app, regio).slug, kind, title=title, ref=f"{regio.slug}/{kind}/{day[:4]}",
                     on=date.fromisoformat(day))


def _email(regio: Regio, person: str) -> str:
    return f"{person.split()[0].lower()}@{regio.slug}.example"


def _heading(out: Console, number: int, when: str, title: str) -> None:
    out.print()
    out.rule(f"[bold]Akte {number} · {when} — {title}[/bold]", align="left")


def _table(title: str, *columns: str, caption: str | None = None) -> Table:
    grid = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for column in columns:
        grid.add_column(column)
    return grid


def _dots(number: int) -> str:
    """A number the Dutch way: 15.000."""
    return f"{number:,}".replace(",", ".")


def _euro(amount: int) -> str:
    return f"€ {_dots(amount)}"


def _refused(app: Onderwijsflow, out: Console, regio: Regio, workflow: str, trigger: str,
             **options: Any) -> None:
    try:
        _go(app, regio, workflow, trigger, **options)
    except Refused as refused:
        out.print(f"[red]✗ geweigerd / refused:[/red] {trigger}")
        for item in refused.details["result"]["unmet"]:
            out.print(f"   [red]mist / missing[/red] {escape(item['requirement'])}: "
                      f"{escape(item['label'])} — {escape(item['detail'])}")
    else:
        raise RuntimeError(f"the story expected {trigger} to be refused for {regio.slug}")


def _tick(app: Onderwijsflow, out: Console, moment: str, *, show: tuple[str, ...] = ()) -> None:
    """One pass of the scheduler: reminders go out (to the log), passed deadlines act.

    Args:
        show: milestones whose overdue notices of this pass are printed (subject line).
    """
    _at(app, moment)
    report = Scheduler(app).tick()
    out.print(f"scheduler tick {moment.replace('T', ' ')}: {report.queued} bericht(en) / message(s), "
              f"waarvan {report.overdue} verlopen / of which {report.overdue} overdue")
    for moved in report.transitions:
        out.print(f"   door de scheduler / by the scheduler: {escape(moved)}")
    if show:
        for slug, subject in _notices(app, show):
            out.print(f"   [yellow]bericht / notice[/yellow] {slug}: {escape(subject)}")


def _notices(app: Onderwijsflow, milestones: tuple[str, ...]) -> list[tuple[str, str]]:
    """The overdue notices the scheduler delivered just now for `milestones`."""
    found = []
    for region in app.list_regions():
        for e in reversed(app.history(region["slug"], all_events=True)["events"]):
            if e["kind"] != "reminder_sent" or e["actor"] != "scheduler":
                continue
            data = e["data"] or {}
            if parse_moment(e["at"]) < app.now():
                break
            # a recurring milestone's notice is its "rollover" reminder
            if data.get("kind") in ("overdue", "rollover") and data.get("milestone") in milestones:
                found.append((region["slug"], data["subject"]))
    return found


def _readiness(app: Onderwijsflow, out: Console, slug: str, workflow: str, target: str,
               round: str | None = None) -> None:
    result = app.check(slug, workflow=workflow, round=round, target=target)
    flag = f" --round {round}" if round else ""
    title = f"check {slug} --workflow {workflow}{flag} --target {target}  (nu / now: {result['state']})"
    grid = _table(title, "stap / step", "naar / to", "ontbreekt / missing")
    for step in result["path"]:
        missing = "\n".join(escape(f"{u['requirement']}: {u['detail']}") for u in step["unmet"])
        grid.add_row(step["trigger"], step["dest"], missing or "[green]gereed / ready[/green]")
    out.print(grid)


# --- act 1: the pilot selection of 2023 ------------------------------------------------------


def _act_voorlopers(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 1, "maart–september 2023", "voorlopers / the pilot selection")
    _at(app, "2023-03-15T09:30")
    for r in _voorlopers():
        _create(app, r, "2023-03-10")
        app.start_case(r.slug, "voorlopers", round="2023")
    out.print(f"{len(_voorlopers())} regio's bereiden een aanvraag als voorloper voor / regions prepare a "
              "pilot application: start SLUG voorlopers --round 2023")
    _at(app, "2023-04-26T14:00")
    for r in _voorlopers():
        _go(app, r, "voorlopers", "dien_aanvraag_in")
    out.print("Ingediend vóór 28 april 2023 / applied before 28 April 2023. "
              "OCW en de landelijke partners beoordelen / OCW and the national partners assess.")

    _at(app, "2023-05-24T10:00")
    grid = _table("Besluiten mei 2023 (kenmerken fictief) / decisions May 2023 (invented references)",
                  "regio", "besluit / decision", "genomen door / decided by", "datum / date",
                  "kenmerk / reference", "vastgelegd door / recorded by")
    featured = _regio(FEATURED_SLUG)
    out.print(f"\n[bold]{featured.name}[/bold]: kan de definitieve status worden vastgelegd? / "
              "can the definitive status be recorded?")
    _refused(app, out, featured, "voorlopers", "ken_definitieve_status_toe",
             **_decided(OCW, "2023-05-23", "OCW/VL23/0007 (fictief)"))
    for n, r in enumerate(_voorlopers(), start=1):
        ref = f"OCW/VL23/{n:04d} (fictief)"
        assert r.voorloper is not None  # _voorlopers() gives only regions in the selection
        trigger, label, reason = {
            DEFINITIVE: ("ken_definitieve_status_toe", "definitieve status / definitive", None),
            PROVISIONAL: ("ken_voorlopige_status_toe", "voorlopige status / provisional",
                          "Beroepsgroep nog geen volwaardig partner"),
            FOUNDING: ("zet_in_oprichting", "in oprichting / being set up",
                       "Samenwerking nog in opbouw; verder als regio in oprichting"),
        }[r.voorloper]
        _go(app, r, "voorlopers", trigger, reason, **_decided(OCW, "2023-05-23", ref))
        grid.add_row(r.name, label, "OCW met de landelijke partners", "2023-05-23", ref, app.actor)
    out.print(grid)
    out.print("→ zonder beroepsgroep een voorlopige status, zoals in 2023 / without the profession "
              "group a provisional status, as in 2023")

    _at(app, "2023-06-14T10:00")
    app.add_partner(_as(app, featured).slug, "AOb", kind="vakbond")
    out.print(f"\n[bold]De oplossing / the fix[/bold] (14 juni 2023): partner add {featured.slug} AOb "
              "--kind vakbond")
    _at(app, "2023-07-07T10:00")
    result = _go(app, featured, "voorlopers", "ken_definitieve_status_toe",
                 "Beroepsgroep aangesloten; besloten in het Bestuurlijk Overleg",
                 **_decided(BO, "2023-07-06", "BO-Leraren 2023-07-06, punt 4 (fictief)"))
    passed = sum(1 for e in result["evidence"] if e["passed"])
    out.print(f"[green]✓ {result['from']} → {result['to']}[/green]: besloten door / decided by "
              f"{result['decision']['by_label']} op / on {result['decision']['date']}; "
              f"{passed} eisen voldaan, bewijs vastgelegd / requirements met, evidence kept")

    _at(app, "2023-09-25T11:00")
    for r in _voorlopers(DEFINITIVE, PROVISIONAL, FOUNDING):
        app.assign_role(_as(app, r).slug, "projectleider", r.manager, email=_email(r, r.manager))
        app.add_record(r.slug, "voorlopersubsidie", {"ingediend_op": "2023-09-25", "bedrag": "100000",
                                                     "kenmerk": f"VL-{r.slug.upper()} (fictief)"})
    out.print("September 2023: projectleider aangesteld en voorlopersubsidie (€ 100.000) aangevraagd vóór "
              "2 oktober / project leader appointed, pilot subsidy applied for before 2 October")


def _create(app: Onderwijsflow, r: Regio, day: str) -> None:
    app.create_region(_as(app, r).slug, name=r.name, provinces=r.provinces,
                      sectors=("PO", "VO", "MBO"), coordinator=f"{app.actor}@re.example")
    app.add_partner(r.slug, f"Stichting Primair Onderwijs {r.stem}", kind="schoolbestuur", sector="PO")
    if r.stage == EXPLORING:
        return
    app.add_partner(r.slug, f"Scholengroep {r.stem}", kind="schoolbestuur", sector="VO")
    app.add_partner(r.slug, f"ROC {r.stem}", kind="schoolbestuur", sector="MBO")
    app.add_partner(r.slug, f"Lerarenopleiding {r.stem}", kind="lerarenopleiding")
    if r.union:
        app.add_partner(r.slug, r.union, kind="vakbond" if r.union in UNIONS else "beroepsgroep")
    _doc(app, r, "intentieverklaring", "Intentieverklaring van de partners", day)


# --- act 2: the 2025 round -------------------------------------------------------------------


def _act_round(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 2, "juni–oktober 2024", "subsidieronde 2025 / the 2025 subsidy round")
    _at(app, "2024-06-11T10:00")
    newcomers = [r for r in REGIONS if r.voorloper is None]
    for r in newcomers:
        _create(app, r, "2024-06-05")
    out.print("De regeling is gepubliceerd (10 juni 2024) / the regulation is out. Nieuwe regio's "
              f"zonder voorloperstatus / new regions without pilot status: "
              f"{', '.join(r.name for r in newcomers)}")
    for r in _regions(*IN_ROUND):
        app.start_case(_as(app, r).slug, "subsidie", round=ROUND)
        app.assign_role(r.slug, "programmamanager", r.manager, email=_email(r, r.manager))
        app.assign_role(r.slug, "penvoerder", f"Stichting Primair Onderwijs {r.stem}",
                        email=f"penvoerder@{r.slug}.example")
        _facts(app, r)
    zilverberg = _regio("zilverberg")
    app.add_partner(_as(app, zilverberg).slug, "Beroepsvereniging Leraren Zilverberg", kind="beroepsgroep")
    out.print(f"{len(_regions(*IN_ROUND))} subsidietrajecten geopend / subsidy cases opened: start SLUG "
              f"subsidie --round {ROUND}; venster / window 17 juni 2024 09:00 – 15 oktober 2024 16:00")
    _show_facts(app, out)

    early = _regio(EARLY_SLUG)
    _at(app, "2024-06-14T15:00")
    _plan(app, early, "2024-06-14")
    _application(app, early, "2024-06-17")  # dated for the day it is sent
    _at(app, "2024-06-17T08:30")
    out.print(f"\n[bold]{early.name}[/bold] had het plan al klaar en dient in om 08:30 / had its plan "
              "ready and applies at 08:30:")
    _refused(app, out, early, "subsidie", "dien_aanvraag_in")
    _at(app, "2024-06-17T09:05")
    _go(app, early, "subsidie", "dien_aanvraag_in")
    out.print("[green]✓ 09:05 ingediend / applied[/green], zonder advies van de RE: dat is een aanbod, "
              "geen eis / without the RE's advice: an offer, not a requirement")

    _at(app, "2024-08-26T10:00")
    for r in _regions(*IN_ROUND):
        if r.slug != EARLY_SLUG:
            _plan(app, r, "2024-08-23", skip=("professionaliseren",) if r.slug == THEME_SLUG else ())
    out.print("\nPlannen per thema vastgelegd als acties / plans by theme recorded as actions "
              "(record add SLUG actie ...); ken je regio-traject juli–oktober")
    _readiness(app, out, THEME_SLUG, "subsidie", "ingediend", round=ROUND)

    _tick(app, out, "2024-09-16T09:00")
    out.print("→ herinneringen aan penvoerder, programmamanager en coördinator: nog een maand tot de "
              "deadline / reminders: a month to the deadline")
    _at(app, "2024-09-18T14:00")
    advised = [r for r in _regions(*IN_ROUND) if r.slug != EARLY_SLUG]
    for r in advised:
        advice = ("Werk het thema professionaliseren uit; de rest is SMART." if r.slug == THEME_SLUG
                  else "Maak de resultaatafspraken per partner concreet.")
        _doc(app, r, "advies_re", "Advies Realisatie-Eenheid op het conceptplan", "2024-09-18")
        app.add_record(r.slug, "advies_re", {"datum": "2024-09-18", "advies": advice,
                                             "adviseur": f"{app.actor} (RE)"},
                       workflow="subsidie", round=ROUND)
    out.print(f"Advies van de RE op {len(advised)} conceptplannen (advies, geen besluit) / the RE's advice "
              f"on {len(advised)} draft plans (advice, not a decision); {early.name} sloeg het over / "
              "skipped it")
    heideveld = _regio(THEME_SLUG)
    _at(app, "2024-09-24T10:00")
    _action(app, heideveld, "professionaliseren")
    out.print(f"{heideveld.name} vult het thema professionaliseren aan / adds the missing theme")

    _at(app, "2024-10-08T15:00")
    for r in _regions(*IN_ROUND):
        if r.slug != EARLY_SLUG:
            _application(app, r, "2024-10-08")
    for r in _regions(*APPLYING):
        if r.slug != EARLY_SLUG:
            _go(app, r, "subsidie", "dien_aanvraag_in")
    out.print(f"{len(_regions(*APPLYING))} aanvragen op tijd ingediend door de penvoerders / applications "
              "in on time, by the penvoerders")
    late = _regions(LATE)[0]
    _at(app, "2024-10-15T16:30")
    out.print(f"\n[bold]{late.name}[/bold] dient een half uur te laat in / applies half an hour late:")
    _refused(app, out, late, "subsidie", "dien_aanvraag_in")
    _tick(app, out, "2024-10-16T09:00")


def _facts(app: Onderwijsflow, r: Regio) -> None:
    """The regulation's conditions, as facts from the application (until the network data)."""
    for name, value in (("leerlingen_po", r.pupils_po), ("leerlingen_vo", r.pupils_vo),
                        ("studenten_mbo", r.students_mbo), ("opgeleide_studenten_2023", r.trained),
                        ("aaneengesloten_gebied", "true"), ("vestigingen_uniek", "true")):
        app.set_fact(r.slug, name, str(value))


def _show_facts(app: Onderwijsflow, out: Console) -> None:
    grid = _table("Eisen van de regeling als feiten / the regulation's conditions as facts",
                  "regio", "po", "vo", "mbo", "opgeleid / trained 2023/24", "aaneengesloten / contiguous",
                  "vestiging in één regio / one region per location",
                  caption="minimaal / at least 15.000 po, 15.000 vo of / or 9.000 mbo; "
                          "150 opgeleid / trained")
    for r in _regions(*IN_ROUND):
        facts = app.show_region(r.slug)["facts"]
        sizes = (_dots(facts[n]) for n in ("leerlingen_po", "leerlingen_vo", "studenten_mbo"))
        yes = ["ja / yes" if facts[n] else "nee / no" for n in ("aaneengesloten_gebied", "vestigingen_uniek")]
        grid.add_row(r.name, *sizes, str(facts["opgeleide_studenten_2023"]), *yes)
    out.print(grid)


ACTIONS = {
    "werven": ("Eén regionaal loket en campagne voor zij-instromers", "Stichting Primair Onderwijs"),
    "matchen": ("Regionale matchtafel voor stages en vacatures", "Scholengroep"),
    "opleiden": ("Alle studenten leren in een opleidingsschool (100% Samen Opleiden)", "Lerarenopleiding"),
    "begeleiden": ("Inductieprogramma voor elke startende leraar", "ROC"),
    "professionaliseren": ("Regionale leergang voor teamleiders en schoolleiders", "Lerarenopleiding"),
}


def _action(app: Onderwijsflow, r: Regio, theme: str) -> None:
    what, owner = ACTIONS[theme]
    app.add_record(_as(app, r).slug, "actie",
                   {"thema": theme, "omschrijving": f"{what} (fictief)", "eigenaar": f"{owner} {r.stem}",
                    "resultaatafspraak": "Nulmeting in 2025, doel in 2026", "gereed": "2025-12-31"},
                   workflow="subsidie", round=ROUND)


def _plan(app: Onderwijsflow, r: Regio, day: str, skip: tuple[str, ...] = ()) -> None:
    """The plan of action: the document, the Samen Opleiden section, one action per theme."""
    _doc(app, r, "plan_van_aanpak", f"Plan van aanpak 2025 {r.name}", day)
    _doc(app, r, "paragraaf_samen_opleiden", "Paragraaf Samen Opleiden (ambitie 100%)", day)
    for theme in THEMES:
        if theme not in skip:
            _action(app, r, theme)


def _application(app: Onderwijsflow, r: Regio, day: str) -> None:
    """What the penvoerder applies with: the amount and the application itself."""
    app.set_fact(_as(app, r).slug, "aangevraagd_bedrag", f"{r.trained * 1250}.00",
                 workflow="subsidie", round=ROUND)
    _doc(app, r, "subsidieaanvraag", "Subsidieaanvraag 2025", day)


# --- act 3: DUS-I decides ----------------------------------------------------------------------


def _act_decisions(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 3, "januari–maart 2025", "beschikkingen van DUS-I / decisions by DUS-I")
    _at(app, "2025-01-24T11:00")
    grid = _table("Beschikkingen (fictief) / decisions (invented)", "regio", "besluit / decision",
                  "besloten / decided", "vastgelegd / recorded", "kenmerk / reference", "bedrag / amount")
    for n, r in enumerate(_regions(*APPLYING), start=1):
        ref = f"DUS-I/ONR25/{n:05d} (fictief)"
        if r.stage == REJECTED:
            day = "2025-01-20"  # recorded four days after DUS-I decided
            _doc(app, r, "beschikking", "Beschikking DUS-I: afwijzing", day)
            _go(app, r, "subsidie", "wijs_af", "Resultaatafspraken onvoldoende uitgewerkt (fictief)",
                **_decided(DUSI, day, ref))
            grid.add_row(r.name, "[red]afgewezen / rejected[/red]", day, "2025-01-24", ref, "—")
            continue
        day = "2025-01-23"
        amount = r.trained * 1250  # the 2025 round paid €1,250 per trainee; the counts are invented
        _doc(app, r, "beschikking", "Beschikking DUS-I: verlening subsidie 2025", day)
        app.set_fact(r.slug, "toegekend_bedrag", f"{amount}.00", workflow="subsidie", round=ROUND)
        _go(app, r, "subsidie", "verleen", **_decided(DUSI, day, ref))
        _go(app, r, "regiovorming", "sluit_aan")
        grid.add_row(r.name, "[green]verleend / granted[/green]", day, "2025-01-24", ref, _euro(amount))
    out.print(grid)
    out.print(f"{len(_regions(*WITH_GRANT))} regio's sluiten aan bij het landelijk netwerk / join the "
              "national network: advance SLUG sluit_aan --workflow regiovorming")
    rejected = _regions(REJECTED)[0]
    for row in deadlines(app, region=rejected.slug):
        if row["milestone"] == "bezwaartermijn":
            out.print(f"deadlines --region {rejected.slug}: [bold]{row['label']}[/bold] tot / until "
                      f"{row['due'][:16].replace('T', ' ')}: zes weken vanaf de besluitdatum 20 januari, "
                      "niet vanaf de registratie op 24 januari / six weeks from the decision date, not "
                      "from the day it was recorded")
    _tick(app, out, "2025-01-27T09:00")
    out.print("→ activiteiten vanaf 1 januari 2025 / activities from 1 January 2025")
    _tick(app, out, "2025-03-07T09:00")
    out.print(f"→ geen bezwaar van {rejected.name} vóór 3 maart: de afwijzing is onherroepelijk; de "
              "bezwaartermijnen tegen de verleningen liepen op 6 maart af / no objection by 3 March: the "
              "rejection is final; the objection periods against the grants ended on 6 March")


# --- act 4: the top-up round ---------------------------------------------------------------------


def _act_topup(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 4, "april 2025", "aanvullende ronde / the top-up round")
    _at(app, "2025-04-08T10:00")
    topup = _regio(TOPUP_SLUG)
    app.start_case(_as(app, topup).slug, "aanvulling", round=TOPUP_ROUND)
    app.set_fact(topup.slug, "aard_aanvulling", "verbreden", workflow="aanvulling", round=TOPUP_ROUND)
    app.set_fact(topup.slug, "aangevraagd_aanvulling", "180000.00", workflow="aanvulling", round=TOPUP_ROUND)
    _doc(app, topup, "subsidieaanvraag", "Aanvullende aanvraag: verbreden naar het mbo", "2025-04-08")
    _go(app, topup, "aanvulling", "dien_aanvraag_in")
    out.print(f"[green]✓ {topup.name}[/green] vraagt € 180.000 aan om te verbreden / applies for "
              "€ 180,000 to broaden (start SLUG aanvulling --round 2025-aanvulling; at most € 250,000)")
    rejected = _regions(REJECTED)[0]
    _at(app, "2025-04-10T14:00")
    app.start_case(_as(app, rejected).slug, "aanvulling", round=TOPUP_ROUND)
    app.set_fact(rejected.slug, "aard_aanvulling", "aanvullen", workflow="aanvulling", round=TOPUP_ROUND)
    app.set_fact(rejected.slug, "aangevraagd_aanvulling", "120000.00", workflow="aanvulling",
                 round=TOPUP_ROUND)
    _doc(app, rejected, "subsidieaanvraag", "Aanvullende aanvraag: aanvullen", "2025-04-10")
    out.print(f"\n[bold]{rejected.name}[/bold] probeert het ook / tries as well:")
    _refused(app, out, rejected, "aanvulling", "dien_aanvraag_in")
    _go(app, rejected, "aanvulling", "trek_in", "Alleen voor regio's met subsidie 2025")


# --- act 5: the peilgesprek ------------------------------------------------------------------------


def _act_peilgesprek(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 5, "juni–juli 2025", "peilgesprekken / half-yearly check-ins")
    _at(app, "2025-06-20T15:00")
    held = [r for r in _regions(*WITH_GRANT) if r.slug != THEME_SLUG]
    met = 0
    for r in held:
        result = app.add_record(_as(app, r).slug, "peilgesprek", {
            "datum": "2025-06-19",
            "deelnemers": [f"{app.actor} (RE)", r.manager, f"Stichting Primair Onderwijs {r.stem}"],
            "wat_werkt": "De matchtafel: elke student heeft een stageplek",
            "wat_kan_beter": "Zij-instromers haken af in het eerste halfjaar",
            "waarmee_stoppen": "Losse wervingsacties per bestuur",
            "vervolgacties": ["Buddy voor elke zij-instromer", "Gezamenlijke vacaturesite"],
        }, workflow="subsidie")
        met += len(result["met"])
    out.print(f"{len(held)} peilgesprekken vastgelegd (record add SLUG peilgesprek ...): wat werkt, wat kan "
              f"beter, waarmee stoppen we, vervolgacties / check-ins recorded; {met} mijlpaal "
              "'peilgesprek' van 1 juli gehaald / milestones of 1 July met")
    _tick(app, out, "2025-07-02T09:00", show=("peilgesprek",))


# --- act 6: looking back ---------------------------------------------------------------------------


def _act_look_back(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 6, "juli 2025", "terugkijken / looking back")
    _at(app, "2025-07-04T16:00")
    _history(app, out, FEATURED_SLUG)
    for day in ("2023-06-01", "2024-12-31"):
        then = app.history(FEATURED_SLUG, as_of=parse_moment(day))
        states = ", ".join(f"{w}: {s}" for w, s in then["state"].items())
        out.print(f"history {FEATURED_SLUG} --as-of {day} → [bold]{states}[/bold]")
    out.print()
    _readiness(app, out, "beekdal", "regiovorming", "actief")
    report = app.verify_audit()
    mark = "[green]intact[/green]" if report["ok"] else "[red]GEBROKEN / BROKEN[/red]"
    out.print(f"audit verify: hash-keten / hash chain {mark}, "
              f"{report['events']} events in {report['regions']} regio's\n")
    _overview(app, out, "Stand van zaken / where everyone stands")


SHOWN_RECORDS = ("voorlopersubsidie", "advies_re", "peilgesprek")


def _history(app: Onderwijsflow, out: Console, slug: str) -> None:
    events = [e for e in app.history(slug, all_events=True)["events"]
              if e["kind"] in ("case_opened", "transition", "refused")
              or (e["kind"] == "partner_added" and e["at"] > "2023-04")
              or (e["kind"] == "record_added" and e["data"]["kind"] in SHOWN_RECORDS)]
    grid = Table(title=f"history {slug} --all (selectie / selection)", title_justify="left",
                 caption="vastgelegd door de coördinator (actor), besloten door de genoemde instantie / "
                         "recorded by the coordinator (actor), decided by the body named",
                 caption_justify="left")
    for column in ("#", "datum", "actor", "workflow"):
        grid.add_column(column)
    grid.add_column("trigger / event", no_wrap=True)
    grid.add_column("naar / to", no_wrap=True)
    grid.add_column("besloten door / decided by", ratio=1)
    grid.add_column("details", ratio=1, overflow="fold")
    for e in events:
        refused = e["kind"] == "refused"
        moved = f"✗ ({e['to']})" if refused else e["to"] or ""
        style = {"refused": "red", "transition": "green"}.get(e["kind"], "")
        decision = e["decision"]
        decided = (f"{decision['by_label'].split(' (')[0]}, {decision['date']}"
                   if decision and e["kind"] == "transition" else "")
        what = (f"✗ {e['trigger']}" if refused else e["trigger"] if e["kind"] == "transition"
                else f"record {e['data']['kind']}" if e["kind"] == "record_added" else e["kind"])
        grid.add_row(str(e["seq"]), e["at"][:10], e["actor"], e["workflow"] or "", what, moved, decided,
                     _detail(e), style=style)
    out.print(grid)


def _detail(e: dict[str, Any]) -> str:
    data = e["data"] or {}
    new = data.get("new") or {}
    if e["kind"] == "refused":
        return "mist / missing: " + ", ".join(r["requirement"] for r in data["evidence"] if not r["passed"])
    if e["kind"] == "case_opened":
        return f"ronde / round {data['round']}" if data.get("round") else ""
    if e["kind"] == "partner_added":
        return f"{new.get('name')} ({new.get('kind')})"
    if e["kind"] == "record_added":
        met = " → mijlpaal gehaald / milestone met" if data.get("met") else ""
        return f"{new.get('datum') or new.get('ingediend_op') or ''}{met}"
    return e["reason"] or ""


def _overview(app: Onderwijsflow, out: Console, title: str) -> None:
    grid = _table(title, "regio", "coördinator", "voorlopers 2023", "regiovorming", "subsidie 2025",
                  "aanvulling 2025")
    for r in app.list_regions():
        cases = r["cases"]
        grid.add_row(r["name"], r["coordinator"] or "", cases.get("voorlopers/2023", "—"),
                     cases.get("regiovorming", ""), cases.get(f"subsidie/{ROUND}", "—"),
                     cases.get(f"aanvulling/{TOPUP_ROUND}", "—"))
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


__all__ = ["NOTICE", "REGIONS", "run_demo"]
