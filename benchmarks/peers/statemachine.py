"""Peer (b): python-statemachine. A `StateMachine` whose transition has the 9 conditions as
``cond`` guards, one machine per case bound to the case's row object; persisted with plain
``sqlite3`` (WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE``), one hash-chained history row per
transition in the same transaction."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from benchmarks.peers import (
    BATCH,
    CONDITIONS,
    DEST,
    REGION_DOCUMENTS,
    REGION_FACTS,
    REGION_PARTNERS,
    REGION_ROLES,
    SOURCES,
    TRIGGER,
    WORKFLOW,
    Snapshot,
    canonical,
    chain,
    now,
    transition_event,
)

SCHEMA = """
CREATE TABLE regions (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                      event_seq INTEGER NOT NULL, event_hash TEXT NOT NULL);
CREATE TABLE partners (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL REFERENCES regions(id),
                       name TEXT NOT NULL, kind TEXT NOT NULL, sector TEXT);
CREATE INDEX ix_partners_region ON partners(region_id);
CREATE TABLE roles (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL REFERENCES regions(id),
                    role TEXT NOT NULL, person TEXT NOT NULL, email TEXT);
CREATE INDEX ix_roles_region ON roles(region_id);
CREATE TABLE documents (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL REFERENCES regions(id),
                        kind TEXT NOT NULL, title TEXT NOT NULL, ref TEXT NOT NULL, date TEXT NOT NULL);
CREATE INDEX ix_documents_region ON documents(region_id);
CREATE TABLE facts (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL REFERENCES regions(id),
                    name TEXT NOT NULL, value INTEGER NOT NULL);
CREATE INDEX ix_facts_region ON facts(region_id);
CREATE TABLE cases (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL REFERENCES regions(id),
                    workflow TEXT NOT NULL, state TEXT NOT NULL, state_entered_at TEXT NOT NULL,
                    lock_version INTEGER NOT NULL DEFAULT 0);
CREATE INDEX ix_cases_region ON cases(region_id);
CREATE INDEX ix_cases_workflow_state ON cases(workflow, state);
CREATE TABLE history (id INTEGER PRIMARY KEY, region_id INTEGER NOT NULL REFERENCES regions(id),
                      case_id INTEGER REFERENCES cases(id), seq INTEGER NOT NULL, kind TEXT NOT NULL,
                      trigger TEXT, from_state TEXT, to_state TEXT, actor TEXT NOT NULL,
                      at TEXT NOT NULL, data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
                      UNIQUE (region_id, seq));
