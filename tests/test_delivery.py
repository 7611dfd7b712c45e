"""Delivery in batches, backoff without sleeping, escalation to the operators, the daily anchor
mail, the worker's log line per pass, and migration 0005 (issue 12 items 1, 3 and 7; issue 9).

Real components throughout: an aiosmtpd server on a free local port (it counts the connections
messages come over), SQLite files, PostgreSQL when ``ONDERWIJSFLOW_TEST_PG`` is set, Maildirs
read back with `mailbox.Maildir`, and a simulated clock. Nothing sleeps: `time.sleep` is
replaced by a recorder that must stay empty.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import mailbox
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from support import free_port

from onderwijsflow.clock import Clock
from onderwijsflow.config import load_config
from onderwijsflow.notify import SmtpChannel
from onderwijsflow.scheduler.tick import Scheduler, TickReport
from onderwijsflow.scheduler.worker import JsonFormatter, Worker
from onderwijsflow.service import Onderwijsflow
from onderwijsflow.store.tables import Event, Outbox

WORKFLOW = """\
workflow: termijn
version: 1
title: Termijn (test)
initial: voorbereiding
params:
  deadline: {type: date}
states:
  voorbereiding: {label: In voorbereiding}
  ingediend: {label: Ingediend, final: true}
transitions:
  - {trigger: dien_in, source: voorbereiding, dest: ingediend}
milestones:
  - name: deadline
    label: Deadline aanvraag
    due: {param: deadline, time: "16:00"}
    active_in: [voorbereiding]
    remind: [P7D]
    notify: [coordinator, programmamanager]
