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

The story speaks one language, the current one (:mod:`onderwijsflow.i18n`: Dutch unless
``--lang en``), dates included. What the workflows name (state, requirement and milestone
labels, the deciding bodies) is shown as the workflows write it, in Dutch, in both languages:
those are names, and in a sentence they stand between quotes (‘…’). The free text the story's
coordinators write (reasons, advice, the check-ins) is written in the story's language.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from onderwijsflow import i18n
from onderwijsflow.clock import Clock, parse_moment
from onderwijsflow.config import load_config
from onderwijsflow.errors import Refused
from onderwijsflow.i18n import N_, _, ngettext
from onderwijsflow.scheduler.deadlines import deadlines
from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow

#: Said at the start and at the end; translated where it is shown (``_(NOTICE)``).
NOTICE = N_("Invented data: all regions, partners, people, numbers and decision references are "
            "made up; the dates, rules and deciding bodies follow the real timeline.")

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


def run_demo(path: Path, quiet: bool = False, language: str | None = None) -> dict[str, Any]:
    """Play the story on a fresh SQLite file at `path` and return a summary.

    Args:
        path: the SQLite file to (re)create; an existing file and its -wal/-shm go first.
        quiet: print only the invented-data notice and the final summary.
        language: ``nl`` or ``en``; None speaks the current language (see :mod:`onderwijsflow.i18n`).

    Returns:
        ``{"database", "regions", "events", "states": {workflow: {state: count}},
        "featured", "audit_ok"}``.
    """
    if language is not None:
        with i18n.using(language):
            return run_demo(path, quiet=quiet)
    wide = sys.stdout.isatty() or bool(os.environ.get("COLUMNS"))
    loud = Console(width=None if wide else 140, highlight=False)
    out = Console(quiet=True) if quiet else loud
    app = _fresh_app(Path(path))
    try:
        _say(loud, _(NOTICE), "bold yellow")
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
    # A practice database (issue 9): the demo moves a simulated clock and acts as several people.
    return Onderwijsflow(config, db_url=url, actor=COORDINATORS[0], clock=clock, practice=True)


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


def _invented(ref: str) -> str:
    """A decision reference, marked as invented."""
    return _("{text} (invented)").format(text=ref)


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


def _state(app: Onderwijsflow, workflow: str, state: str) -> str:
    """The label the workflow gives `state` (a name: Dutch in both languages)."""
    return app.catalog.current(workflow).definition.state_label(state)


def _body(app: Onderwijsflow, workflow: str, body: str) -> str:
    """The label of a deciding body, as the workflow names it."""
    return app.catalog.current(workflow).definition.body_label(body)


def _milestone(app: Onderwijsflow, workflow: str, name: str) -> str:
    """The label of a milestone, as the workflow names it."""
    spec = next(m for m in app.catalog.current(workflow).definition.milestones if m.name == name)
    return spec.label or name


def _day(iso: str) -> str:
    """A day in a sentence: "vrijdag 28 april 2023" / "Friday 28 April 2023"."""
    return i18n.format_date(date.fromisoformat(iso[:10]))


def _moment(iso: str) -> str:
    """A moment in a sentence: "maandag 17 juni 2024, 09:00"."""
    return i18n.format_datetime(parse_moment(iso, end_of_day=False))


def _cell(iso: str) -> str:
    """A day in a table cell: "23 mei 2023" / "23 May 2023"."""
    return i18n.format_day(date.fromisoformat(iso[:10]))


def _say(out: Console, text: str, style: str | None = None) -> None:
    """One line of the story, printed as written (no markup), in `style` if given."""
    out.print(f"[{style}]{escape(text)}[/{style}]" if style else escape(text))


def _heading(out: Console, number: int, period: str, title: str) -> None:
    out.print()
    heading = _("Act {number} · {period} — {title}").format(number=number, period=period, title=title)
    out.rule(f"[bold]{escape(heading)}[/bold]", align="left")