"""


def machine_class() -> type[Any]:
    """The state machine: the regiovorming states this trigger touches, the 9 guards (and the
    two unguarded steps between the sources, which keep the graph connected)."""
    from statemachine import State, StateMachine

    guards = [(lambda snapshot, check=check: check(snapshot)) for _, check in CONDITIONS]
    states = {s: State(s, value=s, initial=(s == SOURCES[0])) for s in SOURCES}
    states[DEST] = State(DEST, value=DEST, final=True)
    fire = None
    for source in SOURCES:
        step = states[source].to(states[DEST], cond=guards)
        fire = step if fire is None else fire | step
    voorlopig = states["aanvraag_ingediend"].to(states["voorlopige_status"])
    oprichting = (states["aanvraag_ingediend"].to(states["in_oprichting"])
                  | states["voorlopige_status"].to(states["in_oprichting"]))
    return type("RegiovormingMachine", (StateMachine,), {
        **states, TRIGGER: fire, "verleen_voorlopige_status": voorlopig, "zet_in_oprichting": oprichting})


class CaseRow:
    """A case as read from its row: the model a machine is bound to."""

    __slots__ = ("event_hash", "event_seq", "id", "lock_version", "region_id", "slug", "state")

    def __init__(self, row: tuple[Any, ...]) -> None:
        (self.id, self.region_id, self.state, self.lock_version, self.slug, self.event_seq,
         self.event_hash) = row


CASE_COLUMNS = ("SELECT c.id, c.region_id, c.state, c.lock_version, r.slug, r.event_seq, r.event_hash "
                "FROM cases c JOIN regions r ON r.id = c.region_id ")


class StatemachinePeer:
    name = "python-statemachine (sqlite3, WAL, synchronous=FULL)"

    def __init__(self, path: Path) -> None:
        from statemachine.exceptions import TransitionNotAllowed

        self.machine = machine_class()
        self.refused = TransitionNotAllowed
        fresh = not path.exists()
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        if fresh:
            self.conn.executescript(SCHEMA)

    def seed(self, prefix: str, count: int, state: str) -> list[str]:
        c = self.conn
        slugs = [f"{prefix}{i:05d}" for i in range(count)]
        at = now().isoformat()
        c.execute("BEGIN IMMEDIATE")
        for slug in slugs:
            rid = c.execute("INSERT INTO regions (slug, name, event_seq, event_hash) VALUES (?, ?, 1, ?)",
                            (slug, f"Regio {slug}", chain("", {"slug": slug}))).lastrowid
            c.executemany("INSERT INTO partners (region_id, name, kind, sector) VALUES (?, ?, ?, ?)",
                          [(rid, n, k, s) for n, k, s in REGION_PARTNERS])
            c.executemany("INSERT INTO roles (region_id, role, person, email) VALUES (?, ?, ?, ?)",
                          [(rid, *r) for r in REGION_ROLES])
            c.executemany("INSERT INTO documents (region_id, kind, title, ref, date) VALUES (?, ?, ?, ?, ?)",
                          [(rid, k, f"{k} 2024", f"DOC-{i}", "2024-05-01")
                           for i, k in enumerate(REGION_DOCUMENTS)])
            c.executemany("INSERT INTO facts (region_id, name, value) VALUES (?, ?, ?)",
                          [(rid, n, v) for n, v in REGION_FACTS.items()])
            c.execute("INSERT INTO cases (region_id, workflow, state, state_entered_at) VALUES (?, ?, ?, ?)",
                      (rid, WORKFLOW, state, at))
        c.execute("COMMIT")
        return slugs

    def _snapshots(self, region_ids: list[int]) -> dict[int, Snapshot]:
        marks = ",".join("?" * len(region_ids))
        snaps = {rid: Snapshot() for rid in region_ids}
        c = self.conn
        for rid, kind in c.execute(f"SELECT region_id, kind FROM partners WHERE region_id IN ({marks})",
                                   region_ids):
            snaps[rid].partner_kinds.append(kind)
        for rid, role in c.execute(f"SELECT region_id, role FROM roles WHERE region_id IN ({marks})",
                                   region_ids):
            snaps[rid].roles.append(role)
        for rid, kind in c.execute(f"SELECT region_id, kind FROM documents WHERE region_id IN ({marks})",
                                   region_ids):
            snaps[rid].documents.append(kind)
        for rid, name, value in c.execute(
                f"SELECT region_id, name, value FROM facts WHERE region_id IN ({marks})", region_ids):
            snaps[rid].facts[name] = value
        return snaps

    def _fire(self, case: CaseRow, snapshot: Snapshot) -> tuple[Any, ...]:
        """Fire on one case with a machine of its own; the history row's values."""
        source = case.state
        machine = self.machine(case, state_field="state")
        try:
            machine.send(TRIGGER, snapshot=snapshot)
        except self.refused:
            raise RuntimeError(f"python-statemachine peer refused {case.slug}: the set-up is wrong") from None
        at = now()
        updated = self.conn.execute(
            "UPDATE cases SET state = ?, state_entered_at = ?, lock_version = lock_version + 1 "
            "WHERE id = ? AND lock_version = ?", (case.state, at.isoformat(), case.id, case.lock_version))
        if updated.rowcount != 1:
            raise RuntimeError("python-statemachine peer: a concurrent change")
        seq = case.event_seq + 1
        event = transition_event(case.slug, case.id, seq, source, at)
        digest = chain(case.event_hash, event)
        return (case.region_id, case.id, seq, "transition", TRIGGER, source, DEST, "bench", at.isoformat(),
                canonical(event), case.event_hash, digest)

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(
            "INSERT INTO history (region_id, case_id, seq, kind, trigger, from_state, to_state, actor, at, "
            "data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self.conn.executemany("UPDATE regions SET event_seq = ?, event_hash = ? WHERE id = ?",
                              [(r[2], r[-1], r[0]) for r in rows])

    def advance(self, slug: str) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            row = c.execute(CASE_COLUMNS + "WHERE r.slug = ? AND c.workflow = ?", (slug, WORKFLOW)).fetchone()
            case = CaseRow(row)
            self._write([self._fire(case, self._snapshots([case.region_id])[case.region_id])])
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def advance_all(self, state: str, batch: int = BATCH) -> int:
        c = self.conn
        moved = 0
        while True:
            c.execute("BEGIN IMMEDIATE")
            try:
                cases = [CaseRow(r) for r in c.execute(
                    CASE_COLUMNS + "WHERE c.workflow = ? AND c.state = ? ORDER BY c.id LIMIT ?",
                    (WORKFLOW, state, batch))]
                if not cases:
                    c.execute("COMMIT")
                    return moved
                snaps = self._snapshots([case.region_id for case in cases])
                self._write([self._fire(case, snaps[case.region_id]) for case in cases])
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")
            moved += len(cases)

    def moved(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM cases WHERE state = ?", (DEST,)).fetchone()[0])

    def verify(self, slug: str) -> bool:
        c = self.conn
        rid, head = c.execute("SELECT id, event_hash FROM regions WHERE slug = ?", (slug,)).fetchone()
        prev = None
        for prev_hash, data, digest in c.execute(
                "SELECT prev_hash, data, hash FROM history WHERE region_id = ? ORDER BY seq", (rid,)):
            if (prev is not None and prev_hash != prev) or chain(prev_hash, json.loads(data)) != digest:
                return False
            prev = digest
        return bool(prev == head)

    def close(self) -> None:
        self.conn.close()


def make(work: Path) -> StatemachinePeer:
    return StatemachinePeer(work / "peer-statemachine.db")
