"""The scheduler on a real SQLite file with a fake clock: reminders, deadlines, delivery.

Every test moves a simulated clock (`Clock.set`) and calls `Scheduler.tick`; nothing sleeps.
Reminders are checked at the exact local moments design §3 promises (09:00 Europe/Amsterdam
on the day the offset lies before the due date, across the changes to and from summer time,
with the Algemene termijnenwet), the catch-up after downtime (one message per milestone),
idempotence (two ticks, two workers, two processes), delivery through a real SMTP server
(aiosmtpd on a free local port) and a Maildir, `on_overdue`, and recurring milestones.
"""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import col, select

from onderwijsflow.clock import Clock
from onderwijsflow.config import load_config
from onderwijsflow.errors import Refused
from onderwijsflow.notify import DeliveryReport, MaildirChannel, Message, SmtpChannel
from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow
from onderwijsflow.store.tables import Event, Milestone, Outbox, Reminder

REPO = Path(__file__).resolve().parents[1]
SHIPPED_WORKFLOWS = REPO / "workflows"

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
COORDINATOR = "re@example.org"
MANAGER = "pm@regio.example.org"

# A deadline with three reminders and an automatic action; `aanvraag_aanwezig` is what a
# reminder must name as missing for the next step.
TERMIJN = """\
workflow: termijn
version: 1
title: Termijn (test)
initial: voorbereiding
params:
  deadline: {type: date}
states:
  voorbereiding: {label: In voorbereiding}
  ingediend: {label: Ingediend}
  verstreken: {label: Termijn verstreken, final: true}
  afgerond: {label: Afgerond, final: true}
requirements:
  aanvraag_aanwezig:
    label: De subsidieaanvraag is vastgelegd
    check: document
    with: {kind: subsidieaanvraag}
  termijn_voorbij:
    label: De termijn is verstreken
    check: after
    with: {milestone: deadline}
transitions:
  - {trigger: dien_in, label: Aanvraag indienen, source: voorbereiding, dest: ingediend,
     requires: [aanvraag_aanwezig]}
  - {trigger: verstrijk, label: Termijn verstreken, source: voorbereiding, dest: verstreken,
     requires: [termijn_voorbij]}
  - {trigger: rond_af, source: ingediend, dest: afgerond}
milestones:
  - name: deadline
    label: Deadline aanvraag
    due: {param: deadline, time: "16:00"}
    active_in: [voorbereiding]
    remind: [P14D, P7D, P1D]
    notify: [programmamanager, coordinator]
    on_overdue: {trigger: verstrijk}
"""

# The same with the Algemene termijnenwet.
TERMIJNWET = TERMIJN.replace("workflow: termijn\n", "workflow: termijnwet\n").replace(
    "    active_in: [voorbereiding]\n", "    termijnenwet: true\n    active_in: [voorbereiding]\n"
)

# A recurring milestone: a check-in every six months while carried out.
PEIL = """\
workflow: peil
version: 1
title: Peilgesprekken (test)
initial: opstart
states:
  opstart: {label: Opstart}
  in_uitvoering: {label: In uitvoering}
  klaar: {label: Klaar, final: true}
transitions:
  - {trigger: start, source: opstart, dest: in_uitvoering}
  - {trigger: stop, source: in_uitvoering, dest: klaar}
milestones:
  - name: peilgesprek
    label: Peilgesprek
    every: P6M
    active_in: [in_uitvoering]
    remind: [P14D]
    notify: [coordinator]
"""

CONFIG = """\
simulated_clock: true
start_with_region: []
notify:
  sender: onderwijsflow@example.org
  channels:
    - {type: log}
"""


#: The report of a pass that found nothing to do.
IDLE = {"milestones": 0, "queued": 0, "skipped": 0, "overdue": 0, "transitions": [], "sent": 0,
        "retrying": 0, "failed": 0, "unknown": 0, "missing": [], "escalated": 0, "anchors": 0,
        "anchor_problem": None}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- the world a test runs in ------------------------------------------------------------


class Recorder:
    """A channel that keeps every message it is given."""

    def __init__(self, name: str = "rec") -> None:
        self.name = name
        self.messages: list[Message] = []

    def deliver(self, message: Message) -> DeliveryReport:
        self.messages.append(message)
        return DeliveryReport(self.name, message.recipients)

    @property
    def subjects(self) -> list[str]:
        return [m.subject for m in self.messages]