def _table(title: str, *columns: str, caption: str | None = None) -> Table:
    grid = Table(title=escape(title), title_justify="left", min_width=len(title),
                 caption=escape(caption) if caption else None, caption_justify="left")
    for column in columns:
        grid.add_column(escape(column))
    return grid


def _refused(app: Onderwijsflow, out: Console, regio: Regio, workflow: str, trigger: str,
             **options: Any) -> None:
    try:
        _go(app, regio, workflow, trigger, **options)
    except Refused as refused:
        _say(out, _("✗ refused: {trigger}").format(trigger=trigger), "red")
        for item in refused.details["result"]["unmet"]:
            _say(out, "   " + _("missing: ‘{label}’ ({requirement}) — {detail}").format(
                label=item["label"], requirement=item["requirement"], detail=item["detail"]))
    else:
        raise RuntimeError(f"the story expected {trigger} to be refused for {regio.slug}")


def _tick(app: Onderwijsflow, out: Console, moment: str, *, show: tuple[str, ...] = ()) -> None:
    """One pass of the scheduler: reminders go out (to the log), passed deadlines act.

    Args:
        show: milestones whose overdue notices of this pass are printed (subject line).
    """
    _at(app, moment)
    report = Scheduler(app).tick()
    messages = ngettext("{n} message", "{n} messages", report.queued).format(n=report.queued)
    _say(out, _("scheduler tick, {moment}: {messages}, of which {overdue} overdue").format(
        moment=_moment(moment), messages=messages, overdue=report.overdue))
    for moved in report.transitions:
        _say(out, "   " + _("moved by the scheduler: {change}").format(change=moved))
    if show:
        for slug, subject in _notices(app, show):
            _say(out, "   " + _("notice to {region}: ‘{subject}’").format(region=slug, subject=subject),
                 "yellow")


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
    title = (f"check {slug} --workflow {workflow}{flag} --target {target}  "
             + _("(now: {state})").format(state=result["state"]))
    grid = _table(title, _("step"), _("leads to"), _("missing"))
    for step in result["path"]:
        missing = "\n".join(escape(f"{u['requirement']}: {u['detail']}") for u in step["unmet"])
        ready = escape(_("ready"))
        grid.add_row(step["trigger"], step["dest"], missing or f"[green]{ready}[/green]")
    out.print(grid)


# --- act 1: the pilot selection of 2023 ------------------------------------------------------


