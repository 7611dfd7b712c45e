"""Policy in the database, and on PostgreSQL the roles, grants and row-level security.

The policy of a database (issue 9) lives in the database itself, so that no configuration
file a caller chooses can loosen it:

- ``policy``: one row. ``practice`` (a practice database: a simulated clock and ``--actor``
  are allowed) and ``write_scope`` (``all``, or ``own``: a coordinator writes only the regions
  whose ``regions.coordinator`` names them; ``landelijk`` and the scheduler write all).
- ``policy_users``: the users and their roles. On SQLite this is where roles come from; on
  PostgreSQL roles come from membership of the group roles below and this table only keeps
  the e-mail address and the fact that a user was added or removed.
- ``policy_events``: a hash chain of its own (the region chains stay region-only), one event
  per change of the policy or the users, hashed exactly like the region events
  (`onderwijsflow.store.audit.event_hash` over `POLICY_HASHED`).

On PostgreSQL the schema belongs to an owner role that only ``init`` uses. The application's
people log in with roles of their own, members of the group roles of `GROUPS`, which have
exactly the grants `grant_sql` lists: nobody but the owner can UPDATE, DELETE or TRUNCATE
events, and nobody but the owner can disable a trigger. A BEFORE INSERT trigger on events
refuses a row whose actor is not the login (``session_user``), except ``scheduler`` written by
a member of ``onderwijsflow_scheduler``, and anything in a practice database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = [
    "GROUPS",
    "POLICY_HASHED",
    "Policy",
    "grant_sql",
    "install_postgres",
    "metadata",
    "policy_events",
    "policy_table",
    "policy_users",
    "read_policy",
]

from onderwijsflow.store.tables import metadata

policy_table = sa.Table(
    "policy", metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("practice", sa.Boolean(), nullable=False),
    sa.Column("write_scope", sa.String(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

policy_users = sa.Table(
    "policy_users", metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("roles", sa.JSON(), nullable=False),
    sa.Column("email", sa.String(), nullable=True),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
)

policy_events = sa.Table(
    "policy_events", metadata,
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("reason", sa.String(), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("prev_hash", sa.String(), nullable=False),
    sa.Column("hash", sa.String(), nullable=False),
)

#: The fields of a policy event covered by its hash.
POLICY_HASHED: tuple[str, ...] = ("seq", "kind", "actor", "reason", "at", "recorded_at", "data",
                                  "prev_hash")

#: Actor role -> PostgreSQL group role. ``scheduler`` is the scheduler's own group.
GROUPS: dict[str, str] = {
    "coordinator": "onderwijsflow_coordinator",
    "override": "onderwijsflow_override",
    "auditor": "onderwijsflow_auditor",
    "admin": "onderwijsflow_admin",
    "landelijk": "onderwijsflow_landelijk",
    "scheduler": "onderwijsflow_scheduler",
}

#: Tables every region-bound write goes to (all have a ``region_id``, or are reached via a case).
_REGION_TABLES = ("partners", "role_assignments", "documents", "facts", "cases", "records",
                  "milestones", "reminders", "outbox")


class Policy:
    """The policy row of a database, as read by `read_policy`."""

    def __init__(self, practice: bool, write_scope: str) -> None:
        self.practice = practice
        self.write_scope = write_scope

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``policy show --json``)."""
        return {"practice": self.practice, "write_scope": self.write_scope}


def read_policy(connection: Connection) -> Policy:
    """The database's policy (a production database when the row is missing)."""
    row = connection.execute(sa.select(policy_table.c.practice, policy_table.c.write_scope)
                             .where(policy_table.c.id == 1)).first()
    if row is None:
        return Policy(False, "all")
    return Policy(bool(row.practice), str(row.write_scope))


