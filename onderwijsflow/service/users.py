"""Use cases on the users of a database (issue 9): add, list, remove.

On SQLite the users and their roles live in `policy_users` and the actor is the
operating-system login. On PostgreSQL a user is a LOGIN role, member of the group roles of
its roles (`onderwijsflow.store.roles.GROUPS`); removing one revokes its login (``NOLOGIN``)
and keeps the role, so the history keeps its name. Administrators only; every change is a
policy event.
"""

from __future__ import annotations

import os
import re
from typing import Any

import sqlalchemy as sa

from onderwijsflow.clock import wall_clock
from onderwijsflow.errors import Conflict, NotFound, Refused, UsageError
from onderwijsflow.i18n import _
from onderwijsflow.service.policy import PolicyOps
from onderwijsflow.store import roles as store
from onderwijsflow.vocabulary import ACTOR_ROLES

#: The roles a user can hold; `landelijk` writes every region under write scope `own`, and
#: `scheduler` is the scheduler's own login (its events name ``scheduler``).
USER_ROLES: tuple[str, ...] = (*ACTOR_ROLES, "landelijk", "scheduler")

#: A user name: a login name (no quoting needed on PostgreSQL).
_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,62}$")


class UserOps(PolicyOps):
    """Managing who may use the database."""

    def add_user(self, name: str, *, roles: tuple[str, ...], email: str | None = None,
                 password_env: str | None = None) -> dict[str, Any]:
        """Add a user with `roles` (on PostgreSQL: a LOGIN role in the group roles).

        Raises:
            UsageError: a bad name or role, or a missing password variable.
            Refused: the actor is not an administrator, or the first user is no admin.
            Conflict: the user exists (and is active).
        """
        if not _NAME.match(name):
            raise UsageError(_("'{name}' is not a valid user name: use lower-case letters, digits, "
                               "'_', '.' and '-', starting with a letter").format(name=name))
        if not roles:
            raise UsageError(_("give at least one --role"))
        for role in roles:
            if role not in USER_ROLES:
                raise UsageError(_("'{role}' is not a role; use one of {roles}").format(
                    role=role, roles=", ".join(USER_ROLES)))
        password = None
        if password_env is not None:
            password = os.environ.get(password_env)
            if not password:
                raise UsageError(_("the environment variable {var} holds no password").format(
                    var=password_env))
        self.ensure_ready()
        self._require_admin()
        with self.db.connect() as connection, connection.begin():
            existing = connection.execute(sa.select(store.policy_users)
                                          .where(store.policy_users.c.name == name)).first()
            if existing is not None and existing.active:
                raise Conflict(_("user '{name}' exists already").format(name=name))
            if self.db.is_sqlite and "admin" not in roles and not connection.execute(
                    sa.select(store.policy_users.c.name).where(store.policy_users.c.active)).first():
                raise Refused(_("the first user must be an administrator (--role admin): "
                                "otherwise nobody could add the next one"))
            if not self.db.is_sqlite:
                _create_login(connection, name, roles, password)
            values = {"roles": sorted(set(roles)), "email": email, "active": True}
            if existing is None:
                connection.execute(sa.insert(store.policy_users).values(
                    name=name, added_at=wall_clock(), **values))
            else:
                connection.execute(sa.update(store.policy_users)
                                   .where(store.policy_users.c.name == name).values(**values))
            store.append_policy_event(connection, kind="user_added", actor=self.actor,
                                      at=self.now(), data={"name": name, **values})
        self._policy = None
        return {"name": name, **values}

    def list_users(self) -> dict[str, Any]:
        """Every user ever added (removed ones with ``active: false``)."""
        self.ensure_ready()
        with self.db.connect(write=False) as connection, connection.begin():
            rows = connection.execute(sa.select(store.policy_users)
                                      .order_by(store.policy_users.c.name)).all()
            users = [{"name": r.name, "roles": list(r.roles), "email": r.email,
                      "active": bool(r.active)} for r in rows]
            if not self.db.is_sqlite:
                for user in users:
                    user["roles"] = _group_roles(connection, str(user["name"]))
        return {"users": users}

    def remove_user(self, name: str) -> dict[str, Any]:
        """Remove a user: no more writing (PostgreSQL: NOLOGIN); history keeps the name.

        Raises:
            NotFound: no such active user.
            Refused: the actor is not an administrator.
        """
        self.ensure_ready()
        self._require_admin()
        with self.db.connect() as connection, connection.begin():
            found = connection.execute(sa.select(store.policy_users)
                                       .where(store.policy_users.c.name == name)).first()
            if found is None or not found.active:
                raise NotFound(_("no user '{name}'").format(name=name))
            admins = [row.name for row in connection.execute(sa.select(store.policy_users)
                      .where(store.policy_users.c.active)) if "admin" in row.roles]
            if self.db.is_sqlite and admins == [name]:
                raise Refused(_("'{name}' is the last administrator; add another one first")
                              .format(name=name))
            connection.execute(sa.update(store.policy_users)
                               .where(store.policy_users.c.name == name).values(active=False))
            if not self.db.is_sqlite:
                quoted = connection.dialect.identifier_preparer.quote_identifier(name)
                connection.execute(sa.text(f"ALTER ROLE {quoted} NOLOGIN"))
            store.append_policy_event(connection, kind="user_removed", actor=self.actor,
                                      at=self.now(), data={"name": name})
        self._policy = None
        return {"name": name, "active": False}


def _create_login(connection: sa.Connection, name: str, roles: tuple[str, ...],
                  password: str | None) -> None:
    quote = connection.dialect.identifier_preparer.quote_identifier
    exists = connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"),
                                {"n": name}).first()
    if exists:
        connection.execute(sa.text(f"ALTER ROLE {quote(name)} LOGIN"))
    else:
        connection.execute(sa.text(f"CREATE ROLE {quote(name)} LOGIN"))
    if password is not None:
        literal = "'" + password.replace("'", "''") + "'"  # utility statements take no parameters
        connection.execute(sa.text(f"ALTER ROLE {quote(name)} PASSWORD {literal}"))
    for role, group in store.GROUPS.items():
        if role in roles:
            connection.execute(sa.text(f"GRANT {group} TO {quote(name)}"))
        elif exists:
            connection.execute(sa.text(f"REVOKE {group} FROM {quote(name)}"))


def _group_roles(connection: sa.Connection, name: str) -> list[str]:
    return sorted(role for role, group in store.GROUPS.items() if connection.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = :g AND u.rolname = :n)"),
        {"g": group, "n": name}).scalar())