@dataclass
class World:
    """One SQLite file, a workflows directory, a configuration and one fake clock."""

    tmp: Path
    url: str
    workflows: Path
    clock: Clock
    apps: list[Onderwijsflow] = field(default_factory=list)

    def config_file(self, extra: str = "") -> Path:
        path = self.tmp / f"config-{len(self.apps)}.yaml"
        # A configuration names each key once: an `extra` with its own notify: replaces ours.
        base = CONFIG.split("notify:")[0] if "notify:" in extra else CONFIG
        path.write_text(base + extra, encoding="utf-8")
        return path

    def app(self, *, clock: Clock | None = None, extra_config: str = "",
            workflows: Path | None = None) -> Onderwijsflow:
        app = Onderwijsflow(load_config(self.config_file(extra_config)), db_url=self.url,
                            workflows=workflows or self.workflows, actor="anne",
                            clock=clock or self.clock)
        self.apps.append(app)
        return app

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str) -> Iterator[World]:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    for name, text in (("termijn", TERMIJN), ("termijnwet", TERMIJNWET), ("peil", PEIL)):
        (workflows / f"{name}.yaml").write_text(text, encoding="utf-8")
    w = World(tmp_path, sqlite_url, workflows, Clock(T0))
    yield w
    for app in w.apps:
        app.close()


@pytest.fixture
def app(world: World) -> Onderwijsflow:
    app = world.app()
    app.init()
    return app


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def open_region(app: Onderwijsflow, slug: str, deadline: str | None = None, *,
                workflow: str = "termijn", manager_email: str | None = MANAGER) -> None:
    """A region with a coordinator and a programme manager, and one case."""
    app.create_region(slug, name=f"Regio {slug.title()}", coordinator=COORDINATOR)
    app.assign_role(slug, "programmamanager", "Pim", email=manager_email)
    params = {"deadline": deadline} if deadline else None
    app.start_case(slug, workflow, params=params)


def rows(app: Onderwijsflow, table: type, *where: Any) -> list[Any]:
    with app.db.session(write=False) as session:
        return list(session.exec(select(table).where(*where).order_by(col(table.id))))


def reminder_moments(app: Onderwijsflow) -> dict[str, datetime]:
    """{offset: due_at} of the reminder rows (kind `reminder`)."""
    return {r.offset: r.due_at for r in rows(app, Reminder, Reminder.kind == "reminder")}


def events(app: Onderwijsflow, slug: str) -> list[dict[str, Any]]:
    return app.history(slug, all_events=True)["events"]


def event_rows(app: Onderwijsflow, kind: str) -> list[Event]:
    return rows(app, Event, Event.kind == kind)


def case_state(app: Onderwijsflow, slug: str) -> str:
    cases = app.show_region(slug)["cases"]
    (only,) = cases.values()
    return only["state"]


# --- reminders at the right local moments --------------------------------------------------

# (deadline, {offset: the reminder moment in UTC}, the due moment in UTC)
DST_CASES = [
    pytest.param("2025-04-04",
                 {"P14D": utc(2025, 3, 21, 8), "P7D": utc(2025, 3, 28, 8), "P1D": utc(2025, 4, 3, 7)},
                 utc(2025, 4, 4, 14), id="after-the-change-to-summer-time"),
    pytest.param("2025-03-31",
                 {"P14D": utc(2025, 3, 17, 8), "P7D": utc(2025, 3, 24, 8), "P1D": utc(2025, 3, 30, 7)},
                 utc(2025, 3, 31, 14), id="reminder-on-the-day-of-the-change-to-summer-time"),
    pytest.param("2025-11-01",
                 {"P14D": utc(2025, 10, 18, 7), "P7D": utc(2025, 10, 25, 7), "P1D": utc(2025, 10, 31, 8)},
                 utc(2025, 11, 1, 15), id="after-the-change-back"),
    pytest.param("2025-10-28",
                 {"P14D": utc(2025, 10, 14, 7), "P7D": utc(2025, 10, 21, 7), "P1D": utc(2025, 10, 27, 8)},
                 utc(2025, 10, 28, 15), id="crossing-the-change-back"),
    pytest.param("2025-10-27",
                 {"P14D": utc(2025, 10, 13, 7), "P7D": utc(2025, 10, 20, 7), "P1D": utc(2025, 10, 26, 8)},
                 utc(2025, 10, 27, 15), id="reminder-on-the-day-of-the-change-back"),
]

SUBJECT_WHEN = {"P14D": "in 14 days", "P7D": "in 7 days", "P1D": "tomorrow"}


