"""Several scheduler workers on one database, a real SMTP server, messages counted (design §6).

Forty regions each have a subsidie case of round 2025 (deadline 15 October 2024 16:00,
reminders 30, 14, 7 and 1 days before). On 2 October 2024 10:00, simulated, the reminders
of 30 and 14 days before are due; per region exactly one message must go out (the latest,
the older one is skipped), to the programme manager and the coordinator, through an aiosmtpd
server the test runs on a free local port.

Three worker processes tick at the same moment (released together by a barrier of pipes,
with small batches so that their claims interleave): on PostgreSQL they share the work
through ``FOR UPDATE SKIP LOCKED``, on SQLite ``BEGIN IMMEDIATE`` serializes them. Either
way the server must receive exactly forty messages with forty distinct Message-IDs.

A worker killed after handing its first message to the server (its channel calls
``os._exit`` once the server has accepted it) loses nothing: once the lease has run out,
another worker's tick (the real ``onderwijsflow scheduler tick``) delivers everything that
was not handed over, and the message whose fate nobody recorded shows as ``unknown`` in
``scheduler status``, and is never sent again automatically.

And a worker that finds the first due milestones locked by another worker takes the next
free ones instead of concluding that nothing is due.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select
from support import free_port, frozen_child

from onderwijsflow.service import Onderwijsflow
from onderwijsflow.store.tables import Event, Outbox, Reminder

REPO = Path(__file__).resolve().parents[1]
REGIONS = 40
WORKERS = 3
SETUP_AT = "2024-09-02T10:00"
TICK_AT = "2024-10-02T10:00"
#: The scheduler's default lease is ten minutes; these moments lie before and after it ran out.
STILL_LEASED_AT = "2024-10-02T10:05"
LEASE_OVER_AT = "2024-10-02T10:11"
MUCH_LATER_AT = "2024-10-02T12:00"

WORKER = """
import json
import sys

from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow

url, config, now, name = sys.argv[1:]
app = Onderwijsflow.open(db=url, config=config, now=now, actor="scheduler")
scheduler = Scheduler(app, worker=name, batch=4)
app.ensure_ready()
scheduler.channels  # build the SMTP channel before the start line
print("ready", flush=True)
sys.stdin.readline()
report = scheduler.tick()
app.close()
print("report " + json.dumps(report.as_dict()), flush=True)
"""

#: The SMTP channel's default batch: how many deliveries a crash mid-batch leaves unknown.
BATCH = 20

# Hands the first message to the SMTP server, then dies before anything is recorded.
CRASHING_WORKER = """
import os
import sys

from onderwijsflow.notify.channels import build_channels
from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow

url, config, now = sys.argv[1:]
app = Onderwijsflow.open(db=url, config=config, now=now, actor="scheduler")
[smtp] = build_channels(app.config.notify)


class DiesAfterHandingOver:
    name = smtp.name
    batch_size = smtp.batch_size  # the batch that becomes unknown

    def deliver(self, message):
        smtp.deliver(message)  # the server accepted it...
        os._exit(1)  # ...and the worker is gone before it could record that


