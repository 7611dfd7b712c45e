"""The audit log: append-only, hash-chained per region, verifiable.

Each event's hash is the SHA-256 of its predecessor's hash followed by a canonical JSON
text of its own fields (everything but ``id`` and ``hash``). Changing, removing or
reordering any event therefore breaks the chain from that point on, and `verify` names the
first broken event of each region. The region row holds the head of its chain
(``event_seq``, ``event_hash``), so a deleted last event is noticed too.

The database itself refuses UPDATE and DELETE on the events table (see the migrations);
the chain is what proves that nobody got around that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import inspect, select
from sqlmodel import Session, col

from onderwijsflow.clock import wall_clock
from onderwijsflow.errors import NotFound
from onderwijsflow.i18n import _, ngettext
from onderwijsflow.store.tables import Event, Region

__all__ = [
    "HASHED_FIELDS",
    "BrokenEvent",
    "EventBatch",
    "VerifyReport",
    "append_event",
    "canonical_json",
    "event_fields",
    "event_hash",
    "verify",
]

#: The event fields covered by its hash, i.e. every column except ``id`` and ``hash``.
HASHED_FIELDS: tuple[str, ...] = (
    "region_id",
    "seq",
    "case_id",
    "workflow",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "reason",
    "at",
    "recorded_at",
    "data",
    "prev_hash",
)

#: How many events `verify` fetches per round trip.
_BATCH = 1000


# --- hashing -----------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """One fixed JSON text for `value`: sorted keys, no spaces, no NaN.

    Datetimes become ISO 8601 in UTC with microseconds (what both databases store), dates
    ISO 8601 and decimals their exact text, so that a value read back from the database
    encodes exactly as it did before it was written.

    Raises:
        TypeError: `value` holds something JSON cannot represent.
        ValueError: `value` holds NaN or an infinity.
    """
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_encode,
    )


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise TypeError(f"naive datetime {value!r} cannot be hashed; use an aware one")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-serialisable")


def event_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The hash of an event: SHA-256 over `prev_hash` and the canonical JSON of `fields`.

    Args:
        prev_hash: the hash of the region's previous event ("" for its first).
        fields: the event's `HASHED_FIELDS` (extra keys are ignored).

    Returns:
        64 lower-case hex digits.
    """
    content = canonical_json({name: fields.get(name) for name in HASHED_FIELDS})
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


# --- writing -----------------------------------------------------------------------------


def append_event(
    session: Session,
    region: Region,
    *,
    kind: str,
    actor: str,
    at: datetime,
    case_id: int | None = None,
    workflow: str | None = None,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    flush: bool = True,
) -> Event:
    """Append one event to `region`'s chain, inside the caller's transaction.

    The region row is re-read with ``SELECT ... FOR NO KEY UPDATE``: on PostgreSQL concurrent
    appends to one region queue there and each sees the head its predecessor wrote (on
    SQLite, ``BEGIN IMMEDIATE`` already serializes writers, see `_locked_head`). The
    event and the new head are flushed, not committed: they commit or roll back with the
    change they record.

    Args:
        session: the session of the surrounding write transaction.
        region: the region the event belongs to (any copy; its current row is used).
        kind: ``transition``, ``refused``, ``case_opened``, ``fact_set``, ...
        actor: who did it (``scheduler`` for automatic actions).
        at: the effective moment (a simulated clock may set it); must be aware.
        data: JSON-safe details: evidence, old and new values, overridden requirements.
            Datetimes, dates and decimals are stored as text (see `canonical_json`).
        flush: False leaves the INSERT to the next flush or the commit, so that bulk
            work (``advance-all``) writes its events in batches; the event then has no
            id yet.

    Returns:
        The event, with its seq and hash (and its id, once flushed).

    Raises:
        ValueError: `at` is naive.
        TypeError: `data` holds a value JSON cannot represent.
    """
    head = _locked_head(session, region)
    fields = event_fields(head.id, head.event_seq, head.event_hash, kind=kind, actor=actor, at=at,
                          case_id=case_id, workflow=workflow, trigger=trigger,
                          from_state=from_state, to_state=to_state, reason=reason, data=data)
    event = Event(**fields)
    head.event_seq = event.seq
    head.event_hash = event.hash
    session.add(event)
    if flush:
        session.flush()
    return event


