"""Language 1.1: records, case facts, decision dates and milestone windows.

`records` holds structured entries (a peilgesprek, an action of the plan), each written with
its audit event; `case_facts` the facts of one case (``scope: case``). A case keeps the
decision date of the move that entered its state (`decided_on`), from which a period such as
the objection period counts; a milestone occurrence keeps the start of its window
(`opens_at`), inside which a record can meet it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    """Add the records and case_facts tables and the two new columns."""
    op.create_table(
        "records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_records"),
        _fk("records", "region_id", "regions"),
        _fk("records", "case_id", "cases"),
    )
    op.create_index("ix_records_region_id_kind", "records", ["region_id", "kind"])
    op.create_table(
        "case_facts",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "name", name="pk_case_facts"),
        _fk("case_facts", "case_id", "cases"),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("decided_on", sa.Date(), nullable=True))
    with op.batch_alter_table("milestones") as batch:
        batch.add_column(sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop what `upgrade` added."""
    with op.batch_alter_table("milestones") as batch:
        batch.drop_column("opens_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("decided_on")
    op.drop_table("case_facts")
    op.drop_index("ix_records_region_id_kind", table_name="records")
    op.drop_table("records")
