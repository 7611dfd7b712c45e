"""Use cases on a region's own data: the region, its partners, people, documents and facts.

Each method is one transaction that changes the data and appends its audit event together,
with the old and new value, so the history can be shown and checked later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlmodel import Session, col, select

from onderwijsflow.clock import iso_local
from onderwijsflow.definition.model import FactDef, WorkflowDef, dump_value, stored_value
from onderwijsflow.errors import Conflict, NotFound, Refused, UsageError
from onderwijsflow.i18n import N_, _
from onderwijsflow.service.base import validate_slug
from onderwijsflow.service.cases import CaseOps
from onderwijsflow.service.snapshot import region_cases
from onderwijsflow.shapes import CaseJson, RegionJson
from onderwijsflow.store.tables import Case, CaseFact, Document, Fact, Partner, Region, RoleAssignment
from onderwijsflow.validation import check_date, check_mailbox, check_name, check_slug
from onderwijsflow.vocabulary import (
    DOCUMENT_KINDS,
    PARTNER_KINDS,
    REGION_ROLES,
    SECTORS,
    require_member,
    role_label,
)


def _valid(check: Callable[..., str], value: str, *what: str) -> str:
    """`value` through one of :mod:`onderwijsflow.validation`'s checks (`what`: its msgid).

    Raises:
        UsageError: the check's sentence, naming the value.
    """
    try:
        return check(value, *what)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _email(value: str | None, what: str) -> str | None:
    """One e-mail address, perhaps with a name (`what`: the option or field, translated).

    Raises:
        UsageError: not exactly one address; the sentence names the value and `what`.
    """
    if value is None:
        return None
    try:
        return check_mailbox(value)
    except ValueError as err:
        raise UsageError(_("{what}: {problem}").format(what=what, problem=err)) from None


def _member(kind: str, word: str, choices: tuple[str, ...]) -> str:
    if problem := require_member(kind, word, choices):
        raise UsageError(problem)
    return word


class RegionOps(CaseOps):
    """Regions and everything recorded about them."""

    def create_region(
        self,
        slug: str,
        *,
        name: str,
        provinces: list[str] | tuple[str, ...] = (),
        sectors: list[str] | tuple[str, ...] = (),
        coordinator: str | None = None,
    ) -> RegionJson:
        """Create a region and open the workflows configured to start with one.

        Raises:
            Refused: the slug is taken.
        """
        validate_slug(slug)
        _valid(check_slug, slug)
        _valid(check_name, name, N_("name"))
        for province in provinces:
            _valid(check_name, province, N_("province"))
        for sector in sectors:
            _member("sector", sector, SECTORS)
        coordinator = _email(coordinator, _("coordinator"))
        self.require_writer()
        self._require_own_new_region(coordinator)
        with self.writing() as session:
            if session.exec(select(Region.id).where(Region.slug == slug)).first():
                raise Refused(_("region '{slug}' already exists").format(slug=slug))
            region = Region(
                slug=slug,
                name=name,
                provinces=list(provinces),
                sectors=list(sectors),
                coordinator=coordinator,
                created_at=self.now(),
            )
            session.add(region)
            self._flush(session, _("region '{slug}' was created at the same time by someone else")
                        .format(slug=slug))
            self.record_event(
                session,
                region,
                "region_created",
                data={"new": {"name": name, "provinces": list(provinces),
                              "sectors": list(sectors), "coordinator": coordinator}},
            )
            for workflow in self.config.start_with_region:
                self._open_case(session, region, workflow, params={}, round_="")
            return self._show(session, region)

    def list_regions(
        self, *, state: str | None = None, workflow: str | None = None
    ) -> list[dict[str, Any]]:
        """Every region with its cases' states, optionally filtered by state and workflow."""
        with self.reading() as session:
            regions = {r.id: r for r in session.exec(select(Region).order_by(col(Region.slug)))}
            cases: dict[int | None, dict[str, str]] = {rid: {} for rid in regions}
            for case in session.exec(select(Case).order_by(col(Case.id))):
                key = case.workflow + (f"/{case.round}" if case.round else "")
                cases[case.region_id][key] = case.state
            out = []
            for rid, region in regions.items():
                states = cases[rid]
                if not _matches(states, state, workflow):
                    continue
                out.append({"slug": region.slug, "name": region.name,
                            "coordinator": region.coordinator, "cases": states})
            return out

    def show_region(self, slug: str) -> RegionJson:
        """One region in full: cases, partners, roles, documents and facts."""
        with self.reading() as session:
            return self._show(session, self.region_in(session, slug))

    def _show(self, session: Session, region: Region) -> RegionJson:
        rid = region.id
        cases: dict[str, CaseJson] = {}
        cases_of_region = region_cases(session, region)
        own = _case_facts(session, cases_of_region)
        for case in cases_of_region:
            key = case.workflow + (f"/{case.round}" if case.round else "")
            cases[key] = {"state": case.state, "version": case.workflow_version,
                          "opened": iso_local(case.opened_at), "round": case.round or None,
                          "entered": iso_local(case.state_entered_at),
                          "decided_on": case.decided_on.isoformat() if case.decided_on else None,
                          "facts": own.get(case.id, {})}
        return {
            "slug": region.slug,
            "name": region.name,
            "provinces": region.provinces,
            "sectors": region.sectors,
            "coordinator": region.coordinator,
            "cases": cases,
            "partners": _partners(session, region),
            "roles": [
                {"role": r.role, "person": r.person, "email": r.email}
                for r in session.exec(select(RoleAssignment).where(RoleAssignment.region_id == rid)
                                      .order_by(RoleAssignment.role, RoleAssignment.person))
            ],
            "documents": [
                {"kind": d.kind, "title": d.title, "ref": d.ref,
                 "date": d.date.isoformat() if d.date else None}
                for d in session.exec(select(Document).where(Document.region_id == rid)
                                      .order_by(col(Document.id)))
            ],
            "facts": {
                f.name: dump_value(stored_value(f.type, f.value))
                for f in session.exec(select(Fact).where(Fact.region_id == rid).order_by(Fact.name))
            },
        }

    # --- partners, people, documents ---------------------------------------------------

    def add_partner(self, slug: str, name: str, *, kind: str, sector: str | None = None) -> None:
        """Record an organisation as partner of the region."""
        _valid(check_name, name, N_("partner name"))
        _member("partner kind", kind, PARTNER_KINDS)
        if sector is not None:
            _member("sector", sector, SECTORS)
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            assert region.id is not None
            if self._partner(session, region, name):
                raise Refused(_("'{name}' is already a partner of {slug}").format(name=name, slug=slug))
            session.add(Partner(region_id=region.id, name=name, kind=kind, sector=sector,
                                added_at=self.now()))
            self._flush(session, _("partner '{name}' was added at the same time by someone else")
                        .format(name=name))
            self.record_event(session, region, "partner_added",
                         data={"new": {"name": name, "kind": kind, "sector": sector}})

    def remove_partner(self, slug: str, name: str) -> None:
        """Remove a partner (the audit log keeps what it was)."""
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            partner = self._partner(session, region, name)
            if partner is None:
                raise NotFound(_("'{name}' is not a partner of {slug}").format(name=name, slug=slug))
            old = {"name": partner.name, "kind": partner.kind, "sector": partner.sector}
            session.delete(partner)
            self.record_event(session, region, "partner_removed", data={"old": old})

    def _partner(self, session: Session, region: Region, name: str) -> Partner | None:
        return session.exec(
            select(Partner).where(Partner.region_id == region.id, Partner.name == name)
        ).first()

    def assign_role(self, slug: str, role: str, person: str, *, email: str | None = None) -> None:
        """Put a person in a named role for the region."""
        _member("role", role, REGION_ROLES)
        _valid(check_name, person, N_("person"))
        email = _email(email, _("e-mail"))
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            assert region.id is not None
            if self._assignment(session, region, role, person):
                raise Refused(_("{person} is already {role} of {slug}").format(
                    person=person, role=role_label(role), slug=slug))
            session.add(RoleAssignment(region_id=region.id, role=role, person=person,
                                       email=email, assigned_at=self.now()))
            self._flush(session, _("{person} was made {role} at the same time by someone else")
                        .format(person=person, role=role_label(role)))
            self.record_event(session, region, "role_assigned",
                         data={"new": {"role": role, "person": person, "email": email}})

    def unassign_role(self, slug: str, role: str, person: str) -> None:
        """Take a person out of a role."""
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            found = self._assignment(session, region, role, person)
            if found is None:
                raise NotFound(_("{person} is not {role} of {slug}").format(
                    person=person, role=role_label(role), slug=slug))
            old = {"role": role, "person": person, "email": found.email}
            session.delete(found)
            self.record_event(session, region, "role_unassigned", data={"old": old})

    def _assignment(
        self, session: Session, region: Region, role: str, person: str
    ) -> RoleAssignment | None:
        return session.exec(
            select(RoleAssignment).where(
                RoleAssignment.region_id == region.id,
                RoleAssignment.role == role,
                RoleAssignment.person == person,
            )
        ).first()

    def update_region(
        self,
        slug: str,
        *,
        name: str | None = None,
        provinces: list[str] | tuple[str, ...] | None = None,
        sectors: list[str] | tuple[str, ...] | None = None,
        coordinator: str | None = None,
    ) -> dict[str, Any]:
        """Change a region's name, provinces, sectors or coordinator (only what is given).

        Returns:
            ``{"region", "old": {...}, "new": {...}}`` with the fields that changed.
        """
        if name is not None:
            _valid(check_name, name, N_("name"))
        for province in provinces or ():
            _valid(check_name, province, N_("province"))
        for sector in sectors or ():
            _member("sector", sector, SECTORS)
        coordinator = _email(coordinator, _("coordinator"))
        self.require_writer()
        given = {"name": name, "provinces": None if provinces is None else list(provinces),
                 "sectors": None if sectors is None else list(sectors), "coordinator": coordinator}
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            old = {k: getattr(region, k) for k, v in given.items()
                   if v is not None and getattr(region, k) != v}
            new = {k: given[k] for k in old}
            if new:
                for key, value in new.items():
                    setattr(region, key, value)
                session.add(region)
                self.record_event(session, region, "region_updated", data={"old": old, "new": new})
            return {"region": slug, "old": old, "new": new}

    def list_partners(self, slug: str) -> dict[str, Any]:
        """The region's partners, by name."""
        with self.reading() as session:
            region = self.region_in(session, slug)
            return {"region": slug, "partners": _partners(session, region)}

    def list_documents(self, slug: str, *, kind: str | None = None) -> dict[str, Any]:
        """The region's documents (of `kind`, if given) with their ids, oldest first."""
        with self.reading() as session:
            region = self.region_in(session, slug)
            query = select(Document).where(col(Document.region_id) == region.id)
            if kind is not None:
                query = query.where(col(Document.kind) == kind)
            rows = list(session.exec(query.order_by(col(Document.id))))
        return {"region": slug, "documents": [_document_json(d) for d in rows]}

    def remove_document(self, slug: str, document_id: int) -> dict[str, Any]:
        """Remove a document recorded by mistake (the audit log keeps what it was)."""
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            found = session.get(Document, document_id)
            if found is None or found.region_id != region.id:
                raise NotFound(_("{slug} has no document {id}").format(slug=slug, id=document_id))
            old = _document_json(found)
            session.delete(found)
            self.record_event(session, region, "document_removed", data={"old": old})
            return {"region": slug, "removed": old}

    def add_document(
        self, slug: str, kind: str, *, title: str, ref: str | None = None, on: date | None = None
    ) -> None:
        """Record a piece of evidence (a plan, an analysis, a decision)."""
        _member("document kind", kind, DOCUMENT_KINDS)
        _valid(check_name, title, N_("title"))
        if ref is not None:
            _valid(check_name, ref, N_("reference"))
        try:
            if on is not None:
                check_date(on)
        except ValueError as err:
            raise UsageError(str(err)) from None
        self.require_writer()
        with self.writing() as session:
            region = self.region_in(session, slug, lock=True)
            assert region.id is not None
            session.add(Document(region_id=region.id, kind=kind, title=title, ref=ref, date=on,
                                 added_at=self.now()))
            self.record_event(session, region, "document_added",
                         data={"new": {"kind": kind, "title": title, "ref": ref,
                                       "date": on.isoformat() if on else None}})

    # --- labels: how a person reads states and facts ---------------------------------------

    def workflow_definition(self, workflow: str, version: int | None = None) -> WorkflowDef | None:
        """The definition of `workflow` (at `version`, when given and stored), for its labels;
        the version on disk when that version is unknown, None when the workflow is."""
        loaded = self.catalog.files.get(workflow)
        if loaded is not None and (version is None or loaded.version == version):
            return loaded.definition
        if version is not None:
            try:
                with self.reading() as session:
                    return self.catalog.machine(session, workflow, version).definition
            except NotFound:
                pass
        return loaded.definition if loaded is not None else None

    def state_label(self, workflow: str, state: str, version: int | None = None) -> str:
        """The label of `state` in `workflow` ("Aanvraag ingediend"), or the state's name."""
        definition = self.workflow_definition(workflow, version)
        return definition.state_label(state) if definition is not None else state

    def declared_facts(self) -> dict[str, FactDef]:
        """Every fact the workflows on disk declare, by name (the first declaration wins)."""
        declared: dict[str, FactDef] = {}
        for loaded in self.catalog.files.values():
            for name, fact in loaded.definition.facts.items():
                declared.setdefault(name, fact)
        return declared

    @staticmethod
    def _flush(session: Session, conflict: str) -> None:
        try:
            session.flush()
        except SAIntegrityError:
            raise Conflict(_("{conflict}; nothing was written, try again").format(conflict=conflict)) \
                from None


