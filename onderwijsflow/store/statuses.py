"""The statuses stored in the scheduler's tables, as enums.

They are ``StrEnum``s: stored, compared and written to JSON as their plain text values, so
the schema and every JSON shape stay as they were, while a misspelt status is a name error
instead of a query that silently matches nothing.
"""

from __future__ import annotations

from enum import StrEnum


class MilestoneStatus(StrEnum):
    """One occurrence of a case's milestone."""

    PENDING = "pending"  #: planned, not yet due
    MET = "met"  #: the case left the milestone's `active_in` states in time
    OVERDUE = "overdue"  #: it passed while the case was still in them
    RETIRED = "retired"  #: no longer relevant (the case moved or migrated)


#: Milestone statuses that may still be an open obligation (deadlines, the report).
OPEN_MILESTONES = (MilestoneStatus.PENDING, MilestoneStatus.OVERDUE)


class ReminderStatus(StrEnum):
    """A moment the scheduler must act on (a reminder, or a milestone passing)."""

    PENDING = "pending"  #: waiting for its moment
    CLAIMED = "claimed"  #: taken by a worker's tick (with a lease)
    QUEUED = "queued"  #: its message is in the outbox
    DONE = "done"  #: acted on (an overdue milestone marked, a rollover planned)
    SKIPPED = "skipped"  #: superseded by a later reminder of the same milestone
    RETIRED = "retired"  #: its milestone was met or retired first


#: Reminder rows that are still waiting to be acted on.
OPEN_REMINDERS = (ReminderStatus.PENDING, ReminderStatus.CLAIMED)


class DeliveryStatus(StrEnum):
    """A message in the outbox."""

    PENDING = "pending"  #: to be sent (again) at `next_attempt_at`
    CLAIMED = "claimed"  #: in a worker's batch, not yet handed to the channel
    SENDING = "sending"  #: handed to the channel; its fate is known when the batch is recorded
    SENT = "sent"
    FAILED = "failed"  #: refused for good, or out of attempts
    UNKNOWN = "unknown"  #: a worker stopped while sending: shown to a person, resent on purpose


#: Deliveries that ended without a certain arrival: reported once to the operators.
UNDELIVERED = (DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN)
