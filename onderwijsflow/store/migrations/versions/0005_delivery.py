"""Delivery in batches: regionless outbox rows (operator alerts, the daily audit anchor),
what a row carries (`kind`), an attachment, and when a failed or unknown delivery was
escalated to the operators.

`outbox.region_id` becomes nullable; on SQLite that means copying the table
(``batch_alter_table``), which keeps its rows, constraints and index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add kind, attachment and escalated_at to outbox, and let region_id be empty."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(), nullable=False, server_default="reminder"))
        batch.add_column(sa.Column("attachment", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("region_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    """Remove the regionless rows (they cannot go back), then the columns."""
    op.execute("DELETE FROM outbox WHERE region_id IS NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("region_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("escalated_at")
        batch.drop_column("attachment")
        batch.drop_column("kind")
