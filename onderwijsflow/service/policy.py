"""Use cases on the policy of a database (issue 9): practice or production, write scope.

The policy lives in the database (`onderwijsflow.store.roles`), not in a configuration file:
a file the caller chooses can no longer loosen a rule. Only an administrator changes it, and
every change is an event of the policy chain (`policy_events`), hashed like region events.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import sqlalchemy as sa

from onderwijsflow.errors import Refused, UsageError
from onderwijsflow.i18n import _
from onderwijsflow.service.base import Base
from onderwijsflow.store import roles as store

#: The write scopes a database can have.
WRITE_SCOPES = ("all", "own")


class PolicyOps(Base):
    """Reading and changing the database's policy."""

    def policy(self) -> dict[str, Any]:
        """The policy: ``{"practice", "write_scope", "login", "actor", "roles", "events"}``."""
        self.ensure_ready()
        effective = self._effective()
        roles = self._roles()
        with self.db.connect(write=False) as connection, connection.begin():
            events = connection.execute(sa.select(sa.func.count()).select_from(
                store.policy_events)).scalar()
        return {"practice": effective.practice, "write_scope": effective.write_scope,
                "login": effective.login, "actor": self.actor,
                "roles": None if roles is None else sorted(roles), "events": events}

    def set_write_scope(self, scope: str, *, reason: str | None = None) -> dict[str, Any]:
        """Set the write scope (``all`` or ``own``); administrators only, audited.

        Raises:
            UsageError: an unknown scope.
            Refused: the actor is not an administrator.
        """
        if scope not in WRITE_SCOPES:
            raise UsageError(_("'{scope}' is not a write scope; use all or own").format(scope=scope))
        self.ensure_ready()
        self._require_admin()
        with self.db.connect() as connection, connection.begin():
            before = store.read_policy(connection)
            connection.execute(sa.update(store.policy_table).where(store.policy_table.c.id == 1)
                               .values(write_scope=scope))
            store.append_policy_event(connection, kind="write_scope_set", actor=self.actor,
                                      at=self.now(), reason=reason,
                                      data={"from": before.write_scope, "to": scope})
        self._policy = None
        return self.policy()

    def policy_events(self) -> dict[str, Any]:
        """Every policy event, oldest first, and whether the policy chain holds."""
        self.ensure_ready()
        with self.db.connect(write=False) as connection, connection.begin():
            rows = [dict(row) for row in connection.execute(
                sa.select(store.policy_events).order_by(store.policy_events.c.seq)).mappings()]
            broken = store.verify_policy_chain(connection)
        for row in rows:
            for key in ("at", "recorded_at"):  # SQLite gives UTC back without its offset
                moment = row[key]
                row[key] = (moment if moment.utcoffset() is not None
                            else moment.replace(tzinfo=UTC)).isoformat()
        return {"events": rows, "ok": not broken, "broken": broken}

    def _require_admin(self) -> None:
        roles = self._roles()
        if roles is not None and "admin" not in roles:
            raise Refused(_("only an administrator (role admin) may change the policy or the "
                            "users; '{actor}' is not one").format(actor=self.actor))

    def _init_policy(self, before: str | None) -> None:
        """After `init`'s upgrade: make a new database a practice one when asked.

        Raises:
            Refused: practice asked for an existing production database.
        """
        practice = self.default_practice if self.practice is None else self.practice
        with self.db.connect() as connection, connection.begin():
            current = store.read_policy(connection)
            new = before is None or (_empty(connection) and not connection.execute(
                sa.select(sa.func.count()).select_from(store.policy_events)).scalar())
            if practice and not current.practice:
                if not new:
                    raise Refused(_("this is a production database; 'init --practice' only "
                                    "creates a new practice database"))
                connection.execute(sa.update(store.policy_table)
                                   .where(store.policy_table.c.id == 1).values(practice=True))
                store.append_policy_event(connection, kind="practice_created",
                                          actor=self.actor, at=self.now(),
                                          data={"practice": True})
        self._policy = None


def _empty(connection: sa.Connection) -> bool:
    """No region yet: a database `init` may still turn into a practice one."""
    return not connection.execute(sa.text("SELECT 1 FROM regions LIMIT 1")).first()
