"""Crashes injected into a scheduler tick: nothing is lost, nothing marked sent goes out twice.

A tick has three moments a process can die between (design §6, issue 3): after claiming due
reminders and before the message is in the outbox (the transaction rolls back: the next tick
sends it), after a batch of outbox rows is marked ``sending`` and before the channel has
answered (their fate is uncertain: once the lease runs out they become ``unknown``, are listed
by `status`, and only `resend` sends one again; the channel's batch size bounds how many),
and after the channel delivered but before that is recorded (the same: ``unknown``, never
repeated on its own). Crashes are raised from inside the real
code (monkeypatched functions, a channel raising `KeyboardInterrupt` or `SystemExit`) on a
real SQLite file with a fake clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from onderwijsflow.clock import Clock
from onderwijsflow.config import load_config
from onderwijsflow.notify import DeliveryReport, Message
from onderwijsflow.scheduler import messages
from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow
from onderwijsflow.store.tables import Case, Event, Outbox, Reminder

WORKFLOW = """\
workflow: termijn
version: 1
title: Termijn (test)
initial: voorbereiding
params:
  deadline: {type: date}
states:
  voorbereiding: {label: In voorbereiding}
  verstreken: {label: Termijn verstreken, final: true}
requirements:
  termijn_voorbij:
    label: De termijn is verstreken
    check: after
    with: {milestone: deadline}
transitions:
  - {trigger: verstrijk, source: voorbereiding, dest: verstreken, requires: [termijn_voorbij]}
milestones:
  - name: deadline
    label: Deadline aanvraag
    due: {param: deadline, time: "16:00"}
    active_in: [voorbereiding]
    remind: [P7D]
    notify: [coordinator]
    on_overdue: {trigger: verstrijk}
