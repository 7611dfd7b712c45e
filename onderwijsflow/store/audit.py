"""The audit log: append-only, hash-chained per region, verifiable.

Each event's hash is the SHA-256 of its predecessor's hash followed by a canonical JSON
text of its own fields (everything but ``id`` and ``hash``). Changing, removing or
reordering any event therefore breaks the chain from that point on, and `verify` names the
first broken event of each region. The region row holds the head of its chain
(``event_seq``, ``event_hash``), so a deleted last event is noticed too.

The database itself refuses UPDATE and DELETE on the events table (see the migrations);
the chain is what proves that nobody got around that.

Whoever owns the database can still cut a chain short and move the head back with it, or
drop a region whole: what is left is a consistent, shorter log. An `Anchor`, the heads of
every chain written down elsewhere (``audit anchor``), catches that: a later `verify` against
it names each region whose chain no longer extends its anchored head. `verify` also replays
every case's state changes and names each case whose stored state its history contradicts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import inspect, select
from sqlmodel import Session, col

from onderwijsflow.chain import HASHED_FIELDS as HASHED_FIELDS
from onderwijsflow.chain import canonical_json as canonical_json
from onderwijsflow.chain import event_hash as event_hash
from onderwijsflow.chain import moment_text
from onderwijsflow.clock import wall_clock
from onderwijsflow.errors import NotFound
from onderwijsflow.i18n import _, ngettext
from onderwijsflow.store.db import Encoded, JsonText, writers_serialized
from onderwijsflow.store.tables import Case, Event, Region

__all__ = [
    "ANCHOR_FORMAT",
    "HASHED_FIELDS",
    "POLICY_HEAD",
    "Anchor",
    "AnchorHead",
    "AnchorProblem",
    "BrokenEvent",
    "CaseMismatch",
    "EventBatch",
    "VerifyReport",
    "anchor_root",
    "append_event",
    "canonical_json",
    "event_fields",
    "event_hash",
    "verify",
]

#: How many events `verify` fetches per round trip.
_BATCH = 1000

#: The anchor's head of the policy log (users, roles, write scope), beside the regions' heads:
#: no slug can be spelt so.
POLICY_HEAD = "(policy)"

#: The version of the anchor document (``audit anchor``); `Anchor.from_dict` refuses others.
ANCHOR_FORMAT = 1

#: Event kinds that set a case's state: its opening, a transition, a migration to a new
#: workflow version (a refused attempt names a destination it did not reach).
STATE_KINDS = ("case_opened", "transition", "migrated")


# --- hashing: `canonical_json`, `event_hash` and `HASHED_FIELDS` live in onderwijsflow.chain


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
    decoded: bool = True,
) -> dict[str, Any]:
    """Every column of the next event after the head (`head_seq`, `head_hash`), hash included.

    Args:
        decoded: give `data` as the value stored (an `Encoded` mapping); else as its text
            alone (a `JsonText`), for a bulk write that does not read it back.

    Raises:
        ValueError: `at` is naive.
    """
    if at.utcoffset() is None:
        raise ValueError("the effective time of an event must be an aware datetime")
    # Store exactly what is hashed: tuples become lists, datetimes text, and so on.
    data_text = canonical_json(dict(data or {}))
    stored_data = Encoded(json.loads(data_text), data_text) if decoded else JsonText(data_text)
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
    fields["hash"] = _hash_with_data(head_hash, fields, data_text)
    return fields


def _hash_with_data(prev_hash: str, fields: Mapping[str, Any], data_text: str) -> str:
    """`event_hash`, reusing the canonical text of `data` (most of an event's bytes) instead of
    encoding it a second time. Sorted, ``data`` comes right before ``from_state``, and in
    canonical JSON ``,"from_state":`` can only be that key (a quote inside a string value is
    escaped), so splicing gives exactly the text `event_hash` encodes."""
    # The moments as the text canonical JSON gives them: the same output, without the
    # encoder calling back into Python for each of them.
    hashed = {name: fields.get(name) for name in HASHED_FIELDS if name != "data"}
    rest = canonical_json({name: moment_text(value) if isinstance(value, datetime) else value
                           for name, value in hashed.items()})
    content = rest.replace(',"from_state":', ',"data":' + data_text + ',"from_state":', 1)
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


class ChainHolder(Protocol):
    """What carries a region's chain head: the ORM `Region`, or a plain row (an import's)."""

    @property
    def id(self) -> int | None: ...

    event_seq: int
    event_hash: str


class EventBatch:
    """Events of many regions, appended in memory and written with two statements.

    The one batch writer of bulk work (``advance-all``, imports, the scheduler's delivery)
    that already holds the lock of every region it touches (``SELECT ... FOR UPDATE`` on
    PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite): building thousands of ORM objects and
    flushing them one by one would cost more than the decisions themselves. The chain is
    computed exactly as `append_event` does, from each region's head when the batch first
    sees it; `write` moves the heads in the database and on the holders.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._heads: dict[int, tuple[ChainHolder, int, str]] = {}
        self._latest: dict[int, datetime] = {}

    def append(self, region: ChainHolder, **fields: Any) -> dict[str, Any]:
        """Add the next event of `region` (keyword arguments as for `append_event`); its
        ``data`` is the canonical text (`JsonText`)."""
        assert region.id is not None
        _, seq, prev = self._heads.get(region.id, (region, region.event_seq, region.event_hash))
        row = event_fields(region.id, seq, prev, decoded=False, **fields)
        self._heads[region.id] = (region, row["seq"], row["hash"])
        self.rows.append(row)
        latest = self._latest.get(region.id)
        if latest is None or row["at"] > latest:
            self._latest[region.id] = row["at"]
        return row

    def latest_at(self, region_id: int) -> datetime | None:
        """The latest effective time among the batch's events of a region (None: none yet)."""
        return self._latest.get(region_id)

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
            if isinstance(region, Region):  # the session's copy is current: no reload, no flush
                set_committed_value(region, "event_seq", seq)
                set_committed_value(region, "event_hash", head)
            else:
                region.event_seq, region.event_hash = seq, head
        self.rows.clear()
        self._heads.clear()
        self._latest.clear()


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
        writers_serialized(session)
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


class CaseMismatch(NamedTuple):
    """A case whose stored state is not the state its events lead to."""

    region: str
    workflow: str
    round: str
    case_id: int
    stored: str
    history: str | None

    @property
    def sentence(self) -> str:
        """E.g. "case 3 (regiovorming) of twente: the cases table says ..., its history says ..."."""
        workflow = f"{self.workflow}/{self.round}" if self.round else self.workflow
        if self.history is None:
            return _("case {case} ({workflow}) of region '{region}' is in state '{stored}', but its "
                     "history has no event that opened it").format(
                case=self.case_id, workflow=workflow, region=self.region, stored=self.stored)
        return _("case {case} ({workflow}) of region '{region}' is stored in state '{stored}', but "
                 "its history leads to '{history}'").format(
            case=self.case_id, workflow=workflow, region=self.region, stored=self.stored,
            history=self.history)


class AnchorProblem(NamedTuple):
    """A region whose chain no longer extends the head an anchor recorded for it.

    `problem` is ``deleted`` (the region is gone), ``truncated`` (fewer events than the anchor
    saw: the tail was removed) or ``rewritten`` (the anchored event is not the one there now).
    """

    region: str
    problem: str
    anchored_seq: int
    found_seq: int | None

    @property
    def sentence(self) -> str:
        """One sentence saying which region and what happened to it."""
        if self.problem == "deleted":
            return _("region '{region}' is in the anchor with {events}, but it no longer exists "
                     "in the database").format(
                region=self.region,
                events=ngettext("{n} event", "{n} events", self.anchored_seq).format(
                    n=self.anchored_seq))
        if self.problem == "truncated":
            return _("region '{region}' has {found} where the anchor saw {events}: events were "
                     "deleted from the end of its log").format(
                region=self.region,
                found=ngettext("{n} event", "{n} events", self.found_seq or 0).format(
                    n=self.found_seq or 0),
                events=ngettext("{n} event", "{n} events", self.anchored_seq).format(
                    n=self.anchored_seq))
        return _("event {seq} of region '{region}' is not the event the anchor recorded: its "
                 "log was rolled back and written again").format(
            seq=self.anchored_seq, region=self.region)


class AnchorHead(NamedTuple):
    """A region's chain head as an anchor records it."""

    region: str
    seq: int
    hash: str


@dataclass(frozen=True)
class Anchor:
    """The heads of every region's chain at one moment, kept outside the database.

    `root` is the SHA-256 of the canonical JSON of the format and the heads (sorted by
    region), one value to compare with what was mailed or committed elsewhere; `regions`
    and `events` are the counts, `taken_at` the wall-clock time (ISO 8601).
    """

    heads: tuple[AnchorHead, ...]
    taken_at: str
    database: str | None = None

    @property
    def root(self) -> str:
        """The root hash over every head."""
        return anchor_root(self.heads)

    @property
    def regions(self) -> int:
        """How many regions the anchor covers."""
        return sum(1 for head in self.heads if head.region != POLICY_HEAD)

    @property
    def events(self) -> int:
        """How many events the anchored region chains hold together."""
        return sum(head.seq for head in self.heads if head.region != POLICY_HEAD)

    @property
    def policy(self) -> AnchorHead | None:
        """The anchored head of the policy log (None in an anchor taken before it had one)."""
        return next((head for head in self.heads if head.region == POLICY_HEAD), None)

    def as_dict(self) -> dict[str, Any]:
        """The anchor document (``audit anchor --json`` and ``--out``)."""
        return {
            "format": ANCHOR_FORMAT,
            "root": self.root,
            "taken_at": self.taken_at,
            "database": self.database,
            "regions": self.regions,
            "events": self.events,
            "heads": [{"region": h.region, "seq": h.seq, "hash": h.hash} for h in self.heads],
        }

    @classmethod
    def from_dict(cls, document: Any) -> Anchor:
        """Read an anchor document back, checking that it is whole.

        Raises:
            ValueError: not an anchor of this format, or its root or counts do not match its
                heads (the file was damaged or edited); the message says which.
        """
        if not isinstance(document, dict) or "heads" not in document or "root" not in document:
            raise ValueError(_("it is not an onderwijsflow anchor (no root and heads)"))
        if document.get("format") != ANCHOR_FORMAT:
            raise ValueError(_("its format {found} is not {expected}").format(
                found=document.get("format"), expected=ANCHOR_FORMAT))
        heads: list[AnchorHead] = []
        for item in document["heads"] if isinstance(document["heads"], list) else [None]:
            if (not isinstance(item, dict) or not isinstance(item.get("region"), str)
                    or type(item.get("seq")) is not int or item["seq"] < 0
                    or not isinstance(item.get("hash"), str)):
                raise ValueError(_("a head is not a region, a seq and a hash: {item}").format(
                    item=json.dumps(item, ensure_ascii=False)[:200]))
            heads.append(AnchorHead(item["region"], item["seq"], item["hash"]))
        if len({head.region for head in heads}) != len(heads):
            raise ValueError(_("it names a region twice"))
        anchor = cls(tuple(sorted(heads)), str(document.get("taken_at") or ""),
                     document.get("database"))
        if document["root"] != anchor.root:
            raise ValueError(_("its root hash does not match its heads (the file was altered)"))
        if document.get("regions", anchor.regions) != anchor.regions or document.get(
                "events", anchor.events) != anchor.events:
            raise ValueError(_("its counts do not match its heads (the file was altered)"))
        return anchor


def anchor_root(heads: Iterable[AnchorHead]) -> str:
    """The root hash of an anchor: SHA-256 over the canonical JSON of format and sorted heads."""
    content = canonical_json({"format": ANCHOR_FORMAT,
                              "heads": [[h.region, h.seq, h.hash] for h in sorted(heads)]})
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass
class VerifyReport:
    """The outcome of `verify`: what was checked and every problem found.

    `broken` holds the first break of each region's chain, `mismatches` each case whose
    stored state its history contradicts, `anchor_problems` each region that no longer
    extends its anchored head (empty without an anchor). `heads` are the verified heads of
    the intact chains, what `Anchor` records.
    """

    regions: int = 0
    events: int = 0
    broken: list[BrokenEvent] = field(default_factory=list)
    cases: int = 0
    mismatches: list[CaseMismatch] = field(default_factory=list)
    anchor: Anchor | None = None
    anchor_problems: list[AnchorProblem] = field(default_factory=list)
    heads: list[AnchorHead] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every checked chain is intact, every case matches its history and every
        anchored head is still there."""
        return not (self.broken or self.mismatches or self.anchor_problems)

    @property
    def problems(self) -> list[str]:
        """Every problem as one sentence: chains, then anchor, then cases."""
        return ([b.sentence for b in self.broken] + [p.sentence for p in self.anchor_problems]
                + [m.sentence for m in self.mismatches])

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the chains (`extra_dict` has the cases and the anchor)."""
        return {
            "ok": self.ok,
            "regions": self.regions,
            "events": self.events,
            "broken": [
                {"region": b.region, "seq": b.seq, "reason": b.reason, "message": b.sentence}
                for b in self.broken
            ],
        }

    def extra_dict(self) -> dict[str, Any]:
        """The keys beyond the chains: the cases replayed and the anchor compared."""
        return {
            "cases": self.cases,
            "case_mismatches": [
                {"region": m.region, "workflow": m.workflow, "round": m.round or None,
                 "case_id": m.case_id, "stored": m.stored, "history": m.history,
                 "message": m.sentence}
                for m in self.mismatches
            ],
            "anchor": None if self.anchor is None else {
                "root": self.anchor.root,
                "taken_at": self.anchor.taken_at,
                "regions": self.anchor.regions,
                "events": self.anchor.events,
                "problems": [
                    {"region": p.region, "problem": p.problem, "anchored_seq": p.anchored_seq,
                     "found_seq": p.found_seq, "message": p.sentence}
                    for p in self.anchor_problems
                ],
            },
            "problems": self.problems,
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
    anchored: AnchorHead | None = None
    hash_at_anchor: str | None = None
    top: int = 0


def verify(session: Session, region_slug: str | None = None, *,
           anchor: Anchor | None = None) -> VerifyReport:
    """Recompute the hash chain of one region, or of every region, and replay its cases.

    Events are streamed in (region, seq) order in batches, so memory stays flat however
    long the log is (apart from one state per case). Checking a region stops at its first
    broken event: everything after it is suspect anyway.

    Args:
        session: any session (a read-only one is enough).
        region_slug: the region to check; None checks all.
        anchor: heads recorded earlier (``audit anchor``): each anchored region (the one
            region, with `region_slug`) must still exist and its chain extend its head.

    Returns:
        The report; ``report.ok`` is False when any chain is broken, any case's state
        differs from its history, or any anchored head is gone.

    Raises:
        NotFound: no region has slug `region_slug`.
    """
    anchored_slugs = {head.region for head in anchor.heads} if anchor is not None else set()
    heads = _load_heads(session, region_slug, missing_ok=region_slug in anchored_slugs)
    report = VerifyReport(regions=len(heads), anchor=anchor)
    by_slug = {head.slug: head for head in heads.values()}
    missing: list[AnchorHead] = []
    for anchored in anchor.heads if anchor is not None else ():
        if anchored.region == POLICY_HEAD or (region_slug is not None and anchored.region != region_slug):
            continue  # the policy log's head is compared by the caller, which reads that log
        if anchored.region in by_slug:
            by_slug[anchored.region].anchored = anchored
        else:
            missing.append(anchored)
    history: dict[int, str] = {}
    for row in _stream_events(session, region_ids=heads.keys() if region_slug else None):
        report.events += 1
        head = heads.get(row["region_id"])
        if head is None:
            # Events whose region row is gone: the region was deleted around its log.
            head = heads[row["region_id"]] = _Head(f"#{row['region_id']}", 0, "")
            head.broken = BrokenEvent(head.slug, row["seq"],
                                      _("the event belongs to a region that no longer exists"))
        if head.broken is None:
            head.broken = _check_event(head, row)
        head.top = max(head.top, row["seq"])
        if head.anchored is not None and row["seq"] == head.anchored.seq:
            head.hash_at_anchor = row["hash"]
        if row["kind"] in STATE_KINDS and row["case_id"] is not None and row["to_state"]:
            history[row["case_id"]] = row["to_state"]
    for head in heads.values():
        if head.broken is None:
            head.broken = _check_head(head)
        if head.broken is not None:
            report.broken.append(head.broken)
        elif not head.slug.startswith("#"):
            report.heads.append(AnchorHead(head.slug, head.seen, head.last_hash))
        if head.anchored is not None:
            problem = _check_anchored(head, head.anchored)
            if problem is not None:
                report.anchor_problems.append(problem)
    report.anchor_problems.extend(
        AnchorProblem(anchored.region, "deleted", anchored.seq, None) for anchored in missing)
    report.anchor_problems.sort(key=lambda problem: problem.region)
    report.heads.sort()
    _replay_cases(session, heads, history, report, whole=region_slug is None)
    return report


def _check_anchored(head: _Head, anchored: AnchorHead) -> AnchorProblem | None:
    """Whether `head`'s chain (as far as it was followed) still extends the anchored head."""
    if anchored.seq == 0:
        return None
    if head.hash_at_anchor is None:
        return AnchorProblem(head.slug, "truncated", anchored.seq, head.top)
    if head.hash_at_anchor != anchored.hash:
        return AnchorProblem(head.slug, "rewritten", anchored.seq, head.top)
    return None


def _replay_cases(session: Session, heads: Mapping[int, _Head], history: Mapping[int, str],
                  report: VerifyReport, *, whole: bool) -> None:
    """Compare each case's stored state with the state its events lead to."""
    columns = Case.__table__.c  # type: ignore[attr-defined]
    query = select(columns.id, columns.region_id, columns.workflow, columns.round,
                   columns.state).order_by(columns.region_id, columns.id)
    if not whole:
        query = query.where(columns.region_id.in_(list(heads)))
    for row in session.execute(query):
        report.cases += 1
        replayed = history.get(row.id)
        if replayed != row.state:
            head = heads.get(row.region_id)
            report.mismatches.append(CaseMismatch(
                head.slug if head is not None else f"#{row.region_id}", row.workflow,
                row.round or "", row.id, row.state, replayed))


def _load_heads(session: Session, region_slug: str | None, *,
                missing_ok: bool = False) -> dict[int, _Head]:
    query = select(
        col(Region.id), col(Region.slug), col(Region.event_seq), col(Region.event_hash)
    ).order_by(col(Region.id))
    if region_slug is not None:
        query = query.where(col(Region.slug) == region_slug)
    heads = {row.id: _Head(row.slug, row.event_seq, row.event_hash) for row in session.execute(query)}
    if region_slug is not None and not heads and not missing_ok:
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
