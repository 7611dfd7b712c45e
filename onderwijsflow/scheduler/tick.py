"""One pass of the scheduler: act on what fell due, then deliver the outbox.

Acting (phase 1) locks each due milestone (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
``BEGIN IMMEDIATE`` write lock on SQLite) and, in one transaction per batch, coalesces its
due reminders (after downtime only the latest goes out, the rest are ``skipped``), writes the
message to the outbox, and for a passed milestone sends one overdue notice and fires
`on_overdue` as the actor ``scheduler``. A crash rolls the batch back: nothing is lost.

Delivering (phase 2) claims a batch of outbox rows (``claimed``, with a lease), then marks
each row ``sending`` (committed) just before handing it to the channel, and records the
outcome (``sent``) in the transaction that marks the next row ``sending``: one commit per
message. A row still ``claimed`` when its lease runs out never reached a channel and is
picked up again; a row still ``sending`` died in between: its fate is ``unknown`` and only
a person resends it (design §6).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, insert, select, update

from onderwijsflow.definition.model import MilestoneDef
from onderwijsflow.engine.context import RegionContext
from onderwijsflow.engine.machine import WorkflowMachine
from onderwijsflow.engine.milestones import add_local
from onderwijsflow.errors import (
    NotFound,
    PermanentDeliveryError,
    Refused,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from onderwijsflow.i18n import _
from onderwijsflow.scheduler import messages
from onderwijsflow.service.planning import close, plan
from onderwijsflow.service.snapshot import for_case, region_context, region_contexts
from onderwijsflow.store.tables import Case, Milestone, Outbox, Region, Reminder

if TYPE_CHECKING:
    from onderwijsflow.notify.channels import Channel
    from onderwijsflow.service import Onderwijsflow

log = logging.getLogger("onderwijsflow.scheduler")

SCHEDULER_ACTOR = "scheduler"
#: Backoff between delivery attempts of one outbox row (temporary failures).
RETRY_AFTER = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30),
               dt.timedelta(hours=2))


@dataclass
class TickReport:
    """What one pass did."""

    milestones: int = 0
    queued: int = 0
    skipped: int = 0
    overdue: int = 0
    transitions: list[str] = field(default_factory=list)
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


class Scheduler:
    """Runs ticks for one application; several may share one PostgreSQL database."""

    def __init__(
        self,
        app: Onderwijsflow,
        *,
        channels: list[Channel] | None = None,
        worker: str | None = None,
        lease: dt.timedelta = dt.timedelta(minutes=10),
        batch: int = 200,
    ) -> None:
        self.app = app
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease
        self.batch = batch
        self._channels = channels

    @property
    def channels(self) -> dict[str, Channel]:
        """The configured channels by name (``log``, ``smtp``, ``maildir``; ``-2``... when repeated)."""
        if self._channels is None:
            from onderwijsflow.notify.channels import build_channels

            self._channels = build_channels(self.app.config.notify)
        names: dict[str, Channel] = {}
        for channel in self._channels:
            name = channel.name
            n = 2
            while name in names:
                name, n = f"{channel.name}-{n}", n + 1
            names[name] = channel
        return names

    # --- the pass ---------------------------------------------------------------------

    def tick(self) -> TickReport:
        """One pass: act on everything due now, then deliver what is waiting."""
        report = TickReport()
        self.app.ensure_ready()
        if not self._anything_to_do():
            return report
        while self._act(report):
            pass
        self._expire(report)
        while self._deliver_batch(report):
            pass
        return report

    def _anything_to_do(self) -> bool:
        """One read-only, indexed query: is anything due, retrying or past its lease?

        An idle tick then takes no write lock, so coordinators are never kept waiting.
        """
        from sqlalchemy import exists, or_

        now = self.app.now()
        with self.app.db.session(write=False) as session:
            return bool(session.execute(select(or_(
                exists().where(col(Reminder.status) == "pending", col(Reminder.due_at) <= now),
                exists().where(col(Outbox.status) == "pending", col(Outbox.next_attempt_at) <= now),
                exists().where(col(Outbox.status).in_(("claimed", "sending")),
                               col(Outbox.lease_until) < now),
            ))).scalar())

    def next_due(self) -> dt.datetime | None:
        """The earliest moment something will fall due (for an earlier wake-up)."""
        with self.app.db.session(write=False) as session:
            first = session.exec(
                select(Reminder.due_at).where(Reminder.status == "pending")
                .order_by(col(Reminder.due_at)).limit(1)
            ).first()
            retry = session.exec(
                select(Outbox.next_attempt_at).where(Outbox.status == "pending")
                .order_by(col(Outbox.next_attempt_at)).limit(1)
            ).first()
        found = [m for m in (first, retry) if m is not None]
        return min(found) if found else None

    # --- phase 1: act on due milestones ------------------------------------------------

    def _act(self, report: TickReport) -> bool:
        now = self.app.now()
        with self.app.writing() as session:
            due = (
                select(Reminder.milestone_id)
                .where(Reminder.status == "pending", Reminder.due_at <= now)
            )
            # LIMIT on the locking query, not the subquery: SKIP LOCKED passes over what
            # another worker holds and still fills the batch with what is free.
            rows = list(session.exec(
                select(Milestone).where(col(Milestone.id).in_(due)).order_by(col(Milestone.id))
                .limit(self.batch).with_for_update(skip_locked=True)
            ))
            self._preload(session, rows, now)
            with session.no_autoflush:
                for milestone in rows:
                    self._act_on(session, milestone, now, report)
            if self._outbox:
                session.execute(insert(Outbox), self._outbox)
            report.milestones += len(rows)
            return len(rows) == self.batch

    def _preload(self, session: Session, rows: list[Milestone], now: dt.datetime) -> None:
        """Everything a batch of milestones needs, in a handful of queries (not ~11 each)."""
        ids = [m.id for m in rows]
        self._due: dict[int | None, list[Reminder]] = {}
        for reminder in session.exec(
            select(Reminder).where(col(Reminder.milestone_id).in_(ids), Reminder.status == "pending",
                                   Reminder.due_at <= now).order_by(col(Reminder.due_at))
        ):
            self._due.setdefault(reminder.milestone_id, []).append(reminder)
        # Held here, not only in the session's weak identity map, so `session.get` hits.
        self._cases = list(session.exec(select(Case).where(col(Case.id).in_({m.case_id for m in rows}))))
        self._regions = list(session.exec(
            select(Region).where(col(Region.id).in_({c.region_id for c in self._cases}))
        ))
        self._contexts = region_contexts(session, self._regions, now)
        self._outbox: list[dict[str, Any]] = []

    def _context(self, session: Session, region: Region, now: dt.datetime) -> RegionContext:
        """The preloaded snapshot of `region` (read again after the scheduler moved a case)."""
        assert region.id is not None
        if region.id not in self._contexts:
            self._contexts[region.id] = region_context(session, region, now)
        return self._contexts[region.id]

    def _act_on(self, session: Session, ms: Milestone, now: dt.datetime, report: TickReport) -> None:
        due = self._due.get(ms.id, [])
        case = session.get(Case, ms.case_id)
        assert case is not None
        machine = self.app.catalog.machine(session, case.workflow, case.workflow_version)
        spec = next((m for m in machine.definition.milestones if m.name == ms.name), None)
        if spec is None or ms.status != "pending" or case.state not in spec.active_in:
            self._mark(session, due, "retired", now)
            return
        final = [r for r in due if r.kind != "reminder"]
        reminders = [r for r in due if r.kind == "reminder"]
        if not due:  # another worker acted on it between our claim query and our lock
            return
        if final:
            self._mark(session, reminders, "skipped", now)
            report.skipped += len(reminders)
            self._passed(session, ms, case, machine, spec, final[0], now, report)
            return
        *older, latest = reminders
        self._mark(session, older, "skipped", now)
        report.skipped += len(older)
        self._queue(session, ms, case, machine, spec, latest, "reminder", now, report)

    def _passed(self, session: Session, ms: Milestone, case: Case, machine: WorkflowMachine,
                spec: MilestoneDef, row: Reminder, now: dt.datetime, report: TickReport) -> None:
        if row.kind == "rollover":
            missed = spec.met_by is not None  # no record met this occurrence in its window
            if missed:
                report.overdue += 1
                self._queue(session, ms, case, machine, spec, row, "overdue", now, report)
            else:
                self._mark(session, [row], "done", now)
            close(session, ms, "overdue" if missed else "met", now)
            assert spec.every is not None
            plan(session, case, spec, now, self.app.config.reminder_time,
                 occurrence=ms.occurrence + 1, due=add_local(spec.every, ms.due_at),
                 opens_at=ms.due_at)
            return
        # `notify: []`: a moment the scheduler acts on (the activity period begins), not an
        # obligation anyone missed: no notice, and the occurrence is met, not overdue.
        silent = not spec.notify
        if not silent:
            report.overdue += 1
        if spec.on_overdue is not None:
            self._fire_overdue(session, ms, case, machine, spec, report)
        if silent:
            self._mark(session, [row], "done", now)
        else:
            self._queue(session, ms, case, machine, spec, row, "overdue", now, report)
        if ms.status == "pending":
            close(session, ms, "met" if silent else "overdue", now)

    def _fire_overdue(self, session: Session, ms: Milestone, case: Case, machine: WorkflowMachine,
                      spec: MilestoneDef, report: TickReport) -> None:
        assert spec.on_overdue is not None
        region = session.get(Region, case.region_id)
        assert region is not None
        ctx = for_case(self._context(session, region, self.app.now()), case, machine.definition)
        decision = machine.fire(case.state, spec.on_overdue.trigger, ctx, actor_roles=None)
        reason = (_("Milestone '{milestone}' passed ({moment})") if spec.notify
                  else _("Milestone '{milestone}' reached ({moment})")).format(
            milestone=spec.label or spec.name, moment=messages.due_moment(ms.due_at))
        assert case.id is not None and region.id is not None
        self.app.commit_decision(session, region, case.id, case.lock_version, machine, decision,
                                  reason=reason, actor=SCHEDULER_ACTOR,
                                  closing="overdue" if spec.notify else "met")
        self._contexts.pop(region.id, None)  # its cases moved: read it again when needed
        if decision.ok:
            report.transitions.append(f"{region.slug}: {decision.source} -> {decision.dest}")
            log.info(_("{region}: {workflow} moved {source} -> {dest} ({reason})").format(
                region=region.slug, workflow=case.workflow, source=decision.source,
                dest=decision.dest, reason=reason))

    # --- writing messages -------------------------------------------------------------

    def _queue(self, session: Session, ms: Milestone, case: Case, machine: WorkflowMachine,
               spec: MilestoneDef, row: Reminder, kind: str, now: dt.datetime,
               report: TickReport) -> None:
        region = session.get(Region, case.region_id)
        assert region is not None
        ctx = for_case(self._context(session, region, now), case, machine.definition)
        recipients, missing = self._recipients(ctx, region, spec)
        notify = self.app.config.notify
        notice = messages.Notice(
            kind=kind, region_name=region.name, region_slug=region.slug, workflow=case.workflow,
            milestone_label=spec.label or spec.name, due_at=ms.due_at, now=now,
            state_label=machine.definition.state_label(case.state),
            next_steps=tuple(self._next_steps(machine, case, ctx)),
            workflow_title=machine.definition.title, round=case.round,
            team=notify.team, signature=notify.signature,
        )
        sender = notify.sender
        from onderwijsflow.notify.message import make_message_id

        # Row ids repeat across databases; a mail server may drop a Message-ID it has seen.
        message_id = make_message_id(f"{kind}-{row.id}-{uuid.uuid4().hex[:12]}", sender)
        subject, body = messages.subject(notice), messages.body(notice)
        for name in self.channels:
            self._outbox.append({
                "reminder_id": row.id, "region_id": region.id, "channel": name,
                "message_id": message_id, "sender": sender, "recipients": recipients,
                "missing": missing, "subject": subject, "body": body, "status": "pending",
                "attempts": 0, "next_attempt_at": now, "created_at": now,
            })
        self._mark(session, [row], "queued", now)
        report.queued += 1
        if missing:
            report.missing += [f"{region.slug}: {m}" for m in missing]
            log.warning(_("{region}: no e-mail address for {missing} ({milestone})").format(
                region=region.slug, missing=", ".join(missing), milestone=spec.name))

    def _headers(self) -> tuple[tuple[str, str], ...]:
        """The headers every message of the scheduler carries besides its own.

        ``Auto-Submitted: auto-generated`` (RFC 3834) tells mail software that nobody typed
        this message: no out-of-office replies, no automatic forwarding loops; Exchange reads
        ``X-Auto-Response-Suppress`` instead. Reply-To is the configuration's
        ``notify.reply_to``, read when the message leaves.
        """
        headers = [("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All")]
        reply_to = self.app.config.notify.reply_to
        if reply_to:
            headers.append(("Reply-To", reply_to))
        return tuple(headers)

    @staticmethod
    def _next_steps(machine: WorkflowMachine, case: Case, ctx: Any) -> list[Any]:
        automatic = {m.on_overdue.trigger for m in machine.definition.milestones if m.on_overdue}
        states = machine.definition.states
        optional = {t.trigger for t in machine.definition.transitions_from(case.state) if t.optional}
        return [
            r for r in machine.readiness(case.state, ctx)
            if r.results and not states[r.dest].final and r.trigger not in automatic | optional
        ]

    @staticmethod
    def _recipients(ctx: RegionContext, region: Region, spec: MilestoneDef) -> tuple[list[str], list[str]]:
        """E-mail addresses for `notify:`; roles without one are reported, not dropped."""
        people = ctx.roles
        found: list[str] = []
        missing: list[str] = []
        for target in spec.notify:
            if target == "coordinator":
                (found if region.coordinator else missing).append(region.coordinator or "coordinator")
                continue
            holders = [p for p in people if p.role == target]
            if not holders:
                missing.append(_("{role} (nobody appointed)").format(role=target))
            for person in holders:
                if person.email:
                    found.append(person.email)
                else:
                    missing.append(f"{person.person} ({target})")
        return sorted(set(found)), missing

    @staticmethod
    def _mark(session: Session, rows: list[Reminder], status: str, now: dt.datetime) -> None:
        for row in rows:
            row.status = status
            row.updated_at = now
            session.add(row)

    # --- phase 2: deliver --------------------------------------------------------------

    def _expire(self, report: TickReport) -> None:
        """Leases that ran out: a `claimed` row never reached a channel and is taken again;
        a row still `sending` died mid-send, so its fate is unknown."""
        now = self.app.now()
        with self.app.db.session() as session:
            session.execute(
                update(Outbox)
                .where(col(Outbox.status) == "claimed", col(Outbox.lease_until) < now)
                .values(status="pending", lease_until=None)
            )
            result = session.execute(
                update(Outbox)
                .where(col(Outbox.status) == "sending", col(Outbox.lease_until) < now)
                .values(status="unknown", error=_(
                    "the worker stopped while handing this message to the channel; check "
                    "whether it arrived, then resend or leave it"))
            )
            report.unknown += result.rowcount or 0  # type: ignore[attr-defined]

    def _deliver_batch(self, report: TickReport) -> bool:
        now = self.app.now()
        with self.app.db.session() as session:
            rows = list(session.exec(
                select(Outbox).where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
                .order_by(col(Outbox.id)).limit(self.batch).with_for_update(skip_locked=True)
            ))
            for row in rows:
                row.status, row.lease_until = "claimed", now + self.lease
                session.add(row)
            session.flush()
            current = self._hand_over_next(session, rows, 0)
        while current is not None:
            outcome = self._deliver(rows[current])
            current = self._record_delivery(rows[current], outcome, report, rows, current + 1)
        return len(rows) == self.batch

    def _hand_over_next(self, session: Session, rows: list[Outbox], start: int) -> int | None:
        """Mark the first still-claimed row from `start` on ``sending``; its index, or None.

        A claim can be lost while a slow batch waits (its lease ran out and another worker
        took the row): the compare-and-set then matches nothing and the row is left alone.
        """
        lease_until = self.app.now() + self.lease
        for index in range(start, len(rows)):
            result = session.execute(
                update(Outbox)
                .where(col(Outbox.id) == rows[index].id, col(Outbox.status) == "claimed")
                .values(status="sending", lease_until=lease_until, attempts=col(Outbox.attempts) + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return index
        return None

    def _deliver(self, row: Outbox) -> dict[str, Any]:
        """Hand `row` to its channel; the outcome to record."""
        from onderwijsflow.notify.message import Message

        channel = self.channels.get(row.channel)
        try:
            try:
                message = Message(message_id=row.message_id, sender=row.sender,
                                  recipients=tuple(row.recipients), subject=row.subject,
                                  body=row.body, headers=self._headers())
            except ValueError as err:
                raise PermanentDeliveryError(
                    _("the message cannot be sent: {error}").format(error=err)) from None
            if channel is None:
                raise PermanentDeliveryError(
                    _("channel '{channel}' is no longer configured").format(channel=row.channel))
            if not message.recipients and row.channel != "log":
                raise PermanentDeliveryError(_("no recipient has an e-mail address"))
            delivered = channel.deliver(message)
            return {"status": "sent", "refused": dict(delivered.refused)}
        except TemporaryDeliveryError as err:
            return {"status": "retry", "error": str(err)}
        except PermanentDeliveryError as err:
            return {"status": "failed", "error": str(err)}
        except UncertainDeliveryError as err:
            return {"status": "unknown", "error": str(err)}

    def _record_delivery(self, row: Outbox, outcome: dict[str, Any], report: TickReport,
                         batch: list[Outbox] | None = None, start: int = 0) -> int | None:
        """Record `outcome`, and in the same transaction hand over the next row of `batch`.

        Returns:
            The index in `batch` of the row now ``sending``, or None when none is left.
        """
        now = self.app.now()
        with self.app.writing() as session:
            fresh = session.get(Outbox, row.id, populate_existing=True)
            assert fresh is not None
            status = outcome["status"]
            if status == "retry" and fresh.attempts >= len(RETRY_AFTER) + 1:
                status = "failed"
            if status == "retry":
                fresh.status = "pending"
                fresh.next_attempt_at = now + RETRY_AFTER[fresh.attempts - 1]
                report.retrying += 1
            else:
                fresh.status = status
            fresh.error = outcome.get("error") or (
                _("refused: {refused}").format(refused=outcome["refused"])
                if outcome.get("refused") else None)
            fresh.lease_until = None
            if status == "sent":
                fresh.sent_at = now
                report.sent += 1
            if status == "failed":
                report.failed += 1
            if status == "unknown":
                report.unknown += 1
            session.add(fresh)
            if status in ("sent", "failed", "unknown"):
                self._audit_delivery(session, fresh, status)
            session.flush()
            following = self._hand_over_next(session, batch, start) if batch else None
        log.info("%s %s via %s to %s: %s", fresh.message_id, status, fresh.channel,
                 ", ".join(fresh.recipients) or "-", fresh.subject)
        return following

    def _audit_delivery(self, session: Session, row: Outbox, status: str) -> None:
        region = session.get(Region, row.region_id)
        assert region is not None
        reminder = session.get(Reminder, row.reminder_id) if row.reminder_id else None
        milestone = session.get(Milestone, reminder.milestone_id) if reminder else None
        self.app.record_event(
            session, region, f"reminder_{status}",
            actor=SCHEDULER_ACTOR,
            case_id=milestone.case_id if milestone else None,
            workflow=milestone.workflow if milestone else None,
            data={"outbox": row.id, "channel": row.channel, "message_id": row.message_id,
                  "kind": reminder.kind if reminder else None,
                  "milestone": milestone.name if milestone else None,
                  "recipients": row.recipients, "missing": row.missing, "subject": row.subject,
                  "error": row.error},
        )

    # --- operator actions -------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Pending reminders and every delivery that needs attention."""
        self.app.ensure_ready()
        with self.app.db.session(write=False) as session:
            pending = session.exec(
                select(Reminder.id).where(Reminder.status == "pending")
            ).all()
            rows = list(session.exec(
                select(Outbox).where(col(Outbox.status).in_(
                    ("pending", "claimed", "sending", "failed", "unknown")))
                .order_by(col(Outbox.id))
            ))
            slugs = {r.id: r.slug for r in session.exec(select(Region))}
        return {
            "reminders_pending": len(pending),
            "deliveries": [
                {"id": r.id, "status": r.status, "region": slugs.get(r.region_id),
                 "channel": r.channel, "subject": r.subject, "recipients": r.recipients,
                 "missing": r.missing, "attempts": r.attempts, "error": r.error,
                 "message_id": r.message_id}
                for r in rows
            ],
        }

    def resend(self, outbox_id: int) -> dict[str, Any]:
        """Deliberately queue a delivery again (an `unknown` or `failed` one); audited."""
        self.app.require_writer()
        now = self.app.now()
        with self.app.writing() as session:
            row = session.get(Outbox, outbox_id)
            if row is None:
                raise NotFound(_("no delivery {id}").format(id=outbox_id))
            if row.status not in ("unknown", "failed"):
                raise Refused(_("delivery {id} is {status}; only unknown or failed deliveries "
                                "are resent").format(id=outbox_id, status=row.status))
            previous = row.status
            row.status, row.next_attempt_at, row.error = "pending", now, None
            session.add(row)
            region = session.get(Region, row.region_id)
            assert region is not None
            self.app.record_event(session, region, "reminder_resend",
                             data={"outbox": row.id, "previous": previous,
                                   "message_id": row.message_id})
        return {"id": outbox_id, "status": "pending", "previous": previous}
