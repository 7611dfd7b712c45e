"""Policy in the database: the policy row, the users, the policy chain; PostgreSQL roles.

`policy` holds whether this is a practice database (a simulated clock and ``--actor``
allowed) and the write scope; `policy_users` the users and their roles (on SQLite the
source of roles; on PostgreSQL group membership is); `policy_events` the hash chain of every
policy change. A database upgraded from 0003 becomes a production database (practice false).
Like events, policy events can be neither changed nor deleted. On PostgreSQL this revision
also installs the group roles' grants, the trigger that makes an event's actor the login,
and row-level security (see `onderwijsflow.store.roles`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "policy events are append-only"


def upgrade() -> None:
    """Create the policy tables, a production policy row, and on PostgreSQL roles and RLS."""
    from onderwijsflow.store import roles

    policy = op.create_table(
        "policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice", sa.Boolean(), nullable=False),
        sa.Column("write_scope", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy"),
        sa.CheckConstraint("id = 1", name="ck_policy_one_row"),
        sa.CheckConstraint("write_scope IN ('all', 'own')", name="ck_policy_write_scope"),
    )
    op.create_table(
        "policy_users",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_policy_users"),
    )
    op.create_table(
        "policy_events",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_policy_events"),
    )
    op.bulk_insert(policy, [{"id": 1, "practice": False, "write_scope": "all",
                             "created_at": dt.datetime.now(dt.UTC)}])
    if op.get_context().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER policy_events_no_{action.lower()} BEFORE {action} ON policy_events "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
        return
    op.execute(
        "CREATE TRIGGER policy_events_no_update_or_delete BEFORE UPDATE OR DELETE ON policy_events "
        "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER policy_events_no_truncate BEFORE TRUNCATE ON policy_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()"
    )
    roles.install_postgres(op.get_bind())


def downgrade() -> None:
    """Drop what `upgrade` added (the cluster-wide group roles stay)."""
    if op.get_context().dialect.name != "sqlite":
        from onderwijsflow.store import roles

        roles.uninstall_postgres(op.get_bind())
    else:
        op.execute("DROP TRIGGER IF EXISTS policy_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS policy_events_no_delete")
    op.drop_table("policy_events")
    op.drop_table("policy_users")
    op.drop_table("policy")