"""

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
REMINDER = datetime(2025, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 CET, P7D before 4 April 16:00
OPERATOR = "beheer@example.org"
AUDITOR = "auditor@example.org"


# --- an SMTP server that counts connections --------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler: what it accepted, over which connection; scripted RCPT refusals."""

    received: list[tuple[tuple[str, int], list[str], email.message.EmailMessage]] = field(
        default_factory=list)
    rcpt: dict[str, list[str]] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        replies = self.rcpt.get(address, [])
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((session.peer, list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 OK"

    @property
    def connections(self) -> int:
        return len({peer for peer, _, _ in self.received})





@pytest.fixture(autouse=True)
def naps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every sleep anything asked for during the test: a pass must never sleep."""
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    return asked


# --- the world -------------------------------------------------------------------------------


@dataclass
class World:
    tmp_path: Path
    url: str
    clock: Clock
    config: Path
    opened: list[Onderwijsflow] = field(default_factory=list)

    def app(self) -> Onderwijsflow:
        app = Onderwijsflow(load_config(self.config), db_url=self.url,
                            workflows=self.tmp_path / "workflows", actor="anne", clock=self.clock)
        self.opened.append(app)
        return app

    def rows(self, *where: Any) -> list[Outbox]:
        app = self.app()
        with app.db.session(write=False) as session:
            return list(session.exec(select(Outbox).where(*where).order_by(col(Outbox.id))))

    def events(self, kind: str) -> list[Event]:
        app = self.app()
        with app.db.session(write=False) as session:
            return list(session.exec(select(Event).where(Event.kind == kind).order_by(col(Event.id))))


def make_world(tmp_path: Path, url: str, regions: int, extra: str = "") -> World:
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "termijn.yaml").write_text(WORKFLOW, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        "simulated_clock: true\nstart_with_region: []\nnotify:\n  sender: onderwijsflow@example.org\n"
        f"  operators:\n    to: [{OPERATOR}]\n    channel: {{type: maildir, path: {tmp_path / 'ops'}}}\n"
        + extra, encoding="utf-8")
    world = World(tmp_path, url, Clock(START), config)
    app = world.app()
    app.init()
    for n in range(regions):
        slug = f"regio-{n:02d}"
        app.create_region(slug, name=f"Regio {n}", coordinator=f"re-{n:02d}@example.org")
        app.start_case(slug, "termijn", params={"deadline": "2025-04-04"})
    return world


@pytest.fixture
def world_factory(tmp_path: Path, backend_url: str) -> Iterator[Callable[..., World]]:
    made: list[World] = []

    def make(regions: int = 3, extra: str = "") -> World:
        made.append(make_world(tmp_path, backend_url, regions, extra))
        return made[-1]

    yield make
    for world in made:
        for app in world.opened:
            app.close()


def operator_mail(tmp_path: Path) -> list[email.message.EmailMessage]:
    folder = tmp_path / "ops"
    if not folder.exists():
        return []
    return [email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
            for m in mailbox.Maildir(folder, factory=None, create=False)]


# --- batches ---------------------------------------------------------------------------------


def test_a_batch_goes_over_one_smtp_connection(world_factory, smtp_server, naps) -> None:
    world = world_factory(regions=45)
    handler = Mailbox()
    controller = smtp_server(handler)
    channel = SmtpChannel(controller.hostname, controller.port, batch_size=20)
    world.clock.set(REMINDER)
    report = Scheduler(world.app(), channels=[channel]).tick()
    assert (report.queued, report.sent) == (45, 45)
    assert len(handler.received) == 45
    assert handler.connections == channel.connections == 3  # 20 + 20 + 5
    assert {r.status for r in world.rows()} == {"sent"}
    assert len(world.events("reminder_sent")) == 45
    assert world.app().verify_audit()["ok"]  # every region's chain intact after the bulk append
    assert naps == []


def test_a_recipient_refused_for_now_is_tried_again_alone(world_factory, smtp_server) -> None:
    world = world_factory(regions=1)
    world.clock.set(START)
    world.app().assign_role("regio-00", "programmamanager", "Pim", email="pim@example.org")
    handler = Mailbox(rcpt={"pim@example.org": ["452 4.2.2 mailbox full"]})
    controller = smtp_server(handler)
    world.clock.set(REMINDER)
    scheduler = Scheduler(world.app(), channels=[SmtpChannel(controller.hostname, controller.port)])
    report = scheduler.tick()
    assert (report.sent, report.retrying) == (0, 1)
    (row,) = world.rows()
    assert (row.status, row.recipients) == ("pending", ["pim@example.org"])
    assert row.next_attempt_at == REMINDER + timedelta(minutes=1)
    (partial,) = world.events("reminder_sent")  # the coordinator has it: audited now
    assert partial.data["recipients"] == ["re-00@example.org"]

    world.clock.set(REMINDER + timedelta(minutes=1))
    assert scheduler.tick().sent == 1
    assert [rcpts for _, rcpts, _ in handler.received] == [["re-00@example.org"], ["pim@example.org"]]
    (row,) = world.rows()
    assert row.status == "sent"
    assert [e.data["recipients"] for e in world.events("reminder_sent")] == [
        ["re-00@example.org"], ["pim@example.org"]]


# --- SMTP down: backoff, failure, escalation ------------------------------------------------


def test_smtp_down_reschedules_without_sleeping_then_fails_then_escalates_once(
    world_factory, naps, tmp_path
) -> None:
    world = world_factory(regions=3, extra="  retry: {max_attempts: 3, first: 60, factor: 5}\n")
    channel = SmtpChannel("127.0.0.1", free_port())  # nothing listens: the server is down
    scheduler = Scheduler(world.app(), channels=[channel])

    world.clock.set(REMINDER)
    started = time.monotonic()
    report = scheduler.tick()
    assert time.monotonic() - started < 2
    assert (report.queued, report.sent, report.retrying, report.failed) == (3, 0, 3, 0)
    assert channel.connections == 1  # one try for the batch, not one per message
    rows = world.rows()
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
    assert {r.next_attempt_at for r in rows} == {REMINDER + timedelta(minutes=1)}
    assert all("ConnectionRefusedError" in (r.error or "") for r in rows)

    world.clock.set(REMINDER + timedelta(seconds=59))
    assert scheduler.tick().retrying == 0  # not yet due again
    world.clock.set(REMINDER + timedelta(minutes=1))
    assert scheduler.tick().retrying == 3
    assert {(r.attempts, r.next_attempt_at) for r in world.rows()} == {
        (2, REMINDER + timedelta(minutes=6))}  # 1 minute, then 5: exponential
    assert operator_mail(tmp_path) == []

    world.clock.set(REMINDER + timedelta(minutes=6))
    report = scheduler.tick()
    assert (report.failed, report.escalated) == (3, 3)
    rows = world.rows(Outbox.kind == "reminder")
    assert {(r.status, r.attempts) for r in rows} == {("failed", 3)}
    assert all(r.escalated_at == REMINDER + timedelta(minutes=6) for r in rows)
    (alert,) = operator_mail(tmp_path)  # one alert listing all three, through the other channel
    assert alert["To"] == OPERATOR
    assert "3" in alert["Subject"]
    body = alert.get_content()
    for row in rows:
        assert f"{row.id}" in body and row.subject in body
    (alert_row,) = world.rows(Outbox.kind == "alert")
    assert (alert_row.status, alert_row.region_id, alert_row.channel) == (
        "sent", None, f"maildir:{tmp_path / 'ops'}")
    assert len(world.events("reminder_failed")) == 3
    assert len(world.events("delivery_escalated")) == 3

    for later in (timedelta(hours=1), timedelta(days=2)):
        world.clock.set(REMINDER + later)
        assert scheduler.tick().escalated == 0
    assert len(operator_mail(tmp_path)) == 1
    status = scheduler.status()
    assert status["counts"]["failed"] == 3
    assert (status["escalated"], status["not_escalated"]) == (3, 0)
    assert naps == []


def test_an_unknown_delivery_is_escalated_once_too(world_factory, tmp_path) -> None:
    from onderwijsflow.notify import DeliveryReport, Message

    class Dies:
        name = "rec"

        def deliver(self, message: Message) -> DeliveryReport:
            raise KeyboardInterrupt

    world = world_factory(regions=2)
    world.clock.set(REMINDER)
    with pytest.raises(KeyboardInterrupt):
        Scheduler(world.app(), channels=[Dies()]).tick()
    world.clock.set(REMINDER + timedelta(minutes=11))

    class Fine(Dies):
        def deliver(self, message: Message) -> DeliveryReport:
            return DeliveryReport(self.name, message.recipients)

    report = Scheduler(world.app(), channels=[Fine()]).tick()
    assert (report.unknown, report.escalated) == (2, 2)
    (alert,) = operator_mail(tmp_path)
    assert "uncertain" in alert.get_content() or "onzeker" in alert.get_content()
    assert Scheduler(world.app(), channels=[Fine()]).tick().escalated == 0
    assert len(operator_mail(tmp_path)) == 1


# --- the daily anchor -----------------------------------------------------------------------


def test_the_anchor_is_mailed_once_a_day_across_ticks_and_a_restart(world_factory, tmp_path) -> None:
    from onderwijsflow.notify import MaildirChannel

    world = world_factory(regions=2, extra=f'  anchor_mail: {{to: [{AUDITOR}], at: "07:00"}}\n')
    auditors = tmp_path / "auditors"
    early = datetime(2025, 3, 10, 5, 30, tzinfo=UTC)  # 06:30 in Amsterdam: not yet
    world.clock.set(early)
    first = Scheduler(world.app(), channels=[MaildirChannel(auditors)])
    assert first.tick().anchors == 0
    world.clock.set(early + timedelta(hours=1))  # 07:30
    assert first.tick().anchors == 1
    world.clock.set(early + timedelta(hours=2))
    assert first.tick().anchors == 0
    restarted = Scheduler(world.app(), channels=[MaildirChannel(auditors)])
    assert restarted.tick().anchors == 0  # the outbox remembers the day
    [anchor_row] = world.rows(Outbox.kind == "anchor")
    assert (anchor_row.status, anchor_row.region_id, anchor_row.recipients) == ("sent", None, [AUDITOR])

    world.clock.set(early + timedelta(days=1, hours=1))  # the next day
    assert restarted.tick().anchors == 1
    assert len(world.rows(Outbox.kind == "anchor")) == 2

    mails = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
             for m in mailbox.Maildir(auditors, factory=None, create=False)]
    assert len(mails) == 2
    (attachment,) = list(mails[0].iter_attachments())
    assert attachment.get_content_type() == "application/json"
    saved = tmp_path / "anchor.json"
    saved.write_bytes(attachment.get_content())
    verified = world.app().verify_audit(anchor=saved)
    assert verified["ok"], verified["problems"]
    assert json.loads(saved.read_text())["regions"] == 2


# --- operations: one log line per pass -----------------------------------------------------------


def test_the_worker_logs_one_line_per_pass_and_json_when_asked(world_factory, caplog) -> None:
    world = world_factory(regions=2)
    world.clock.set(REMINDER)
    scheduler = Scheduler(world.app(), channels=[])
    from onderwijsflow.notify import LogChannel

    scheduler = Scheduler(world.app(), channels=[LogChannel()])
    worker = Worker(scheduler, interval=60)
    assert logging.getLogger("apscheduler").level == logging.WARNING
    report = scheduler.tick()
    wake = REMINDER + timedelta(minutes=1)
    with caplog.at_level(logging.INFO, logger="onderwijsflow.scheduler.pass"):
        worker.log_pass(report, wake)
    (record,) = [r for r in caplog.records if r.name == "onderwijsflow.scheduler.pass"]
    line = record.getMessage()
    assert "\n" not in line
    for figure in ("2 due", "2 queued", "2 sent", "0 failed", wake.isoformat()):
        assert figure in line or figure.replace("due", "") in line
    parsed = json.loads(JsonFormatter().format(record))
    assert parsed["logger"] == "onderwijsflow.scheduler.pass"
    assert parsed["level"] == "INFO"
    assert (parsed["tick"]["due"], parsed["tick"]["sent"], parsed["tick"]["next_wake"]) == (
        2, 2, wake.isoformat())
    assert isinstance(report, TickReport)


# --- migration 0005 ---------------------------------------------------------------------------


def test_migration_0005_keeps_the_outbox_and_allows_regionless_rows(backend_url: str) -> None:
    from alembic import command
    from sqlalchemy import inspect, text

    from onderwijsflow.store.db import Database
    from onderwijsflow.store.migrate import HEAD, alembic_config, upgrade

    database = Database(backend_url)
    now = datetime(2025, 3, 28, 8, tzinfo=UTC)
    try:
        with database.connect() as connection, connection.begin():
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
            connection.execute(text(
                "INSERT INTO regions (id, slug, name, provinces, sectors, created_at, event_seq, "
                "event_hash) VALUES (1, 'twente', 'Twente', '[]', '[]', :now, 0, '')"), {"now": now})
            connection.execute(text(
                "INSERT INTO outbox (region_id, channel, message_id, sender, recipients, missing, "
                "subject, body, status, attempts, next_attempt_at, created_at) VALUES (1, 'log', "
                "'<a@example.org>', 's@example.org', '[\"x@example.org\"]', '[]', 'Onderwerp', "
                "'tekst', 'failed', 5, :now, :now)"), {"now": now})
        assert upgrade(database)[1] == HEAD
        with database.connect() as connection, connection.begin():
            row = connection.execute(text(
                "SELECT region_id, kind, status, attempts, escalated_at, attachment FROM outbox")).one()
            assert (row.region_id, row.kind, row.status, row.attempts, row.escalated_at,
                    row.attachment) == (1, "reminder", "failed", 5, None, None)
            columns = {c["name"]: c for c in inspect(connection).get_columns("outbox")}
            assert columns["region_id"]["nullable"] is True
            connection.execute(text(
                "INSERT INTO outbox (region_id, kind, channel, message_id, sender, recipients, "
                "missing, subject, body, status, attempts, next_attempt_at, created_at) VALUES "
                "(NULL, 'alert', 'log', '<b@example.org>', 's@example.org', '[]', '[]', 'Alert', "
                "'tekst', 'pending', 0, :now, :now)"), {"now": now})
            uniques = inspect(connection).get_unique_constraints("outbox")
            assert any(set(u["column_names"]) == {"message_id", "channel"} for u in uniques)
    finally:
        database.dispose()
