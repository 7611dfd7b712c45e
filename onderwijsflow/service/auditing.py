"""Use cases on the audit log as a whole: verification, and anchors kept outside the database.

An anchor is the head of every region's chain at one moment (``audit anchor``), written
somewhere the database owner cannot reach: mailed to the auditor, committed to a separate
repository. ``audit verify --anchor FILE`` then proves that every anchored chain still
extends its head, which the chains alone cannot prove against someone who may cut a chain
short and move its stored head back with it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlmodel import Session

from onderwijsflow.clock import iso_local, wall_clock
from onderwijsflow.errors import IntegrityError, UsageError
from onderwijsflow.i18n import _, ngettext
from onderwijsflow.service.base import Base
from onderwijsflow.store import audit
from onderwijsflow.store.db import read_one_snapshot


class AuditOps(Base):
    """Verifying the whole audit log, and anchoring it."""

    def verify_audit(self, slug: str | None = None, *,
                     anchor: audit.Anchor | Mapping[str, Any] | str | Path | None = None,
                     ) -> dict[str, Any]:
        """Check every hash chain (or one region's), every case's state, and an anchor.

        Args:
            slug: only this region (its cases, and its head in the anchor).
            anchor: an anchor (``audit anchor``): the object, its document, or its file.

        Returns:
            ``{"ok", "regions", "events", "broken": [{"region", "seq", "reason"}], "cases",
            "case_mismatches", "anchor", "problems", "policy_broken"}``; ``problems`` has one
            sentence each; ``policy_broken`` the broken policy events (whole log only).

        Raises:
            NotFound: no region `slug`.
            UsageError: the anchor cannot be read or is not a whole anchor.
        """
        from onderwijsflow.store.roles import policy_hashes, verify_policy_chain

        loaded = load_anchor(anchor) if anchor is not None else None
        policy_problem: str | None = None
        with self._snapshot() as session:
            report = audit.verify(session, slug, anchor=loaded)
            # The policy's own chain (users, roles, write scope) is part of the whole log.
            policy_broken = verify_policy_chain(session.connection()) if slug is None else []
            if slug is None and loaded is not None and loaded.policy is not None:
                policy_problem = _policy_anchor_problem(policy_hashes(session.connection()),
                                                        loaded.policy)
        extra = report.extra_dict()
        if policy_broken:
            extra["problems"] = [*extra["problems"], _(
                "the policy log is broken at policy event {seq}: its hash or link does not "
                "match").format(seq=policy_broken[0])]
        if policy_problem is not None:
            extra["problems"] = [*extra["problems"], policy_problem]
        return {
            "ok": report.ok and not policy_broken and policy_problem is None,
            "regions": report.regions,
            "events": report.events,
            "broken": [
                {"region": region, "seq": seq, "reason": reason}
                for region, seq, reason in report.broken
            ],
            **extra,
            "policy_broken": policy_broken,
        }

    def audit_anchor(self, out: str | Path | None = None) -> dict[str, Any]:
        """The heads of every region's chain now, after verifying them all.

        Args:
            out: also write the anchor document to this file (atomically: a reader sees the
                old file or the whole new one).

        Returns:
            The anchor document: ``{"format", "root", "taken_at", "database", "regions",
            "events", "heads": [{"region", "seq", "hash"}]}``.

        Raises:
            IntegrityError: the log does not verify; an anchor would certify the damage.
            UsageError: `out` cannot be written.
        """
        from onderwijsflow.store.roles import policy_hashes, verify_policy_chain

        with self._snapshot() as session:
            report = audit.verify(session)
            policy_broken = verify_policy_chain(session.connection())
            policy = policy_hashes(session.connection())
        if not report.ok:
            raise IntegrityError(_("no anchor taken: the audit log does not verify ({problem})")
                                 .format(problem=report.problems[0]))
        if policy_broken:
            raise IntegrityError(_("no anchor taken: the policy log is broken at policy event {seq}")
                                 .format(seq=policy_broken[0]))
        heads = list(report.heads)
        if policy:
            top = max(policy)
            heads.append(audit.AnchorHead(audit.POLICY_HEAD, top, policy[top]))
        anchor = audit.Anchor(tuple(sorted(heads)), iso_local(wall_clock()) or "",
                              self.db.display_url)
        document = anchor.as_dict()
        if out is not None:
            write_atomically(Path(out), json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return document

    @contextmanager
    def _snapshot(self) -> Iterator[Session]:
        """A read-only transaction that sees one moment of the whole database.

        On PostgreSQL it is REPEATABLE READ, so that the heads, the events and the cases a
        verification reads agree even while coordinators write; a SQLite read transaction
        already is one snapshot.
        """
        with self.reading() as session:
            read_one_snapshot(session)
            yield session


def load_anchor(anchor: audit.Anchor | Mapping[str, Any] | str | Path) -> audit.Anchor:
    """An anchor from its object, its document or its file.

    Raises:
        UsageError: the file cannot be read, is not JSON, or is not a whole anchor.
    """
    if isinstance(anchor, audit.Anchor):
        return anchor
    where = _("the anchor")
    if isinstance(anchor, str | Path):
        where = _("the anchor file {path}").format(path=anchor)
        try:
            document: Any = json.loads(Path(anchor).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(_("{where} cannot be read: {reason}").format(
                where=where, reason=exc.strerror or exc)) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(_("{where} is not JSON: {reason}").format(
                where=where, reason=exc)) from None
    else:
        document = dict(anchor)
    try:
        return audit.Anchor.from_dict(document)
    except ValueError as exc:
        raise UsageError(_("{where} is not usable: {reason}").format(
            where=where, reason=exc)) from None


def write_atomically(path: Path, content: str) -> None:
    """Write `content` to `path` through a synced temporary file renamed over it.

    Raises:
        UsageError: the directory does not exist or cannot be written.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(_("cannot write {path}: {reason}").format(
            path=path, reason=exc.strerror or exc)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(_("cannot write {path}: {reason}").format(
            path=path, reason=exc.strerror or exc)) from None


def _policy_anchor_problem(hashes: Mapping[int, str], anchored: audit.AnchorHead) -> str | None:
    """Why the policy log no longer extends its anchored head (None: it does)."""
    found = hashes.get(anchored.seq)
    if found == anchored.hash:
        return None
    if not hashes or max(hashes) < anchored.seq:
        return _("the policy log has {found} where the anchor saw {events}: policy events were "
                 "deleted from its end").format(
            found=ngettext("{n} event", "{n} events", max(hashes, default=0)).format(
                n=max(hashes, default=0)),
            events=ngettext("{n} event", "{n} events", anchored.seq).format(n=anchored.seq))
    return _("policy event {seq} is not the event the anchor recorded: the policy log was "
             "rolled back and written again").format(seq=anchored.seq)
