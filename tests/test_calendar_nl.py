"""A calendar that Outlook keeps right (issue 11, item 4), and `deadlines`/`scheduler` in Dutch.

Every export is read back with two independent parsers, `icalendar` and `vobject`; both must
see the same events, and every check below holds for what each of them read.

The scenario, on a real SQLite file, 1 September 2025 10:00 (Amsterdam):
- leiden, round 2025, preparing: the application deadline of Saturday 18 October 2025 16:00
  moves to Monday 20 October (termijnenwet); the grant decision on 1 December has no time;
- delft, round 2025, submitted: the deadline was met; the decision is still to come;
- utrecht, round 2025, in execution: a peilgesprek every three months;
- zwolle, round 2024, still preparing: the 2024 deadline passed (overdue), and zwolle has no
  coordinator, so its overdue notice cannot be delivered (a delivery that needs attention).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar
from sqlmodel import select

from onderwijsflow.clock import Clock
from onderwijsflow.config import load_config
from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow
from onderwijsflow.store.tables import Milestone, Reminder
from tests.support import Flow

AMS = ZoneInfo("Europe/Amsterdam")

WORKFLOW = """\
workflow: subsidie
version: {version}
title: Subsidietraject onderwijsregio
initial: voorbereiding
params:
  deadline_aanvraag: {{type: date}}
  beschikking: {{type: date}}
states:
  voorbereiding: {{label: Plan van aanpak in voorbereiding}}
  ingediend: {{label: Subsidieaanvraag ingediend}}
  in_uitvoering: {{label: In uitvoering}}
transitions:
  - {{trigger: dien_in, source: voorbereiding, dest: ingediend}}
  - {{trigger: start, source: ingediend, dest: in_uitvoering}}
milestones:
  - name: deadline_aanvraag
    label: Deadline subsidieaanvraag
    due: {{param: deadline_aanvraag, time: "{time}"}}
    termijnenwet: true
    active_in: [voorbereiding]
    remind: [P14D, P7D, P1D]
    notify: [coordinator]
  - name: beschikking_verwacht
    label: Beschikking verwacht
    due: {{param: beschikking}}
    active_in: [voorbereiding, ingediend]
    remind: [P7D]
    notify: [coordinator]
  - name: peilgesprek
    label: Peilgesprek
    every: {every}
    active_in: [in_uitvoering]
    remind: [P14D]
    notify: [coordinator]
{migrates}"""

V1 = WORKFLOW.format(version=1, time="16:00", every="P3M", migrates="")
#: Version 2 moves the deadline to 12:00 and the peilgesprek to every four months.
V2 = WORKFLOW.format(version=2, time="12:00", every="P4M", migrates="migrates_from:\n  - version: 1\n")

CONFIG = """\
simulated_clock: true
start_with_region: []
notify:
  channels:
    - {{type: maildir, path: {outbox}}}
rounds:
  "2024":
    workflow: subsidie
    params: {{deadline_aanvraag: 2024-10-15, beschikking: 2025-01-31}}
  "2025":
    workflow: subsidie
    params: {{deadline_aanvraag: 2025-10-18, beschikking: 2025-12-01}}