def policy_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The hash of a policy event, computed as for region events."""
    from onderwijsflow.store.audit import canonical_json

    content = canonical_json({name: fields.get(name) for name in POLICY_HASHED})
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def append_policy_event(connection: Connection, *, kind: str, actor: str, at: dt.datetime,
                        data: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
    """Append one policy event to the policy chain, in the caller's transaction.

    The policy row is locked first (``FOR UPDATE`` on PostgreSQL) so that concurrent changes
    queue; on SQLite the write transaction already serializes them.
    """
    import json

    from onderwijsflow.clock import wall_clock
    from onderwijsflow.store.audit import canonical_json

    # FOR UPDATE serializes policy writers on PostgreSQL; SQLite's compiler leaves it out
    # (its writers are serialized already).
    connection.execute(sa.select(policy_table.c.id).where(policy_table.c.id == 1).with_for_update())
    last = connection.execute(sa.select(policy_events.c.seq, policy_events.c.hash)
                              .order_by(policy_events.c.seq.desc()).limit(1)).first()
    seq, prev = (int(last.seq), str(last.hash)) if last else (0, "")
    fields: dict[str, Any] = {
        "seq": seq + 1, "kind": kind, "actor": actor, "reason": reason,
        "at": at.astimezone(dt.UTC), "recorded_at": wall_clock(),
        "data": json.loads(canonical_json(data)), "prev_hash": prev,
    }
    fields["hash"] = policy_hash(prev, fields)
    connection.execute(sa.insert(policy_events), [fields])
    return fields


def policy_hashes(connection: Connection) -> dict[int, str]:
    """Every policy event's hash by seq (a few dozen rows: users, roles, scope changes)."""
    rows = connection.execute(sa.select(policy_events.c.seq, policy_events.c.hash))
    return {int(seq): str(digest) for seq, digest in rows}


def verify_policy_chain(connection: Connection) -> list[int]:
    """The seqs of policy events whose hash or link is broken (empty: the chain holds)."""
    broken: list[int] = []
    prev = ""
    expected = 1
    for row in connection.execute(sa.select(policy_events).order_by(policy_events.c.seq)).mappings():
        fields = dict(row)
        if fields["at"].utcoffset() is None:  # SQLite gives naive UTC back
            fields["at"] = fields["at"].replace(tzinfo=dt.UTC)
            fields["recorded_at"] = fields["recorded_at"].replace(tzinfo=dt.UTC)
        if (fields["seq"] != expected or fields["prev_hash"] != prev
                or policy_hash(prev, fields) != fields["hash"]):
            broken.append(int(fields["seq"]))
        prev = str(fields["hash"])
        expected = int(fields["seq"]) + 1
    return broken


# --- PostgreSQL --------------------------------------------------------------------------------


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def ensure_groups(connection: Connection) -> bool:
    """Create the group roles that do not exist yet; False when this login may not create roles."""
    can = connection.execute(sa.text(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")).scalar()
    for group in GROUPS.values():
        exists = connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"),
                                    {"n": group}).first()
        if exists or not can:
            continue
        # Another init (or test) may create the same cluster-wide role at the same moment.
        connection.execute(sa.text(
            f"DO $$ BEGIN CREATE ROLE {group} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"))
    return bool(can)


def grant_sql(schema: str) -> list[str]:
    """The GRANT statements of the group roles on `schema` (quoted name), least privilege.

    - auditor: read everything.
    - coordinator (and override, landelijk: extra rights, not extra tables): read everything,
      INSERT events, and change the working tables a use case changes; UPDATE on regions only
      for its descriptive columns and the chain head (a trigger keeps the head on the last event).
    - scheduler: what a tick needs: read everything, INSERT events, change cases, facts,
      milestones, reminders and outbox, move the head.
    - admin: read everything and change the policy and the users.
    Nobody gets UPDATE, DELETE or TRUNCATE on events, nor owns a table.
    """
    everyone = ", ".join(GROUPS.values())
    writers = ", ".join(GROUPS[r] for r in ("coordinator", "override", "landelijk"))
    region_cols = "name, provinces, sectors, coordinator, event_seq, event_hash"
    working = ", ".join(f"{schema}.{t}" for t in (*_REGION_TABLES, "case_facts"))
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {everyone}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {everyone}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {writers}, {GROUPS['scheduler']}, "
        f"{GROUPS['admin']}",
        f"GRANT INSERT ON {schema}.events TO {writers}, {GROUPS['scheduler']}",
        f"GRANT INSERT ON {schema}.regions TO {writers}",
        f"GRANT UPDATE ({region_cols}) ON {schema}.regions TO {writers}",
        f"GRANT UPDATE (event_seq, event_hash) ON {schema}.regions TO {GROUPS['scheduler']}",
        f"GRANT INSERT, UPDATE, DELETE ON {working} TO {writers}",
        f"GRANT INSERT, UPDATE, DELETE ON {schema}.cases, {schema}.facts, {schema}.case_facts, "
        f"{schema}.milestones, {schema}.reminders, {schema}.outbox, {schema}.records "
        f"TO {GROUPS['scheduler']}",
        f"GRANT INSERT ON {schema}.workflow_versions TO {writers}, {GROUPS['scheduler']}",
        f"GRANT INSERT, UPDATE ON {schema}.policy_users, {schema}.policy TO {GROUPS['admin']}",
        f"GRANT INSERT ON {schema}.policy_events TO {GROUPS['admin']}",
    ]


