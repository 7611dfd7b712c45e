"""The stored shape of onderwijsflow: one SQLModel class per table.

The classes are plain rows without relationships: services query what they need, and the
engine works on snapshots (`onderwijsflow.service.snapshot`), never on lazily loaded graphs.

Every datetime is aware and in UTC (sqlmodel's ``UTCDateTime`` refuses naive values);
JSON columns hold values that are already JSON-safe. The metadata carries a naming
convention so that constraint names are stable across SQLite and PostgreSQL and the
migrations (``migrations/versions``) can name them explicitly. A change here needs a new
migration; ``tests/test_store.py`` compares the migrated schema with these classes.
"""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from onderwijsflow.clock import wall_clock
from onderwijsflow.store.statuses import MilestoneStatus, ReminderStatus

__all__ = [
    "NAMING_CONVENTION",
    "Case",
    "CaseFact",
    "Document",
    "Event",
    "Fact",
    "Milestone",
    "Outbox",
    "Partner",
    "Record",
    "Region",
    "Reminder",
    "RoleAssignment",
    "WorkflowVersion",
    "metadata",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The metadata of every onderwijsflow table (sqlmodel's shared one, given our convention
#: before any table is declared on it).
metadata = SQLModel.metadata
metadata.naming_convention = NAMING_CONVENTION


def _json(*, nullable: bool = False) -> Column[Any]:
    """A fresh JSON column (a Column object can belong to one table only)."""
    return Column(JSON, nullable=nullable)


class WorkflowVersion(SQLModel, table=True):
    """One version of a workflow definition as it was used: its text and hash.

    A case stays on the version it was opened with, so the text must outlive the file.
    """

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str
    version: int
    sha256: str
    text: str
    loaded_at: dt.datetime = Field(default_factory=wall_clock)


class Region(SQLModel, table=True):
    """An onderwijsregio, the subject of every case.

    `event_seq` and `event_hash` are the head of the region's audit chain. Appending an
    event locks and updates this row, which is what serializes concurrent appends.
    """

    __tablename__ = "regions"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True)
    name: str
    provinces: list[str] = Field(default_factory=list, sa_column=_json())
    sectors: list[str] = Field(default_factory=list, sa_column=_json())
    coordinator: str | None = None
    created_at: dt.datetime = Field(default_factory=wall_clock)
    event_seq: int = 0
    event_hash: str = ""


class Partner(SQLModel, table=True):
    """An organisation taking part in a region (school board, union, municipality...)."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("region_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    name: str
    kind: str
    sector: str | None = None
    added_at: dt.datetime = Field(default_factory=wall_clock)


class RoleAssignment(SQLModel, table=True):
    """A person holding a named role in a region (programmamanager, ...)."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("region_id", "role", "person"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id")
    role: str
    person: str
    email: str | None = None
    assigned_at: dt.datetime = Field(default_factory=wall_clock)


class Document(SQLModel, table=True):
    """A piece of evidence of a region (plan van aanpak, beschikking, ...)."""

    __tablename__ = "documents"

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    kind: str
    title: str
    ref: str | None = None
    date: dt.date | None = None
    added_at: dt.datetime = Field(default_factory=wall_clock)


class Fact(SQLModel, table=True):
    """A typed attribute of a region; `value` is its JSON-safe form, `type` its declared type."""

    __tablename__ = "facts"

    region_id: int = Field(foreign_key="regions.id", primary_key=True)
    name: str = Field(primary_key=True)
    value: Any = Field(default=None, sa_column=_json(nullable=True))
    type: str
    updated_at: dt.datetime = Field(default_factory=wall_clock)