@pytest.mark.parametrize(("deadline", "expected", "due"), DST_CASES)
def test_reminders_go_out_at_nine_local_time_across_daylight_saving_changes(
    world: World, app: Onderwijsflow, rec: Recorder, deadline: str, expected: dict[str, datetime],
    due: datetime,
) -> None:
    open_region(app, "twente", deadline)
    (milestone,) = rows(app, Milestone)
    assert milestone.due_at == due
    assert reminder_moments(app) == expected

    scheduler = Scheduler(app, channels=[rec], worker="w1")
    for offset, moment in sorted(expected.items(), key=lambda item: item[1]):
        world.at(moment - timedelta(minutes=1))
        before = scheduler.tick()
        assert (before.queued, before.sent, len(rec.messages)) == (0, 0, list(expected).index(offset))
        world.at(moment)
        report = scheduler.tick()
        assert (report.queued, report.sent, report.skipped) == (1, 1, 0)
        when = SUBJECT_WHEN[offset]
        assert rec.messages[-1].subject == f"Reminder: Deadline aanvraag {when} – Regio Twente"

    world.at(due - timedelta(minutes=1))
    assert scheduler.tick().overdue == 0
    world.at(due)
    report = scheduler.tick()
    assert report.overdue == 1
    assert rec.messages[-1].subject == "Overdue: Deadline aanvraag – Regio Twente"
    assert len(rec.messages) == len(expected) + 1


def test_the_message_states_the_local_due_moment_and_days_left(
    world: World, app: Onderwijsflow, rec: Recorder
) -> None:
    open_region(app, "twente", "2025-11-01")
    world.at(utc(2025, 10, 25, 7))
    Scheduler(app, channels=[rec]).tick()
    (message,) = rec.messages
    assert "Due: Saturday 1 November 2025, 16:00" in message.body
    assert "7 days to go." in message.body
    assert "Region: Regio Twente (twente)" in message.body


# --- the Algemene termijnenwet -------------------------------------------------------------

# (deadline given, moved due moment in UTC, {offset: reminder moment in UTC})
TERMIJNENWET_CASES = [
    # Saturday 18 October 2025 -> Monday 20 October; P1D falls on Sunday -> Friday 17 October.
    pytest.param("2025-10-18", utc(2025, 10, 20, 14),
                 {"P14D": utc(2025, 10, 6, 7), "P7D": utc(2025, 10, 13, 7), "P1D": utc(2025, 10, 17, 7)},
                 id="saturday"),
    # Christmas 2024 (Wednesday) and Boxing Day are holidays -> Friday 27 December; P1D falls on
    # Boxing Day, the day before is Christmas -> Tuesday 24 December.
    pytest.param("2024-12-25", utc(2024, 12, 27, 15),
                 {"P14D": utc(2024, 12, 13, 8), "P7D": utc(2024, 12, 20, 8), "P1D": utc(2024, 12, 24, 8)},
                 id="christmas"),
    # King's Day 2026 is Monday 27 April -> Tuesday 28 April; P1D falls on King's Day itself,
    # before it a weekend -> Friday 24 April.
    pytest.param("2026-04-27", utc(2026, 4, 28, 14),
                 {"P14D": utc(2026, 4, 14, 7), "P7D": utc(2026, 4, 21, 7), "P1D": utc(2026, 4, 24, 7)},
                 id="kings-day"),
]


@pytest.mark.parametrize(("deadline", "due", "expected"), TERMIJNENWET_CASES)
def test_termijnenwet_moves_deadlines_forward_and_reminders_back_to_working_days(
    world: World, app: Onderwijsflow, rec: Recorder, deadline: str, due: datetime,
    expected: dict[str, datetime],
) -> None:
    world.at(utc(2024, 11, 1, 12))
    open_region(app, "twente", deadline, workflow="termijnwet")
    (milestone,) = rows(app, Milestone)
    assert milestone.due_at == due
    assert reminder_moments(app) == expected

    scheduler = Scheduler(app, channels=[rec])
    world.at(expected["P1D"] - timedelta(minutes=1))
    catch_up = scheduler.tick()  # the P14D and P7D reminders, coalesced: only P7D goes out
    assert (catch_up.sent, catch_up.skipped) == (1, 1)
    world.at(expected["P1D"])
    assert scheduler.tick().sent == 1
    assert len(rec.messages) == 2
    # The deadline as given has passed, the moved one not yet: nothing is overdue.
    original = datetime.fromisoformat(f"{deadline}T16:00+00:00")
    world.at(original + timedelta(hours=2))
    assert scheduler.tick().overdue == 0
    assert case_state(app, "twente") == "voorbereiding"
    world.at(due)
    assert scheduler.tick().overdue == 1
    assert case_state(app, "twente") == "verstreken"


def test_without_termijnenwet_a_reminder_on_a_weekend_stays_there(app: Onderwijsflow) -> None:
    open_region(app, "twente", "2025-10-20")  # Monday; P1D is Sunday 19 October
    assert reminder_moments(app)["P1D"] == utc(2025, 10, 19, 7)


# --- catch-up after downtime --------------------------------------------------------------

REGIONS = ("achterhoek", "drenthe", "flevoland", "twente")


