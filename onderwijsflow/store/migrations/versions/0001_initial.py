"""The initial schema: regions and what belongs to them, cases, and the audit log.

The events table is append-only at the database level: SQLite triggers and a PostgreSQL
trigger function refuse every UPDATE and DELETE (and, on PostgreSQL, TRUNCATE), so that
neither a bug nor a hand-typed statement can rewrite history. The error is an integrity
violation on both (SQLite's RAISE(ABORT), PostgreSQL's SQLSTATE 23001 restrict_violation).

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "events are append-only"


def _when(name: str) -> sa.Column[datetime]:
    """A non-null aware timestamp column (stored as UTC)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _region_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=f"fk_{table}_region_id_regions")


def upgrade() -> None:
    """Create every table, their indexes and the append-only guard on events."""
    op.create_table(
        "workflow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        _when("loaded_at"),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_versions"),
        sa.UniqueConstraint("name", "version", name="uq_workflow_versions_name_version"),
    )
    op.create_table(
        "regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("provinces", sa.JSON(), nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("coordinator", sa.String(), nullable=True),
        _when("created_at"),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("event_hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_regions"),
    )
    op.create_index("ix_regions_slug", "regions", ["slug"], unique=True)
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("sector", sa.String(), nullable=True),
        _when("added_at"),
        sa.PrimaryKeyConstraint("id", name="pk_partners"),
        _region_fk("partners"),
        sa.UniqueConstraint("region_id", "name", name="uq_partners_region_id_name"),
    )
    op.create_index("ix_partners_region_id", "partners", ["region_id"])
    op.create_table(
        "role_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("person", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        _when("assigned_at"),
        sa.PrimaryKeyConstraint("id", name="pk_role_assignments"),
        _region_fk("role_assignments"),
        sa.UniqueConstraint("region_id", "role", "person", name="uq_role_assignments_region_id_role_person"),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        _when("added_at"),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        _region_fk("documents"),
    )
    op.create_index("ix_documents_region_id", "documents", ["region_id"])
    op.create_table(
        "facts",
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("type", sa.String(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("region_id", "name", name="pk_facts"),
        _region_fk("facts"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("workflow_version", sa.Integer(), nullable=False),
        sa.Column("round", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        _when("state_entered_at"),
        _when("opened_at"),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        _region_fk("cases"),
        sa.UniqueConstraint("region_id", "workflow", "round", name="uq_cases_region_id_workflow_round"),
    )
    op.create_index("ix_cases_region_id", "cases", ["region_id"])
    op.create_index("ix_cases_workflow", "cases", ["workflow"])
    op.create_index("ix_cases_state", "cases", ["state"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("workflow", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=True),
        sa.Column("from_state", sa.String(), nullable=True),
        sa.Column("to_state", sa.String(), nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        _when("at"),
        _when("recorded_at"),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        _region_fk("events"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_events_case_id_cases"),
        sa.UniqueConstraint("region_id", "seq", name="uq_events_region_id_seq"),
    )
    op.create_index("ix_events_region_id_at", "events", ["region_id", "at"])
    _protect_events()


def downgrade() -> None:
    """Drop everything `upgrade` created (the audit log included: only for development)."""
    _unprotect_events()
    op.drop_table("events")
    op.drop_table("cases")
    op.drop_table("facts")
    op.drop_table("documents")
    op.drop_table("role_assignments")
    op.drop_table("partners")
    op.drop_table("regions")
    op.drop_table("workflow_versions")


def _protect_events() -> None:
    if op.get_context().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{action.lower()} BEFORE {action} ON events "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'restrict_violation'; END $$"
    )
    op.execute(
        "CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()"
    )


def _unprotect_events() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
    op.execute("DROP TRIGGER IF EXISTS events_no_update_or_delete ON events")
    op.execute("DROP FUNCTION IF EXISTS events_append_only()")