Scheduler(app, worker="doomed", channels=[DiesAfterHandingOver()]).tick()
print("the worker should have died", flush=True)
"""


# --- the SMTP server --------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping what it accepts: (recipients, parsed message)."""

    received: list[tuple[list[str], email.message.EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(message["Message-ID"]) for _, message in self.received]

    def recipients(self) -> list[str]:
        with self.lock:
            return [address for rcpts, _ in self.received for address in rcpts]



@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


# --- the world ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bytecode_cache(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where child processes keep compiled modules (see tests/test_concurrency.py)."""
    cache = getattr(pytestconfig, "cache", None)
    return cache.mkdir("onderwijsflow-bytecode") if cache is not None else tmp_path_factory.mktemp("bytecode")


def child_env(bytecode: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONDERWIJSFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    return frozen_child(env)


@dataclass
class World:
    url: str
    config: Path
    mailbox: Mailbox
    tmp_path: Path
    bytecode: Path

    def app(self, now: str) -> Onderwijsflow:
        return Onderwijsflow.open(db=self.url, config=self.config, now=now, actor="anne")

    def cli(self, now: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "onderwijsflow", "--db", self.url, "--config", str(self.config),
             "--now", now, *args],
            cwd=self.tmp_path, env=child_env(self.bytecode), capture_output=True, text=True,
            timeout=180)

    def rows(self) -> tuple[list[Outbox], Counter[str], list[Event]]:
        """The outbox, the reminders by status, and the reminder_sent events."""
        app = self.app(MUCH_LATER_AT)
        try:
            with app.db.session(write=False) as session:
                outbox = list(session.exec(select(Outbox).order_by(Outbox.id)))
                reminders = Counter(r.status for r in session.exec(select(Reminder)))
                sent = list(session.exec(select(Event).where(Event.kind == "reminder_sent")))
            assert app.verify_audit()["ok"]
        finally:
            app.close()
        return outbox, reminders, sent


@pytest.fixture
def world(tmp_path: Path, backend_url: str, mailbox: tuple[Mailbox, int], bytecode_cache: Path) -> World:
    """Forty regions with a subsidie case of round 2025, opened on 2 September 2024."""
    box, port = mailbox
    config = tmp_path / "onderwijsflow.yaml"
    config.write_text(
        "simulated_clock: true\n"
        "start_with_region: []\n"
        "notify:\n"
        "  sender: onderwijsflow@example.org\n"
        f"  channels:\n    - {{type: smtp, host: 127.0.0.1, port: {port}}}\n",
        encoding="utf-8",
    )
    made = World(backend_url, config, box, tmp_path, bytecode_cache)
    app = made.app(SETUP_AT)
    try:
        app.init()
        for i in range(REGIONS):
            slug = f"regio-{i:02d}"
            app.create_region(slug, name=f"Regio {i}", coordinator=f"re-{i:02d}@example.org")
            app.assign_role(slug, "programmamanager", f"PM {i}", email=f"pm-{i:02d}@example.org")
            app.start_case(slug, "subsidie", round="2025")
    finally:
        app.close()
    return made


def expected_recipients() -> list[str]:
    return sorted([f"re-{i:02d}@example.org" for i in range(REGIONS)]
                  + [f"pm-{i:02d}@example.org" for i in range(REGIONS)])


def bare(message_id: str) -> str:
    return message_id.strip().strip("<>")


# --- several workers at once ---------------------------------------------------------------


def test_three_workers_ticking_at_once_send_each_reminder_exactly_once(world: World) -> None:
    script = world.tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    workers = [subprocess.Popen(
        [sys.executable, str(script), world.url, str(world.config), TICK_AT, f"worker-{n}"],
        cwd=world.tmp_path, env=child_env(world.bytecode), text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in range(WORKERS)]
    try:
        for worker in workers:  # the barrier: everyone imported, connected and built its channel
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line.strip() == "ready", worker.communicate(timeout=60)[1]
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        finished = [(worker.wait(timeout=180), *worker.communicate()) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    reports = []
    for code, out, err in finished:
        assert code == 0, err
        assert "Traceback" not in err, err
        [line] = [x for x in out.splitlines() if x.startswith("report ")]
        reports.append(json.loads(line.removeprefix("report ")))
    print("per worker (queued, sent):", [(r["queued"], r["sent"]) for r in reports])

    # What the mail server saw: one message per region, to its programme manager and coordinator.
    ids = world.mailbox.message_ids()
    assert len(ids) == REGIONS
    assert len(set(ids)) == REGIONS, Counter(ids).most_common(3)
    assert sorted(world.mailbox.recipients()) == expected_recipients()
    # Together the workers did each thing once.
    assert sum(r["queued"] for r in reports) == REGIONS
    assert sum(r["skipped"] for r in reports) == REGIONS  # the 30-day reminder, coalesced
    assert sum(r["sent"] for r in reports) == REGIONS
    assert sum(r["unknown"] + r["failed"] + r["retrying"] for r in reports) == 0

    outbox, reminders, sent_events = world.rows()
    assert [row.status for row in outbox] == ["sent"] * REGIONS
    assert sorted(bare(row.message_id) for row in outbox) == sorted(map(bare, ids))
    assert reminders["queued"] == REGIONS
    assert reminders["skipped"] == REGIONS
    assert len(sent_events) == REGIONS
    assert len({e.region_id for e in sent_events}) == REGIONS

    # A tick later on finds nothing left to send.
    again = world.cli(MUCH_LATER_AT, "scheduler", "tick", "--json")
    assert again.returncode == 0, again.stderr
    assert (json.loads(again.stdout)["queued"], json.loads(again.stdout)["sent"]) == (0, 0)
    assert len(world.mailbox.message_ids()) == REGIONS


# --- a worker dies mid-pass -------------------------------------------------------------------


def test_a_worker_killed_mid_pass_loses_nothing_and_resends_nothing(world: World) -> None:
    script = world.tmp_path / "crashing_worker.py"
    script.write_text(CRASHING_WORKER, encoding="utf-8")
    doomed = subprocess.run([sys.executable, str(script), world.url, str(world.config), TICK_AT],
                            cwd=world.tmp_path, env=child_env(world.bytecode), capture_output=True,
                            text=True, timeout=180)
    assert doomed.returncode == 1, (doomed.stdout, doomed.stderr)
    assert "should have died" not in doomed.stdout
    [handed_over] = world.mailbox.message_ids()  # the server has exactly the first message

    # While the dead worker's lease runs, another worker sends that message no second time.
    early = world.cli(STILL_LEASED_AT, "scheduler", "tick", "--json")
    assert early.returncode == 0, early.stderr
    assert world.mailbox.message_ids().count(handed_over) == 1

    # Once the lease is over, another worker delivers all the rest and flags the dead worker's
    # batch (the SMTP channel's batch size, 20 by default) as uncertain.
    later = world.cli(LEASE_OVER_AT, "scheduler", "tick", "--json")
    assert later.returncode == 0, later.stderr
    report = json.loads(later.stdout)
    assert report["unknown"] == BATCH
    assert json.loads(early.stdout)["sent"] + report["sent"] == REGIONS - BATCH

    ids = world.mailbox.message_ids()
    assert len(ids) == len(set(ids)) == REGIONS - BATCH + 1
    assert handed_over in ids

    status = world.cli(LEASE_OVER_AT, "scheduler", "status", "--json")
    assert status.returncode == 0, status.stderr
    listed = json.loads(status.stdout)
    deliveries = listed["deliveries"]  # nothing else needs attention
    assert {d["status"] for d in deliveries} == {"unknown"}
    assert len(deliveries) == listed["counts"]["unknown"] == BATCH
    assert bare(handed_over) in {bare(d["message_id"]) for d in deliveries}
    assert all("check whether it arrived" in d["error"] for d in deliveries)

    # Nobody decided to resend them, so later ticks leave them alone.
    much_later = world.cli(MUCH_LATER_AT, "scheduler", "tick", "--json")
    assert much_later.returncode == 0, much_later.stderr
    assert json.loads(much_later.stdout)["sent"] == 0
    assert len(world.mailbox.message_ids()) == REGIONS - BATCH + 1

    outbox, reminders, sent_events = world.rows()
    assert Counter(row.status for row in outbox) == {"sent": REGIONS - BATCH, "unknown": BATCH}
    assert reminders["queued"] == REGIONS
    assert len(sent_events) == REGIONS - BATCH  # the unknown ones are not claimed as sent
    unknown_regions = {row.region_id for row in outbox if row.status == "unknown"}
    assert unknown_regions.isdisjoint({e.region_id for e in sent_events})



# --- sharing the work -------------------------------------------------------------------------


def test_a_worker_takes_the_due_milestones_another_worker_has_not_locked(
    tmp_path: Path, pg_url: str
) -> None:
    """SKIP LOCKED must pass over what another worker holds and still fill the batch (the
    LIMIT belongs on the locking query, not in a subquery that picks the busy rows again)."""
    from sqlalchemy import text

    from onderwijsflow.scheduler.tick import Scheduler

    config = tmp_path / "onderwijsflow.yaml"
    config.write_text("simulated_clock: true\nstart_with_region: []\n"
                      "notify: {channels: [{type: log}]}\n", encoding="utf-8")
    app = Onderwijsflow.open(db=pg_url, config=config, now=SETUP_AT, actor="anne")
    try:
        app.init()
        for i in range(12):
            app.create_region(f"regio-{i:02d}", name=f"Regio {i}", coordinator=f"re-{i:02d}@example.org")
            app.start_case(f"regio-{i:02d}", "subsidie", round="2025")
    finally:
        app.close()

    app = Onderwijsflow.open(db=pg_url, config=config, now=TICK_AT, actor="anne")
    try:
        with app.db.connect() as other_worker:  # busy with the first four due milestones
            transaction = other_worker.begin()
            busy = other_worker.execute(text(
                "SELECT id FROM milestones WHERE id IN (SELECT milestone_id FROM reminders "
                "WHERE status = 'pending' AND due_at <= :now) ORDER BY id LIMIT 4 FOR UPDATE"),
                {"now": app.now()}).scalars().all()
            assert len(busy) == 4
            report = Scheduler(app, batch=4).tick()
            transaction.rollback()
    finally:
        app.close()
    assert report.queued == 12 - 4