def test_after_a_week_down_only_the_latest_due_reminder_goes_out_per_milestone(
    world: World, app: Onderwijsflow, rec: Recorder
) -> None:
    world.at(utc(2025, 9, 1, 9))
    for slug in REGIONS:
        open_region(app, slug, "2025-10-15")  # P14D on 1 Oct, P7D on 8 Oct, P1D on 14 Oct
    scheduler = Scheduler(app, channels=[rec])
    world.at(utc(2025, 9, 30, 12))
    assert scheduler.tick().queued == 0

    world.at(utc(2025, 10, 8, 12))  # back after a week: P14D and P7D are both due
    report = scheduler.tick()
    assert (report.milestones, report.queued, report.skipped, report.sent) == (4, 4, 4, 4)
    assert sorted(m.subject for m in rec.messages) == [
        f"Reminder: Deadline aanvraag in 7 days – Regio {slug.title()}" for slug in REGIONS
    ]
    status = {(r.region_id, r.offset): r.status for r in rows(app, Reminder, Reminder.kind == "reminder")}
    assert sorted(set(status.values())) == ["pending", "queued", "skipped"]
    assert [s for (_, o), s in status.items() if o == "P14D"] == ["skipped"] * 4
    assert [s for (_, o), s in status.items() if o == "P7D"] == ["queued"] * 4
    assert [s for (_, o), s in status.items() if o == "P1D"] == ["pending"] * 4
    assert len(event_rows(app, "reminder_sent")) == 4

    assert scheduler.tick().as_dict() == IDLE  # nothing left to do
    assert len(rec.messages) == 4


def test_downtime_past_the_deadline_sends_only_the_overdue_notice(
    world: World, app: Onderwijsflow, rec: Recorder
) -> None:
    world.at(utc(2025, 9, 1, 9))
    for slug in REGIONS[:2]:
        open_region(app, slug, "2025-10-15")
    world.at(utc(2025, 10, 20, 9))
    report = Scheduler(app, channels=[rec]).tick()
    assert (report.queued, report.skipped, report.overdue) == (2, 6, 2)
    assert [m.subject.split(":")[0] for m in rec.messages] == ["Overdue", "Overdue"]
    assert {case_state(app, slug) for slug in REGIONS[:2]} == {"verstreken"}


# --- idempotence --------------------------------------------------------------------------


def test_two_ticks_at_the_same_moment_send_nothing_twice(
    world: World, app: Onderwijsflow, rec: Recorder
) -> None:
    for slug in REGIONS:
        open_region(app, slug, "2025-04-04")
    world.at(utc(2025, 3, 28, 8))
    scheduler = Scheduler(app, channels=[rec])
    first = scheduler.tick()
    second = scheduler.tick()
    assert (first.queued, first.sent) == (4, 4)
    assert second.as_dict() == IDLE
    assert len(rec.messages) == 4
    assert len({m.message_id for m in rec.messages}) == 4


def test_two_workers_on_one_database_send_each_reminder_once(
    world: World, app: Onderwijsflow
) -> None:
    for slug in REGIONS:
        open_region(app, slug, "2025-04-04")
    one, two = Recorder("mail"), Recorder("mail")
    first = Scheduler(world.app(), channels=[one], worker="w1")
    second = Scheduler(world.app(), channels=[two], worker="w2")
    for moment in (utc(2025, 3, 21, 8), utc(2025, 3, 28, 8), utc(2025, 4, 3, 7), utc(2025, 4, 4, 14)):
        world.at(moment)
        first.tick()
        second.tick()
        world.at(moment + timedelta(hours=1))
        second.tick()
        first.tick()
    assert len(one.messages) == 4 * 4  # three reminders and one overdue notice per region
    assert two.messages == []
    outbox = rows(app, Outbox)
    assert len(outbox) == 16
    assert {r.status for r in outbox} == {"sent"}
    assert {r.attempts for r in outbox} == {1}
    assert len({r.reminder_id for r in outbox}) == 16


CHANNEL_CONFIG = """\
notify:
  sender: onderwijsflow@example.org
  channels:
    - {{type: maildir, path: "{maildir}"}}
"""


# `scheduler tick` with a small batch, so that processes interleave transaction by transaction
# (the command's batch of 200 lets the first process take all 30 milestones in one go).
SMALL_BATCH_TICK = """\
import json, os, sys
from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow
env = os.environ
app = Onderwijsflow.open(db=env["ONDERWIJSFLOW_DB"], config=env["ONDERWIJSFLOW_CONFIG"],
                         workflows=env["ONDERWIJSFLOW_WORKFLOWS"], actor="scheduler-test",
                         now=env["ONDERWIJSFLOW_NOW"])
print(json.dumps(Scheduler(app, worker=sys.argv[1], batch=2).tick().as_dict()))
"""


