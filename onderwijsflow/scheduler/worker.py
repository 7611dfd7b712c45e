"""`scheduler run`: the long-running worker.

APScheduler only wakes the worker; it never stores a reminder (the engineering notes list
how its job stores lose or double work). One interval job in a memory job store runs the
tick with ``coalesce=True``, ``max_instances=1`` and ``misfire_grace_time=None``, first at
start; after each tick the job is pulled earlier when something falls due sooner. SIGTERM
and SIGINT stop it cleanly after the running tick; restarting at any moment is safe because
the database holds all state.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

from onderwijsflow.i18n import _, ngettext

if TYPE_CHECKING:
    from onderwijsflow.scheduler.tick import Scheduler

log = logging.getLogger("onderwijsflow.scheduler")

JOB_ID = "onderwijsflow-tick"


class Worker:
    """Runs :meth:`Scheduler.tick` on an interval, and earlier when work falls due."""

    def __init__(self, scheduler: Scheduler, *, interval: float = 60.0) -> None:
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        self.scheduler = scheduler
        self.interval = interval
        self.ticks = 0
        self._stopped = threading.Event()
        self._aps = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=dt.UTC,
        )

    def start(self) -> None:
        """Schedule the tick (first run now) and start the background thread."""
        self._aps.add_job(self._tick, "interval", seconds=self.interval, id=JOB_ID,
                          next_run_time=dt.datetime.now(dt.UTC))
        self._aps.start()
        log.info(_("worker {worker} started; tick every {seconds} s").format(
            worker=self.scheduler.worker, seconds=self.interval))

    def run_forever(self, *, install_signals: bool = True) -> None:
        """Start and block until SIGTERM/SIGINT (or :meth:`stop`)."""
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)
        self.start()
        self._stopped.wait()
        self.shutdown()

    def stop(self) -> None:
        """Ask the worker to stop (thread-safe)."""
        self._stopped.set()

    def shutdown(self) -> None:
        """Stop after the running tick has finished."""
        if self._aps.running:
            self._aps.shutdown(wait=True)
        log.info(ngettext("worker {worker} stopped after {n} tick",
                          "worker {worker} stopped after {n} ticks", self.ticks).format(
            worker=self.scheduler.worker, n=self.ticks))

    def _on_signal(self, signum: int, _frame: Any) -> None:
        log.info(_("received {signal}, stopping").format(signal=signal.Signals(signum).name))
        self.stop()

    def _tick(self) -> None:
        try:
            report = self.scheduler.tick()
        except Exception:  # a failed pass must not kill the worker; the next one retries
            log.exception(_("tick failed; retrying at the next interval"))
            return
        self.ticks += 1
        if report.queued or report.sent or report.overdue or report.failed or report.unknown:
            log.info("tick: %s", report.as_dict())
        self._wake_earlier()

    def _wake_earlier(self) -> None:
        """Pull the next run forward when something falls due before it."""
        if self.scheduler.app.clock.simulated:
            return
        upcoming = self.scheduler.next_due()
        job = self._aps.get_job(JOB_ID)
        if upcoming is None or job is None or job.next_run_time is None:
            return
        soon = max(upcoming, dt.datetime.now(dt.UTC))
        if soon < job.next_run_time:
            job.modify(next_run_time=soon)
