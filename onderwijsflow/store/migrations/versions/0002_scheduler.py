"""Time: milestone occurrences, the reminders the scheduler acts on, and the outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    """Create milestones, reminders and outbox with the indexes the scheduler's queries use."""
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        _when("due_at"),
        sa.Column("status", sa.String(), nullable=False),
        _when("planned_at"),
        _when("closed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_milestones"),
        _fk("milestones", "case_id", "cases"),
        _fk("milestones", "region_id", "regions"),
        sa.UniqueConstraint("case_id", "name", "occurrence",
                            name="uq_milestones_case_id_name_occurrence"),
    )
    op.create_index("ix_milestones_case_id", "milestones", ["case_id"])
    op.create_index("ix_milestones_region_id", "milestones", ["region_id"])
    op.create_index("ix_milestones_status_due_at", "milestones", ["status", "due_at"])
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("offset", sa.String(), nullable=False),
        _when("due_at"),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        _when("lease_until", nullable=True),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
        _fk("reminders", "milestone_id", "milestones"),
        _fk("reminders", "region_id", "regions"),
        sa.UniqueConstraint("milestone_id", "kind", "offset",
                            name="uq_reminders_milestone_id_kind_offset"),
    )
    op.create_index("ix_reminders_milestone_id", "reminders", ["milestone_id"])
    op.create_index("ix_reminders_status_due_at", "reminders", ["status", "due_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("lease_until", nullable=True),
        _when("created_at"),
        _when("sent_at", nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        _fk("outbox", "reminder_id", "reminders"),
        _fk("outbox", "region_id", "regions"),
        sa.UniqueConstraint("message_id", "channel", name="uq_outbox_message_id_channel"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop the scheduler's tables."""
    op.drop_table("outbox")
    op.drop_table("reminders")
    op.drop_table("milestones")