def _tick_process(world: World, config: Path, now: str, small_batch: int | None) -> subprocess.Popen[str]:
    env = {**os.environ, "ONDERWIJSFLOW_DB": world.url, "ONDERWIJSFLOW_CONFIG": str(config),
           "ONDERWIJSFLOW_WORKFLOWS": str(world.workflows), "ONDERWIJSFLOW_ACTOR": "scheduler-test",
           "ONDERWIJSFLOW_NOW": now}
    if small_batch is None:
        args = ["-m", "onderwijsflow", "scheduler", "tick", "--json"]
    else:
        args = ["-c", SMALL_BATCH_TICK, f"p{small_batch}"]
    return subprocess.Popen([sys.executable, *args], env=env, cwd=world.tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("processes", [
    pytest.param([None, None], id="two-cli-processes"),
    pytest.param([1, 2, 3], id="three-processes-small-batches"),
])
def test_processes_ticking_at_once_write_each_message_once(
    world: World, app: Onderwijsflow, processes: list[int | None]
) -> None:
    slugs = [f"regio-{n:02d}" for n in range(30)]
    for slug in slugs:
        open_region(app, slug, "2025-04-04")
    maildir = world.tmp / "outbox"
    config = world.config_file(CHANNEL_CONFIG.format(maildir=maildir))
    # After the P14D and P7D reminders: each region's P7D reminder goes out, P14D is skipped.
    workers = [_tick_process(world, config, "2025-03-28T10:00", n) for n in processes]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        reports.append(json.loads(out))
    # Between them the passes queued, skipped and delivered everything exactly once.
    assert sum(r["queued"] for r in reports) == 30
    assert sum(r["skipped"] for r in reports) == 30
    assert sum(r["sent"] for r in reports) == 30
    files = os.listdir(maildir / "new")
    assert len(files) == 30
    subjects = sorted(message["Subject"] for message in read_maildir(maildir))
    assert subjects == sorted(f"Reminder: Deadline aanvraag in 7 days – Regio {s.title()}"
                              for s in slugs)
    outbox = rows(app, Outbox)
    assert len(outbox) == 30
    assert {r.status for r in outbox} == {"sent"}
    assert {r.attempts for r in outbox} == {1}  # no message handed to the channel twice
    assert len({r.reminder_id for r in outbox}) == 30
    assert len(event_rows(app, "reminder_sent")) == 30
    statuses = [r.status for r in rows(app, Reminder, Reminder.kind == "reminder")]
    assert statuses.count("queued") == 30 and statuses.count("skipped") == 30


# --- a real SMTP server -----------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class SmtpHandler:
    """Answers DATA with the scripted replies first, then accepts and keeps the message."""

    replies: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.pop(0)
        raw = envelope.content.replace(b"\r\n", b"\n")
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 OK"


def read_maildir(path: Path) -> list[email.message.EmailMessage]:
    """Every message in the Maildir at `path`, read with `mailbox.Maildir`, headers decoded."""
    box = mailbox.Maildir(path, factory=None, create=False)
    assert all(box[key].get_subdir() == "new" for key in box.iterkeys())
    return [email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            for key in box.iterkeys()]





def smtp_channel(controller: Controller, naps: list[float], **options: Any) -> SmtpChannel:
    return SmtpChannel(controller.hostname, controller.port, timeout=5, **options)


def test_smtp_reminder_reaches_the_programme_manager_and_the_coordinator(
    world: World, app: Onderwijsflow, smtp_server: Callable[[SmtpHandler], Controller]
) -> None:
    handler = SmtpHandler()
    naps: list[float] = []
    open_region(app, "twente", "2025-04-04")
    world.at(utc(2025, 3, 28, 8))
    report = Scheduler(app, channels=[smtp_channel(smtp_server(handler), naps)]).tick()
    assert (report.sent, report.missing) == (1, [])

    (got,) = handler.received
    (row,) = rows(app, Outbox)
    assert sorted(got.rcpt_tos) == sorted([MANAGER, COORDINATOR])
    assert got.mail_from == "onderwijsflow@example.org"
    assert got.message["Subject"] == "Reminder: Deadline aanvraag in 7 days – Regio Twente"
    assert got.message["Message-ID"] == row.message_id
    assert row.status == "sent" and row.sent_at == utc(2025, 3, 28, 8)
    body = got.message.get_content()
    assert "Milestone: Deadline aanvraag" in body
    assert "Due: Friday 4 April 2025, 16:00" in body
    assert "Next step 'Aanvraag indienen': not yet possible. What is missing:" in body
    assert "De subsidieaanvraag is vastgelegd" in body  # the unmet requirement, by its label
    assert "Termijn verstreken" not in body  # the automatic overdue action is no step to take
    assert naps == []
    (sent_event,) = [e for e in events(app, "twente") if e["kind"] == "reminder_sent"]
    assert sent_event["actor"] == "scheduler"


def test_a_role_without_an_email_address_is_reported_not_skipped(
    world: World, app: Onderwijsflow, smtp_server: Callable[[SmtpHandler], Controller]
) -> None:
    handler = SmtpHandler()
    open_region(app, "twente", "2025-04-04", manager_email=None)
    world.at(utc(2025, 3, 28, 8))
    scheduler = Scheduler(app, channels=[smtp_channel(smtp_server(handler), [])])
    report = scheduler.tick()
    assert report.missing == ["twente: Pim (programmamanager)"]
    assert report.sent == 1
    (row,) = rows(app, Outbox)
    assert row.missing == ["Pim (programmamanager)"]
    assert row.recipients == [COORDINATOR]
    assert [r.rcpt_tos for r in handler.received] == [[COORDINATOR]]
    (sent,) = event_rows(app, "reminder_sent")
    assert sent.data["missing"] == ["Pim (programmamanager)"]


def test_a_region_without_any_address_fails_visibly(world: World, app: Onderwijsflow) -> None:
    app.create_region("twente", name="Regio Twente")  # no coordinator, nobody appointed
    app.start_case("twente", "termijn", params={"deadline": "2025-04-04"})
    world.at(utc(2025, 3, 28, 8))
    scheduler = Scheduler(app, channels=[Recorder()])
    report = scheduler.tick()
    assert sorted(report.missing) == ["twente: coordinator", "twente: programmamanager (nobody appointed)"]
    assert report.failed == 1
    (delivery,) = scheduler.status()["deliveries"]
    assert delivery["status"] == "failed"
    assert "no recipient has an e-mail address" in delivery["error"]


def test_smtp_temporary_refusal_is_retried_and_delivered(
    world: World, app: Onderwijsflow, smtp_server: Callable[[SmtpHandler], Controller]
) -> None:
    handler = SmtpHandler(replies=["451 4.3.0 try again later"])
    open_region(app, "twente", "2025-04-04")
    moment = utc(2025, 3, 28, 8)
    world.at(moment)
    scheduler = Scheduler(app, channels=[smtp_channel(smtp_server(handler), [])])
    report = scheduler.tick()  # never waits: the row is rescheduled instead
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    world.at(moment + timedelta(minutes=1))
    report = scheduler.tick()
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    assert len(handler.received) == 1
    (row,) = rows(app, Outbox)
    assert (row.status, row.attempts) == ("sent", 2)


def test_smtp_refusing_for_a_while_is_retried_by_later_ticks(
    world: World, app: Onderwijsflow, smtp_server: Callable[[SmtpHandler], Controller]
) -> None:
    handler = SmtpHandler(replies=["451 4.3.0 busy", "421 4.3.2 shutting down"])
    open_region(app, "twente", "2025-04-04")
    moment = utc(2025, 3, 28, 8)
    world.at(moment)
    scheduler = Scheduler(app, channels=[smtp_channel(smtp_server(handler), [])])
    assert scheduler.tick().retrying == 1
    (row,) = rows(app, Outbox)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, moment + timedelta(minutes=1))
    assert scheduler.status()["deliveries"][0]["status"] == "pending"
    assert scheduler.next_due() == moment + timedelta(minutes=1)
    world.at(moment + timedelta(seconds=59))
    assert scheduler.tick().sent == 0
    world.at(moment + timedelta(minutes=1))
    assert scheduler.tick().retrying == 1
    world.at(moment + timedelta(minutes=6))
    assert scheduler.tick().sent == 1
    assert len(handler.received) == 1
    assert rows(app, Outbox)[0].attempts == 3