def _case_facts(session: Session, cases: list[Case]) -> dict[int | None, dict[str, Any]]:
    """Each case's own facts (``scope: case``), JSON-safe, by case id."""
    out: dict[int | None, dict[str, Any]] = {}
    ids = [c.id for c in cases]
    if ids:
        for row in session.exec(select(CaseFact).where(col(CaseFact.case_id).in_(ids))
                                .order_by(col(CaseFact.name))):
            value = dump_value(stored_value(row.type, row.value))
            out.setdefault(row.case_id, {})[row.name] = value
    return out


def _partners(session: Session, region: Region) -> list[dict[str, Any]]:
    """The region's partners, by name (as `region show` and `partner list` give them)."""
    return [{"name": p.name, "kind": p.kind, "sector": p.sector}
            for p in session.exec(select(Partner).where(col(Partner.region_id) == region.id)
                                  .order_by(col(Partner.name)))]


def _document_json(d: Document) -> dict[str, Any]:
    return {"id": d.id, "kind": d.kind, "title": d.title, "ref": d.ref,
            "date": d.date.isoformat() if d.date else None}


def _matches(states: dict[str, str], state: str | None, workflow: str | None) -> bool:
    items = [
        (key, value) for key, value in states.items()
        if workflow is None or key.split("/")[0] == workflow
    ]
    if workflow is not None and not items:
        return False
    return state is None or any(value == state for _, value in items)


__all__ = ["RegionOps"]
