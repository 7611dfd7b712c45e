"""§7 Scheduler: a tick over 100,000 pending reminders with 1,000 due within 4× the floor of
1,000 one-row commits, on SQLite and PostgreSQL; with none due, one indexed query.

100,000 pending reminders (10,000 with ``--quick``), 1,000 (100) due now, inserted with Core
(`benchmarks.seeding.seed_reminders`). A warm `Scheduler` (schema checked, workflow files
loaded and synced, as a running worker has) with a ``log`` channel that does no I/O runs one
real ``tick()``: the figure is the whole tick, its floor as many one-row commits by the bare
driver (``sqlite3`` in WAL with ``synchronous=FULL``; ``psycopg``). When the scheduler still
has its two steps, they are timed apart as information (phase 1: claim, coalesce, write the
outbox; phase 2: deliver, one commit per message); they are private, so their rows are left
out when they are gone. Then ticks with none due: their median time and their SQL statements
(counted with a ``before_cursor_execute`` listener), each printed with its query plan.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.environment import PgSchema, pg_target
from benchmarks.floors import commit_floor
from benchmarks.seeding import seed_reminders
from benchmarks.table import Figure, Ref, Target
from benchmarks.timing import median_ms, profile

TITLE = "scheduler tick"
#: The scheduler's steps timed apart when it has them (private; their rows are optional).
PHASES = ("_act", "_expire", "_deliver_batch")


class QuietLogChannel:
    """A `log` channel that does nothing: `deliver` returns a DeliveryReport without any I/O,
    so the delivery phase measures the scheduler and the database, not a mail server."""

    name = "log"

    def __init__(self) -> None:
        from onderwijsflow.notify import DeliveryReport

        self._report = DeliveryReport
        self.delivered = 0

    def deliver(self, message: Any) -> Any:
        self.delivered += 1
        return self._report(channel=self.name, accepted=tuple(message.recipients))


class StatementLog:
    """Counts the SQL statements an engine sends (``before_cursor_execute``), by phase."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.engine = engine
        self.phase = "-"
        self.counts: dict[str, int] = {}
        self.statements: list[tuple[str, str, Any]] = []
        self.keep = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
              _executemany: bool) -> None:
        self.counts[self.phase] = self.counts.get(self.phase, 0) + 1
        if self.keep:
            self.statements.append((self.phase, statement, parameters))

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)