def test_smtp_permanent_refusal_is_failed_listed_and_audited(
    world: World, app: Onderwijsflow, smtp_server: Callable[[SmtpHandler], Controller]
) -> None:
    handler = SmtpHandler(replies=["550 5.7.1 relaying denied"])
    naps: list[float] = []
    open_region(app, "twente", "2025-04-04")
    world.at(utc(2025, 3, 28, 8))
    scheduler = Scheduler(app, channels=[smtp_channel(smtp_server(handler), naps)])
    report = scheduler.tick()
    assert (report.sent, report.failed) == (0, 1)
    assert naps == [] and handler.received == []
    (row,) = rows(app, Outbox)
    assert row.status == "failed"
    assert "550 5.7.1 relaying denied" in (row.error or "")
    (delivery,) = scheduler.status()["deliveries"]
    assert (delivery["id"], delivery["status"], delivery["region"]) == (row.id, "failed", "twente")
    (failed,) = [e for e in events(app, "twente") if e["kind"] == "reminder_failed"]
    assert failed["actor"] == "scheduler"
    assert "reminder_sent" not in {e["kind"] for e in events(app, "twente")}
    world.at(utc(2025, 3, 29, 8))
    assert scheduler.tick().failed == 0  # a failed delivery waits for a person

    # Once the server is fixed, a person resends it.
    assert scheduler.resend(row.id)["previous"] == "failed"
    assert scheduler.tick().sent == 1
    assert len(handler.received) == 1
    assert handler.received[0].message["Message-ID"] == row.message_id
    with pytest.raises(Refused, match="only unknown or failed"):  # a sent one is never resent
        scheduler.resend(row.id)


# --- the Maildir channel ----------------------------------------------------------------------


def test_maildir_channel_output_is_readable_with_mailbox_maildir(
    world: World, app: Onderwijsflow, tmp_path: Path
) -> None:
    for slug in REGIONS[:2]:
        open_region(app, slug, "2025-04-04")
    world.at(utc(2025, 3, 28, 8))
    Scheduler(app, channels=[MaildirChannel(tmp_path / "mail")]).tick()
    messages = sorted(read_maildir(tmp_path / "mail"), key=lambda m: m["Subject"])
    assert [m["Subject"] for m in messages] == [
        f"Reminder: Deadline aanvraag in 7 days – Regio {slug.title()}" for slug in REGIONS[:2]
    ]
    by_id = {r.message_id: r for r in rows(app, Outbox)}
    for message in messages:
        row = by_id[message["Message-ID"]]
        assert message["To"] == ", ".join(row.recipients)
        assert message["From"] == "onderwijsflow@example.org"
        assert "7 days to go." in message.get_content()


# --- on_overdue ---------------------------------------------------------------------------


def test_a_passed_deadline_moves_the_case_once_as_the_scheduler(
    world: World, app: Onderwijsflow, rec: Recorder
) -> None:
    open_region(app, "twente", "2025-04-04")
    world.at(utc(2025, 4, 4, 14))
    scheduler = Scheduler(app, channels=[rec])
    report = scheduler.tick()
    assert report.overdue == 1
    assert report.transitions == ["twente: voorbereiding -> verstreken"]
    assert case_state(app, "twente") == "verstreken"
    (move,) = [e for e in events(app, "twente") if e["kind"] == "transition"]
    assert (move["actor"], move["trigger"], move["from"], move["to"]) == (
        "scheduler", "verstrijk", "voorbereiding", "verstreken")
    assert "Deadline aanvraag" in move["reason"]
    (notice,) = [m for m in rec.messages if m.subject.startswith("Overdue:")]
    assert notice.subject == "Overdue: Deadline aanvraag – Regio Twente"
    assert "This deadline has passed." in notice.body
    (milestone,) = rows(app, Milestone)
    assert milestone.status == "overdue"

    seen = len(events(app, "twente"))
    for later in (timedelta(0), timedelta(hours=1), timedelta(days=30)):
        world.at(utc(2025, 4, 4, 14) + later)
        again = scheduler.tick()
        assert (again.overdue, again.queued, again.transitions) == (0, 0, [])
    assert len(events(app, "twente")) == seen
    # The reminders that fell due at the same time were coalesced into the notice.
    assert rec.subjects == ["Overdue: Deadline aanvraag – Regio Twente"]


def test_a_case_that_left_in_time_gets_no_overdue_notice(
    world: World, app: Onderwijsflow, rec: Recorder
) -> None:
    open_region(app, "twente", "2025-04-04")
    scheduler = Scheduler(app, channels=[rec])
    world.at(utc(2025, 3, 28, 8))
    scheduler.tick()
    world.at(utc(2025, 3, 30, 10))
    app.add_document("twente", "subsidieaanvraag", title="Aanvraag 2025")
    app.advance("twente", "dien_in")
    world.at(utc(2025, 4, 10, 9))
    report = scheduler.tick()
    assert (report.overdue, report.queued, report.transitions) == (0, 0, [])
    assert case_state(app, "twente") == "ingediend"
    (milestone,) = rows(app, Milestone)
    assert milestone.status == "met"
    # P14D and P7D were both due on 28 March: coalesced, P14D skipped and P7D sent; the case
    # left in time, so what had not fallen due was retired with its milestone.
    assert sorted((r.kind, r.offset, r.status) for r in rows(app, Reminder)) == [
        ("overdue", "", "retired"), ("reminder", "P14D", "skipped"),
        ("reminder", "P1D", "retired"), ("reminder", "P7D", "queued")]
    assert not any(s.startswith("Overdue") for s in rec.subjects)


