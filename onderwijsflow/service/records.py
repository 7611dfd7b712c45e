"""Use cases on records (language 1.1): structured entries such as a peilgesprek or an action.

A record is written with its audit event (kind ``record_added``, the fields as the new
value), so the region's hash chain covers it. A record can meet a milestone: a peilgesprek
held inside the window of the half-yearly milestone closes that occurrence (no more
reminders, no overdue notice) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from onderwijsflow.clock import iso_local, to_local
from onderwijsflow.definition.model import RecordDef, WorkflowDef
from onderwijsflow.definition.records import validate_record
from onderwijsflow.errors import NotFound, UsageError
from onderwijsflow.i18n import N_, _, join_and
from onderwijsflow.service.cases import CaseOps
from onderwijsflow.service.planning import in_window, meet
from onderwijsflow.service.snapshot import region_cases
from onderwijsflow.shapes import RecordJson, RecordsJson
from onderwijsflow.store.statuses import MilestoneStatus
from onderwijsflow.store.tables import Case, Milestone, Partner, Record, Region
from onderwijsflow.validation import check_text
from onderwijsflow.vocabulary import suggest


class RecordOps(CaseOps):
    """Adding and listing records."""

    def record_kinds(self) -> dict[str, list[str]]:
        """Every record kind declared by the workflows on disk -> the workflows declaring it."""
        kinds: dict[str, list[str]] = {}
        for loaded in self.catalog.files.values():
            for kind in loaded.definition.records:
                kinds.setdefault(kind, []).append(loaded.name)
        return kinds

    def add_record(
        self,
        slug: str,
        kind: str,
        fields: Mapping[str, Any],
        *,
        workflow: str | None = None,
        round: str | None = None,
    ) -> dict[str, Any]:
        """Add a record of `kind` to the region (or to its case, for a ``scope: case`` kind).

        Args:
            fields: field name -> value (text as typed, or typed values; a list field takes
                a list).
            workflow, round: which workflow declares the kind, and which case it belongs to,
                when that is ambiguous.

        Returns:
            ``{"region", "id", "kind", "workflow", "round", "fields", "at", "actor", "met"}``;
            `met` lists the milestone occurrences this record met.

        Raises:
            NotFound: no workflow declares `kind`.
            UsageError: a field is unknown, missing or of the wrong type; nothing is written.
        """
        owner = self._record_owner(kind, workflow)
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            case, spec = self._record_target(session, region, kind, owner, round)
            partners = set(session.exec(select(Partner.name).where(Partner.region_id == region.id)))
            try:
                values = validate_record(kind, spec, fields, partners)
                _check_texts(values)
            except ValueError as err:
                raise UsageError(_("{kind}: {problem}").format(kind=kind, problem=err)) from None
            now = self.now()
            met = self._meet(session, region, case, kind, values, now)
            round_ = case.round or None if case else None
            event = self.record_event(session, region, "record_added", case_id=case.id if case else None,
                                 workflow=owner,
                                 data={"kind": kind, "round": round_, "new": values, "met": met})
            assert region.id is not None
            row = Record(region_id=region.id, case_id=case.id if case else None, workflow=owner,
                         kind=kind, fields=values, actor=self.actor, at=now, event_seq=event.seq)
            session.add(row)
            session.flush()
            return {"region": slug, **_record_json(row, round_), "met": met}

    def list_records(self, slug: str, *, kind: str | None = None) -> RecordsJson:
        """The region's records (of `kind`, if given), oldest first."""
        with self.reading() as session:
            region = self.region_in(session, slug)
            rounds = {c.id: c.round or None for c in region_cases(session, region)}
            query = select(Record).where(Record.region_id == region.id)
            if kind is not None:
                query = query.where(Record.kind == kind)
            rows = list(session.exec(query.order_by(col(Record.id))))
        return {"region": slug,
                "records": [_record_json(r, rounds.get(r.case_id) if r.case_id else None)
                            for r in rows]}

    # --- helpers ----------------------------------------------------------------------

    def _record_owner(self, kind: str, workflow: str | None) -> str:
        """The workflow whose `records:` declares `kind`."""
        kinds = self.record_kinds()
        owners = kinds.get(kind)
        if not owners:
            raise NotFound(_("no workflow declares a record kind '{kind}'{suggestion}").format(
                kind=kind, suggestion=suggest(kind, kinds)))
        if workflow is not None:
            if workflow not in owners:
                self.catalog.current(workflow)  # an unknown workflow is NotFound
                raise UsageError(_("workflow '{workflow}' declares no record kind '{kind}' "
                                   "(declared by {workflows})").format(
                    workflow=workflow, kind=kind, workflows=", ".join(owners)))
            return workflow
        if len(owners) > 1:
            raise UsageError(_("record kind '{kind}' is declared by {workflows}; name one with "
                               "--workflow").format(kind=kind, workflows=join_and(owners)))
        return owners[0]

    def _record_target(self, session: Session, region: Region, kind: str, owner: str,
                       round_: str | None) -> tuple[Case | None, RecordDef]:
        """The case a record belongs to (None: the region) and the kind's definition."""
        spec = self.catalog.current(owner).definition.records[kind]
        if spec.scope == "region":
            if round_ is not None:
                raise UsageError(_("a {kind} belongs to the region, not to a round; leave out "
                                   "--round").format(kind=kind))
            return None, spec
        case, machine = self._case(session, region, owner, round_)
        own = machine.definition.records.get(kind)
        if own is None:
            raise UsageError(_("the {workflow} case of {slug} runs on version {version}, which "
                               "has no record kind '{kind}'").format(
                workflow=owner, slug=region.slug, version=case.workflow_version, kind=kind))
        return case, own

    def _meet(self, session: Session, region: Region, case: Case | None, kind: str,
              values: dict[str, Any], now: Any) -> list[dict[str, Any]]:
        """Close the pending milestone occurrences this record meets; what was met."""
        met: list[dict[str, Any]] = []
        for c in [case] if case is not None else region_cases(session, region):
            definition = self.catalog.machine(session, c.workflow, c.workflow_version).definition
            for spec in definition.milestones:
                if spec.met_by is None or spec.met_by.record != kind or c.state not in spec.active_in:
                    continue
                day = _record_day(definition, spec.met_by.record, spec.met_by.date_field, values, now)
                if day > to_local(now).date():
                    continue  # a conversation planned, not yet held, meets nothing
                rows = session.exec(select(Milestone).where(
                    Milestone.case_id == c.id, Milestone.name == spec.name,
                    Milestone.status == MilestoneStatus.PENDING))
                for row in list(rows):
                    if in_window(row, day):
                        meet(session, c, spec, row, now, self.config.reminder_time)
                        met.append({"workflow": c.workflow, "round": c.round or None,
                                    "milestone": spec.name, "occurrence": row.occurrence,
                                    "due": iso_local(row.due_at)})
        return met


def _check_texts(values: Mapping[str, Any]) -> None:
    """Every text of a record (and every item of a list field) within the bounds of
    :func:`onderwijsflow.validation.check_text`."""
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                try:
                    check_text(item, N_("text"))
                except ValueError as err:
                    raise ValueError(_("field '{name}': {problem}").format(
                        name=name, problem=err)) from None


def _record_day(definition: WorkflowDef, kind: str, date_field: str | None,
                values: dict[str, Any], now: Any) -> date:
    """The day a record counts on for a milestone: its date field, else the day it is added."""
    spec = definition.records.get(kind)
    name = date_field or (spec.date_fields()[0] if spec and spec.date_fields() else None)
    raw = values.get(name) if name else None
    return date.fromisoformat(raw) if isinstance(raw, str) else to_local(now).date()


def _record_json(row: Record, round_: str | None) -> RecordJson:
    return {"id": row.id, "kind": row.kind, "workflow": row.workflow, "round": round_,
            "fields": row.fields, "at": iso_local(row.at), "actor": row.actor,
            "event_seq": row.event_seq}


__all__ = ["RecordOps"]
