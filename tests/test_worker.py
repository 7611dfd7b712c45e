"""The long-running worker: APScheduler only wakes it, the database holds every reminder.

In process, the `Worker` runs a real `Scheduler` on a real SQLite file with a tiny interval;
the test waits on a `threading.Event` the tick sets (never a sleep). As a process,
``onderwijsflow scheduler run --interval 0.2`` delivers a due reminder into a Maildir and
stops cleanly on SIGTERM and SIGINT.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apscheduler.jobstores.memory import MemoryJobStore

from onderwijsflow.clock import Clock
from onderwijsflow.config import load_config
from onderwijsflow.notify import DeliveryReport, Message
from onderwijsflow.scheduler.tick import Scheduler, TickReport
from onderwijsflow.scheduler.worker import JOB_ID, Worker
from onderwijsflow.service import Onderwijsflow

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
    notify: [coordinator]
"""

CONFIG = "simulated_clock: true\nstart_with_region: []\n"
OPENED = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
REMINDER = dt.datetime(2025, 3, 28, 8, 0, tzinfo=dt.UTC)  # 09:00 CET, P7D before 4 April 16:00
WAIT = 20.0  # seconds; an upper bound for the waits below, never a sleep


class Recorder:
    name = "rec"

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def deliver(self, message: Message) -> DeliveryReport:
        self.messages.append(message)
        return DeliveryReport(self.name, message.recipients)


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "termijn.yaml").write_text(WORKFLOW, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return workflows, config


@pytest.fixture
def app(paths: tuple[Path, Path], sqlite_url: str) -> Iterator[Onderwijsflow]:
    workflows, config = paths
    app = Onderwijsflow(load_config(config), db_url=sqlite_url, workflows=workflows, actor="anne",
                        clock=Clock(OPENED))
    app.init()
    app.create_region("twente", name="Regio Twente", coordinator="re@example.org")
    app.start_case("twente", "termijn", params={"deadline": "2025-04-04"})
    yield app
    app.close()


class CountingScheduler(Scheduler):
    """A real Scheduler whose ticks are counted; `ran` is set after each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = 0
        self.threads: set[str] = set()
        self.ran = threading.Event()
        self.reports: list[TickReport] = []

    def tick(self) -> TickReport:
        report = super().tick()
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        self.reports.append(report)
        self.ran.set()
        return report


def test_the_worker_ticks_at_start_and_stops_cleanly(app: Onderwijsflow) -> None:
    app.clock.set(REMINDER)
    channel = Recorder()
    scheduler = CountingScheduler(app, channels=[channel], worker="w1")
    worker = Worker(scheduler, interval=3600)  # only the first run at start can happen in time
    worker.start()
    try:
        assert scheduler.ran.wait(WAIT), "the first tick did not run at start"
        job = worker._aps.get_job(JOB_ID)
        assert job is not None
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
        assert isinstance(worker._aps._lookup_jobstore("default"), MemoryJobStore)
        assert [j.id for j in worker._aps.get_jobs()] == [JOB_ID]
    finally:
        worker.stop()
        worker.shutdown()
    assert not worker._aps.running
    assert scheduler.calls == 1
    assert threading.current_thread().name not in scheduler.threads  # it ran in the background
    assert [m.subject for m in channel.messages] == [
        "Reminder: Deadline aanvraag in 7 days – Regio Twente"]
    assert worker.ticks == 1


class FlakyScheduler(CountingScheduler):
    """Its first pass fails (the database was briefly away); `enough` is set after three more."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failed = False
        self.enough = threading.Event()

    def tick(self) -> TickReport:
        if not self.failed:
            self.failed = True
            raise RuntimeError("database briefly unavailable")
        report = super().tick()
        if self.calls >= 3:
            self.enough.set()
        return report


def test_the_worker_keeps_ticking_on_a_tiny_interval_and_survives_a_failing_pass(
    app: Onderwijsflow, caplog: pytest.LogCaptureFixture
) -> None:
    app.clock.set(REMINDER)
    channel = Recorder()
    scheduler = FlakyScheduler(app, channels=[channel], worker="w1")
    worker = Worker(scheduler, interval=0.05)
    with caplog.at_level("ERROR", logger="onderwijsflow.scheduler"):
        worker.start()
        try:
            assert scheduler.enough.wait(WAIT), "the worker stopped ticking after a failed pass"
        finally:
            worker.stop()
            worker.shutdown()
    assert scheduler.failed
    assert "tick failed; retrying at the next interval" in caplog.text
    assert worker.ticks == scheduler.calls >= 3
    assert len(channel.messages) == 1  # many passes, one reminder


class StubScheduler:
    """Only what `Worker` reads: a tick, the next due moment, the app's clock, a name."""

    worker = "stub"

    def __init__(self, next_due: dt.datetime | None, *, simulated: bool = False) -> None:
        self._next_due = next_due
        self.app = type("App", (), {"clock": type("Clock", (), {"simulated": simulated})()})()

    def tick(self) -> TickReport:
        return TickReport()

    def next_due(self) -> dt.datetime | None:
        return self._next_due


@pytest.mark.parametrize(("due_in", "simulated", "moved"), [
    (dt.timedelta(minutes=5), False, True),  # due before the next interval: wake up then
    (dt.timedelta(hours=2), False, False),  # due after it: the interval wakes it anyway
    (None, False, False),  # nothing pending
    (dt.timedelta(minutes=5), True, False),  # a simulated clock has no wall-clock moments
])
def test_the_worker_wakes_earlier_when_something_falls_due_before_the_next_interval(
    monkeypatch: pytest.MonkeyPatch, due_in: dt.timedelta | None, simulated: bool, moved: bool
) -> None:
    now = dt.datetime.now(dt.UTC)
    due = now + due_in if due_in is not None else None
    worker = Worker(StubScheduler(due, simulated=simulated), interval=3600)  # type: ignore[arg-type]
    real_start = worker._aps.start
    monkeypatch.setattr(worker._aps, "start", lambda: real_start(paused=True))
    worker.start()  # paused: the test runs the pass itself, in this thread
    try:
        later = now + dt.timedelta(hours=1)
        worker._aps.modify_job(JOB_ID, next_run_time=later)
        worker._tick()
        job = worker._aps.get_job(JOB_ID)
        assert job is not None
        assert job.next_run_time == (due if moved else later)
    finally:
        worker.stop()
        worker.shutdown()


# --- `onderwijsflow scheduler run` as a process ---------------------------------------------------


def _start_worker(app: Onderwijsflow, paths: tuple[Path, Path], maildir: Path) -> subprocess.Popen[str]:
    workflows, config = paths
    config.write_text(CONFIG + f'notify:\n  channels:\n    - {{type: maildir, path: "{maildir}"}}\n',
                      encoding="utf-8")
    env = {**os.environ, "ONDERWIJSFLOW_DB": app.db_url, "ONDERWIJSFLOW_CONFIG": str(config),
           "ONDERWIJSFLOW_WORKFLOWS": str(workflows), "ONDERWIJSFLOW_ACTOR": "worker-test",
           "ONDERWIJSFLOW_NOW": "2025-03-28T09:00"}
    return subprocess.Popen([sys.executable, "-m", "onderwijsflow", "scheduler", "run", "--interval", "0.2"],
                            env=env, cwd=maildir.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for_mail(process: subprocess.Popen[str], maildir: Path) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the worker exited early ({process.returncode}): {process.communicate()[1]}")
        new = maildir / "new"
        if new.is_dir() and (files := os.listdir(new)):
            return files
        threading.Event().wait(0.05)
    process.kill()
    pytest.fail(f"no reminder delivered within 30 s: {process.communicate()[1]}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_scheduler_run_delivers_and_exits_cleanly_on_a_signal(
    app: Onderwijsflow, paths: tuple[Path, Path], tmp_path: Path, sig: signal.Signals
) -> None:
    maildir = tmp_path / "mail"
    process = _start_worker(app, paths, maildir)
    try:
        files = _wait_for_mail(process, maildir)
        assert len(files) == 1
        process.send_signal(sig)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert f"received {sig.name}, stopping" in err
    assert "worker" in err and "stopped after" in err
    assert "sent via maildir" in err  # a log line per message
    assert len(os.listdir(maildir / "new")) == 1  # ticking every 0.2 s sent it once


def test_scheduler_run_logs_one_json_object_per_line(
    app: Onderwijsflow, paths: tuple[Path, Path], tmp_path: Path
) -> None:
    import json

    maildir = tmp_path / "mail"
    workflows, config = paths
    config.write_text(CONFIG + f'notify:\n  channels:\n    - {{type: maildir, path: "{maildir}"}}\n',
                      encoding="utf-8")
    env = {**os.environ, "ONDERWIJSFLOW_DB": app.db_url, "ONDERWIJSFLOW_CONFIG": str(config),
           "ONDERWIJSFLOW_WORKFLOWS": str(workflows), "ONDERWIJSFLOW_ACTOR": "worker-test",
           "ONDERWIJSFLOW_NOW": "2025-03-28T09:00"}
    process = subprocess.Popen(
        [sys.executable, "-m", "onderwijsflow", "--lang", "en", "scheduler", "run", "--interval",
         "0.2", "--log-format", "json"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_mail(process, maildir)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    entries = [json.loads(line) for line in err.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    passes = [e for e in entries if e["logger"] == "onderwijsflow.scheduler.pass"]
    assert passes and all("tick" in e for e in passes)
    assert sum(e["tick"]["sent"] for e in passes) == 1
    assert passes[0]["tick"]["due"] == 1 and "next wake-up" in passes[0]["message"]
    assert not [e for e in entries if e["logger"].startswith("apscheduler") and e["level"] == "INFO"]