def _act_voorlopers(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 1, _("March–September 2023"), _("the pilot selection (voorlopers)"))
    _at(app, "2023-03-15T09:30")
    for r in _voorlopers():
        _create(app, r, "2023-03-10")
        app.start_case(r.slug, "voorlopers", round="2023")
    count = len(_voorlopers())
    _say(out, ngettext("{n} region prepares an application as a pilot region: {command}",
                       "{n} regions prepare an application as a pilot region: {command}", count)
         .format(n=count, command="start SLUG voorlopers --round 2023"))
    _at(app, "2023-04-26T14:00")
    for r in _voorlopers():
        _go(app, r, "voorlopers", "dien_aanvraag_in")
    _say(out, _("Applied before {date}. OCW and the national partners assess the applications.")
         .format(date=_day("2023-04-28")))

    _at(app, "2023-05-24T10:00")
    grid = _table(_("Decisions of May 2023 (invented references)"), _("region"), _("decision"),
                  _("decided by"), _("date"), _("reference"), _("recorded by"))
    featured = _regio(FEATURED_SLUG)
    out.print()
    _say(out, _("{region}: can the definitive status be recorded?").format(region=featured.name), "bold")
    _refused(app, out, featured, "voorlopers", "ken_definitieve_status_toe",
             **_decided(OCW, "2023-05-23", _invented("OCW/VL23/0007")))
    for n, r in enumerate(_voorlopers(), start=1):
        ref = _invented(f"OCW/VL23/{n:04d}")
        assert r.voorloper is not None  # _voorlopers() gives only regions in the selection
        trigger, reason = {
            DEFINITIVE: ("ken_definitieve_status_toe", None),
            PROVISIONAL: ("ken_voorlopige_status_toe",
                          _("The profession group is not yet a full partner")),
            FOUNDING: ("zet_in_oprichting",
                       _("The cooperation is still being built; it goes on as a region being set up")),
        }[r.voorloper]
        result = _go(app, r, "voorlopers", trigger, reason, **_decided(OCW, "2023-05-23", ref))
        grid.add_row(r.name, escape(_state(app, "voorlopers", result["to"])),
                     escape(_body(app, "voorlopers", OCW)), _cell("2023-05-23"), ref, app.actor)
    out.print(grid)
    _say(out, _("→ without the profession group, a provisional status, as in 2023"))

    _at(app, "2023-06-14T10:00")
    app.add_partner(_as(app, featured).slug, "AOb", kind="vakbond")
    out.print()
    _say(out, _("The fix, on {date}: {command}").format(
        date=_day("2023-06-14"), command=f"partner add {featured.slug} AOb --kind vakbond"), "bold")
    _at(app, "2023-07-07T10:00")
    result = _go(app, featured, "voorlopers", "ken_definitieve_status_toe",
                 _("The profession group has joined; decided in the Bestuurlijk Overleg"),
                 **_decided(BO, "2023-07-06", _invented("BO-Leraren 2023-07-06, punt 4")))
    passed = sum(1 for e in result["evidence"] if e["passed"])
    _say(out, _("✓ ‘{source}’ → ‘{dest}’: decided by {body} on {date}; {met}, the evidence is kept")
         .format(source=_state(app, "voorlopers", result["from"]),
                 dest=_state(app, "voorlopers", result["to"]), body=result["decision"]["by_label"],
                 date=_day(result["decision"]["date"]),
                 met=ngettext("{n} requirement met", "{n} requirements met", passed).format(n=passed)),
         "green")

    _at(app, "2023-09-25T11:00")
    for r in _voorlopers(DEFINITIVE, PROVISIONAL, FOUNDING):
        app.assign_role(_as(app, r).slug, "projectleider", r.manager, email=_email(r, r.manager))
        app.add_record(r.slug, "voorlopersubsidie", {"ingediend_op": "2023-09-25", "bedrag": "100000",
                                                     "kenmerk": _invented(f"VL-{r.slug.upper()}")})
    _say(out, _("September 2023: the pilot regions appoint a project leader and apply for the pilot "
                "subsidy ({amount}) before {date}").format(amount=i18n.format_money(100000),
                                                          date=_day("2023-10-02")))


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
    _heading(out, 2, _("June–October 2024"), _("the 2025 subsidy round"))
    _at(app, "2024-06-11T10:00")
    newcomers = [r for r in REGIONS if r.voorloper is None]
    for r in newcomers:
        _create(app, r, "2024-06-05")
    _say(out, _("The regulation was published on {date}. New regions without pilot status: {regions}")
         .format(date=_day("2024-06-10"), regions=i18n.join_and([r.name for r in newcomers])))
    for r in _regions(*IN_ROUND):
        app.start_case(_as(app, r).slug, "subsidie", round=ROUND)
        app.assign_role(r.slug, "programmamanager", r.manager, email=_email(r, r.manager))
        app.assign_role(r.slug, "penvoerder", f"Stichting Primair Onderwijs {r.stem}",
                        email=f"penvoerder@{r.slug}.example")
        _facts(app, r)
    zilverberg = _regio("zilverberg")
    app.add_partner(_as(app, zilverberg).slug, "Beroepsvereniging Leraren Zilverberg", kind="beroepsgroep")
    count = len(_regions(*IN_ROUND))
    _say(out, ngettext("{n} subsidy case opened: {command}; the application window runs from {opens} "
                       "to {closes}",
                       "{n} subsidy cases opened: {command}; the application window runs from {opens} "
                       "to {closes}", count)
         .format(n=count, command=f"start SLUG subsidie --round {ROUND}",
                 opens=_moment("2024-06-17T09:00"), closes=_moment("2024-10-15T16:00")))
    _show_facts(app, out)

    early = _regio(EARLY_SLUG)
    _at(app, "2024-06-14T15:00")
    _plan(app, early, "2024-06-14")
    _application(app, early, "2024-06-17")  # dated for the day it is sent
    _at(app, "2024-06-17T08:30")
    out.print()
    _say(out, _("{region} had its plan ready and applies at {time}:").format(region=early.name,
                                                                             time="08:30"), "bold")
    _refused(app, out, early, "subsidie", "dien_aanvraag_in")
    _at(app, "2024-06-17T09:05")
    _go(app, early, "subsidie", "dien_aanvraag_in")
    _say(out, _("✓ applied at {time}, without the RE's advice: that advice is an offer, not a "
                "requirement").format(time="09:05"), "green")

    _at(app, "2024-08-26T10:00")
    for r in _regions(*IN_ROUND):
        if r.slug != EARLY_SLUG:
            _plan(app, r, "2024-08-23", skip=("professionaliseren",) if r.slug == THEME_SLUG else ())
    out.print()
    _say(out, _("Plans by theme recorded as actions ({command}), after the ‘Ken je regio’ sessions of "
                "July to October").format(command="record add SLUG actie ..."))
    _readiness(app, out, THEME_SLUG, "subsidie", "ingediend", round=ROUND)

    _tick(app, out, "2024-09-16T09:00")
    _say(out, _("→ reminders to the lead applicant (penvoerder), the programme manager and the "
                "coordinator: one month to the deadline"))
    _at(app, "2024-09-18T14:00")
    advised = [r for r in _regions(*IN_ROUND) if r.slug != EARLY_SLUG]
    for r in advised:
        advice = (_("Work out the theme professionaliseren; the rest is SMART.") if r.slug == THEME_SLUG
                  else _("Make the agreed results concrete for each partner."))
        _doc(app, r, "advies_re", "Advies Realisatie-Eenheid op het conceptplan", "2024-09-18")
        app.add_record(r.slug, "advies_re", {"datum": "2024-09-18", "advies": advice,
                                             "adviseur": f"{app.actor} (RE)"},
                       workflow="subsidie", round=ROUND)
    plans = ngettext("{n} draft plan", "{n} draft plans", len(advised)).format(n=len(advised))
    _say(out, _("The RE's advice on {plans} (advice, not a decision); {region} skipped it")
         .format(plans=plans, region=early.name))
    heideveld = _regio(THEME_SLUG)
    _at(app, "2024-09-24T10:00")
    _action(app, heideveld, "professionaliseren")
    _say(out, _("{region} adds the missing theme professionaliseren").format(region=heideveld.name))

    _at(app, "2024-10-08T15:00")
    for r in _regions(*IN_ROUND):
        if r.slug != EARLY_SLUG:
            _application(app, r, "2024-10-08")
    for r in _regions(*APPLYING):
        if r.slug != EARLY_SLUG:
            _go(app, r, "subsidie", "dien_aanvraag_in")
    count = len(_regions(*APPLYING))
    _say(out, ngettext("{n} application in on time, sent by the lead applicant (penvoerder)",
                       "{n} applications in on time, each sent by the region's lead applicant "
                       "(penvoerder)", count).format(n=count))
    late = _regions(LATE)[0]
    _at(app, "2024-10-15T16:30")
    out.print()
    _say(out, _("{region} applies half an hour late, at {time}:").format(region=late.name, time="16:30"),
         "bold")
    _refused(app, out, late, "subsidie", "dien_aanvraag_in")
    _tick(app, out, "2024-10-16T09:00")


