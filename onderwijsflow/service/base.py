"""The application object's foundation: configuration, clock, database, catalog and actor.

Every use case (one method of :class:`onderwijsflow.service.Onderwijsflow`) is one database
transaction; the helpers here give it the region, the audit writer and the permission checks.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from onderwijsflow.clock import Clock, parse_moment
from onderwijsflow.config import Config, load_config
from onderwijsflow.errors import ConfigError, NotFound, Refused, UsageError
from onderwijsflow.i18n import _
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
    ) -> None:
        self.config = config
        self.db_url = db_url or config.database
        self.workflows_dir = Path(workflows) if workflows else shipped("workflows")
        self.actor = actor or _os_user()
        self.clock = clock or Clock()
        self._db: Database | None = None
        self._synced = False

    @classmethod
    def open(
        cls,
        *,
        db: str | None = None,
        config: str | Path | None = None,
        workflows: str | Path | None = None,
        actor: str | None = None,
        now: str | datetime | None = None,
    ) -> Any:
        """Build the application from options, as the CLI does.

        Args:
            now: a simulated moment; refused unless the configuration allows it.

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
                    _("a simulated clock (--now / ONDERWIJSFLOW_NOW) is not allowed; "
                      "set simulated_clock: true in the configuration")
                )
            clock = Clock(parse_moment(now, end_of_day=False) if isinstance(now, str) else now)
        return cls(
            cfg,
            db_url=db,
            workflows=Path(workflows) if workflows else None,
            actor=actor,
            clock=clock,
        )

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
    def _write(self) -> Iterator[Session]:
        """One write transaction on a current schema, with the workflow files checked."""
        self._ready()
        with self.db.session() as session:
            if not self._synced:
                self.catalog.sync(session, self.now())
            yield session
        self._synced = True

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """One read-only transaction on a current schema."""
        self._ready()
        with self.db.session(write=False) as session:
            yield session

    def _ready(self) -> None:
        if not getattr(self, "_checked_schema", False):
            from onderwijsflow.store.migrate import ensure_current

            ensure_current(self.db)
            self._checked_schema = True

    # --- helpers for use cases ---------------------------------------------------------

    def _region(self, session: Session, slug: str, *, lock: bool = False) -> Region:
        """The region `slug`; with `lock`, its row is locked until the transaction ends.

        A write use case locks first and reads afterwards, so that on PostgreSQL (READ
        COMMITTED) what it checks (a duplicate, a fact's old value) is what the previous
        writer committed, and writers of one region queue instead of deadlocking. The lock is
        ``FOR NO KEY UPDATE`` (see `audit._locked_head`); on SQLite ``BEGIN IMMEDIATE``
        already serializes writers.
        """
        query = select(Region).where(Region.slug == slug)
        if lock:
            query = query.with_for_update(key_share=True)
        region = session.exec(query).first()
        if region is None:
            known = session.exec(select(Region.slug)).all() if len(slug) > 2 else []
            raise NotFound(_("no region '{slug}'{suggestion}").format(
                slug=slug, suggestion=suggest(slug, known)))
        return region

    def _record(
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
        """
        if batch is not None:
            return batch.append(region, kind=kind, actor=actor or self.actor, at=self.now(), **fields)
        return audit.append_event(
            session, region, kind=kind, actor=actor or self.actor, at=self.now(), **fields
        )

    def _roles(self) -> frozenset[str] | None:
        return self.config.roles_of(self.actor)

    def _require_writer(self) -> None:
        """Once actors are listed, only a coordinator or admin may change things."""
        problem = self._writer_problem()
        if problem:
            raise Refused(problem)

    def _writer_problem(self) -> str | None:
        roles = self._roles()
        if roles is None:
            return None
        if self.actor not in self.config.actors:
            return _("actor '{actor}' is not listed in the configuration and may not write").format(
                actor=self.actor)
        if not roles & {"coordinator", "admin"}:
            return _("actor '{actor}' has no coordinator or admin role and may not write").format(
                actor=self.actor)
        return None


def validate_slug(slug: str) -> str:
    """A region slug: lower-case words joined by hyphens (``zuidoost-brabant``)."""
    if not SLUG.match(slug):
        raise UsageError(
            _("'{slug}' is not a valid slug: use lower-case letters, digits and hyphens").format(
                slug=slug)
        )
    return slug


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")