def test_the_shipped_subsidie_deadline_moves_the_case_and_reminds_on_working_days(
    world: World, rec: Recorder
) -> None:
    world.at(utc(2024, 9, 1, 9))
    app = world.app(workflows=SHIPPED_WORKFLOWS, extra_config=textwrap.dedent("""\
        rounds:
          "2025":
            workflow: subsidie
            params: {venster_open: 2024-06-17, deadline_aanvraag: 2024-10-15,
                     beschikking: 2025-01-31, activiteiten_start: 2025-01-01,
                     activiteiten_eind: 2025-12-31, jaarverslag_uiterlijk: 2026-06-30}
        """))
    app.init()
    app.create_region("twente", name="Twente", coordinator=COORDINATOR)
    app.assign_role("twente", "programmamanager", "Pim", email=MANAGER)
    app.start_case("twente", "subsidie", round="2025")
    (milestone,) = rows(app, Milestone)
    assert (milestone.name, milestone.due_at) == ("deadline_aanvraag", utc(2024, 10, 15, 14))
    # 15 September 2024 is a Sunday: the P30D reminder moves back to Friday 13 September.
    assert reminder_moments(app) == {"P30D": utc(2024, 9, 13, 7), "P14D": utc(2024, 10, 1, 7),
                                     "P7D": utc(2024, 10, 8, 7), "P1D": utc(2024, 10, 14, 7)}
    scheduler = Scheduler(app, channels=[rec])
    world.at(utc(2024, 9, 13, 7))
    scheduler.tick()
    assert rec.subjects == ["Reminder: Deadline subsidieaanvraag in 32 days – Twente"]
    assert "Het plan van aanpak is vastgelegd" in rec.messages[0].body
    world.at(utc(2024, 10, 15, 14))
    report = scheduler.tick()
    assert report.transitions == ["twente: voorbereiding -> deadline_verstreken"]
    (move,) = [e for e in events(app, "twente") if e["kind"] == "transition"]
    assert (move["actor"], move["to"]) == ("scheduler", "deadline_verstreken")
    assert rec.subjects[-1] == "Overdue: Deadline subsidieaanvraag – Twente"
    assert scheduler.tick().transitions == []


# --- recurring milestones -----------------------------------------------------------------


def test_a_recurring_milestone_plans_the_next_occurrence_and_retires_on_leaving(
    world: World, app: Onderwijsflow, rec: Recorder
) -> None:
    start = utc(2025, 1, 15, 10)
    world.at(start)
    open_region(app, "twente", workflow="peil")
    assert rows(app, Milestone) == []  # not yet in `in_uitvoering`
    app.advance("twente", "start")
    (first,) = rows(app, Milestone)
    assert (first.occurrence, first.due_at) == (1, utc(2025, 7, 15, 9))
    assert reminder_moments(app) == {"P14D": utc(2025, 7, 1, 7)}

    scheduler = Scheduler(app, channels=[rec])
    world.at(utc(2025, 7, 1, 7))
    assert scheduler.tick().sent == 1
    assert rec.subjects == ["Reminder: Peilgesprek in 14 days – Regio Twente"]
    world.at(utc(2025, 7, 15, 9))
    report = scheduler.tick()
    assert (report.overdue, report.queued) == (0, 0)  # a recurring milestone rolls over
    one, two = rows(app, Milestone)
    assert (one.status, two.status, two.occurrence, two.due_at) == ("met", "pending", 2,
                                                                     utc(2026, 1, 15, 10))
    # 1 January 2026 09:00 CET
    assert [r.due_at for r in rows(app, Reminder, Reminder.milestone_id == two.id,
                                   Reminder.kind == "reminder")] == [utc(2026, 1, 1, 8)]
    world.at(utc(2026, 1, 1, 8))
    assert scheduler.tick().sent == 1
    world.at(utc(2026, 1, 15, 10))
    scheduler.tick()
    assert [(m.occurrence, m.status) for m in rows(app, Milestone)] == [(1, "met"), (2, "met"),
                                                                        (3, "pending")]

    world.at(utc(2026, 3, 1, 9))
    app.advance("twente", "stop")
    assert [(m.occurrence, m.status) for m in rows(app, Milestone)] == [(1, "met"), (2, "met"),
                                                                        (3, "met")]
    third = rows(app, Milestone)[-1]
    assert {r.status for r in rows(app, Reminder, Reminder.milestone_id == third.id)} == {"retired"}
    world.at(utc(2027, 1, 1, 9))
    report = scheduler.tick()
    assert (report.milestones, report.queued) == (0, 0)
    assert len(rec.messages) == 2


