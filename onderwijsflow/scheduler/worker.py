"""`scheduler run`: the long-running worker.

APScheduler only wakes the worker; it never stores a reminder (the engineering notes list
how its job stores lose or double work). One interval job in a memory job store runs the
tick with ``coalesce=True``, ``max_instances=1`` and ``misfire_grace_time=None``, first at
start; after each tick the job is pulled earlier when something falls due sooner. SIGTERM
and SIGINT stop it cleanly after the running tick; restarting at any moment is safe because
the database holds all state.

Every pass logs one line (``onderwijsflow.scheduler.pass``: what was due, queued, sent, to
retry, failed, uncertain, escalated, and the next wake-up); `JsonFormatter` writes each log
record as one JSON object per line for journald or ELK (``scheduler run --log-format json``).
APScheduler's own INFO lines ("Running job ...", "Job executed ...") are silenced.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

from onderwijsflow.i18n import _, ngettext

if TYPE_CHECKING:
    from onderwijsflow.scheduler.tick import Scheduler, TickReport

log = logging.getLogger("onderwijsflow.scheduler")
#: One line per pass, with the pass's figures in the record (``record.tick``).
pass_log = logging.getLogger("onderwijsflow.scheduler.pass")

JOB_ID = "onderwijsflow-tick"


class Worker:
    """Runs :meth:`Scheduler.tick` on an interval, and earlier when work falls due."""

    def __init__(self, scheduler: Scheduler, *, interval: float = 60.0) -> None:
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        # Its "Running job" / "executed successfully" lines every interval drown what matters.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
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
        wake = self._wake_earlier()
        self.log_pass(report, wake)

    def log_pass(self, report: TickReport, wake: dt.datetime | None) -> None:
        """The one line of a pass, with its figures attached for a JSON formatter."""
        figures = {
            "due": report.milestones, "queued": report.queued, "skipped": report.skipped,
            "overdue": report.overdue, "sent": report.sent, "retrying": report.retrying,
            "failed": report.failed, "unknown": report.unknown, "escalated": report.escalated,
            "anchors": report.anchors,
            "next_wake": wake.isoformat() if wake is not None else None,
        }
        pass_log.info(
            _("pass {n}: {due} due, {queued} queued, {sent} sent, {retrying} to retry, {failed} "
              "failed, {unknown} uncertain, {escalated} escalated; next wake-up {next}").format(
                n=self.ticks, next=figures["next_wake"] or "-", **figures),
            extra={"tick": {"pass": self.ticks, "worker": self.scheduler.worker, **figures,
                            "transitions": list(report.transitions),
                            "missing": list(report.missing)}},
        )

    def _wake_earlier(self) -> dt.datetime | None:
        """Pull the next run forward when something falls due before it; the next run.

        Never while stopping: `shutdown` holds APScheduler's job store lock while it waits for
        this very pass, so asking for the job then would deadlock.
        """
        if self._stopped.is_set():
            return None
        if self.scheduler.app.clock.simulated:  # the interval runs on the wall clock
            return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.interval)
        upcoming = self.scheduler.next_due()
        job = self._aps.get_job(JOB_ID)
        planned = job.next_run_time if job is not None else None
        if upcoming is None or job is None or planned is None:
            return planned
        soon = max(upcoming, dt.datetime.now(dt.UTC))
        if soon < planned:
            job.modify(next_run_time=soon)
            return soon
        return planned  # type: ignore[no-any-return]


class JsonFormatter(logging.Formatter):
    """One JSON object per log record and line: ``{"time", "level", "logger", "message"}``,
    plus ``"tick"`` (a pass's figures) and ``"error"`` (a traceback) when there are."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        tick = getattr(record, "tick", None)
        if tick is not None:
            entry["tick"] = tick
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "text", *, level: int = logging.INFO,
                      stream: Any = None) -> logging.Handler:
    """Log to stderr (or `stream`) as text lines or JSON lines; APScheduler only from WARNING.

    Returns:
        The handler installed on the root logger (it replaces any earlier one of ours).
    """
    handler = logging.StreamHandler(stream)
    handler.set_name("onderwijsflow")
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "onderwijsflow"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler
