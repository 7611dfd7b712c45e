"""The national network: reference data per year and region membership.

`ref_municipalities`, `ref_locations`, `ref_adjacency` and `ref_boundaries` hold what CBS and
DUO publish (one set per year); `region_municipalities` and `region_locations` say what a
region covers. On PostgreSQL the group roles may read everything; the writing groups change
membership (row-level security: only for regions they may write, like partners) and reference
data.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MEMBERSHIP = ("region_municipalities", "region_locations")
_REFERENCE = ("ref_municipalities", "ref_locations", "ref_adjacency", "ref_boundaries")


def upgrade() -> None:
    """Create the six tables; on PostgreSQL grant them and protect membership rows."""
    op.create_table(
        "ref_municipalities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("province", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ref_municipalities"),
        sa.UniqueConstraint("year", "code", name="uq_ref_municipalities_year_code"),
    )
    op.create_table(
        "ref_locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("sector", sa.String(), nullable=False),
        sa.Column("municipality", sa.String(), nullable=False),
        sa.Column("pupils", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ref_locations"),
        sa.UniqueConstraint("year", "code", name="uq_ref_locations_year_code"),
    )
    op.create_table(
        "ref_adjacency",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("a", sa.String(), nullable=False),
        sa.Column("b", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("year", "a", "b", name="pk_ref_adjacency"),
    )
    op.create_table(
        "ref_boundaries",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("year", "code", name="pk_ref_boundaries"),
    )
    for table in _MEMBERSHIP:
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("region_id", sa.Integer(), nullable=False),
            sa.Column("code", sa.String(), nullable=False),
            sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=f"fk_{table}_region_id_regions"),
            sa.UniqueConstraint("region_id", "code", name=f"uq_{table}_region_id_code"),
        )
        op.create_index(f"ix_{table}_region_id", table, ["region_id"])
        op.create_index(f"ix_{table}_code", table, ["code"])
    if op.get_context().dialect.name != "sqlite":
        _postgres()


def _postgres() -> None:
    """Grants for the group roles (when they exist) and row-level security on membership."""
    from onderwijsflow.store import roles

    bind = op.get_bind()
    schema = bind.dialect.identifier_preparer.quote_identifier(
        str(bind.execute(sa.text("SELECT current_schema()")).scalar()))
    may = f"{schema}.onderwijsflow_may_write"
    for table in _MEMBERSHIP:
        check = f"{may}(region_id)"
        for statement in (
            f"ALTER TABLE {schema}.{table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY read_all ON {schema}.{table} FOR SELECT USING (true)",
            f"CREATE POLICY write_insert ON {schema}.{table} FOR INSERT WITH CHECK ({check})",
            f"CREATE POLICY write_update ON {schema}.{table} FOR UPDATE USING ({check}) WITH CHECK ({check})",
            f"CREATE POLICY write_delete ON {schema}.{table} FOR DELETE USING ({check})",
        ):
            op.execute(statement)
    found = bind.execute(sa.text("SELECT count(*) FROM pg_roles WHERE rolname = ANY(:n)"),
                         {"n": list(roles.GROUPS.values())}).scalar()
    if found != len(roles.GROUPS):
        return
    everyone = ", ".join(roles.GROUPS.values())
    writers = ", ".join(roles.GROUPS[r] for r in ("coordinator", "override", "landelijk"))
    tables = ", ".join(f"{schema}.{t}" for t in (*_REFERENCE, *_MEMBERSHIP))
    op.execute(f"GRANT SELECT ON {tables} TO {everyone}")
    op.execute(f"GRANT INSERT, UPDATE, DELETE ON {tables} TO {writers}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {writers}")


def downgrade() -> None:
    """Drop the six tables."""
    for table in _MEMBERSHIP:
        op.drop_index(f"ix_{table}_code", table_name=table)
        op.drop_index(f"ix_{table}_region_id", table_name=table)
        op.drop_table(table)
    for table in reversed(_REFERENCE):
        op.drop_table(table)