def _facts(app: Onderwijsflow, r: Regio) -> None:
    """The regulation's conditions, as facts from the application (until the network data)."""
    for name, value in (("leerlingen_po", r.pupils_po), ("leerlingen_vo", r.pupils_vo),
                        ("studenten_mbo", r.students_mbo), ("opgeleide_studenten_2023", r.trained),
                        ("aaneengesloten_gebied", "true"), ("vestigingen_uniek", "true")):
        app.set_fact(r.slug, name, str(value))


def _show_facts(app: Onderwijsflow, out: Console) -> None:
    number = i18n.format_number
    caption = _("at least {po} pupils in po, {vo} in vo or {mbo} students in mbo; {trained} trained") \
        .format(po=number(15000), vo=number(15000), mbo=number(9000), trained=number(150))
    grid = _table(_("The regulation's conditions as facts"), _("region"), "po", "vo", "mbo",
                  _("trained 2023/24"), _("contiguous area"), _("one region per location"),
                  caption=caption)
    for r in _regions(*IN_ROUND):
        facts = app.show_region(r.slug)["facts"]
        sizes = (number(facts[n]) for n in ("leerlingen_po", "leerlingen_vo", "studenten_mbo"))
        yes = [_("yes") if facts[n] else _("no") for n in ("aaneengesloten_gebied", "vestigingen_uniek")]
        grid.add_row(r.name, *sizes, number(facts["opgeleide_studenten_2023"]), *yes)
    out.print(grid)


#: One action per theme: what (free text, in the story's language) and who owns it (a name).
ACTIONS = {
    "werven": (N_("One regional desk and campaign for side-entrants"), "Stichting Primair Onderwijs"),
    "matchen": (N_("A regional matching table for placements and vacancies"), "Scholengroep"),
    "opleiden": (N_("Every student learns in a training school (100% Samen Opleiden)"),
                 "Lerarenopleiding"),
    "begeleiden": (N_("An induction programme for every starting teacher"), "ROC"),
    "professionaliseren": (N_("A regional course for team leaders and school leaders"),
                           "Lerarenopleiding"),
}


def _action(app: Onderwijsflow, r: Regio, theme: str) -> None:
    what, owner = ACTIONS[theme]
    app.add_record(_as(app, r).slug, "actie",
                   {"thema": theme, "omschrijving": _("{text} (invented)").format(text=_(what)),
                    "eigenaar": f"{owner} {r.stem}",
                    "resultaatafspraak": _("Baseline measurement in 2025, target in 2026"),
                    "gereed": "2025-12-31"},
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
    _heading(out, 3, _("January–March 2025"), _("grant decisions by DUS-I"))
    _at(app, "2025-01-24T11:00")
    grid = _table(_("Grant decisions (invented references)"), _("region"), _("decision"),
                  _("decided"), _("recorded"), _("reference"), _("amount"))
    for n, r in enumerate(_regions(*APPLYING), start=1):
        ref = _invented(f"DUS-I/ONR25/{n:05d}")
        if r.stage == REJECTED:
            day = "2025-01-20"  # recorded four days after DUS-I decided
            _doc(app, r, "beschikking", "Beschikking DUS-I: afwijzing", day)
            result = _go(app, r, "subsidie", "wijs_af",
                         _("The agreed results are not worked out well enough (invented)"),
                         **_decided(DUSI, day, ref))
            grid.add_row(r.name, f"[red]{escape(_state(app, 'subsidie', result['to']))}[/red]",
                         _cell(day), _cell("2025-01-24"), ref, "—")
            continue
        day = "2025-01-23"
        amount = r.trained * 1250  # the 2025 round paid €1,250 per trainee; the counts are invented
        _doc(app, r, "beschikking", "Beschikking DUS-I: verlening subsidie 2025", day)
        app.set_fact(r.slug, "toegekend_bedrag", f"{amount}.00", workflow="subsidie", round=ROUND)
        result = _go(app, r, "subsidie", "verleen", **_decided(DUSI, day, ref))
        _go(app, r, "regiovorming", "sluit_aan")
        grid.add_row(r.name, f"[green]{escape(_state(app, 'subsidie', result['to']))}[/green]",
                     _cell(day), _cell("2025-01-24"), ref, i18n.format_money(amount))
    out.print(grid)
    count = len(_regions(*WITH_GRANT))
    _say(out, ngettext("{n} region joins the national network: {command}",
                       "{n} regions join the national network: {command}", count)
         .format(n=count, command="advance SLUG sluit_aan --workflow regiovorming"))
    rejected = _regions(REJECTED)[0]
    for row in deadlines(app, region=rejected.slug):
        if row["milestone"] == "bezwaartermijn":
            _say(out, f"deadlines --region {rejected.slug}: " + _(
                "‘{label}’ runs until {due}: six weeks from the date of the decision ({decided}), "
                "not from the day it was recorded ({recorded})").format(
                    label=row["label"], due=_moment(row["due"]), decided=_day("2025-01-20"),
                    recorded=_day("2025-01-24")))
    _tick(app, out, "2025-01-27T09:00")
    _say(out, _("→ the activity period runs from {date}").format(date=_day("2025-01-01")))
    _tick(app, out, "2025-03-07T09:00")
    _say(out, _("→ no objection from {region} by {deadline}: the rejection is final; the objection "
                "periods against the grants ended on {ended}").format(
                    region=rejected.name, deadline=_day("2025-03-03"), ended=_day("2025-03-06")))


# --- act 4: the top-up round ---------------------------------------------------------------------


def _act_topup(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 4, _("April 2025"), _("the top-up round"))
    _at(app, "2025-04-08T10:00")
    topup = _regio(TOPUP_SLUG)
    app.start_case(_as(app, topup).slug, "aanvulling", round=TOPUP_ROUND)
    app.set_fact(topup.slug, "aard_aanvulling", "verbreden", workflow="aanvulling", round=TOPUP_ROUND)
    app.set_fact(topup.slug, "aangevraagd_aanvulling", "180000.00", workflow="aanvulling", round=TOPUP_ROUND)
    _doc(app, topup, "subsidieaanvraag", "Aanvullende aanvraag: verbreden naar het mbo", "2025-04-08")
    _go(app, topup, "aanvulling", "dien_aanvraag_in")
    _say(out, _("✓ {region} applies for {amount} to broaden its work ({command}; at most {maximum})")
         .format(region=topup.name, amount=i18n.format_money(180000),
                 command=f"start SLUG aanvulling --round {TOPUP_ROUND}",
                 maximum=i18n.format_money(250000)), "green")
    rejected = _regions(REJECTED)[0]
    _at(app, "2025-04-10T14:00")
    app.start_case(_as(app, rejected).slug, "aanvulling", round=TOPUP_ROUND)
    app.set_fact(rejected.slug, "aard_aanvulling", "aanvullen", workflow="aanvulling", round=TOPUP_ROUND)
    app.set_fact(rejected.slug, "aangevraagd_aanvulling", "120000.00", workflow="aanvulling",
                 round=TOPUP_ROUND)
    _doc(app, rejected, "subsidieaanvraag", "Aanvullende aanvraag: aanvullen", "2025-04-10")
    out.print()
    _say(out, _("{region} tries as well:").format(region=rejected.name), "bold")
    _refused(app, out, rejected, "aanvulling", "dien_aanvraag_in")
    _go(app, rejected, "aanvulling", "trek_in", _("Only for regions with a 2025 grant"))


# --- act 5: the peilgesprek ------------------------------------------------------------------------


def _act_peilgesprek(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 5, _("June–July 2025"), _("the half-yearly check-ins (peilgesprekken)"))
    _at(app, "2025-06-20T15:00")
    held = [r for r in _regions(*WITH_GRANT) if r.slug != THEME_SLUG]
    met = 0
    for r in held:
        result = app.add_record(_as(app, r).slug, "peilgesprek", {
            "datum": "2025-06-19",
            "deelnemers": [f"{app.actor} (RE)", r.manager, f"Stichting Primair Onderwijs {r.stem}"],
            "wat_werkt": _("The matching table: every student has a placement"),
            "wat_kan_beter": _("Side-entrants drop out in their first six months"),
            "waarmee_stoppen": _("Separate recruitment campaigns per school board"),
            "vervolgacties": [_("A buddy for every side-entrant"), _("A joint vacancy website")],
        }, workflow="subsidie")
        met += len(result["met"])
    _say(out, ngettext("{n} check-in recorded ({command}): what works, what could be better, what to "
                       "stop doing, follow-up actions",
                       "{n} check-ins recorded ({command}): what works, what could be better, what to "
                       "stop doing, follow-up actions", len(held))
         .format(n=len(held), command="record add SLUG peilgesprek ..."))
    _say(out, ngettext("→ milestone ‘{label}’ of {date} met for {n} region",
                       "→ milestone ‘{label}’ of {date} met for {n} regions", met)
         .format(n=met, label=_milestone(app, "subsidie", "peilgesprek"), date=_day("2025-07-01")))
    _tick(app, out, "2025-07-02T09:00", show=("peilgesprek",))


# --- act 6: looking back ---------------------------------------------------------------------------


def _act_look_back(app: Onderwijsflow, out: Console) -> None:
    _heading(out, 6, _("July 2025"), _("looking back"))
    _at(app, "2025-07-04T16:00")
    _history(app, out, FEATURED_SLUG)
    for day in ("2023-06-01", "2024-12-31"):
        then = app.history(FEATURED_SLUG, as_of=parse_moment(day))
        states = ", ".join(f"{w}: {s}" for w, s in then["state"].items())
        out.print(f"history {FEATURED_SLUG} --as-of {day} → [bold]{escape(states)}[/bold]")
    out.print()
    _readiness(app, out, "beekdal", "regiovorming", "actief")
    _network(app, out)
    report = app.verify_audit()
    _say(out, _("audit verify: the hash chain is {status}; {events} in {regions}").format(
        status=_("intact") if report["ok"] else _("BROKEN"),
        events=ngettext("{n} event", "{n} events", report["events"]).format(n=report["events"]),
        regions=ngettext("{n} region", "{n} regions", report["regions"]).format(n=report["regions"])),
        "green" if report["ok"] else "red")
    out.print()
    _overview(app, out, _("Where everyone stands"))


#: Which of the invented grid's municipalities (GM9001-GM9016, four rows of four) each region
#: covers: neighbours in a row, one region in two parts, two municipalities in no region.
NETWORK = {0: ("GM9001", "GM9002"), 1: ("GM9003", "GM9004"), 2: ("GM9005", "GM9006"),
           3: ("GM9007", "GM9008"), 4: ("GM9009", "GM9010"), 5: ("GM9011", "GM9012"),
           6: ("GM9013", "GM9016")}


def _network(app: Onderwijsflow, out: Console) -> None:
    """The national network on the invented reference data: each region's municipalities and
    school locations, one school taking part in two regions, and what `coverage` says."""
    app.import_example(year=2025)
    locations = app.list_reference("locations", year=2025)["rows"]
    for index, codes in NETWORK.items():
        regio = _as(app, REGIONS[index])
        for code in codes:
            app.add_municipality(regio.slug, code)
            for location in (loc for loc in locations if loc["municipality"] == code):
                app.add_location(regio.slug, location["code"])
    shared = next(loc for loc in locations if loc["municipality"] == NETWORK[1][0])
    app.add_location(_as(app, REGIONS[0]).slug, shared["code"])  # also in its own region
    found = app.coverage(year=2025)
    parts = [r for r in found["regions"] if r["contiguous"] is False]
    white = len(found["white_spots"]["municipalities"])
    overlaps = len(found["overlaps"])
    _say(out, _("The national network on invented reference data ({command}): {covered} of {total} "
                "municipalities in a region, {white}, {overlaps}, {parts}; {report} shows the map.").format(
        command="reference example", covered=sum(len(codes) for codes in NETWORK.values()), total=16,
        white=ngettext("{n} white spot", "{n} white spots", white).format(n=white),
        overlaps=ngettext("{n} school location in two regions", "{n} school locations in two regions",
                          overlaps).format(n=overlaps),
        parts=ngettext("{n} region in separate parts", "{n} regions in separate parts",
                       len(parts)).format(n=len(parts)),
        report="coverage --format html"))
    out.print()


SHOWN_RECORDS = ("voorlopersubsidie", "advies_re", "peilgesprek")

#: How the history table names the events that are not a step of a case.
EVENT_LABELS = {"case_opened": N_("case opened"), "partner_added": N_("partner added")}


def _history(app: Onderwijsflow, out: Console, slug: str) -> None:
    from onderwijsflow.vocabulary import partner_label

    events = [e for e in app.history(slug, all_events=True)["events"]
              if e["kind"] in ("case_opened", "transition", "refused")
              or (e["kind"] == "partner_added" and e["at"] > "2023-04")
              or (e["kind"] == "record_added" and e["data"]["kind"] in SHOWN_RECORDS)]
    grid = Table(title=escape(_("{command} (a selection)").format(command=f"history {slug} --all")),
                 title_justify="left",
                 caption=escape(_("recorded by the coordinator (actor), decided by the body named")),
                 caption_justify="left")
    for column in ("#", _("date"), _("actor"), _("workflow")):
        grid.add_column(escape(column))
    grid.add_column(escape(_("step / event")), no_wrap=True)
    grid.add_column(escape(_("to state")), no_wrap=True)
    grid.add_column(escape(_("decided by")), ratio=1)
    grid.add_column(escape(_("details")), ratio=1, overflow="fold")
    for e in events:
        refused = e["kind"] == "refused"
        moved = f"✗ ({e['to']})" if refused else e["to"] or ""
        style = {"refused": "red", "transition": "green"}.get(e["kind"], "")
        decision = e["decision"]
        decided = (f"{decision['by_label'].split(' (')[0]}, {_cell(decision['date'])}"
                   if decision and e["kind"] == "transition" else "")
        if refused:
            what = f"✗ {e['trigger']}"
        elif e["kind"] == "transition":
            what = e["trigger"]
        elif e["kind"] == "record_added":
            what = _("record {kind}").format(kind=e["data"]["kind"])
        else:
            what = _(EVENT_LABELS[e["kind"]]) if e["kind"] in EVENT_LABELS else e["kind"]
        grid.add_row(*(escape(cell) for cell in (
            str(e["seq"]), _cell(e["at"]), e["actor"], e["workflow"] or "", what, moved, decided,
            _detail(e, partner_label))), style=style)
    out.print(grid)


def _detail(e: dict[str, Any], partner_label: Any) -> str:
    data = e["data"] or {}
    new = data.get("new") or {}
    if e["kind"] == "refused":
        return _("missing: {requirements}").format(
            requirements=", ".join(r["requirement"] for r in data["evidence"] if not r["passed"]))
    if e["kind"] == "case_opened":
        return _("round {round}").format(round=data["round"]) if data.get("round") else ""
    if e["kind"] == "partner_added":
        return f"{new.get('name')} ({partner_label(new.get('kind'))})"
    if e["kind"] == "record_added":
        day = new.get("datum") or new.get("ingediend_op")
        text = _cell(day) if day else ""
        return _("{day} → milestone met").format(day=text) if data.get("met") else text
    return e["reason"] or ""


def _overview(app: Onderwijsflow, out: Console, title: str) -> None:
    grid = _table(title, _("region"), _("coordinator"), "voorlopers 2023", "regiovorming",
                  "subsidie 2025", "aanvulling 2025")
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
    title = escape(_("Summary"))
    console.rule(f"[bold]{title}[/bold]", align="left")
    regions, events = summary["regions"], summary["events"]
    _say(console, _("{regions}, {events}; the audit log is {status}; database: {database}").format(
        regions=ngettext("{n} region", "{n} regions", regions).format(n=regions),
        events=ngettext("{n} audit event", "{n} audit events", events).format(n=events),
        status=_("intact") if summary["audit_ok"] else _("BROKEN"), database=summary["database"]))
    for workflow, counts in summary["states"].items():
        _say(console, f"  {workflow}: " + ", ".join(f"{s} {n}" for s, n in counts.items()))
    lang = f" --lang {i18n.current()}" if i18n.current() != i18n.DEFAULT else ""
    _say(console, _("Explore further: {command}").format(
        command=f"onderwijsflow{lang} --db sqlite:///{summary['database']} history {FEATURED_SLUG} --all"))
    _say(console, _(NOTICE), "bold yellow")


__all__ = ["NOTICE", "REGIONS", "run_demo"]