"""

START = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)  # Monday 1 September 2025, 10:00 CEST
NOW = "2025-09-01T10:00"

LEIDEN_DEADLINE = "leiden.subsidie.2025.deadline_aanvraag@onderwijsflow"
LEIDEN_DECISION = "leiden.subsidie.2025.beschikking_verwacht@onderwijsflow"
DELFT_DEADLINE = "delft.subsidie.2025.deadline_aanvraag@onderwijsflow"
DELFT_DECISION = "delft.subsidie.2025.beschikking_verwacht@onderwijsflow"
UTRECHT_TALK = "utrecht.subsidie.2025.peilgesprek.1@onderwijsflow"
UTRECHT_MET = {"utrecht.subsidie.2025.deadline_aanvraag@onderwijsflow",  # it went through both
               "utrecht.subsidie.2025.beschikking_verwacht@onderwijsflow"}
ZWOLLE_DEADLINE = "zwolle.subsidie.2024.deadline_aanvraag@onderwijsflow"
ZWOLLE_DECISION = "zwolle.subsidie.2024.beschikking_verwacht@onderwijsflow"
UIDS = {LEIDEN_DEADLINE, LEIDEN_DECISION, DELFT_DEADLINE, DELFT_DECISION, UTRECHT_TALK,
        ZWOLLE_DEADLINE, ZWOLLE_DECISION, *UTRECHT_MET}


@dataclass
class World:
    app: Onderwijsflow
    clock: Clock
    tmp: Path
    config: Path
    v1: Path
    v2: Path

    def flow(self, lang: str = "nl", now: str = NOW, workflows: Path | None = None) -> Flow:
        return Flow(self.app.db_url, self.config, workflows or self.v1, now, lang=lang)

    def open(self, workflows: Path) -> Onderwijsflow:
        """Another process on the same database (a newer workflow directory, say)."""
        return Onderwijsflow(load_config(self.config), db_url=self.app.db_url, workflows=workflows,
                             actor="anne", clock=self.clock)


def build(tmp: Path, url: str, order: tuple[str, ...] = ("leiden", "delft", "utrecht", "zwolle"),
          extra: str | None = None) -> tuple[Onderwijsflow, Clock, Path, Path, Path]:
    v1, v2 = tmp / "v1", tmp / "v2"
    for folder, text in ((v1, V1), (v2, V2)):
        folder.mkdir(exist_ok=True)
        (folder / "subsidie.yaml").write_text(text, encoding="utf-8")
    config = tmp / "config.yaml"
    config.write_text(CONFIG.format(outbox=tmp / "outbox"), encoding="utf-8")
    clock = Clock(START)
    app = Onderwijsflow(load_config(config), db_url=url, workflows=v1, actor="anne", clock=clock)
    app.init()
    if extra:  # a region before the others: every database id differs from the other database's
        app.create_region(extra, name=f"Regio {extra.title()}", coordinator="re@example.org")
        app.start_case(extra, "subsidie", round="2025")
    for slug in order:
        coordinator = None if slug == "zwolle" else "re@example.org"
        app.create_region(slug, name=f"Regio {slug.title()}", coordinator=coordinator)
    for slug in order:
        app.start_case(slug, "subsidie", round="2024" if slug == "zwolle" else "2025")
    app.advance("delft", "dien_in")
    app.advance("utrecht", "dien_in")
    app.advance("utrecht", "start")
    return app, clock, config, v1, v2


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str) -> Iterator[World]:
    app, clock, config, v1, v2 = build(tmp_path, sqlite_url)
    yield World(app, clock, tmp_path, config, v1, v2)
    app.close()


# --- reading an export with two parsers --------------------------------------------------------


def _utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def with_icalendar(text: bytes) -> dict[str, dict[str, Any]]:
    found = {}
    for event in Calendar.from_ical(text).walk("VEVENT"):
        found[str(event["uid"])] = {
            "summary": str(event["summary"]),
            "description": str(event["description"]),
            "start": _utc(event.decoded("dtstart")),
            "start_value": event["dtstart"].params.get("VALUE"),
            "end": _utc(event.decoded("dtend")),
            "stamp": _utc(event.decoded("dtstamp")),
            "sequence": int(event["sequence"]),
            "modified": _utc(event.decoded("last-modified")),
            "alarms": [(_utc(a.decoded("trigger")), a["trigger"].params.get("VALUE"), str(a["action"]),
                        str(a["description"])) for a in event.walk("VALARM")],
        }
    return found


def with_vobject(text: bytes) -> dict[str, dict[str, Any]]:
    calendar = vobject.readOne(text.decode("utf-8"))
    found = {}
    for event in calendar.contents.get("vevent", []):
        alarms = event.contents.get("valarm", [])
        found[event.uid.value] = {
            "summary": event.summary.value,
            "description": event.description.value,
            "start": _utc(event.dtstart.value),
            "start_value": (event.dtstart.params.get("VALUE") or [None])[0],
            "end": _utc(event.dtend.value),
            "stamp": _utc(event.dtstamp.value),
            "sequence": int(event.sequence.value),
            "modified": _utc(event.last_modified.value),
            # vobject drops VALUE once it has read the trigger: a datetime, not a duration.
            "alarms": [(_utc(a.trigger.value),
                        "DATE-TIME" if isinstance(a.trigger.value, datetime) else "DURATION",
                        a.action.value, a.description.value) for a in alarms],
        }
    return found


def export(flow: Flow, target: Path, *args: str) -> dict[str, dict[str, Any]]:
    """``deadlines --ics`` read by both parsers, which must agree; the events by UID."""
    flow.ok("deadlines", "--ics", str(target), *args)
    text = target.read_bytes()
    first, second = with_icalendar(text), with_vobject(text)
    assert first == second, "icalendar and vobject read the export differently"
    return first


# --- all-day and timed -------------------------------------------------------------------------


def test_a_date_only_deadline_is_an_all_day_event_and_a_timed_one_lasts_an_hour(
    world: World, tmp_path: Path
) -> None:
    events = export(world.flow(), tmp_path / "a.ics")
    assert set(events) == UIDS
    decision = events[LEIDEN_DECISION]
    assert (decision["start"], decision["end"], decision["start_value"]) == (
        date(2025, 12, 1), date(2025, 12, 2), "DATE")
    assert not isinstance(decision["start"], datetime)
    deadline = events[LEIDEN_DEADLINE]  # Saturday 18 October moved to Monday 20 October, 16:00
    assert deadline["start"] == datetime(2025, 10, 20, 16, 0, tzinfo=AMS)
    assert deadline["end"] - deadline["start"] == timedelta(hours=1)
    assert deadline["start_value"] is None  # a DATE-TIME
    raw = (tmp_path / "a.ics").read_text(encoding="utf-8")
    assert "DTSTART;VALUE=DATE:20251201" in raw and "DTEND;VALUE=DATE:20251202" in raw
    assert "DTSTART:20251020T140000Z" in raw


# --- DTSTAMP, SEQUENCE, LAST-MODIFIED ------------------------------------------------------------


def test_dtstamp_is_the_moment_of_the_export_and_nothing_else_changes(world: World, tmp_path: Path) -> None:
    first = export(world.flow(), tmp_path / "a.ics")
    later = export(world.flow(now="2025-09-02T12:30"), tmp_path / "b.ics")
    assert {e["stamp"] for e in first.values()} == {START}
    assert {e["stamp"] for e in later.values()} == {datetime(2025, 9, 2, 10, 30, tzinfo=UTC)}
    for uid in UIDS:
        assert (later[uid]["sequence"], later[uid]["modified"], later[uid]["start"]) == (
            first[uid]["sequence"], first[uid]["modified"], first[uid]["start"])
    assert first[LEIDEN_DEADLINE]["modified"] == START  # planned when the case was opened
    assert first[LEIDEN_DEADLINE]["sequence"] == 0


def test_a_moved_milestone_gets_a_higher_sequence_and_a_later_last_modified(
    world: World, tmp_path: Path
) -> None:
    before = export(world.flow(), tmp_path / "a.ics")
    moment = datetime(2025, 9, 10, 8, 0, tzinfo=UTC)
    world.clock.set(moment)
    newer = world.open(world.v2)
    try:
        newer.migrate_workflow("subsidie", to_version=2)
    finally:
        newer.close()
    after = export(world.flow(now="2025-09-10T12:00", workflows=world.v2), tmp_path / "b.ics")
    assert set(after) == set(before) == UIDS  # the same events, updated in place

    moved = after[LEIDEN_DEADLINE]
    assert moved["start"] == datetime(2025, 10, 20, 12, 0, tzinfo=AMS)
    assert (before[LEIDEN_DEADLINE]["sequence"], moved["sequence"]) == (0, 1)
    assert before[LEIDEN_DEADLINE]["modified"] == START
    assert moved["modified"] == moment

    talk = after[UTRECHT_TALK]  # a recurring occurrence keeps its UID when it moves
    assert (before[UTRECHT_TALK]["start"], talk["start"]) == (
        datetime(2025, 12, 1, 10, 0, tzinfo=AMS), datetime(2026, 1, 1, 10, 0, tzinfo=AMS))
    assert (talk["sequence"], talk["modified"]) == (1, moment)

    for uid in (LEIDEN_DECISION, DELFT_DECISION, DELFT_DEADLINE):  # not moved
        assert after[uid]["start"] == before[uid]["start"]
        assert (after[uid]["sequence"], after[uid]["modified"]) == (
            before[uid]["sequence"], before[uid]["modified"])

    # A further export without a change keeps the sequence where it is.
    again = export(world.flow(now="2025-09-11T12:00", workflows=world.v2), tmp_path / "c.ics")
    assert {u: e["sequence"] for u, e in again.items()} == {u: e["sequence"] for u, e in after.items()}


def test_a_deadline_met_later_is_modified_then_but_not_moved(world: World, tmp_path: Path) -> None:
    before = export(world.flow(), tmp_path / "a.ics")
    moment = datetime(2025, 9, 15, 9, 0, tzinfo=UTC)
    world.clock.set(moment)
    world.app.advance("leiden", "dien_in")
    after = export(world.flow(now="2025-09-15T12:00"), tmp_path / "b.ics")
    met = after[LEIDEN_DEADLINE]
    assert (met["sequence"], met["start"]) == (0, before[LEIDEN_DEADLINE]["start"])
    assert met["modified"] == moment
    assert met["alarms"] == []


# --- alarms ----------------------------------------------------------------------------------


def test_no_alarm_on_a_met_or_overdue_milestone(world: World, tmp_path: Path) -> None:
    events = export(world.flow(), tmp_path / "a.ics")
    assert events[DELFT_DEADLINE]["alarms"] == []  # met: submitted in time
    assert events[ZWOLLE_DEADLINE]["alarms"] == []  # overdue: nothing left to remind of
    assert len(events[LEIDEN_DEADLINE]["alarms"]) == 3
    assert len(events[DELFT_DECISION]["alarms"]) == 1  # delft still waits for its decision
    raw = (tmp_path / "a.ics").read_text(encoding="utf-8")
    assert raw.count("BEGIN:VALARM") == 3 + 1 + 1 + 1  # leiden x2, delft's decision, utrecht


def test_alarms_go_off_when_the_scheduler_sends_the_reminder_at_nine_on_a_working_day(
    world: World, tmp_path: Path
) -> None:
    events = export(world.flow(), tmp_path / "a.ics")
    alarms = events[LEIDEN_DEADLINE]["alarms"]
    # 14 and 7 days before Monday 20 October: Mondays 6 and 13 October; 1 day before is
    # Sunday 19 October, a day off, so the reminder goes out on Friday 17 October. 09:00 CEST.
    expected = [datetime(2025, 10, 6, 7, 0, tzinfo=UTC), datetime(2025, 10, 13, 7, 0, tzinfo=UTC),
                datetime(2025, 10, 17, 7, 0, tzinfo=UTC)]
    assert [a[0] for a in alarms] == expected  # soonest first
    assert {a[1] for a in alarms} == {"DATE-TIME"}  # absolute triggers
    assert {a[2] for a in alarms} == {"DISPLAY"}
    for moment, *_ in alarms:
        local = moment.astimezone(AMS)
        assert (local.hour, local.minute) == (9, 0) and local.weekday() < 5
    raw = (tmp_path / "a.ics").read_text(encoding="utf-8")
    assert "TRIGGER;VALUE=DATE-TIME:20251017T070000Z" in raw
    assert events[LEIDEN_DECISION]["alarms"][0][0] == datetime(2025, 11, 24, 8, 0, tzinfo=UTC)  # 09:00 CET

    # The same moments the scheduler acts on: its reminder rows ...
    with world.app.db.session(write=False) as session:
        (row,) = session.exec(select(Milestone).where(Milestone.name == "deadline_aanvraag",
                                                      Milestone.status == "pending",
                                                      Milestone.due_at > START)).all()
        planned = sorted(r.due_at for r in session.exec(
            select(Reminder).where(Reminder.milestone_id == row.id, Reminder.kind == "reminder")))
    assert planned == expected
    # ... and the e-mail of 17 October goes out at 09:00, not a second earlier.
    scheduler = Scheduler(world.app, channels=[])
    world.clock.set(expected[2] - timedelta(seconds=1))
    scheduler.tick()
    assert _reminder_status(world, row.id, "P1D") == "pending"
    world.clock.set(expected[2])
    scheduler.tick()
    assert _reminder_status(world, row.id, "P1D") == "queued"

    # An export after a reminder went out leaves out the alarms that went off already.
    later = export(world.flow(now="2025-10-14T10:00"), tmp_path / "b.ics")
    assert [a[0] for a in later[LEIDEN_DEADLINE]["alarms"]] == expected[2:]


def _reminder_status(world: World, milestone_id: int | None, offset: str) -> str:
    with world.app.db.session(write=False) as session:
        (row,) = session.exec(select(Reminder).where(Reminder.milestone_id == milestone_id,
                                                     Reminder.offset == offset)).all()
        return row.status


# --- UIDs ------------------------------------------------------------------------------------


def test_uids_are_the_same_in_another_database(world: World, tmp_path: Path) -> None:
    here = export(world.flow(), tmp_path / "a.ics")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    url = f"sqlite:///{other_dir / 'other.db'}"
    # Another database, filled in another order, with an extra region first: other ids.
    other, *_ = build(other_dir, url, order=("zwolle", "utrecht", "delft", "leiden"), extra="almere")
    try:
        ids_here = {r["region"]: r["case_id"] for r in world.flow().json("deadlines")["deadlines"]}
        there_flow = Flow(url, other_dir / "config.yaml", other_dir / "v1", NOW, lang="nl")
        ids_there = {r["region"]: r["case_id"] for r in there_flow.json("deadlines")["deadlines"]}
        assert ids_here != ids_there
        there = export(there_flow, tmp_path / "b.ics")
    finally:
        other.close()
    assert set(here) == UIDS
    assert set(there) == UIDS | {"almere.subsidie.2025.deadline_aanvraag@onderwijsflow",
                                 "almere.subsidie.2025.beschikking_verwacht@onderwijsflow"}
    for uid in UIDS:
        assert there[uid]["summary"] == here[uid]["summary"]
        assert there[uid]["start"] == here[uid]["start"]


def test_each_occurrence_of_a_recurring_milestone_has_its_own_uid(world: World, tmp_path: Path) -> None:
    # The first peilgesprek falls due on 1 December; the scheduler plans the next one.
    world.clock.set(datetime(2025, 12, 1, 9, 0, tzinfo=UTC))
    Scheduler(world.app, channels=[]).tick()
    events = export(world.flow(now="2025-12-01T10:00"), tmp_path / "a.ics")
    second = "utrecht.subsidie.2025.peilgesprek.2@onderwijsflow"
    assert {UTRECHT_TALK, second} <= set(events)
    assert events[UTRECHT_TALK]["start"] == datetime(2025, 12, 1, 10, 0, tzinfo=AMS)
    assert events[second]["start"] == datetime(2026, 3, 1, 10, 0, tzinfo=AMS)
    assert events[second]["sequence"] == 0


# --- the reader's language ----------------------------------------------------------------------

#: English a Dutch reader must not meet ("met" alone is Dutch: only the status code in brackets).
ENGLISH = re.compile(r"\b(upcoming|overdue|due|round|region|milestone|reminder|state|status:|"
                     r"end of the day|before|current)\b|\(met\)", re.IGNORECASE)


def test_the_calendar_speaks_dutch(world: World, tmp_path: Path) -> None:
    events = export(world.flow(lang="nl"), tmp_path / "a.ics")
    leiden = events[LEIDEN_DEADLINE]
    assert leiden["summary"] == "Deadline subsidieaanvraag — Regio Leiden"
    assert leiden["description"] == (
        "Onderwijsregio: Regio Leiden (leiden)\n"
        "Workflow: Subsidietraject onderwijsregio, ronde 2025\n"
        "Huidige status: Plan van aanpak in voorbereiding\n"
        "Mijlpaal: Deadline subsidieaanvraag (komend)\n"
        "Uiterste moment: maandag 20 oktober 2025, 16:00")
    assert leiden["alarms"][0][3] == ("Herinnering: Deadline subsidieaanvraag — Regio Leiden, "
                                      "uiterlijk maandag 20 oktober 2025, 16:00")
    assert "Mijlpaal: Deadline subsidieaanvraag (gehaald)" in events[DELFT_DEADLINE]["description"]
    assert "Huidige status: Subsidieaanvraag ingediend" in events[DELFT_DEADLINE]["description"]
    assert "Mijlpaal: Deadline subsidieaanvraag (verlopen)" in events[ZWOLLE_DEADLINE]["description"]
    assert events[LEIDEN_DECISION]["description"].endswith(
        "Uiterste moment: maandag 1 december 2025, einde van de dag")
    texts = [t for e in events.values()
             for t in (e["summary"], e["description"], *(a[3] for a in e["alarms"]))]
    for text in texts:
        assert not ENGLISH.search(text), text
        assert not re.search(r"\bP\d+[DWMY]\b", text), text  # no "P14D vooraf"
    raw = (tmp_path / "a.ics").read_text(encoding="utf-8")
    assert "X-WR-CALNAME:Deadlines onderwijsflow" in raw


def test_the_calendar_speaks_english_with_lang_en(world: World, tmp_path: Path) -> None:
    events = export(world.flow(lang="en"), tmp_path / "a.ics")
    leiden = events[LEIDEN_DEADLINE]
    assert leiden["summary"] == "Deadline subsidieaanvraag — Regio Leiden"  # labels are data
    assert leiden["description"] == (
        "Region: Regio Leiden (leiden)\n"
        "Workflow: Subsidietraject onderwijsregio, round 2025\n"
        "Current state: Plan van aanpak in voorbereiding\n"
        "Milestone: Deadline subsidieaanvraag (upcoming)\n"
        "Due: Monday 20 October 2025, 16:00")
    assert leiden["alarms"][0][3] == ("Reminder: Deadline subsidieaanvraag — Regio Leiden, "
                                      "due Monday 20 October 2025, 16:00")
    assert "(met)" in events[DELFT_DEADLINE]["description"]
    assert "(overdue)" in events[ZWOLLE_DEADLINE]["description"]
    assert events[LEIDEN_DECISION]["description"].endswith("Due: Monday 1 December 2025, end of the day")
    for event in events.values():
        for word in ("komend", "verlopen", "gehaald", "Uiterste", "ronde", "Huidige"):
            assert word not in event["description"]


# --- deadlines and scheduler on the command line, in Dutch ---------------------------------------


def test_the_deadlines_table_in_dutch_with_labels(world: World) -> None:
    flow = world.flow(lang="nl")
    out = flow.ok("deadlines").out
    assert "Deadlines" in out
    for header in ("uiterste moment", "status", "regio", "workflow", "mijlpaal"):
        assert header in out
    lines = {line.split("  ")[0]: line for line in out.splitlines()}
    assert "20-10-2025 16:00" in lines
    leiden = next(line for line in out.splitlines() if "Regio Leiden" in line and "16:00" in line)
    assert "komend" in leiden and "Subsidietraject onderwijsregio (2025)" in leiden
    assert "Deadline subsidieaanvraag" in leiden and "deadline_aanvraag" not in leiden
    assert "leiden" not in leiden.replace("Leiden", "")  # the name, not the slug
    delft = next(line for line in out.splitlines() if "Regio Delft" in line and "16:00" in line)
    assert "gehaald" in delft
    zwolle = next(line for line in out.splitlines() if "Regio Zwolle" in line and "16:00" in line)
    assert "verlopen" in zwolle
    assert not ENGLISH.search(out.replace("status", "")), out

    # An empty listing is one line.
    assert flow.ok("deadlines", "--region", "leiden", "--within", "P1D").out == "Geen deadlines binnen P1D.\n"
    world.app.create_region("gouda", name="Regio Gouda")
    assert flow.ok("deadlines", "--region", "gouda").out == "Geen deadlines.\n"
    assert world.flow(lang="en").ok("deadlines", "--region", "gouda").out == "No deadlines.\n"

    # The ICS line, and JSON keeps its codes in Dutch too.
    target = world.tmp / "d.ics"
    assert flow.ok("deadlines", "--ics", str(target)).out.splitlines()[-1] == (
        f"9 agenda-items geschreven naar {target}")
    rows = json.loads(flow.ok("deadlines", "--json").out)["deadlines"]
    assert {r["status"] for r in rows} == {"upcoming", "overdue", "met"}
    assert all(set(r) >= {"region", "workflow", "milestone", "due", "status"} for r in rows)
    assert {r["region"] for r in rows} == {"leiden", "delft", "utrecht", "zwolle"}


def test_scheduler_tick_status_and_resend_in_dutch(world: World) -> None:
    flow = world.flow(lang="nl", now="2025-09-02T10:00")
    status = flow.ok("scheduler", "status").out.splitlines()
    assert len(status) == 2 and re.fullmatch(r"\d+ herinneringen wachten", status[0])
    assert status[1] == "Geen verzendingen die aandacht vragen."

    # zwolle's deadline passed: an overdue notice, but zwolle has no coordinator to send it to.
    tick = flow.ok("scheduler", "tick").out.splitlines()
    # Two notices (deadline and decision), the older reminders of both skipped.
    assert tick[0] == ("2 herinneringen in de wachtrij, 4 overgeslagen (samengevoegd), 2 verlopen, "
                       "0 verzonden, 0 later opnieuw, 2 mislukt, 0 onzeker")
    assert len(tick) == 3  # who is missing is tick.py's sentence: only its frame is checked here
    assert all(line.startswith("  geen e-mailadres: zwolle") for line in tick[1:])
    report = json.loads(flow.ok("scheduler", "tick", "--json").out)
    assert set(report) >= {"queued", "skipped", "overdue", "sent", "failed", "unknown", "missing"}

    out = flow.ok("scheduler", "status").out
    assert re.fullmatch(r"\d+ herinneringen wachten", out.splitlines()[0])
    assert "Verzendingen die aandacht vragen" in out
    for header in ("nr.", "status", "regio", "kanaal", "onderwerp", "pogingen", "fout"):
        assert header in out
    assert "mislukt" in out and "failed" not in out
    (first, *_) = json.loads(flow.ok("scheduler", "status", "--json").out)["deliveries"]
    assert first["status"] == "failed"  # the code, in JSON

    resent = flow.ok("scheduler", "resend", str(first["id"])).out
    assert resent == f"Verzending {first['id']} (mislukt) staat weer in de wachtrij.\n"
    english = world.flow(lang="en", now="2025-09-02T10:00")
    assert re.fullmatch(r"\d+ reminders pending", english.ok("scheduler", "status").out.splitlines()[0])
