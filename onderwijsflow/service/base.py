"""The application object's foundation: configuration, clock, database, catalog and actor.

Every use case (one method of :class:`onderwijsflow.service.Onderwijsflow`) is one database
transaction; the helpers here give it the region, the audit writer and the permission checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from sqlmodel import Session, select

from onderwijsflow.clock import Clock, parse_moment
from onderwijsflow.config import Config, load_config
from onderwijsflow.errors import ConfigError, NotFound, Refused, UsageError
from onderwijsflow.i18n import _
from onderwijsflow.login import login_name
from onderwijsflow.resources import shipped
from onderwijsflow.store import audit
from onderwijsflow.store.db import Database
from onderwijsflow.store.tables import Region
from onderwijsflow.vocabulary import suggest

if TYPE_CHECKING:
    from onderwijsflow.service.catalog import Catalog

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class Base:
    """State shared by all use cases; build it with :meth:`Onderwijsflow.open`."""

    def __init__(
        self,
        config: Config,
        *,
        db_url: str | None = None,
        workflows: Path | None = None,
        actor: str | None = None,
        clock: Clock | None = None,
        practice: bool | None = None,
        backdate: str | None = None,
    ) -> None:
        self.config = config
        self.db_url = db_url or config.database
        self.workflows_dir = Path(workflows) if workflows else shipped("workflows")
        self.actor = actor or login_name()
        self.clock = clock or Clock()
        #: `init` makes a new database a practice database (None: `default_practice`).
        self.practice = practice
        #: Why events may go back in time (``--backdate REASON``, practice databases only).
        self.backdate = backdate
        #: The actor asked for (``--actor``) by `open`; checked against the policy on first use.
        self._asked_actor: str | None = None
        #: True when `open` built this object: options from outside are checked on first use.
        self._checked_options = False
        self._policy: _Effective | None = None
        self._db: Database | None = None
        self._synced = False

    #: Whether `init` creates a practice database when not told (the test suite sets it).
    default_practice = False

    @classmethod
    def open(
        cls,
        *,
        db: str | None = None,
        config: str | Path | None = None,
        workflows: str | Path | None = None,
        actor: str | None = None,
        now: str | datetime | None = None,
        practice: bool | None = None,
        backdate: str | None = None,
    ) -> Self:
        """Build the application from options, as the CLI does.

        What options may do is decided by the database's policy, on first use: `now`,
        `actor` other than the login and `backdate` only in a practice database (see
        :meth:`_enforce_policy`); a configuration file cannot allow them elsewhere.

        Args:
            now: a simulated moment; refused unless the configuration allows it and the
                database is a practice database.
            actor: who acts; anything but the login only in a practice database.
            practice: `init` creates a practice database.
            backdate: the reason events may go back in time (practice databases only).

        Raises:
            ConfigError: a bad configuration, or `now` while the clock may not be simulated.
        """
        cfg = load_config(config)
        from onderwijsflow import i18n

        if not i18n.explicit():
            i18n.set_language(cfg.language)
        clock = Clock()
        if now is not None:
            if not cfg.simulated_clock:
                raise ConfigError(
                    _("a simulated clock (--now / ONDERWIJSFLOW_NOW) is not allowed; it needs a "
                      "practice database and simulated_clock: true in the configuration")
                )
            clock = Clock(parse_moment(now, end_of_day=False) if isinstance(now, str) else now)
        app = cls(
            cfg,
            db_url=db,
            workflows=Path(workflows) if workflows else None,
            actor=actor,
            clock=clock,
            practice=practice,
            backdate=backdate,
        )
        app._asked_actor = actor
        app._checked_options = True
        return app

    # --- infrastructure ----------------------------------------------------------------

    @property
    def db(self) -> Database:
        """The database, connected on first use."""
        if self._db is None:
            self._db = Database(self.db_url)
        return self._db

    @cached_property
    def catalog(self) -> Catalog:
        """The workflows on disk, loaded on first use (commands that need none stay fast)."""
        from onderwijsflow.service.catalog import Catalog

        return Catalog(self.workflows_dir)

    def close(self) -> None:
        """Release the database connections."""
        if self._db is not None:
            self._db.dispose()
            self._db = None

    def now(self) -> datetime:
        """The effective moment (the simulated clock, or the wall clock)."""
        return self.clock.now()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One write transaction on a current schema, with the workflow files checked.

        Whoever the database knows (stored users, PostgreSQL groups) writes only with a
        writing role: the scheduler's tick needs its role like every other write.
        """
        self.ensure_ready()
        if self._roles_from_database():
            problem = self._writer_problem()
            if problem:
                raise Refused(problem)
        with self.db.session() as session:
            if not self._synced:
                self.catalog.sync(session, self.now())
            yield session
        self._synced = True

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read-only transaction on a current schema."""
        self.ensure_ready()
        with self.db.session(write=False) as session:
            yield session

    def ensure_ready(self) -> None:
        if not getattr(self, "_checked_schema", False):
            from onderwijsflow.store.migrate import ensure_current

            ensure_current(self.db)
            self._checked_schema = True
        self._enforce_policy()

    # --- policy (issue 9) --------------------------------------------------------------

    def _effective(self) -> _Effective:
        """The policy, the login and where roles come from, read once per application."""
        if self._policy is None:
            from onderwijsflow.store import roles as pg

            with self.db.connect(write=False) as connection, connection.begin():
                policy = pg.read_policy(connection)
                users = {str(row.name): row for row in connection.execute(
                    select(pg.policy_users)).all()}  # type: ignore[call-overload]
                if self.db.is_sqlite:
                    login, group_roles = login_name(), None
                    powerful = True
                else:
                    login, group_roles = pg.login_roles(connection)
                    powerful = group_roles is None
            self._policy = _Effective(policy.practice, policy.write_scope, login, users,
                                      None if powerful else group_roles)
        return self._policy

    def _enforce_policy(self) -> None:
        """Apply the database's policy to the options `open` was given (once).

        Raises:
            Refused: a simulated clock, another actor or a backdate in a production database.
        """
        if not self._checked_options:
            return
        self._checked_options = False
        effective = self._effective()
        if not effective.practice:
            if self.clock.simulated:
                raise Refused(_("a simulated clock (--now) is allowed only in a practice database; "
                                "this is a production database"))
            if self._asked_actor is not None and self._asked_actor != effective.login:
                raise Refused(_("you are logged in as '{login}'; --actor '{actor}' is allowed only "
                                "in a practice database").format(login=effective.login,
                                                                 actor=self._asked_actor))
            if self.backdate is not None:
                raise Refused(_("--backdate is allowed only in a practice database"))
            self.actor = effective.login
        elif self._asked_actor is None:
            self.actor = effective.login

    def _policy_roles(self) -> frozenset[str] | None:
        """The roles of the actor.

        On PostgreSQL group membership (the schema's owner and superusers: every role, except
        in a practice database, which treats them as SQLite does); on SQLite the stored users,
        else (no users stored) the configuration, which cannot give more than no list does."""
        effective = self._effective()
        if effective.group_roles is not None:
            return effective.group_roles
        if not self.db.is_sqlite and not effective.practice:
            return None  # the owner (or a superuser) of a production database: it owns everything
        if effective.users:  # once users are stored (even all removed), they decide
            found = effective.users.get(self.actor)
            return frozenset(found.roles) if found is not None and found.active else frozenset()
        return self.config.roles_of(self.actor)

    # --- helpers for use cases ---------------------------------------------------------

    def region_in(self, session: Session, slug: str, *, lock: bool = False) -> Region:
        """The region `slug`; with `lock`, its row is locked until the transaction ends.

        A write use case locks first and reads afterwards, so that on PostgreSQL (READ
        COMMITTED) what it checks (a duplicate, a fact's old value) is what the previous
        writer committed, and writers of one region queue instead of deadlocking. The lock is
        ``FOR NO KEY UPDATE`` (see `audit._locked_head`); on SQLite ``BEGIN IMMEDIATE``
        already serializes writers.
        """
        query = select(Region).where(Region.slug == slug)
        if lock:
            # Before locking: under row-level security another coordinator's row would
            # simply not be found, and the refusal must say why.
            self._require_scope(session, slug)
            query = query.with_for_update(key_share=True)
        region = session.exec(query).first()
        if region is None:
            known = session.exec(select(Region.slug)).all() if len(slug) > 2 else []
            raise NotFound(_("no region '{slug}'{suggestion}").format(
                slug=slug, suggestion=suggest(slug, known)))
        return region

    def record_event(
        self,
        session: Session,
        region: Region,
        kind: str,
        *,
        actor: str | None = None,
        batch: audit.EventBatch | None = None,
        **fields: Any,
    ) -> Any:
        """Append an audit event by this app's actor (or `actor`) at the effective time.

        With `batch`, the event joins a bulk write instead of being flushed on its own.
        On a simulated clock the effective time may not go back before the region's last
        event unless `backdate` gives the reason, which the event then carries.
        """
        if self.clock.simulated:
            fields = self._forward_only(session, region, batch, fields)
        if batch is not None:
            return batch.append(region, kind=kind, actor=actor or self.actor, at=self.now(), **fields)
        return audit.append_event(
            session, region, kind=kind, actor=actor or self.actor, at=self.now(), **fields
        )

    def _roles(self) -> frozenset[str] | None:
        """The actor's roles under the database's policy (None: every role)."""
        self.ensure_ready()
        return self._policy_roles()

    def _roles_from_database(self) -> bool:
        """True when roles come from the database (group membership or stored users)."""
        effective = self._effective()
        return effective.group_roles is not None or bool(effective.users)

    def _db_ready(self) -> bool:
        return bool(getattr(self, "_checked_schema", False))

    def _forward_only(self, session: Session, region: Region, batch: audit.EventBatch | None,
                      fields: dict[str, Any]) -> dict[str, Any]:
        from sqlalchemy import func

        from onderwijsflow.store.tables import Event

        at = self.now()
        last: datetime | None = None
        if batch is not None and region.id is not None:
            last = batch.latest_at(region.id)
        if last is None:
            last = session.exec(select(func.max(Event.at)).where(
                Event.region_id == region.id)).first()
        if last is None:
            return fields
        if last.utcoffset() is None:
            from datetime import UTC

            last = last.replace(tzinfo=UTC)
        if at >= last:
            return fields
        if self.backdate is None:
            raise Refused(_("the effective time {at} is before the last event of region '{slug}' "
                            "({last}); give --backdate REASON to write it anyway").format(
                at=at.isoformat(), slug=region.slug, last=last.isoformat()))
        data = dict(fields.get("data") or {})
        data["backdated"] = self.backdate
        return {**fields, "data": data}

    def _require_scope(self, session: Session, slug: str) -> None:
        """With write scope `own`, a coordinator writes only the regions they coordinate.

        Raises:
            Refused: the region is another coordinator's.
        """
        mine = self._own_scope()
        if mine is None:
            return
        coordinator = session.exec(select(Region.coordinator).where(Region.slug == slug)).first()
        if coordinator is not None and coordinator not in mine:
            raise Refused(_("region '{slug}' is coordinated by '{coordinator}'; with write scope "
                            "'own' you may write only your own regions").format(
                slug=slug, coordinator=coordinator))
        if coordinator is None and session.exec(select(Region.id).where(Region.slug == slug)).first():
            raise Refused(_("region '{slug}' has no coordinator; with write scope 'own' only "
                            "landelijk may write it").format(slug=slug))

    def _own_scope(self) -> set[str] | None:
        """Under write scope `own`, the names a region's coordinator must have for this actor
        to write it (the login and the user's e-mail address); None when the actor may write
        every region (scope `all`, or the landelijk, admin or scheduler role)."""
        if not self._db_ready():
            return None
        effective = self._effective()
        if effective.write_scope != "own":
            return None
        roles = self._roles()
        if roles is None or roles & {"landelijk", "admin", "scheduler"}:
            return None
        user = effective.users.get(self.actor)
        return {self.actor, *([user.email] if user is not None and user.email else [])}

    def _require_own_new_region(self, coordinator: str | None) -> None:
        """With write scope `own`, a coordinator creates only regions they coordinate.

        Raises:
            Refused: the new region would be someone else's (or nobody's).
        """
        mine = self._own_scope()
        if mine is not None and coordinator not in mine:
            raise Refused(_("with write scope 'own' you may create only regions you coordinate "
                            "yourself (--coordinator {mine})").format(mine=" or ".join(sorted(mine))))

    def require_writer(self) -> None:
        """Once actors are listed, only a coordinator or admin may change things."""
        problem = self._writer_problem()
        if problem:
            raise Refused(problem)

    def _writer_problem(self) -> str | None:
        roles = self._roles()
        if roles is None:
            return None
        if self._db_ready() and self._roles_from_database():
            if not roles & {"coordinator", "admin", "landelijk", "scheduler"}:
                return _("'{actor}' has no coordinator or admin role in this database and may not "
                         "write").format(actor=self.actor)
            return None
        if self.actor not in self.config.actors:
            return _("actor '{actor}' is not listed in the configuration and may not write").format(
                actor=self.actor)
        if not roles & {"coordinator", "admin"}:
            return _("actor '{actor}' has no coordinator or admin role and may not write").format(
                actor=self.actor)
        return None


class _Effective:
    """The policy as one application sees it (read once, see `Base._effective`)."""

    def __init__(self, practice: bool, write_scope: str, login: str, users: dict[str, Any],
                 group_roles: frozenset[str] | None) -> None:
        self.practice = practice
        self.write_scope = write_scope
        self.login = login
        self.users = users
        #: On PostgreSQL, a login that is neither superuser nor owner: its group roles.
        self.group_roles = group_roles


def validate_slug(slug: str) -> str:
    """A region slug: lower-case words joined by hyphens (``zuidoost-brabant``)."""
    if not SLUG.match(slug):
        raise UsageError(
            _("'{slug}' is not a valid slug: use lower-case letters, digits and hyphens").format(
                slug=slug)
        )
    return slug