def short_sql(statement: str, limit: int = 70) -> str:
    one = " ".join(statement.split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


def warm_scheduler(url: str) -> tuple[Any, Any, QuietLogChannel]:
    """A fresh application as a worker process has it, its one-time costs paid, and a Scheduler."""
    from onderwijsflow.scheduler.tick import Scheduler
    from onderwijsflow.service import Onderwijsflow

    app = Onderwijsflow.open(db=url, actor="bench")
    app.ensure_ready()
    app.catalog.current("subsidie")
    with app.writing():
        pass
    channel = QuietLogChannel()
    return app, Scheduler(app, channels=[channel]), channel


def plans(app: Any, statements: list[tuple[str, str, Any]]) -> list[str]:
    """The query plan of each statement: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL."""
    sqlite = app.db.engine.dialect.name == "sqlite"
    out = []
    with app.db.engine.connect() as conn:
        for _, sql, params in statements:
            try:
                rows = conn.exec_driver_sql(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql,
                                            params).all()
                out.append(" / ".join(str(r[-1]).strip() for r in rows))
            except Exception as err:  # a plan is information; say why there is none
                out.append(f"(no plan: {type(err).__name__})")
                conn.rollback()
        conn.rollback()
    return out


def select_floors(app: Any, now: Any) -> tuple[int, float, float]:
    """The bare driver's indexed SELECT of the reminders that fell due (now ``queued``, so the
    same index range) and of none (``pending``, none due): (rows, ms, ms)."""
    from onderwijsflow.store.tables import Reminder

    sqlite = app.db.engine.dialect.name == "sqlite"
    processor = Reminder.__table__.c.due_at.type.bind_processor(app.db.engine.dialect)  # type: ignore[attr-defined]
    now_param = processor(now) if processor else now
    if sqlite:
        query = ("SELECT milestone_id FROM reminders INDEXED BY ix_reminders_status_due_at "
                 "WHERE status = ? AND due_at <= ?")
    else:
        query = "SELECT milestone_id FROM reminders WHERE status = %s AND due_at <= %s"
    raw = app.db.engine.raw_connection()
    try:
        cursor = raw.cursor()

        def fetch(status: str) -> list[Any]:
            cursor.execute(query, (status, now_param))
            return list(cursor.fetchall())

        got = len(fetch("queued"))
        due_ms = median_ms(lambda: fetch("queued"), 20)
        none_ms = median_ms(lambda: fetch("pending"), 200)
        raw.rollback()
    finally:
        raw.close()
    return got, due_ms, none_ms


def tick_run(label: str, url: str, args: argparse.Namespace, work: Path) -> list[Figure]:
    """Seed, one due tick, idle ticks and the floors on one database."""
    from onderwijsflow.service import Onderwijsflow

    sqlite = url.startswith("sqlite")
    setup = time.perf_counter()
    app = Onderwijsflow.open(db=url, actor="bench")
    app.init()
    seeded = seed_reminders(app, args.reminders, args.due)
    app.close()
    if args.profile and sqlite:  # a copy, so that the profiled tick finds the same due reminders
        shutil.copyfile(url.removeprefix("sqlite:///"), work / "profile.db")
    print(f"  {label} set-up: {seeded['regions']:,} regions, cases and milestones, {seeded['reminders']:,} "
          f"pending reminders ({seeded['due']:,} due now) in {time.perf_counter() - setup:.1f} s", flush=True)

    app, scheduler, channel = warm_scheduler(url)
    statements = StatementLog(app.db.engine)
    phases: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            statements.phase = name
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent = phases.setdefault(name, [0.0, 0.0])
                spent[0] += time.perf_counter() - start
                spent[1] += time.process_time() - start_cpu
                statements.phase = "-"

        return wrapper

    # The real tick(); its steps, when it still has them, are wrapped on this instance.
    has_phases = all(callable(getattr(scheduler, name, None)) for name in PHASES)
    if has_phases:
        for name in PHASES:
            setattr(scheduler, name, timed(name, getattr(scheduler, name)))

    start, start_cpu = time.perf_counter(), time.process_time()
    report = scheduler.tick()
    total, total_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    n_due = seeded["due"]
    if report.queued != n_due or report.sent != n_due or channel.delivered != n_due:
        raise RuntimeError(f"scheduler set-up is wrong: {n_due} due, tick queued {report.queued}, "
                           f"sent {report.sent}, channel got {channel.delivered}")
    tick_sql = sum(statements.counts.values())
    print(f"  {label} due tick: {report.milestones:,} milestones, {report.queued:,} queued, "
          f"{report.skipped:,} skipped, {report.sent:,} sent in {total * 1000:,.0f} ms "
          f"({tick_sql:,} statements)", flush=True)

    # Ticks with nothing due: time them, count their statements, keep the SQL of one.
    idle_runs = 5 if args.quick else 15
    idle_wall, idle_cpu = [], []
    for i in range(idle_runs + 1):
        statements.counts.clear()
        statements.keep = i == idle_runs
        start, start_cpu = time.perf_counter(), time.process_time()
        idle = scheduler.tick()
        if i:  # the first one is a warm-up
            idle_wall.append((time.perf_counter() - start) * 1000)
            idle_cpu.append((time.process_time() - start_cpu) * 1000)
        if idle.milestones or idle.sent:
            raise RuntimeError("the idle tick found work")
    statements.close()
    idle_statements = statements.statements
    work_statements = [s for s in idle_statements if not s[1].lstrip().upper().startswith("BEGIN")]
    on_reminders = [s for s in work_statements if "FROM reminders" in s[1]]
    shown = plans(app, work_statements)
    due_plan = shown[work_statements.index(on_reminders[0])] if on_reminders else "(no query on reminders)"
    uses_index = "ix_reminders_status_due_at" in due_plan
    print(f"  {label} idle tick statements ({'EXPLAIN QUERY PLAN' if sqlite else 'EXPLAIN'}):")
    for (phase, sql, _), plan in zip(work_statements, shown, strict=True):
        print(f"    {phase:15} {short_sql(sql)}\n    {'':15}   -> {short_sql(plan, 300)}")

    got, sel_due_ms, sel_none_ms = select_floors(app, app.now())
    app.close()
    per_row, once = commit_floor(url, work, n_due, 1_000)
    driver = "sqlite3" if sqlite else "psycopg"
    if args.profile and sqlite:
        profile_phase1(work / "profile.db", n_due)

    commits = Ref(f"{driver}: {n_due:,} inserts of ~1 KB, 1 commit each", n_due / per_row * 1000)
    figures = [
        Figure(f"tick(), {n_due:,} due of {seeded['reminders']:,} pending", total * 1000, "ms",
               [Target("floor", 4)], [commits],
               note=f"{total_cpu * 1000:,.0f} ms CPU; {tick_sql:,} SQL statements; {report.milestones:,} "
                    f"due milestones claimed, {report.queued:,} outbox rows written, {report.sent:,} "
                    "messages delivered through a channel that does no I/O, each marked sending, handed "
                    "over and recorded with its audit event (design §6), one commit each."),
    ]
    if has_phases:
        act, deliver = phases["_act"], phases["_deliver_batch"]
        expire = phases.get("_expire", [0.0, 0.0])
        figures += [
            Figure("  phase 1: claim + coalesce + outbox", act[0] * 1000, "ms", [],
                   [Ref(f"{driver} indexed SELECT of the {got:,} due reminders", sel_due_ms),
                    Ref(f"{driver} {n_due:,} inserts of ~1 KB, 1 commit for all", n_due / once * 1000)],
                   note=f"{act[1] * 1000:,.0f} ms CPU; batch {getattr(scheduler, 'batch', '?')}."),
            Figure(f"  phase 2: deliver {report.sent:,} (1 commit each)", deliver[0] * 1000, "ms", [],
                   [commits],
                   note=f"{deliver[0] / max(1, report.sent) * 1000:.2f} ms per message "
                        f"({deliver[1] / max(1, report.sent) * 1000:.2f} ms CPU); expire step "
                        f"{expire[0] * 1000:.1f} ms."),
        ]
    figures += [
        Figure("tick with none due", statistics.median(idle_wall), "ms", [],
               [Ref(f"{driver} indexed SELECT on reminders, none due", sel_none_ms)],
               note=f"median of {idle_runs} ticks (minimum {min(idle_wall):.1f} ms; CPU "
                    f"{statistics.median(idle_cpu):.1f} ms) over {seeded['reminders'] - n_due:,} "
                    "pending reminders."),
        Figure("  SQL queries in a tick with none due", len(work_statements), "n", [Target("value", 1)],
               note=f"{len(idle_statements)} statements: {len(work_statements)} queries and "
                    f"{len(idle_statements) - len(work_statements)} BEGIN (not a query): "
                    + "; ".join(short_sql(s, 60) for _, s, _ in work_statements)
                    + f". The due-milestone query {'uses' if uses_index else 'DOES NOT use'} "
                    f"ix_reminders_status_due_at: {short_sql(due_plan, 300)}"),
    ]
    return figures


def profile_phase1(path: Path, due: int) -> None:
    """Profile one tick on a copy of the seeded database, with a warm application."""
    app, scheduler, _ = warm_scheduler(f"sqlite:///{path}")
    profile(f"Scheduler.tick over {due:,} due milestones (a copy of the database)", scheduler.tick)
    app.close()


def run(args: argparse.Namespace, work: Path) -> list[tuple[str, list[Figure]]]:
    """The tick on SQLite, then on PostgreSQL when one is reachable."""
    work = work / "scheduler"
    work.mkdir()
    title = f"{TITLE} ({args.reminders:,} pending reminders, {args.due:,} due)"
    sections = [(f"5a. {title} on SQLite",
                 tick_run("SQLite", f"sqlite:///{work / 'scheduler.db'}", args, work))]
    base, source = pg_target(args)
    if base is None:
        print(f"  PostgreSQL skipped: {source}")
        return sections
    shown = base.split("@")[-1]
    try:
        with PgSchema(base) as url:
            print(f"  PostgreSQL at {shown} ({source}), schema dropped afterwards", flush=True)
            sections.append((f"5b. {title} on PostgreSQL ({shown})",
                             tick_run("PostgreSQL", url, args, work)))
    except Exception as err:  # the SQLite figures are still worth printing
        print(f"  PostgreSQL run failed, its rows are left out: {type(err).__name__}: {err}")
    return sections