def _member(group: str) -> str:
    """SQL: the login is a member of `group` (false when the group does not exist)."""
    return (f"COALESCE((SELECT pg_has_role(session_user, oid, 'member') FROM pg_roles "
            f"WHERE rolname = '{group}'), false)")


def _me_function(schema: str) -> str:
    """The names a login coordinates a region by: the login itself and its stored address."""
    return f"""
CREATE OR REPLACE FUNCTION {schema}.onderwijsflow_me() RETURNS SETOF text
LANGUAGE sql STABLE AS $$
  SELECT session_user::text
  UNION SELECT email FROM {schema}.policy_users WHERE name = session_user AND email IS NOT NULL
$$"""


def _may_write_function(schema: str) -> str:
    admin, landelijk, scheduler = GROUPS["admin"], GROUPS["landelijk"], GROUPS["scheduler"]
    return f"""
CREATE OR REPLACE FUNCTION {schema}.onderwijsflow_may_write(rid integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT COALESCE((SELECT write_scope FROM {schema}.policy WHERE id = 1), 'all') = 'all'
      OR {_member(landelijk)}
      OR {_member(scheduler)}
      OR {_member(admin)}
      OR EXISTS (SELECT 1 FROM {schema}.regions r WHERE r.id = rid
                 AND r.coordinator IN (SELECT {schema}.onderwijsflow_me()))
$$"""


def _actor_trigger(schema: str) -> list[str]:
    scheduler = GROUPS["scheduler"]
    return [
        f"""
CREATE OR REPLACE FUNCTION {schema}.events_actor_is_login() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF COALESCE((SELECT practice FROM {schema}.policy WHERE id = 1), false) THEN
    RETURN NEW;
  END IF;
  IF NEW.actor = session_user THEN
    RETURN NEW;
  END IF;
  IF NEW.actor = 'scheduler' AND {_member(scheduler)} THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'onderwijsflow: the actor of an event must be the login (%), not %',
    session_user, NEW.actor USING ERRCODE = '42501';
END $$""",
        f"DROP TRIGGER IF EXISTS events_actor_is_login ON {schema}.events",
        f"CREATE TRIGGER events_actor_is_login BEFORE INSERT ON {schema}.events "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.events_actor_is_login()",
        f"""
CREATE OR REPLACE FUNCTION {schema}.regions_head_is_last_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.event_seq, NEW.event_hash) IS DISTINCT FROM (OLD.event_seq, OLD.event_hash)
     AND current_user <> (SELECT tableowner FROM pg_tables
                          WHERE schemaname = TG_TABLE_SCHEMA AND tablename = 'regions')
     AND NOT EXISTS (SELECT 1 FROM {schema}.events e WHERE e.region_id = NEW.id
                     AND e.seq = NEW.event_seq AND e.hash = NEW.event_hash) THEN
    RAISE EXCEPTION 'onderwijsflow: a region''s chain head must be its last event'
      USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$""",
        f"DROP TRIGGER IF EXISTS regions_head_is_last_event ON {schema}.regions",
        f"CREATE CONSTRAINT TRIGGER regions_head_is_last_event AFTER UPDATE ON {schema}.regions "
        f"DEFERRABLE INITIALLY DEFERRED "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.regions_head_is_last_event()",
    ]


def _rls(schema: str) -> list[str]:
    may = f"{schema}.onderwijsflow_may_write"
    out = [_me_function(schema), _may_write_function(schema)]
    tables: list[tuple[str, str]] = [(t, f"{may}(region_id)") for t in (*_REGION_TABLES, "events")]
    tables.append(("case_facts",
                   f"{may}((SELECT c.region_id FROM {schema}.cases c WHERE c.id = case_id))"))
    for table, check in tables:
        out += [
            f"ALTER TABLE {schema}.{table} ENABLE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS read_all ON {schema}.{table}",
            f"CREATE POLICY read_all ON {schema}.{table} FOR SELECT USING (true)",
            f"DROP POLICY IF EXISTS write_insert ON {schema}.{table}",
            f"CREATE POLICY write_insert ON {schema}.{table} FOR INSERT WITH CHECK ({check})",
            f"DROP POLICY IF EXISTS write_update ON {schema}.{table}",
            f"CREATE POLICY write_update ON {schema}.{table} FOR UPDATE USING ({check}) "
            f"WITH CHECK ({check})",
            f"DROP POLICY IF EXISTS write_delete ON {schema}.{table}",
            f"CREATE POLICY write_delete ON {schema}.{table} FOR DELETE USING ({check})",
        ]
    # regions: a coordinator creates regions it coordinates, and changes only those.
    own = (f"COALESCE((SELECT write_scope FROM {schema}.policy WHERE id = 1), 'all') = 'all' "
           f"OR coordinator IN (SELECT {schema}.onderwijsflow_me()) OR {may}(-1)")
    out += [
        f"ALTER TABLE {schema}.regions ENABLE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS read_all ON {schema}.regions",
        f"CREATE POLICY read_all ON {schema}.regions FOR SELECT USING (true)",
        f"DROP POLICY IF EXISTS write_insert ON {schema}.regions",
        f"CREATE POLICY write_insert ON {schema}.regions FOR INSERT WITH CHECK ({own})",
        f"DROP POLICY IF EXISTS write_update ON {schema}.regions",
        f"CREATE POLICY write_update ON {schema}.regions FOR UPDATE USING ({own}) WITH CHECK ({own})",
    ]
    return out


