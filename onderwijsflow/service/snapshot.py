"""Read a region out of the store into the plain snapshot that checks evaluate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select  # sqlmodel's select() is typed for up to four columns
from sqlmodel import Session, col, select

from onderwijsflow.definition.model import WorkflowDef, stored_value
from onderwijsflow.engine.context import (
    DocumentInfo,
    PartnerInfo,
    RecordInfo,
    RegionContext,
    RoleInfo,
)
from onderwijsflow.engine.milestones import due_moment
from onderwijsflow.store.tables import (
    Case,
    CaseFact,
    Document,
    Fact,
    Partner,
    Record,
    Region,
    RoleAssignment,
)


def region_context(
    session: Session, region: Region, now: datetime, cases: list[Case] | None = None
) -> RegionContext:
    """Everything the checks may read about `region`, at `now`."""
    rid = region.id
    if cases is None:
        cases = region_cases(session, region)
    states: dict[str, list[str]] = {}
    rounds: dict[str, dict[str, str]] = {}
    for case in cases:
        states.setdefault(case.workflow, []).append(case.state)
        if case.round:
            rounds.setdefault(case.workflow, {})[case.round] = case.state
    return RegionContext(
        slug=region.slug,
        now=now,
        partners=[
            PartnerInfo(p.name, p.kind, p.sector)
            for p in session.exec(select(Partner).where(Partner.region_id == rid))
        ],
        roles=[
            RoleInfo(r.role, r.person, r.email)
            for r in session.exec(select(RoleAssignment).where(RoleAssignment.region_id == rid))
        ],
        documents=[
            DocumentInfo(d.kind, d.title, d.ref, d.date, d.added_at)
            for d in session.exec(select(Document).where(Document.region_id == rid))
        ],
        facts={f.name: load_fact(f) for f in session.exec(select(Fact).where(Fact.region_id == rid))},
        cases=states,
        rounds=rounds,
        records=[
            RecordInfo(kind, fields, at, cid, workflow)
            for kind, fields, at, cid, workflow in session.execute(
                sa_select(col(Record.kind), col(Record.fields), col(Record.at), col(Record.case_id),
                          col(Record.workflow))
                .where(col(Record.region_id) == rid).order_by(col(Record.id)))
        ],
        case_facts=_case_facts(session, [c.id for c in cases if c.id is not None]),
    )


def _case_facts(session: Session, case_ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    if not case_ids:
        return out
    for cid, name, kind, value in session.execute(
        select(CaseFact.case_id, CaseFact.name, CaseFact.type, CaseFact.value)
        .where(col(CaseFact.case_id).in_(case_ids))
    ):
        out.setdefault(cid, {})[name] = stored_value(kind, value)
    return out


def region_contexts(
    session: Session, regions: list[Region], now: datetime
) -> dict[int, RegionContext]:
    """Snapshots of many regions with one query per kind of row, for bulk work.

    Plain column tuples, not ORM objects: building entities would cost more than the
    decisions they feed.
    """
    ids = [r.id for r in regions]
    out: dict[int, RegionContext] = {}
    for r in regions:
        assert r.id is not None  # regions read from the database
        out[r.id] = RegionContext(slug=r.slug, now=now)
    for rid, name, kind, sector in session.execute(
        select(Partner.region_id, Partner.name, Partner.kind, Partner.sector)
        .where(col(Partner.region_id).in_(ids))
    ):
        out[rid].partners.append(PartnerInfo(name, kind, sector))
    for rid, role, person, email in session.execute(
        select(RoleAssignment.region_id, RoleAssignment.role, RoleAssignment.person,
               RoleAssignment.email).where(col(RoleAssignment.region_id).in_(ids))
    ):
        out[rid].roles.append(RoleInfo(role, person, email))
    for rid, kind, title, ref, day, added in session.execute(
        sa_select(col(Document.region_id), col(Document.kind), col(Document.title), col(Document.ref),
                  col(Document.date), col(Document.added_at)).where(col(Document.region_id).in_(ids))
    ):
        out[rid].documents.append(DocumentInfo(kind, title, ref, day, added))
    for rid, name, kind, value in session.execute(
        select(Fact.region_id, Fact.name, Fact.type, Fact.value).where(col(Fact.region_id).in_(ids))
    ):
        out[rid].facts[name] = stored_value(kind, value)
    case_ids: list[int] = []
    for rid, cid, workflow, state, round_ in session.execute(
        sa_select(col(Case.region_id), col(Case.id), col(Case.workflow), col(Case.state), col(Case.round))
        .where(col(Case.region_id).in_(ids)).order_by(col(Case.id))
    ):
        out[rid].cases.setdefault(workflow, []).append(state)
        if round_:
            out[rid].rounds.setdefault(workflow, {})[round_] = state
        case_ids.append(cid)
    for rid, kind, fields, at, cid, workflow in session.execute(
        sa_select(col(Record.region_id), col(Record.kind), col(Record.fields), col(Record.at),
                  col(Record.case_id), col(Record.workflow))
        .where(col(Record.region_id).in_(ids)).order_by(col(Record.id))
    ):
        out[rid].records.append(RecordInfo(kind, fields, at, cid, workflow))
    facts = _case_facts(session, case_ids)
    for ctx in out.values():
        ctx.case_facts = facts  # shared: keyed by case id, each case reads only its own
    return out


def for_case(ctx: RegionContext, case: Case, definition: WorkflowDef) -> RegionContext:
    """`ctx` with the case's own parameters, facts, records and milestone dates filled in."""
    ctx.focus(case.id)
    ctx.params = dict(case.params or {})
    ctx.milestones = {}
    for m in definition.milestones:
        entered = case.state_entered_at if case.state in m.active_in else None
        moment = due_moment(m, ctx.params, entered, case.decided_on)
        if moment is not None:
            ctx.milestones[m.name] = moment
    return ctx


def region_cases(session: Session, region: Region) -> list[Case]:
    """The region's cases, oldest first."""
    return list(session.exec(select(Case).where(Case.region_id == region.id).order_by(col(Case.id))))


def load_fact(fact: Fact) -> Any:
    """The typed value of a stored fact (decimals and dates are stored as text)."""
    if fact.value is None:
        return None
    return stored_value(fact.type, fact.value)
