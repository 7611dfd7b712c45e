"""Use cases on facts: typed attributes of a region, or of one case (``scope: case``).

A grant amount belongs to one round: declared ``scope: case``, it is kept on that round's
case, so round 2026 does not see round 2025's amount. Checks read the case's own facts
first, then the region's.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from onderwijsflow.definition.model import FactDef, dump_value, stored_value
from onderwijsflow.errors import NotFound, UsageError
from onderwijsflow.i18n import _, join_or
from onderwijsflow.service.cases import CaseOps
from onderwijsflow.store.tables import Case, CaseFact, Fact, Region
from onderwijsflow.vocabulary import suggest


class FactOps(CaseOps):
    """Setting facts, validated against the workflows' `facts:`."""

    def fact_definition(self, name: str) -> tuple[FactDef, list[str]]:
        """The declaration of fact `name` and the workflows that declare it.

        Raises:
            NotFound: no workflow declares it.
        """
        declared: dict[str, FactDef] = {}
        owners: dict[str, list[str]] = {}
        for loaded in self.catalog.files.values():
            for key, fact in loaded.definition.facts.items():
                declared.setdefault(key, fact)
                owners.setdefault(key, []).append(loaded.name)
        if name not in declared:
            raise NotFound(_("no workflow declares a fact '{name}'{suggestion}").format(
                name=name, suggestion=suggest(name, declared)))
        return declared[name], owners[name]

    def set_fact(
        self, slug: str, name: str, value: str, *, workflow: str | None = None,
        round: str | None = None,
    ) -> dict[str, Any]:
        """Set a typed fact of the region, or of one case when the fact has ``scope: case``.

        Args:
            workflow, round: name the case of a case fact, as `advance` does (needed only
                when the region has several cases it could belong to).

        Raises:
            UsageError: the value is not of the declared type, outside its `min`/`max`, has
                more than its `decimals`, is not one of its choices, or the case is ambiguous.
        """
        fact_def, owners = self.fact_definition(name)
        try:
            typed = fact_def.value(value)
        except ValueError as err:
            raise UsageError(_("fact '{name}': {problem}").format(name=name, problem=err)) from None
        if fact_def.choices and typed not in fact_def.choices:
            raise UsageError(_("fact '{name}' must be one of {choices}").format(
                name=name, choices=", ".join(fact_def.choices)))
        if fact_def.scope == "region" and (round is not None):
            raise UsageError(_("fact '{name}' belongs to the region, not to a round; leave out "
                               "--round").format(name=name))
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            if fact_def.scope == "case":
                case = self._fact_case(session, region, name, owners, workflow, round)
                return self._set_case_fact(session, region, case, name, fact_def, typed)
            row = session.get(Fact, (region.id, name))
            old = dump_value(stored_value(row.type, row.value)) if row else None
            new = dump_value(typed)
            if row is None:
                assert region.id is not None
                row = Fact(region_id=region.id, name=name, type=fact_def.type, value=new,
                           updated_at=self.now())
            else:
                row.value, row.type, row.updated_at = new, fact_def.type, self.now()
            session.add(row)
            self.record_event(session, region, "fact_set",
                         data={"name": name, "old": old, "new": new})
            return {"region": slug, "fact": name, "old": old, "new": new, "scope": "region"}

    def unset_fact(
        self, slug: str, name: str, *, workflow: str | None = None, round: str | None = None,
    ) -> dict[str, Any]:
        """Remove a fact's value (of the region, or of one case for ``scope: case``); audited.

        Raises:
            NotFound: no workflow declares the fact, or it has no value.
        """
        fact_def, owners = self.fact_definition(name)
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            row: Fact | CaseFact | None
            case = None
            if fact_def.scope == "case":
                case = self._fact_case(session, region, name, owners, workflow, round)
                row = session.get(CaseFact, (case.id, name))
            else:
                row = session.get(Fact, (region.id, name))
            if row is None or row.value is None:
                raise NotFound(_("fact '{name}' of {slug} has no value").format(name=name, slug=slug))
            old = dump_value(stored_value(row.type, row.value))
            session.delete(row)
            self.record_event(session, region, "fact_unset", case_id=case.id if case else None,
                         workflow=case.workflow if case else None,
                         data={"name": name, "old": old, "new": None, "scope": fact_def.scope,
                               "round": case.round or None if case else None})
            return {"region": slug, "fact": name, "old": old, "new": None, "scope": fact_def.scope}

    def _fact_case(self, session: Session, region: Region, name: str, owners: list[str],
                   workflow: str | None, round_: str | None) -> Case:
        if workflow is None and len(owners) > 1:
            raise UsageError(_("fact '{name}' belongs to a case of {workflows}; name one with "
                               "--workflow").format(name=name, workflows=join_or(owners)))
        if workflow is not None and workflow not in owners:
            raise UsageError(_("workflow '{workflow}' declares no fact '{name}' (declared by "
                               "{workflows})").format(workflow=workflow, name=name,
                                                     workflows=", ".join(owners)))
        case, _machine = self._case(session, region, workflow or owners[0], round_)
        return case

    def _set_case_fact(self, session: Session, region: Region, case: Case, name: str,
                       fact_def: FactDef, typed: Any) -> dict[str, Any]:
        row = session.get(CaseFact, (case.id, name))
        old = dump_value(stored_value(row.type, row.value)) if row else None
        new = dump_value(typed)
        if row is None:
            assert case.id is not None
            row = CaseFact(case_id=case.id, name=name, type=fact_def.type, value=new,
                           updated_at=self.now())
        else:
            row.value, row.type, row.updated_at = new, fact_def.type, self.now()
        session.add(row)
        self.record_event(session, region, "fact_set", case_id=case.id, workflow=case.workflow,
                     data={"name": name, "old": old, "new": new, "scope": "case",
                           "round": case.round or None})
        return {"region": region.slug, "fact": name, "old": old, "new": new, "scope": "case",
                "workflow": case.workflow, "round": case.round or None}


def describe_change(old: Any, new: Any, type: str | None = None) -> str:
    """A fact's change in a few words: "29.000 (was: niet gezet)", "niet gezet (was: 1200)"."""
    from onderwijsflow.i18n import format_value

    return _("{new} (was: {old})").format(new=format_value(new, type), old=format_value(old, type))


__all__ = ["FactOps", "describe_change"]