def install_postgres(connection: Connection) -> None:
    """Groups (when this login may create roles), grants, the actor trigger and RLS.

    Runs as the schema's owner inside ``init``'s transaction; running it again changes nothing.
    """
    schema = _quote(connection, str(connection.execute(sa.text("SELECT current_schema()")).scalar()))
    groups = ensure_groups(connection)
    for statement in _actor_trigger(schema) + _rls(schema):
        connection.execute(sa.text(statement))
    if groups or _all_groups_exist(connection):
        for statement in grant_sql(schema):
            connection.execute(sa.text(statement))


def _all_groups_exist(connection: Connection) -> bool:
    found = connection.execute(sa.text("SELECT count(*) FROM pg_roles WHERE rolname = ANY(:n)"),
                               {"n": list(GROUPS.values())}).scalar()
    return found == len(GROUPS)


def login_roles(connection: Connection) -> tuple[str, frozenset[str] | None]:
    """The login (``session_user``) and its actor roles from group membership.

    None (every role) for the owner of the schema's tables and for a superuser, who can do
    anything in the database anyway.
    """
    login = str(connection.execute(sa.text("SELECT session_user")).scalar())
    powerful = connection.execute(sa.text(
        "SELECT r.rolsuper OR EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = "
        "current_schema() AND t.tablename = 'events' AND t.tableowner = r.rolname) "
        "FROM pg_roles r WHERE r.rolname = session_user")).scalar()
    if powerful:
        return login, None
    member = set(connection.execute(sa.text(
        "SELECT rolname FROM pg_roles WHERE rolname = ANY(:groups) "
        "AND pg_has_role(session_user, oid, 'member')"), {"groups": list(GROUPS.values())}).scalars())
    return login, frozenset(role for role, group in GROUPS.items() if group in member)


def uninstall_postgres(connection: Connection) -> None:
    """Undo `install_postgres` on this schema (the cluster-wide group roles stay)."""
    schema = _quote(connection, str(connection.execute(sa.text("SELECT current_schema()")).scalar()))
    for table in (*_REGION_TABLES, "events", "case_facts", "regions"):
        for name in ("read_all", "write_insert", "write_update", "write_delete"):
            connection.execute(sa.text(f"DROP POLICY IF EXISTS {name} ON {schema}.{table}"))
        connection.execute(sa.text(f"ALTER TABLE {schema}.{table} DISABLE ROW LEVEL SECURITY"))
    connection.execute(sa.text(f"DROP TRIGGER IF EXISTS events_actor_is_login ON {schema}.events"))
    connection.execute(sa.text(
        f"DROP TRIGGER IF EXISTS regions_head_is_last_event ON {schema}.regions"))
    connection.execute(sa.text(f"DROP FUNCTION IF EXISTS {schema}.events_actor_is_login()"))
    connection.execute(sa.text(f"DROP FUNCTION IF EXISTS {schema}.regions_head_is_last_event()"))
    connection.execute(sa.text(f"DROP FUNCTION IF EXISTS {schema}.onderwijsflow_may_write(integer)"))
    connection.execute(sa.text(f"DROP FUNCTION IF EXISTS {schema}.onderwijsflow_me()"))
    if _all_groups_exist(connection):
        everyone = ", ".join(GROUPS.values())
        connection.execute(sa.text(
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {everyone}"))
        connection.execute(sa.text(
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {everyone}"))
        connection.execute(sa.text(f"REVOKE ALL ON SCHEMA {schema} FROM {everyone}"))
