"""One pass of the scheduler: act on what fell due, then deliver the outbox.

Acting (phase 1) locks each due milestone (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
``BEGIN IMMEDIATE`` write lock on SQLite) and, in one transaction per batch, coalesces its
due reminders (after downtime only the latest goes out, the rest are ``skipped``), writes the
message to the outbox, and for a passed milestone sends one overdue notice and fires
`on_overdue` as the actor ``scheduler``. A crash rolls the batch back: nothing is lost.

Delivering (phase 2) works in batches per channel: one commit claims a batch of due outbox
rows and marks them ``sending`` (with a lease); the batch goes to the channel as a whole (one
SMTP connection); one commit records every outcome and appends their audit events (one
`EventBatch` pass, each region's chain in order). A row still ``sending`` when its lease runs
out died in between: its fate is ``unknown`` and only a person resends it (design §6); the
batch size of a channel bounds how many rows that can be. A temporary failure is never
waited for: the row goes back to ``pending`` with a later ``next_attempt_at`` (exponential
backoff, ``notify.retry``) and is ``failed`` after the last attempt.

Then the operators (``notify.operators``) hear once of every delivery that ended ``failed``
or ``unknown``, through a channel of their own; and once a day the audit anchor is queued for
the auditors (``notify.anchor_mail``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, insert, select, update

from onderwijsflow.definition.model import MilestoneDef
from onderwijsflow.engine.context import RegionContext
from onderwijsflow.engine.machine import WorkflowMachine
from onderwijsflow.engine.milestones import add_local
from onderwijsflow.errors import (
    ConfigError,
    DeliveryError,
    IntegrityError,
    NotFound,
    PermanentDeliveryError,
    Refused,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from onderwijsflow.i18n import _
from onderwijsflow.scheduler import messages
from onderwijsflow.service.collector import collector_paused
from onderwijsflow.service.planning import close, plan
from onderwijsflow.service.snapshot import for_case, region_context, region_contexts
from onderwijsflow.store.db import dialect_of, insert_ignoring_duplicates
from onderwijsflow.store.statuses import UNDELIVERED, DeliveryStatus, MilestoneStatus, ReminderStatus
from onderwijsflow.store.tables import Case, Milestone, Outbox, Region, Reminder

if TYPE_CHECKING:
    from onderwijsflow.config import RetryConfig
    from onderwijsflow.notify.base import DeliveryReport
    from onderwijsflow.notify.channels import Channel
    from onderwijsflow.service import Onderwijsflow

    #: What a channel did with one message.
    Outcome = DeliveryReport | DeliveryError

log = logging.getLogger("onderwijsflow.scheduler")

SCHEDULER_ACTOR = "scheduler"


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
    #: Failed or uncertain deliveries reported to the operators in this pass.
    escalated: int = 0
    #: Outbox rows of the daily audit anchor queued in this pass (one per channel).
    anchors: int = 0
    #: Why no anchor could be taken (the log does not verify), if that happened.
    anchor_problem: str | None = None

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
        operators: Channel | None = None,
        retry: RetryConfig | None = None,
    ) -> None:
        self.app = app
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease
        #: Milestones acted on per transaction (delivery batches are the channels' own size).
        self.batch = batch
        self._channels = channels
        self._named: dict[str, Channel] | None = None
        self._operators = operators
        self.retry = retry or app.config.notify.retry
        self._anchored: dt.date | None = None

    @property
    def channels(self) -> dict[str, Channel]:
        """The configured channels by name (``log``, ``smtp``, ``maildir``; ``-2``... when repeated)."""
        if self._named is not None:
            return self._named
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
        self._named = names
        return names

    # --- the pass ---------------------------------------------------------------------

    def tick(self) -> TickReport:
        """One pass: act on everything due now, then deliver what is waiting."""
        report = TickReport()
        self.app.ensure_ready()
        self._anchor_if_due(report)
        if not self._anything_to_do():
            return report
        _batches(lambda: self._act(report))
        self._expire(report)
        self._deliver_all(report)
        if self._escalate(report):
            self._deliver_all(report)
        return report

    def _anything_to_do(self) -> bool:
        """One read-only, indexed query: is anything due, retrying or past its lease?

        An idle tick then takes no write lock, so coordinators are never kept waiting.
        """
        from sqlalchemy import exists, or_

        now = self.app.now()
        conditions = [
            exists().where(col(Reminder.status) == ReminderStatus.PENDING, col(Reminder.due_at) <= now),
            exists().where(col(Outbox.status) == DeliveryStatus.PENDING, col(Outbox.next_attempt_at) <= now),
            exists().where(col(Outbox.status).in_((DeliveryStatus.CLAIMED, DeliveryStatus.SENDING)),
                           col(Outbox.lease_until) < now),
        ]
        if self.app.config.notify.operators is not None or self._operators is not None:
            conditions.append(exists().where(col(Outbox.status).in_(UNDELIVERED),
                                             col(Outbox.escalated_at).is_(None),
                                             col(Outbox.kind) != "alert"))
        with self.app.reading() as session:
            return bool(session.execute(select(or_(*conditions))).scalar())

    def next_due(self) -> dt.datetime | None:
        """The earliest moment something will fall due (for an earlier wake-up)."""
        with self.app.reading() as session:
            first = session.exec(
                select(Reminder.due_at).where(Reminder.status == ReminderStatus.PENDING)
                .order_by(col(Reminder.due_at)).limit(1)
            ).first()
            retry = session.exec(
                select(Outbox.next_attempt_at).where(Outbox.status == DeliveryStatus.PENDING)
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
                .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
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
            select(Reminder).where(col(Reminder.milestone_id).in_(ids),
                                   Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
            .order_by(col(Reminder.due_at))
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
        if spec is None or ms.status != MilestoneStatus.PENDING or case.state not in spec.active_in:
            self._mark(session, due, ReminderStatus.RETIRED, now)
            return
        final = [r for r in due if r.kind != "reminder"]
        reminders = [r for r in due if r.kind == "reminder"]
        if not due:  # another worker acted on it between our claim query and our lock
            return
        if final:
            self._mark(session, reminders, ReminderStatus.SKIPPED, now)
            report.skipped += len(reminders)
            self._passed(session, ms, case, machine, spec, final[0], now, report)
            return
        *older, latest = reminders
        self._mark(session, older, ReminderStatus.SKIPPED, now)
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
                self._mark(session, [row], ReminderStatus.DONE, now)
            close(session, ms, MilestoneStatus.OVERDUE if missed else MilestoneStatus.MET, now)
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
            self._mark(session, [row], ReminderStatus.DONE, now)
        else:
            self._queue(session, ms, case, machine, spec, row, "overdue", now, report)
        if ms.status == MilestoneStatus.PENDING:
            close(session, ms, MilestoneStatus.MET if silent else MilestoneStatus.OVERDUE, now)

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
                                  closing=MilestoneStatus.OVERDUE if spec.notify else MilestoneStatus.MET)
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
                "missing": missing, "subject": subject, "body": body, "status": DeliveryStatus.PENDING,
                "attempts": 0, "next_attempt_at": now, "created_at": now,
            })
        self._mark(session, [row], ReminderStatus.QUEUED, now)
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
        table = Outbox.__table__  # type: ignore[attr-defined]
        with self.app.writing() as session:
            session.execute(
                update(table)
                .where(table.c.status == DeliveryStatus.CLAIMED, table.c.lease_until < now)
                .values(status=DeliveryStatus.PENDING, lease_until=None)
            )
            result = session.execute(
                update(table)
                .where(table.c.status == DeliveryStatus.SENDING, table.c.lease_until < now)
                .values(status=DeliveryStatus.UNKNOWN, lease_until=None, error=_(
                    "the worker stopped while handing this message to the channel; check "
                    "whether it arrived, then resend or leave it"))
            )
            report.unknown += result.rowcount or 0  # type: ignore[attr-defined]

    def _deliver_all(self, report: TickReport) -> None:
        """Every due row, channel by channel, one batch at a time."""
        channels = self._delivery_channels()
        for name, channel in channels.items():
            _batches(lambda: self._deliver_batch(report, name, channel, known=()))  # noqa: B023
        # Rows of a channel no longer configured fail visibly instead of waiting forever.
        _batches(lambda: self._deliver_batch(report, None, None, known=tuple(channels)))

    def _deliver_batch(self, report: TickReport, name: str | None, channel: Channel | None,
                       known: tuple[str, ...]) -> bool:
        """Claim a batch and mark it ``sending`` (one commit), hand it to the channel, record
        the outcomes and their audit events (one commit). True when a full batch was done."""
        from onderwijsflow.notify.base import batch_size

        now = self.app.now()
        size = batch_size(channel) if channel is not None else self.batch
        table = Outbox.__table__  # type: ignore[attr-defined]
        which = table.c.channel == name if name is not None else table.c.channel.not_in(known)
        with self.app.writing() as session:
            claimed = [dict(row) for row in session.execute(
                sa_select(table).where(table.c.status == DeliveryStatus.PENDING,
                                       table.c.next_attempt_at <= now, which)
                .order_by(table.c.id).limit(size).with_for_update(skip_locked=True)
            ).mappings()]
            if not claimed:
                return False
            session.execute(
                update(table).where(table.c.id.in_([row["id"] for row in claimed]))
                .values(status=DeliveryStatus.SENDING, lease_until=now + self.lease,
                        attempts=table.c.attempts + 1)
            )
        for row in claimed:
            row["attempts"] += 1
        outcomes = self._hand_over(channel, claimed)
        self._record(claimed, outcomes, report)
        return len(claimed) == size

    def _hand_over(self, channel: Channel | None, rows: list[dict[str, Any]]) -> list[Outcome]:
        """Messages of `rows` to `channel`: one outcome per row (a crash propagates)."""
        from onderwijsflow.notify.base import deliver_batch
        from onderwijsflow.notify.message import Message

        outcomes: list[Outcome | None] = [None] * len(rows)
        ready: list[tuple[int, Message]] = []
        for index, row in enumerate(rows):
            if channel is None:
                outcomes[index] = PermanentDeliveryError(
                    _("channel '{channel}' is no longer configured").format(channel=row["channel"]))
                continue
            try:
                message = Message(message_id=row["message_id"], sender=row["sender"],
                                  recipients=tuple(row["recipients"]), subject=row["subject"],
                                  body=row["body"], headers=self._headers(),
                                  attachments=_attachments(row["attachment"]))
            except ValueError as err:
                outcomes[index] = PermanentDeliveryError(
                    _("the message cannot be sent: {error}").format(error=err))
                continue
            if not message.recipients and channel.name != "log":
                outcomes[index] = PermanentDeliveryError(_("no recipient has an e-mail address"))
                continue
            ready.append((index, message))
        if ready and channel is not None:
            delivered = deliver_batch(channel, [message for _index, message in ready])
            for (index, _message), outcome in zip(ready, delivered, strict=True):
                outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def _record(self, rows: list[dict[str, Any]], outcomes: list[Outcome], report: TickReport) -> None:
        """The outcomes of a batch, with their audit events, in one transaction."""
        from sqlalchemy import bindparam

        now = self.app.now()
        table = Outbox.__table__  # type: ignore[attr-defined]
        changes: list[dict[str, Any]] = []
        audited: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
        for row, outcome in zip(rows, outcomes, strict=True):
            change = self._outcome(row, outcome, now)
            changes.append(change)
            if change["audit"] is not None and row["region_id"] is not None:
                audited.append((row, change["audit"], change))
        with self.app.writing() as session:
            # Only rows still ours: a lease that ran out meanwhile made them `unknown`.
            ours = set(session.execute(
                sa_select(table.c.id).where(table.c.id.in_([c["oid"] for c in changes]),
                                         table.c.status == DeliveryStatus.SENDING).with_for_update()
            ).scalars())
            mine = [c for c in changes if c["oid"] in ours]
            for change in mine:
                tally = {DeliveryStatus.PENDING: "retrying", DeliveryStatus.SENT: "sent",
                         DeliveryStatus.FAILED: "failed", DeliveryStatus.UNKNOWN: "unknown"}[change["st"]]
                setattr(report, tally, getattr(report, tally) + 1)
            if mine:
                session.execute(
                    update(table).where(table.c.id == bindparam("oid"))
                    .values(status=bindparam("st"), next_attempt_at=bindparam("nat"),
                            lease_until=None, sent_at=bindparam("sat"), error=bindparam("err"),
                            recipients=bindparam("rcp"))
                    .execution_options(synchronize_session=False),
                    [{k: c[k] for k in ("oid", "st", "nat", "sat", "err", "rcp")} for c in mine],
                )
            self._audit_deliveries(session, [a for a in audited if a[0]["id"] in ours])
        for row, change in zip(rows, changes, strict=True):
            if change["oid"] in ours:
                log.info("%s %s via %s to %s: %s", row["message_id"], change["st"], row["channel"],
                         ", ".join(row["recipients"]) or "-", row["subject"])

    def _outcome(self, row: dict[str, Any], outcome: Outcome, now: dt.datetime) -> dict[str, Any]:
        """The new values of `row` after `outcome`, and the audit kind (None: no event yet)."""
        retry = self.retry
        change: dict[str, Any] = {"oid": row["id"], "nat": row["next_attempt_at"], "sat": None,
                                  "rcp": list(row["recipients"]), "err": None, "audit": None}
        exhausted = row["attempts"] >= retry.max_attempts
        if isinstance(outcome, TemporaryDeliveryError) and not exhausted:
            change.update(st=DeliveryStatus.PENDING, nat=now + retry.wait(row["attempts"]), err=str(outcome))
        elif isinstance(outcome, TemporaryDeliveryError | PermanentDeliveryError):
            change.update(st=DeliveryStatus.FAILED, err=str(outcome), audit="reminder_failed")
        elif isinstance(outcome, UncertainDeliveryError):
            change.update(st=DeliveryStatus.UNKNOWN, err=str(outcome), audit="reminder_unknown")
        elif isinstance(outcome, DeliveryError):  # a channel's own kind of error: permanent
            change.update(st=DeliveryStatus.FAILED, err=str(outcome), audit="reminder_failed")
        else:
            refused = dict(outcome.refused)
            change.update(st=DeliveryStatus.SENT, sat=now, audit="reminder_sent")
            if outcome.deferred and not exhausted:
                # Some have it; try the others again later, and only them.
                change.update(st=DeliveryStatus.PENDING, sat=None, rcp=list(outcome.deferred),
                              nat=now + retry.wait(row["attempts"]))
                change["delivered"] = list(outcome.accepted)
            elif outcome.deferred:
                refused.update(outcome.deferred)
            if refused:
                change["err"] = _("refused: {refused}").format(refused=refused)
            if outcome.deferred and not exhausted:
                change["err"] = _("delivered to {accepted}; trying again for {deferred}").format(
                    accepted=", ".join(outcome.accepted), deferred=", ".join(outcome.deferred))
        return change

    def _audit_deliveries(self, session: Session,
                          audited: list[tuple[dict[str, Any], str, dict[str, Any]]]) -> None:
        """One pass of audit appends for a batch: regions locked in id order, one EventBatch."""
        from onderwijsflow.store.audit import EventBatch

        if not audited:
            return
        region_ids = sorted({row["region_id"] for row, _kind, _change in audited})
        regions = {r.id: r for r in session.exec(
            select(Region).where(col(Region.id).in_(region_ids)).order_by(col(Region.id))
            .with_for_update(key_share=True)
        )}
        reminder_ids = {row["reminder_id"] for row, _kind, _change in audited if row["reminder_id"]}
        about: dict[int, Any] = {
            found.id: found for found in session.execute(
                sa_select(col(Reminder.id), col(Reminder.kind), col(Milestone.case_id),
                       col(Milestone.workflow), col(Milestone.name))
                .join(Milestone, col(Reminder.milestone_id) == col(Milestone.id))
                .where(col(Reminder.id).in_(reminder_ids))
            )
        } if reminder_ids else {}
        batch = EventBatch()
        for row, kind, change in audited:
            reminder = about.get(row["reminder_id"])
            delivered = change.get("delivered")
            self.app.record_event(
                session, regions[row["region_id"]], kind, actor=SCHEDULER_ACTOR, batch=batch,
                case_id=reminder.case_id if reminder else None,
                workflow=reminder.workflow if reminder else None,
                data={"outbox": row["id"], "channel": row["channel"], "message_id": row["message_id"],
                      "kind": reminder.kind if reminder else None,
                      "milestone": reminder.name if reminder else None,
                      "recipients": delivered if delivered is not None else change["rcp"],
                      "missing": row["missing"], "subject": row["subject"],
                      "error": change["err"]},
            )
        batch.write(session)

    # --- escalation and the daily anchor ---------------------------------------------------

    @property
    def operator_channel(self) -> Channel | None:
        """The channel alerts go through (``notify.operators.channel``); None without operators."""
        if self._operators is None and self.app.config.notify.operators is not None:
            from onderwijsflow.notify.channels import build_channel

            self._operators = build_channel(self.app.config.notify.operators.channel,
                                            "notify.operators.channel")
        return self._operators

    def _delivery_channels(self) -> dict[str, Channel]:
        channels = dict(self.channels)
        operators = self.operator_channel
        if operators is not None:
            if operators.name in channels:
                raise ConfigError(_("notify.operators.channel must be another channel than those "
                                    "in notify.channels ({channel}): an alert must not go through "
                                    "the channel that failed").format(channel=operators.name))
            channels[operators.name] = operators
        return channels

    def _escalate(self, report: TickReport) -> bool:
        """Tell the operators, once, of every delivery that ended ``failed`` or ``unknown``.

        One alert per pass lists them all (a server down for a day must not send a thousand
        alerts); each delivery gets `escalated_at` in the same transaction, and its region's
        chain a ``delivery_escalated`` event. Alerts themselves are never escalated.
        """
        from onderwijsflow.store.audit import EventBatch

        operators = self.app.config.notify.operators
        channel = self.operator_channel
        if operators is None or channel is None:
            return False
        now = self.app.now()
        table = Outbox.__table__  # type: ignore[attr-defined]
        with self.app.writing() as session:
            rows = [dict(r) for r in session.execute(
                sa_select(table).where(table.c.status.in_(UNDELIVERED),
                                    table.c.escalated_at.is_(None), table.c.kind != "alert")
                .order_by(table.c.id).limit(1000).with_for_update(skip_locked=True)
            ).mappings()]
            if not rows:
                return False
            region_ids = sorted({r["region_id"] for r in rows if r["region_id"] is not None})
            regions = {r.id: r for r in session.exec(
                select(Region).where(col(Region.id).in_(region_ids)).order_by(col(Region.id))
                .with_for_update(key_share=True))} if region_ids else {}
            subject, body = messages.alert(
                [{**r, "region": regions[r["region_id"]].slug if r["region_id"] in regions else None}
                 for r in rows], database=self.app.db.display_url, now=now)
            from onderwijsflow.notify.message import make_message_id

            sender = self.app.config.notify.sender
            session.execute(insert(Outbox), [{
                "reminder_id": None, "region_id": None, "kind": "alert", "channel": channel.name,
                "message_id": make_message_id(f"alert-{uuid.uuid4().hex}", sender),
                "sender": sender, "recipients": list(operators.to), "missing": [],
                "subject": subject, "body": body, "status": DeliveryStatus.PENDING, "attempts": 0,
                "next_attempt_at": now, "created_at": now,
            }])
            session.execute(update(table).where(table.c.id.in_([r["id"] for r in rows]))
                            .values(escalated_at=now))
            batch = EventBatch()
            for row in rows:
                if row["region_id"] in regions:
                    self.app.record_event(
                        session, regions[row["region_id"]], "delivery_escalated",
                        actor=SCHEDULER_ACTOR, batch=batch,
                        data={"outbox": row["id"], "status": row["status"],
                              "channel": row["channel"], "message_id": row["message_id"],
                              "operators": list(operators.to), "via": channel.name})
            batch.write(session)
        report.escalated += len(rows)
        log.warning(_("{n} failed or uncertain deliveries reported to {operators}").format(
            n=len(rows), operators=", ".join(operators.to)))
        return True

    def anchor_message_id(self, day: dt.date) -> str:
        """The Message-ID of `day`'s anchor mail: the same for every worker of this database."""
        import hashlib

        from onderwijsflow.notify.message import make_message_id

        database = hashlib.sha256(self.app.db.display_url.encode("utf-8")).hexdigest()[:10]
        return make_message_id(f"anchor-{day.isoformat()}-{database}", self.app.config.notify.sender)

    def _anchor_if_due(self, report: TickReport) -> None:
        """Queue today's audit anchor for the auditors, once a day, from ``anchor_mail.at`` on.

        Once per day even across restarts and workers: the outbox rows carry a Message-ID
        made from the day, and (message_id, channel) is unique.
        """
        config = self.app.config.notify.anchor_mail
        if config is None:
            return
        from onderwijsflow.clock import to_local

        now = self.app.now()
        local = to_local(now)
        day = local.date()
        if self._anchored == day or local.time().replace(tzinfo=None) < config.at:
            return
        message_id = self.anchor_message_id(day)
        with self.app.reading() as session:
            done = session.exec(select(Outbox.id).where(Outbox.message_id == message_id).limit(1)).first()
        if done is not None:
            self._anchored = day
            return
        try:
            document = self.app.audit_anchor()
        except IntegrityError as err:
            # No anchor certifies a damaged log: say so loudly, and try again at the next pass.
            log.error(_("no audit anchor mailed: {problem}").format(problem=err))
            report.anchor_problem = str(err)
            return
        import json

        subject, body = messages.anchor(document, day=day)
        sender = self.app.config.notify.sender
        attachment = {"filename": f"onderwijsflow-anchor-{day.isoformat()}.json",
                      "content_type": "application/json",
                      "text": json.dumps(document, ensure_ascii=False, indent=2) + "\n"}
        values = [{
            "reminder_id": None, "region_id": None, "kind": "anchor", "channel": name,
            "message_id": message_id, "sender": sender, "recipients": list(config.to),
            "missing": [], "subject": subject, "body": body, "status": DeliveryStatus.PENDING, "attempts": 0,
            "next_attempt_at": now, "created_at": now, "attachment": attachment,
        } for name in self.channels]
        table = Outbox.__table__  # type: ignore[attr-defined]
        with self.app.writing() as session:
            for value in values:
                added = session.execute(insert_ignoring_duplicates(
                    dialect_of(session), table, ["message_id", "channel"], **value)
                    .returning(table.c.id)).all()
                report.anchors += len(added)
        self._anchored = day

    # --- operator actions -------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Pending reminders, counts of deliveries by status, and every one that needs attention."""
        from sqlalchemy import func

        self.app.ensure_ready()
        with self.app.reading() as session:
            pending = session.exec(
                select(func.count()).select_from(Reminder).where(Reminder.status == ReminderStatus.PENDING)
            ).one()
            counts = {str(status): int(n) for status, n in session.execute(
                sa_select(col(Outbox.status), func.count()).group_by(col(Outbox.status)))}
            not_escalated = session.exec(
                select(func.count()).select_from(Outbox).where(
                    col(Outbox.status).in_(UNDELIVERED), col(Outbox.escalated_at).is_(None),
                    Outbox.kind != "alert")
            ).one()
            escalated = session.exec(
                select(func.count()).select_from(Outbox).where(col(Outbox.escalated_at).is_not(None))
            ).one()
            rows = list(session.exec(
                select(Outbox).where(col(Outbox.status).in_(ATTENTION)).order_by(col(Outbox.id))
            ))
            slugs = {r.id: r.slug for r in session.exec(select(Region))}
        return {
            "reminders_pending": int(pending),
            "counts": {status: counts.get(status, 0) for status in OUTBOX_STATUSES},
            "operators": self.app.config.notify.operators is not None,
            "escalated": int(escalated),
            "not_escalated": int(not_escalated),
            "deliveries": [
                {"id": r.id, "status": r.status, "region": slugs.get(r.region_id),
                 "kind": r.kind, "channel": r.channel, "subject": r.subject,
                 "recipients": r.recipients, "missing": r.missing, "attempts": r.attempts,
                 "error": r.error, "message_id": r.message_id,
                 "next_attempt_at": (r.next_attempt_at.isoformat()
                                     if r.status == DeliveryStatus.PENDING else None),
                 "escalated_at": r.escalated_at.isoformat() if r.escalated_at else None}
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
            if row.status not in (DeliveryStatus.UNKNOWN, DeliveryStatus.FAILED):
                raise Refused(_("delivery {id} is {status}; only unknown or failed deliveries "
                                "are resent").format(id=outbox_id, status=row.status))
            previous = row.status
            row.status, row.next_attempt_at, row.error = DeliveryStatus.PENDING, now, None
            row.attempts, row.escalated_at = 0, None
            session.add(row)
            if row.region_id is not None:
                region = session.get(Region, row.region_id)
                assert region is not None
                self.app.record_event(session, region, "reminder_resend",
                                      data={"outbox": row.id, "previous": previous,
                                            "message_id": row.message_id})
            else:
                log.info(_("delivery {id} ({kind}) queued again by {actor}").format(
                    id=row.id, kind=row.kind, actor=self.app.actor))
        return {"id": outbox_id, "status": DeliveryStatus.PENDING, "previous": previous}


#: Every status an outbox row can have, in the order `status` counts them.
OUTBOX_STATUSES = tuple(DeliveryStatus)
#: The statuses `scheduler status` lists row by row.
ATTENTION = tuple(status for status in DeliveryStatus if status != DeliveryStatus.SENT)


def _attachments(stored: dict[str, Any] | None) -> tuple[tuple[str, str, str], ...]:
    if not stored:
        return ()
    return ((str(stored["filename"]), str(stored["content_type"]), str(stored["text"])),)


def _batches(step: Callable[[], bool]) -> None:
    """Run `step` (one batch; True when it was full) until a batch is not full.

    Each batch runs without the cyclic garbage collector: its passes over a batch's rows,
    entities and messages took a fifth of a tick. Between batches it runs as usual, so a
    long tick's cyclic garbage (sessions and their entities) is still collected.
    """
    while True:
        with collector_paused():
            if not step():
                return
