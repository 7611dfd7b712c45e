"""Peers: the workload of one `advance` (and of `advance-all`) done with other libraries.

The workload mirrors ``verleen_definitieve_status`` on the frozen regiovorming workflow, the
trigger the engine, advance and advance-all rows fire: a region with 7 partners, 2 roles,
4 documents and 4 facts (`benchmarks.seeding`), a case in ``aanvraag_ingediend`` or
``in_oprichting`` moved to ``definitieve_status`` when 9 conditions hold, each reading the
rows of the region as the 9 requirements do (partner kinds, roles, document kinds, facts).
Each advance, in one transaction on SQLite in WAL mode with ``synchronous=FULL``, reads the
case and its region's rows, fires the transition with its 9 conditions, writes the case's new
state and one history row that carries the evidence of each condition, hash-chained per
region (sha256 over the previous hash + canonical JSON of the event), as onderwijsflow's
audit event is. `advance_all` does the same over every case in a state, a machine per case,
in batches of 500 (one transaction per batch), as `Onderwijsflow.advance_all` does.

Two peers: `django_fsm` (django-fsm-2, a Django model with an ``FSMField``, a ``@transition``
with 9 ``conditions``) and `statemachine` (python-statemachine, 9 ``cond`` guards, persisted
with plain sqlite3). Both are optional (``pip install .[bench]``); `load` says when one is
missing and the table prints that instead of a figure.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from benchmarks.seeding import DOCUMENTS, FACTS, PARTNERS, ROLES
from benchmarks.seeding import TRIGGER as TRIGGER
from benchmarks.table import PEER_MISSING
from benchmarks.timing import timed_loop

WORKFLOW = "regiovorming"
SOURCES = ("aanvraag_ingediend", "voorlopige_status", "in_oprichting")
DEST = "definitieve_status"
BATCH = 500  # Onderwijsflow.advance_all's default batch


@dataclass
class Snapshot:
    """What the 9 conditions read: the region's rows, as loaded by the peer."""

    partner_kinds: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    facts: dict[str, int] = field(default_factory=dict)


def _partner(*kinds: str) -> Callable[[Snapshot], bool]:
    return lambda s: any(k in kinds for k in s.partner_kinds)


def _document(kind: str) -> Callable[[Snapshot], bool]:
    return lambda s: kind in s.documents


def _fact_at_least(*pairs: tuple[str, int]) -> Callable[[Snapshot], bool]:
    return lambda s: any(s.facts.get(name, -1) >= least for name, least in pairs)


#: The 9 requirements of verleen_definitieve_status (tests/data/workflows-2024/regiovorming.yaml).
CONDITIONS: list[tuple[str, Callable[[Snapshot], bool]]] = [
    ("schoolbestuur_betrokken", _partner("schoolbestuur")),
    ("lerarenopleiding_betrokken", _partner("lerarenopleiding")),
    ("beroepsgroep_betrokken", _partner("beroepsgroep", "vakbond")),
    ("uitvoeringskracht_aangesteld", lambda s: any(r in ("programmamanager", "projectleider")
                                                   for r in s.roles)),
    ("governance_vastgelegd", _document("governance")),
    ("arbeidsmarktanalyse_aanwezig", _document("arbeidsmarktanalyse")),
    ("plan_van_aanpak_aanwezig", _document("plan_van_aanpak")),
    ("omvang_voldoende", _fact_at_least(("leerlingen_po", 15000), ("leerlingen_vo", 15000),
                                        ("studenten_mbo", 9000))),
    ("opleidingsaantal_voldoende", _fact_at_least(("opgeleide_studenten_2023", 150))),
]


def canonical(event: dict[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain(prev_hash: str, event: dict[str, Any]) -> str:
    """The hash of an event: sha256 over the previous hash and the event's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical(event)).encode()).hexdigest()


def transition_event(slug: str, case_id: int, seq: int, source: str, at: datetime) -> dict[str, Any]:
    """The history row's content: who, when, what, and each condition's evidence."""
    return {"kind": "transition", "region": slug, "case": case_id, "seq": seq, "workflow": WORKFLOW,
            "trigger": TRIGGER, "from": source, "to": DEST, "at": at.isoformat(), "actor": "bench",
            "evidence": [{"requirement": name, "passed": True} for name, _ in CONDITIONS]}


def now() -> datetime:
    return datetime.now(UTC)


#: The rows of every seeded region (the same as `benchmarks.seeding.populate` fills).
REGION_PARTNERS = PARTNERS
REGION_ROLES = ROLES
REGION_DOCUMENTS = DOCUMENTS
REGION_FACTS = FACTS


def region_snapshot() -> Snapshot:
    """What a peer loads for one seeded region."""
    return Snapshot([k for _, k, _ in REGION_PARTNERS], [r for r, _, _ in REGION_ROLES],
                    list(REGION_DOCUMENTS), dict(REGION_FACTS))


class Peer(Protocol):
    """What `benchmarks.advance` and `benchmarks.advance_all` need of a peer."""

    name: str

    def seed(self, prefix: str, count: int, state: str) -> list[str]:
        """`count` regions with a case in `state`; their slugs (untimed)."""

    def advance(self, slug: str) -> None:
        """Fire the trigger on the region's case: one transaction."""

    def advance_all(self, state: str, batch: int = BATCH) -> int:
        """Fire the trigger on every case in `state`; the number moved."""

    def moved(self) -> int:
        """Cases in the destination state (a sanity check)."""

    def verify(self, slug: str) -> bool:
        """The region's history chain recomputes."""

    def close(self) -> None: ...


#: The peers, by module name under benchmarks.peers, with the distributions they need.
PEERS = {"django_fsm": ("django-fsm-2", ["django", "django_fsm"]),
         "statemachine": ("python-statemachine", ["statemachine"])}


def load(module: str, work: Path) -> Peer | str:
    """The peer of `module` with its database in `work`, or the text to print instead."""
    label, needs = PEERS[module]
    for name in needs:
        try:
            importlib.import_module(name)
        except ImportError:
            return PEER_MISSING
    work.mkdir(parents=True, exist_ok=True)
    peer = importlib.import_module(f"benchmarks.peers.{module}").make(work)
    assert isinstance(peer.name, str) and label in peer.name
    return peer  # type: ignore[no-any-return]


@dataclass
class PerCase:
    """Sequential single advances: ms per case by wall clock and CPU, and how many ran."""

    ms: float
    cpu_ms: float
    done: int


def per_case(peer: Peer, slugs: list[str], budget: float) -> PerCase:
    """One warm-up, then `advance` over `slugs` until done or `budget` seconds are spent."""
    peer.advance(slugs[0])
    done, wall, cpu = timed_loop(slugs[1:], budget, peer.advance)
    return PerCase(wall / done * 1000, cpu / done * 1000, done)


def bulk(peer: Peer, state: str) -> tuple[int, float, float]:
    """One `advance_all` over every case in `state`: (moved, wall s, CPU s)."""
    start, start_cpu = time.perf_counter(), time.process_time()
    moved = peer.advance_all(state)
    return moved, time.perf_counter() - start, time.process_time() - start_cpu
