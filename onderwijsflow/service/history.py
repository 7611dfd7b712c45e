"""Use cases on the audit log: a region's history, its state on a past date, and verification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from onderwijsflow.clock import iso_local
from onderwijsflow.errors import NotFound, UsageError
from onderwijsflow.i18n import _
from onderwijsflow.service.base import Base
from onderwijsflow.shapes import HistoryJson
from onderwijsflow.store.tables import Event

#: Event kinds that change a case's state (`case_opened` puts it in its initial state, a
#: migration moves it to a new workflow version and maybe a renamed state).
STATE_KINDS = ("transition", "case_opened", "migrated")
#: Event kinds listed by `history` without `--all`: the status history.
STATUS_KINDS = ("transition", "migrated")


class HistoryOps(Base):
    """Reading and proving the audit log."""

    def history(
        self,
        slug: str,
        *,
        workflow: str | None = None,
        as_of: datetime | None = None,
        all_events: bool = False,
        since: datetime | None = None,
        kinds: tuple[str, ...] = (),
        limit: int | None = None,
    ) -> HistoryJson:
        """A region's status history (every event with `all_events`).

        Args:
            as_of: only events up to this moment, and the state of each case then.
            since: only events from this moment on.
            kinds: only events of these kinds (``refused``, ``fact_set``, ...); implies all.
            limit: only the last `limit` of the events selected.

        Returns:
            ``{"region", "events": [...]}`` per design §4, plus ``"state"`` with `as_of`.
        """
        if limit is not None and limit < 1:
            raise UsageError(_("--limit must be 1 or more, got {limit}").format(limit=limit))
        with self.reading() as session:
            region = self.region_in(session, slug)
            query = select(Event).where(col(Event.region_id) == region.id).order_by(col(Event.seq))
            if as_of is not None:
                query = query.where(col(Event.at) <= as_of)
            events = list(session.exec(query))
        if workflow is not None:
            events = [e for e in events if e.workflow in (workflow, None)]
        shown = [e for e in events
                 if (e.kind in kinds if kinds else all_events or e.kind in STATUS_KINDS)
                 and (since is None or e.at >= since)]
        out: HistoryJson = {
            "region": slug,
            "events": [_event_json(e) for e in (shown[-limit:] if limit else shown)],
        }
        if as_of is not None:
            out["as_of"] = iso_local(as_of)
            out["state"], out["versions"] = _states(events)
        return out

    def event(self, slug: str, seq: int) -> dict[str, Any]:
        """One event of a region's history with its full evidence and data.

        Raises:
            NotFound: the region has no event `seq`.
        """
        with self.reading() as session:
            region = self.region_in(session, slug)
            found = session.exec(select(Event).where(col(Event.region_id) == region.id,
                                                     col(Event.seq) == seq)).first()
        if found is None:
            raise NotFound(_("{slug} has no event {seq} (it has {count})").format(
                slug=slug, seq=seq, count=region.event_seq))
        return {"region": slug, "event": _event_json(found)}

def _states(events: list[Event]) -> tuple[dict[str, str], dict[str, int]]:
    """The state and workflow version of each case after `events` (keyed by workflow,
    `workflow/round` if needed)."""
    by_case: dict[int, tuple[str, str, str, int]] = {}
    for e in events:
        if e.kind in STATE_KINDS and e.case_id is not None and e.to_state:
            data = e.data or {}
            previous = by_case.get(e.case_id)
            if e.kind == "case_opened":
                key_round, version = data.get("round") or "", data.get("version") or 0
            else:
                key_round = previous[1] if previous else ""
                version = previous[3] if previous else 0
            if e.kind == "migrated":
                version = data.get("to_version", version)
            by_case[e.case_id] = (e.workflow or "", key_round, e.to_state, version)
    keys = [entry[0] for entry in by_case.values()]
    states, versions = {}, {}
    for workflow, round_, state, version in by_case.values():
        key = f"{workflow}/{round_}" if round_ and keys.count(workflow) > 1 else workflow
        states[key] = state
        versions[key] = version
    return states, versions


def _event_json(e: Event) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": iso_local(e.at),
        "recorded_at": iso_local(e.recorded_at),
        "actor": e.actor,
        "workflow": e.workflow,
        "kind": e.kind,
        "trigger": e.trigger,
        "from": e.from_state,
        "to": e.to_state,
        "reason": e.reason,
        "data": e.data,
        "hash": e.hash,
        "decision": (e.data or {}).get("decision"),
        **({"from_version": e.data.get("from_version"), "to_version": e.data.get("to_version")}
           if e.kind == "migrated" else {}),
    }