class Case(SQLModel, table=True):
    """One run of one workflow version for one region.

    `lock_version` is an optimistic concurrency counter: change a case only through
    `onderwijsflow.store.db.compare_and_set_case`, never by assigning attributes, so that
    of two concurrent writers exactly one wins.
    """

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("region_id", "workflow", "round"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    workflow: str = Field(index=True)
    workflow_version: int
    round: str = ""
    params: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    state: str = Field(index=True)
    state_entered_at: dt.datetime
    opened_at: dt.datetime
    lock_version: int = 0
    decided_on: dt.date | None = None


class CaseFact(SQLModel, table=True):
    """A fact of one case (``scope: case``): the amount granted in one round, say."""

    __tablename__ = "case_facts"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    name: str = Field(primary_key=True)
    value: Any = Field(default=None, sa_column=_json(nullable=True))
    type: str
    updated_at: dt.datetime = Field(default_factory=wall_clock)


class Record(SQLModel, table=True):
    """A structured entry (language 1.1) kept on a region, or on one case.

    Written only together with its audit event (`event_seq`), whose new value is `fields`.
    """

    __tablename__ = "records"
    __table_args__ = (Index("ix_records_region_id_kind", "region_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id")
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    workflow: str
    kind: str
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    actor: str
    at: dt.datetime
    event_seq: int


class Event(SQLModel, table=True):
    """One immutable audit record, a link in its region's hash chain.

    The database refuses updates and deletes on this table (triggers in the migrations);
    `onderwijsflow.store.audit.append_event` is the only writer.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("region_id", "seq"),
        Index("ix_events_region_id_at", "region_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id")
    seq: int
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    workflow: str | None = None
    kind: str
    trigger: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    actor: str
    reason: str | None = None
    at: dt.datetime
    recorded_at: dt.datetime
    data: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    prev_hash: str
    hash: str


class Milestone(SQLModel, table=True):
    """One occurrence of a case's milestone, with its due moment.

    Planned when the case enters one of the milestone's `active_in` states; `status` is
    ``pending`` until it is ``met`` (the case left `active_in` in time), ``overdue`` (it
    passed while still active) or ``retired``. Recurring milestones get one row per
    occurrence.
    """

    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("case_id", "name", "occurrence"),
        Index("ix_milestones_status_due_at", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    workflow: str
    name: str
    occurrence: int = 1
    due_at: dt.datetime
    status: str = MilestoneStatus.PENDING
    planned_at: dt.datetime
    closed_at: dt.datetime | None = None
    opens_at: dt.datetime | None = None


class Reminder(SQLModel, table=True):
    """A moment the scheduler must act on: a reminder before a milestone, or its passing.

    `kind` is ``reminder`` (one per `remind:` offset), ``overdue`` (a one-off milestone
    passes) or ``rollover`` (a recurring one passes and the next occurrence is planned).
    The database is the source of truth: workers claim rows (`claimed_by`, `lease_until`)
    and a claim whose lease ran out is taken again.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("milestone_id", "kind", "offset"),
        Index("ix_reminders_status_due_at", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    milestone_id: int = Field(foreign_key="milestones.id", index=True)
    region_id: int = Field(foreign_key="regions.id")
    kind: str
    offset: str = ""
    due_at: dt.datetime
    status: str = ReminderStatus.PENDING
    claimed_by: str | None = None
    lease_until: dt.datetime | None = None
    updated_at: dt.datetime


class Outbox(SQLModel, table=True):
    """A message to deliver through one channel, written with the change that causes it.

    ``pending`` -> ``sending`` (claimed by a worker's batch and handed to the channel) ->
    ``sent``; a temporary failure goes back to ``pending`` with a later `next_attempt_at`, and
    after the last attempt (or a permanent failure) the row is ``failed``. ``claimed`` is what
    workers before migration 0005 wrote between the two: such a row whose lease ran out never
    reached a channel and goes back to ``pending``. A ``sending`` row whose lease ran out has an
    uncertain fate and becomes ``unknown``: it is shown to a person and only sent again on
    purpose (`scheduler resend`). The scheduler claims a batch and marks it ``sending`` in one
    commit, so a crash leaves at most one batch ``unknown``.

    `kind` is ``reminder`` (of a region's milestone), ``alert`` (to the operators about a
    delivery that ended ``failed`` or ``unknown``; `escalated_at` on that delivery says it was
    sent, so it happens once) or ``anchor`` (the daily audit anchor to the auditors, with the
    anchor document as `attachment`). Alerts and anchors belong to no region.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("message_id", "channel"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reminder_id: int | None = Field(default=None, foreign_key="reminders.id")
    region_id: int | None = Field(default=None, foreign_key="regions.id")
    kind: str = Field(default="reminder", sa_column_kwargs={"server_default": "reminder"})
    channel: str
    message_id: str
    sender: str
    recipients: list[str] = Field(default_factory=list, sa_column=_json())
    missing: list[str] = Field(default_factory=list, sa_column=_json())
    subject: str
    body: str
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: dt.datetime
    lease_until: dt.datetime | None = None
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    error: str | None = None
    #: ``{"filename", "content_type", "text"}``: one text attachment (the anchor's JSON).
    attachment: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))
    escalated_at: dt.datetime | None = None


# The national network's tables (reference data and membership) share this metadata.
from onderwijsflow.store import network as _network  # noqa: E402, F401