def event_fields(
    region_id: int | None,
    head_seq: int,
    head_hash: str,
    *,
    kind: str,
    actor: str,
    at: datetime,
    case_id: int | None = None,
    workflow: str | None = None,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every column of the next event after the head (`head_seq`, `head_hash`), hash included.

    Raises:
        ValueError: `at` is naive.
    """
    if at.utcoffset() is None:
        raise ValueError("the effective time of an event must be an aware datetime")
    # Store exactly what is hashed: tuples become lists, datetimes text, and so on.
    stored_data = json.loads(canonical_json(dict(data or {})))
    fields: dict[str, Any] = {
        "region_id": region_id,
        "seq": head_seq + 1,
        "case_id": case_id,
        "workflow": workflow,
        "kind": kind,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor": actor,
        "reason": reason,
        "at": at.astimezone(UTC),
        "recorded_at": wall_clock(),
        "data": stored_data,
        "prev_hash": head_hash,
    }
    fields["hash"] = event_hash(head_hash, fields)
    return fields


class EventBatch:
    """Events of many regions, appended in memory and written with two statements.

    For bulk work (``advance-all``, imports) that already holds the lock of every region
    it touches (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite):
    building thousands of ORM objects and flushing them one by one would cost more than
    the decisions themselves. The chain is computed exactly as `append_event` does.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._heads: dict[int, tuple[Region, int, str]] = {}

    def append(self, region: Region, **fields: Any) -> dict[str, Any]:
        """Add the next event of `region` (keyword arguments as for `append_event`)."""
        assert region.id is not None
        _, seq, prev = self._heads.get(region.id, (region, region.event_seq, region.event_hash))
        row = event_fields(region.id, seq, prev, **fields)
        self._heads[region.id] = (region, row["seq"], row["hash"])
        self.rows.append(row)
        return row

    def write(self, session: Session) -> None:
        """INSERT the events and move every region's head, in the caller's transaction."""
        if not self.rows:
            return
        from sqlalchemy import bindparam, insert, update
        from sqlalchemy.orm.attributes import set_committed_value

        session.execute(insert(Event.__table__), self.rows)  # type: ignore[attr-defined]
        regions = Region.__table__  # type: ignore[attr-defined]
        session.execute(
            update(regions).where(regions.c.id == bindparam("rid"))
            .values(event_seq=bindparam("seq"), event_hash=bindparam("head")),
            [{"rid": rid, "seq": seq, "head": head} for rid, (_, seq, head) in self._heads.items()],
        )
        for region, seq, head in self._heads.values():
            set_committed_value(region, "event_seq", seq)
            set_committed_value(region, "event_hash", head)
        self.rows.clear()
        self._heads.clear()


def _locked_head(session: Session, region: Region) -> Region:
    """The region row with its current chain head, locked for this transaction.

    On PostgreSQL this is ``SELECT ... FOR NO KEY UPDATE``. On SQLite the whole transaction
    already holds the write lock (``BEGIN IMMEDIATE``), so a copy that this session
    loaded or wrote is current and the round trip is skipped (a quarter of the cost of an
    append). Were it ever stale, the unique (region_id, seq) constraint would refuse the
    event rather than let the chain fork.
    """
    state = inspect(region)
    if state.session is session and state.pending:
        session.flush()  # a region created in this transaction: give it its id first
    if (
        session.get_bind().dialect.name == "sqlite"
        and state.session is session
        and state.persistent
        and not state.expired_attributes
    ):
        return region
    # FOR NO KEY UPDATE, not FOR UPDATE: inserting a row that references the region (a
    # partner, a fact, an outbox row) takes a KEY SHARE lock on it, which FOR UPDATE
    # conflicts with. Two transactions that each inserted such a row and then asked for
    # FOR UPDATE deadlocked (measured: "deadlock detected" for concurrent partner adds).
    # NO KEY UPDATE still serializes appends, and the head update is a non-key update.
    locked: Region = session.execute(
        select(Region)
        .where(col(Region.id) == region.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()
    return locked


# --- verifying ---------------------------------------------------------------------------


class BrokenEvent(NamedTuple):
    """The first event of a region whose chain does not hold, and why."""

    region: str
    seq: int
    reason: str

    @property
    def sentence(self) -> str:
        """E.g. "event 7 of zuidoost-brabant: its hash does not match its content (...)"."""
        return _("event {seq} of {region}: {reason}").format(
            seq=self.seq, region=self.region, reason=self.reason)


@dataclass
class VerifyReport:
    """The outcome of `verify`: what was checked and the first break of each region."""

    regions: int = 0
    events: int = 0
    broken: list[BrokenEvent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every checked chain is intact."""
        return not self.broken

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for ``audit verify --json``."""
        return {
            "ok": self.ok,
            "regions": self.regions,
            "events": self.events,
            "broken": [
                {"region": b.region, "seq": b.seq, "reason": b.reason, "message": b.sentence}
                for b in self.broken
            ],
        }


@dataclass
class _Head:
    """A region's stored chain head, and how far its events have been followed."""

    slug: str
    event_seq: int
    event_hash: str
    seen: int = 0
    last_hash: str = ""
    broken: BrokenEvent | None = None


def verify(session: Session, region_slug: str | None = None) -> VerifyReport:
    """Recompute the hash chain of one region, or of every region.

    Events are streamed in (region, seq) order in batches, so memory stays flat however
    long the log is. Checking a region stops at its first broken event: everything after
    it is suspect anyway.

    Args:
        session: any session (a read-only one is enough).
        region_slug: the region to check; None checks all.

    Returns:
        The report; ``report.ok`` is False when any chain is broken.

    Raises:
        NotFound: no region has slug `region_slug`.
    """
    heads = _load_heads(session, region_slug)
    report = VerifyReport(regions=len(heads))
    for row in _stream_events(session, region_ids=heads.keys() if region_slug else None):
        report.events += 1
        head = heads[row["region_id"]]
        if head.broken is None:
            head.broken = _check_event(head, row)
    for head in heads.values():
        if head.broken is None:
            head.broken = _check_head(head)
        if head.broken is not None:
            report.broken.append(head.broken)
    return report


def _load_heads(session: Session, region_slug: str | None) -> dict[int, _Head]:
    query = select(
        col(Region.id), col(Region.slug), col(Region.event_seq), col(Region.event_hash)
    ).order_by(col(Region.id))
    if region_slug is not None:
        query = query.where(col(Region.slug) == region_slug)
    heads = {row.id: _Head(row.slug, row.event_seq, row.event_hash) for row in session.execute(query)}
    if region_slug is not None and not heads:
        raise NotFound(_("no region '{slug}'").format(slug=region_slug))
    return heads


def _stream_events(session: Session, region_ids: Iterable[int] | None) -> Iterator[Mapping[str, Any]]:
    columns = Event.__table__.c  # type: ignore[attr-defined]
    query = select(columns.hash, *(columns[name] for name in HASHED_FIELDS)).order_by(
        columns.region_id, columns.seq
    )
    if region_ids is not None:
        query = query.where(columns.region_id.in_(list(region_ids)))
    result = session.execute(query.execution_options(yield_per=_BATCH))
    for row in result:
        # Keyed by the selected columns' names; RowMapping's key type also admits Column objects.
        yield cast("Mapping[str, Any]", row._mapping)


def _check_event(head: _Head, row: Mapping[str, Any]) -> BrokenEvent | None:
    """Follow `head`'s chain one event further; the break found at `row`, if any."""
    seq = row["seq"]
    expected = head.seen + 1
    head.seen = seq
    if seq != expected:
        return BrokenEvent(head.slug, seq, _("sequence gap: event {seq} missing").format(seq=expected))
    if row["prev_hash"] != head.last_hash:
        if seq == 1:
            return BrokenEvent(head.slug, seq, _("prev_hash is not empty for the first event"))
        return BrokenEvent(head.slug, seq, _("prev_hash does not match event {seq}").format(seq=seq - 1))
    if event_hash(row["prev_hash"], row) != row["hash"]:
        return BrokenEvent(
            head.slug, seq, _("its hash does not match its content (altered after it was written)")
        )
    head.last_hash = row["hash"]
    return None


def _check_head(head: _Head) -> BrokenEvent | None:
    """Compare a fully followed chain with the head stored on the region row."""
    if head.event_seq != head.seen:
        return BrokenEvent(
            head.slug,
            max(head.event_seq, head.seen),
            ngettext("region head says {expected} event, {found} found",
                     "region head says {expected} events, {found} found", head.event_seq).format(
                expected=head.event_seq, found=head.seen),
        )
    if head.event_hash != head.last_hash:
        return BrokenEvent(head.slug, head.seen,
                           _("region head hash does not match event {seq}").format(seq=head.seen))
    return None