"""

CONFIG = "simulated_clock: true\nstart_with_region: []\n"

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
REMINDER = datetime(2025, 3, 28, 8, 0, tzinfo=UTC)  # 28 March 2025 09:00 CET, P7D before 4 April
DUE = datetime(2025, 4, 4, 14, 0, tzinfo=UTC)  # 4 April 2025 16:00 CEST
LEASE = timedelta(minutes=10)
SLUGS = ("achterhoek", "drenthe", "twente")


class Crash(Exception):
    """The injected failure."""


class Recorder:
    """A channel that keeps what it is given; `crash_on` makes the n-th delivery die after
    the message was handed over (it is kept, then the process "dies")."""

    name = "rec"

    def __init__(self, crash_on: int | None = None, crash: type[BaseException] = KeyboardInterrupt):
        self.messages: list[Message] = []
        self.crash_on = crash_on
        self.crash = crash

    def deliver(self, message: Message) -> DeliveryReport:
        self.messages.append(message)
        if len(self.messages) == self.crash_on:
            raise self.crash()
        return DeliveryReport(self.name, message.recipients)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, clock: Clock) -> Iterator[Onderwijsflow]:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "termijn.yaml").write_text(WORKFLOW, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    app = Onderwijsflow(load_config(config), db_url=sqlite_url, workflows=workflows, actor="anne",
                        clock=clock)
    app.init()
    for slug in SLUGS:
        app.create_region(slug, name=f"Regio {slug.title()}", coordinator=f"re-{slug}@example.org")
        app.start_case(slug, "termijn", params={"deadline": "2025-04-04"})
    yield app
    app.close()


def scheduler(app: Onderwijsflow, channel: Any) -> Scheduler:
    return Scheduler(app, channels=[channel], worker="w1", lease=LEASE)


def rows(app: Onderwijsflow, table: type, *where: Any) -> list[Any]:
    with app.db.session(write=False) as session:
        return list(session.exec(select(table).where(*where).order_by(col(table.id))))


def outbox_status(app: Onderwijsflow) -> list[str]:
    return [r.status for r in rows(app, Outbox)]


def reminder_status(app: Onderwijsflow, kind: str = "reminder") -> list[str]:
    return [r.status for r in rows(app, Reminder, Reminder.kind == kind)]


def event_kinds(app: Onderwijsflow) -> list[str]:
    return [e.kind for e in rows(app, Event)]


# --- between claiming and writing the outbox: the transaction rolls back ---------------------


def test_a_crash_while_composing_messages_loses_nothing(
    app: Onderwijsflow, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real_body = messages.body

    def body_that_dies_on_the_third(notice: messages.Notice) -> str:
        calls.append(notice.region_slug)
        if len(calls) == 3:
            raise Crash("the process died while writing the outbox")
        return real_body(notice)

    channel = Recorder()
    clock.set(REMINDER)
    before = event_kinds(app)
    with monkeypatch.context() as patch:
        patch.setattr(messages, "body", body_that_dies_on_the_third)
        with pytest.raises(Crash):
            scheduler(app, channel).tick()
    # The whole batch rolled back: two messages were composed and are gone with it.
    assert calls == list(SLUGS)
    assert reminder_status(app) == ["pending"] * 3
    assert rows(app, Outbox) == []
    assert channel.messages == []
    assert event_kinds(app) == before

    report = scheduler(app, channel).tick()
    assert (report.queued, report.sent) == (3, 3)
    assert sorted(m.recipients[0] for m in channel.messages) == [f"re-{s}@example.org" for s in SLUGS]
    assert reminder_status(app) == ["queued"] * 3
    assert scheduler(app, channel).tick().sent == 0
    assert len(channel.messages) == 3


def test_a_crash_between_the_overdue_transition_and_its_notice_undoes_both(
    app: Onderwijsflow, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_queue = Scheduler._queue

    def queue_that_dies(self: Scheduler, *args: Any, **kwargs: Any) -> None:
        if "overdue" in args:
            raise Crash("died after firing on_overdue, before writing the notice")
        real_queue(self, *args, **kwargs)

    channel = Recorder()
    clock.set(DUE)
    with monkeypatch.context() as patch:
        patch.setattr(Scheduler, "_queue", queue_that_dies)
        with pytest.raises(Crash):
            scheduler(app, channel).tick()
    assert {c.state for c in rows(app, Case)} == {"voorbereiding"}
    assert "transition" not in event_kinds(app)
    assert reminder_status(app, "overdue") == ["pending"] * 3

    report = scheduler(app, channel).tick()
    assert report.overdue == 3
    assert len(report.transitions) == 3
    assert {c.state for c in rows(app, Case)} == {"verstreken"}
    assert event_kinds(app).count("transition") == 3
    assert [m.subject.split(":")[0] for m in channel.messages] == ["Overdue"] * 3


# --- after marking `sending`, before the channel answered: unknown ---------------------------


class Batched(Recorder):
    """A recorder that takes `batch_size` messages at a time (the scheduler's batch)."""

    def __init__(self, batch_size: int, **options: Any) -> None:
        super().__init__(**options)
        self.batch_size = batch_size


@pytest.mark.parametrize("crash", [KeyboardInterrupt, SystemExit])
def test_a_crash_inside_the_channel_makes_the_batch_unknown_until_a_person_resends_it(
    app: Onderwijsflow, clock: Clock, crash: type[BaseException]
) -> None:
    dying = Recorder(crash_on=1, crash=crash)
    clock.set(REMINDER)
    with pytest.raises(crash):
        scheduler(app, dying).tick()
    assert len(dying.messages) == 1
    first = rows(app, Outbox)[0]
    assert (first.status, first.attempts) == ("sending", 1)
    assert first.message_id == dying.messages[0].message_id
    assert first.lease_until == REMINDER + LEASE
    # The whole batch was claimed and marked sending in one commit.
    assert outbox_status(app) == ["sending"] * 3

    # The worker comes back at once: the leases still run, nothing is delivered twice.
    survivor = Recorder()
    after_restart = scheduler(app, survivor)
    report = after_restart.tick()
    assert (report.unknown, report.sent) == (0, 0)
    assert outbox_status(app) == ["sending"] * 3
    assert survivor.messages == []
    assert [d["status"] for d in after_restart.status()["deliveries"]] == ["sending"] * 3

    # Once the lease has run out the batch is unknown: listed, never resent automatically.
    clock.set(REMINDER + LEASE + timedelta(seconds=1))
    report = after_restart.tick()
    assert (report.unknown, report.sent) == (3, 0)
    assert outbox_status(app) == ["unknown"] * 3
    assert [r.attempts for r in rows(app, Outbox)] == [1, 1, 1]
    row = rows(app, Outbox)[0]
    listed = {d["id"]: d for d in after_restart.status()["deliveries"]}
    assert list(listed) == [r.id for r in rows(app, Outbox)]
    assert listed[row.id]["status"] == "unknown"
    assert listed[row.id]["message_id"] == row.message_id
    assert "resend" in listed[row.id]["error"]
    assert after_restart.status()["counts"]["unknown"] == 3
    for later in (timedelta(hours=1), timedelta(days=1), timedelta(days=6)):  # before DUE
        clock.set(REMINDER + later)
        report = after_restart.tick()
        assert (report.sent, report.unknown) == (0, 0)
    assert survivor.messages == []

    # A person decides: resend it once, audited, with the same Message-ID.
    assert after_restart.resend(row.id) == {"id": row.id, "status": "pending", "previous": "unknown"}
    (resend,) = [e for e in rows(app, Event) if e.kind == "reminder_resend"]
    assert (resend.actor, resend.data["outbox"], resend.data["previous"]) == ("anne", row.id, "unknown")
    assert after_restart.tick().sent == 1
    assert [m.message_id for m in survivor.messages] == [row.message_id]
    assert outbox_status(app) == ["sent", "unknown", "unknown"]
    for later in (timedelta(0), timedelta(days=40)):
        clock.set(REMINDER + timedelta(days=30) + later)
        after_restart.tick()
    assert [m.message_id for m in survivor.messages].count(row.message_id) == 1


@pytest.mark.parametrize("size", [1, 2, 3])
def test_a_crash_leaves_at_most_one_batch_unknown(app: Onderwijsflow, clock: Clock, size: int) -> None:
    dying = Batched(size, crash_on=1)
    clock.set(REMINDER)
    with pytest.raises(KeyboardInterrupt):
        scheduler(app, dying).tick()
    assert outbox_status(app).count("sending") == size
    assert outbox_status(app).count("pending") == 3 - size  # never claimed

    survivor = Batched(size)
    clock.set(REMINDER + LEASE + timedelta(seconds=1))
    report = scheduler(app, survivor).tick()
    assert (report.unknown, report.sent) == (size, 3 - size)
    assert sorted(outbox_status(app)) == sorted(["unknown"] * size + ["sent"] * (3 - size))
    assert {m.message_id for m in survivor.messages}.isdisjoint(
        {r.message_id for r in rows(app, Outbox) if r.status == "unknown"})


def test_a_crash_after_delivery_before_it_is_recorded_is_never_repeated_automatically(
    app: Onderwijsflow, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = Recorder()

    def record_that_dies(self: Scheduler, *args: Any, **kwargs: Any) -> None:
        raise Crash("died after the channel took the messages")

    clock.set(REMINDER)
    with monkeypatch.context() as patch:
        patch.setattr(Scheduler, "_record", record_that_dies)
        with pytest.raises(Crash):
            scheduler(app, channel).tick()
    assert len(channel.messages) == 3
    assert outbox_status(app) == ["sending"] * 3
    assert "reminder_sent" not in event_kinds(app)

    sched = scheduler(app, channel)
    sched.tick()
    clock.set(REMINDER + LEASE + timedelta(minutes=1))
    report = sched.tick()
    assert (report.unknown, report.sent) == (3, 0)
    assert [d["status"] for d in sched.status()["deliveries"]] == ["unknown"] * 3
    clock.set(DUE + timedelta(days=1))
    sched.tick()  # the overdue notices go out; the uncertain reminders do not
    assert len({m.message_id for m in channel.messages}) == len(channel.messages) == 6


def test_sent_rows_are_never_sent_again_whatever_happens_later(
    app: Onderwijsflow, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = Recorder()
    clock.set(REMINDER)
    sched = scheduler(app, channel)
    assert sched.tick().sent == 3
    sent = {r.id: r.message_id for r in rows(app, Outbox)}
    assert outbox_status(app) == ["sent"] * 3

    # Later ticks, a crash in another tick, expired leases, a second worker: nothing again.
    with monkeypatch.context() as patch:
        patch.setattr(messages, "body", lambda notice: (_ for _ in ()).throw(Crash()))
        clock.set(DUE)
        with pytest.raises(Crash):
            sched.tick()
    for moment in (DUE, DUE + LEASE * 2, DUE + timedelta(days=365)):
        clock.set(moment)
        sched.tick()
        Scheduler(app, channels=[channel], worker="w2", lease=LEASE).tick()
    reminders = [m for m in channel.messages if m.message_id in sent.values()]
    assert len(reminders) == 3
    assert [r.status for r in rows(app, Outbox) if r.id in sent] == ["sent"] * 3


def test_claimed_deliveries_of_an_older_worker_are_picked_up_again(
    app: Onderwijsflow, clock: Clock
) -> None:
    """Issue 3: "what was claimed and not handed to a channel is picked up again after its
    lease". Rows left ``claimed`` (by a worker of an earlier version) never reached a channel."""
    from sqlalchemy import update

    clock.set(REMINDER)
    with pytest.raises(KeyboardInterrupt):
        scheduler(app, Recorder(crash_on=1)).tick()
    with app.db.session() as session:
        session.execute(update(Outbox).values(status="claimed"))

    survivor = Recorder()
    clock.set(REMINDER + LEASE + timedelta(seconds=1))
    assert scheduler(app, survivor).tick().sent == 3
    assert outbox_status(app) == ["sent"] * 3


def test_a_worker_that_outlives_its_lease_sends_nothing_twice(app: Onderwijsflow, clock: Clock) -> None:
    """Worker A hangs in its first delivery past the lease; worker B ticks meanwhile and finds
    A's batch `sending` past its lease: unknown. B sends none of it, and A, waking up, does not
    overwrite what B recorded."""
    other = Recorder()
    second = Scheduler(app, channels=[other], worker="B", lease=LEASE)

    class Hanging(Recorder):
        def deliver(self, message: Message) -> DeliveryReport:
            if not self.messages:  # A "hangs" here: time passes, B runs a whole pass
                clock.set(REMINDER + LEASE + timedelta(minutes=1))
                assert second.tick().unknown == 3
            return super().deliver(message)

    hanging = Hanging()
    clock.set(REMINDER)
    report = scheduler(app, hanging).tick()
    assert len(hanging.messages) == 3
    assert other.messages == []
    assert sorted(m.message_id for m in hanging.messages) == sorted(r.message_id for r in rows(app, Outbox))
    assert outbox_status(app) == ["unknown"] * 3
    assert [r.attempts for r in rows(app, Outbox)] == [1, 1, 1]
    assert "reminder_sent" not in event_kinds(app)
    assert report.sent == 0  # A counts only what it could record
