"""The sentences a requirement check says, as a coordinator would say them (issue 11, item 2).

The requirements are the shipped workflows' own (``workflows/*.yaml``), compiled with the
labels of their workflow (:meth:`CompileScope.for_workflow`) and evaluated against a region
snapshot; the Dutch is asserted exactly, English still works, and no English word slips into
the Dutch.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from pydantic import BaseModel, ConfigDict

from onderwijsflow import i18n
from onderwijsflow.engine.checks import (
    CheckRegistry,
    CheckResult,
    CheckSpecError,
    Compiled,
    CompileScope,
    check_type,
    translator,
)
from onderwijsflow.engine.context import (
    DocumentInfo,
    PartnerInfo,
    RecordInfo,
    RegionContext,
    RoleInfo,
)
from onderwijsflow.engine.loading import LoadedWorkflow, load_workflow_file
from onderwijsflow.engine.machine import WorkflowMachine
from onderwijsflow.errors import NotFound

pytestmark = pytest.mark.shipped_workflows

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
REGISTRY = CheckRegistry(plugins=False)

#: 1 September 2024, 12:00 in The Hague: the 2025 round's window is open, its deadline ahead.
NOW = datetime(2024, 9, 1, 10, 0, tzinfo=UTC)
DEADLINE = datetime(2024, 10, 15, 14, 0, tzinfo=UTC)  # 15 October 2024, 16:00 local
ROUND_2025 = {"venster_open": date(2024, 6, 17), "deadline_aanvraag": date(2024, 10, 15),
              "activiteiten_eind": date(2025, 12, 31), "aanvraag_uiterlijk": date(2023, 4, 28)}

#: Words that are English and never Dutch.
ENGLISH = re.compile(
    r"\b(the|and|or|with|without|for|not|must|needed|found|none|missing|recorded|appointed|yet|"
    r"since|last|before|after|least|most|case|cases|round|people|set|yes|date|hold|holds|"
    r"required|union|unions|board|boards|group|institute|partners|is in|dated|"
    r"milestone|no date|every|each|fewer|than|state|only|may|fire|possible|unmet)\b")


@pytest.fixture(scope="module")
def shipped() -> dict[str, LoadedWorkflow]:
    return {p.stem: load_workflow_file(p) for p in sorted(WORKFLOWS.glob("*.yaml"))}


def scope_of(shipped: dict[str, LoadedWorkflow], workflow: str,
             **extra: dict[str, Any]) -> CompileScope:
    """The scope a shipped workflow's requirements compile in: its labels, and the state labels
    of the other shipped workflows (a `case` check names another workflow's states)."""
    definition = shipped[workflow].definition
    specs: dict[str, Any] = {name: r.model_dump(by_alias=True, exclude_none=True)
                             for name, r in definition.requirements.items()}
    specs.update(extra)
    others = {name: w.definition for name, w in shipped.items()}
    return CompileScope.for_workflow(definition, specs, others)


def requirement(shipped: dict[str, LoadedWorkflow], workflow: str, name: str) -> Compiled:
    """A shipped requirement, compiled with its workflow's labels."""
    scope = scope_of(shipped, workflow)
    return REGISTRY.compile(scope.requirements[name], scope)


def compiled(shipped: dict[str, LoadedWorkflow], workflow: str, spec: dict[str, Any]) -> Compiled:
    """A check of our own, against a shipped workflow's facts, milestones and records."""
    return REGISTRY.compile(spec, scope_of(shipped, workflow))


def region(**fields: Any) -> RegionContext:
    fields.setdefault("now", NOW)
    fields.setdefault("params", dict(ROUND_2025))
    fields.setdefault("milestones", {"deadline_aanvraag": DEADLINE})
    return RegionContext(slug="twente", **fields)


def said(check: Compiled, ctx: RegionContext, language: str = "nl") -> CheckResult:
    """The check's result, its sentence read in `language`."""
    result = check(ctx)
    with i18n.using(language):
        result.detail  # noqa: B018 - the sentence is built (and translated) when first read
    return result


EMPTY = region()
FULL = region(
    partners=[PartnerInfo("Stichting Atlant", "schoolbestuur", "PO"),
              PartnerInfo("AOb", "vakbond"), PartnerInfo("Saxion", "lerarenopleiding", "HO")],
    roles=[RoleInfo("penvoerder", "Ans de Vries"), RoleInfo("programmamanager", "Ans de Vries")],
    documents=[DocumentInfo("subsidieaanvraag", "Aanvraag Twente 2025", date=date(2024, 9, 1))],
    facts={"aangevraagd_bedrag": Decimal("1275000.00"), "leerlingen_po": 16000},
)


# --- partners: one sentence for an `any` of partner checks -----------------------------------------


def test_an_any_of_partner_checks_that_all_fail_is_one_sentence(shipped: dict[str, LoadedWorkflow]) -> None:
    check = requirement(shipped, "subsidie", "beroepsgroep_betrokken")
    assert said(check, EMPTY) == CheckResult(False, "geen beroepsgroep of vakbond als partner")
    assert said(check, EMPTY, "en") == CheckResult(False, "no profession group or union as partner")
    assert said(check, FULL) == CheckResult(True, "vakbond als partner: AOb")
    voorlopers = requirement(shipped, "voorlopers", "beroepsgroep_betrokken")
    assert said(voorlopers, EMPTY).detail == "geen beroepsgroep of vakbond als partner"


def test_a_missing_partner(shipped: dict[str, LoadedWorkflow]) -> None:
    check = requirement(shipped, "subsidie", "schoolbesturen_betrokken")
    assert said(check, EMPTY) == CheckResult(False, "geen schoolbestuur als partner")
    assert said(check, FULL) == CheckResult(True, "schoolbestuur als partner: Stichting Atlant")
    opleiding = requirement(shipped, "subsidie", "lerarenopleiding_betrokken")
    assert said(opleiding, EMPTY).detail == "geen lerarenopleiding als partner"


def test_partners_counted_and_by_sector(shipped: dict[str, LoadedWorkflow]) -> None:
    two = compiled(shipped, "subsidie", {"check": "partner", "with": {"kind": "schoolbestuur", "min": 2}})
    assert said(two, FULL) == CheckResult(False, "2 schoolbesturen als partner nodig, 1 gevonden")
    assert said(two, FULL, "en").detail == "2 school boards needed as partners, 1 found"
    many = region(partners=[PartnerInfo(f"Stichting {n}", "schoolbestuur") for n in "ABCDEFG"])
    assert said(two, many).detail == (
        "schoolbesturen als partner: Stichting A, Stichting B, Stichting C, Stichting D, "
        "Stichting E en nog 2")
    po = compiled(shipped, "subsidie", {"check": "partner", "with": {"kind": "schoolbestuur",
                                                                    "sector": "PO"}})
    assert said(po, EMPTY).detail == "geen schoolbestuur (PO) als partner"
    assert said(po, FULL).detail == "schoolbestuur (PO) als partner: Stichting Atlant"


# --- documents and roles ------------------------------------------------------------------------


def test_a_missing_document(shipped: dict[str, LoadedWorkflow]) -> None:
    advies = compiled(shipped, "subsidie", {"check": "document", "with": {"kind": "advies_re"}})
    assert said(advies, EMPTY) == CheckResult(False, "het advies van de RE ontbreekt")
    assert said(advies, EMPTY, "en").detail == "the RE's advice is missing"
    plan = requirement(shipped, "subsidie", "plan_van_aanpak_aanwezig")
    assert said(plan, EMPTY).detail == "het plan van aanpak ontbreekt"
    done = region(documents=[DocumentInfo("plan_van_aanpak", "PvA Twente")])
    assert said(plan, done) == CheckResult(True, "het plan van aanpak is vastgelegd: 'PvA Twente'")


def test_a_document_of_a_day_or_later(shipped: dict[str, LoadedWorkflow]) -> None:
    aanvraag = requirement(shipped, "subsidie", "subsidieaanvraag_aanwezig")
    assert said(aanvraag, EMPTY).detail == "de subsidieaanvraag van 17 juni 2024 of later ontbreekt"
    assert said(aanvraag, FULL) == CheckResult(
        True, "de subsidieaanvraag van 17 juni 2024 of later is vastgelegd: 'Aanvraag Twente 2025'")
    advies = compiled(shipped, "subsidie", {"check": "document",
                                            "with": {"kind": "advies_re", "since": "venster_open"}})
    ctx = region(params={"venster_open": date(2024, 9, 1)},
                 documents=[DocumentInfo("advies_re", "Advies juni", date=date(2024, 6, 30))])
    assert said(advies, ctx).detail == "het advies van de RE van 1 september 2024 of later ontbreekt"
    assert said(advies, ctx, "en").detail == "the RE's advice dated 1 September 2024 or later is missing"
    assert said(advies, region(params={})).detail == (
        "geen datum voor aanvraagvenster open (09:00) bij deze zaak")


def test_an_any_of_documents_names_them_in_one_sentence(shipped: dict[str, LoadedWorkflow]) -> None:
    check = requirement(shipped, "voorlopers", "samenwerking_vastgelegd")
    assert said(check, EMPTY).detail == "de intentieverklaring of de samenwerkingsovereenkomst ontbreekt"
    assert said(check, EMPTY, "en").detail == (
        "the declaration of intent or the cooperation agreement is missing")


def test_a_role_nobody_holds(shipped: dict[str, LoadedWorkflow]) -> None:
    penvoerder = requirement(shipped, "subsidie", "penvoerder_aangewezen")
    assert said(penvoerder, EMPTY) == CheckResult(False, "nog geen penvoerder aangewezen")
    assert said(penvoerder, EMPTY, "en").detail == "no lead applicant (penvoerder) appointed yet"
    assert said(penvoerder, FULL) == CheckResult(True, "aangewezen: Ans de Vries als penvoerder")
    kracht = requirement(shipped, "subsidie", "uitvoeringskracht_aangesteld")
    assert said(kracht, EMPTY).detail == "nog geen programmamanager of projectleider aangewezen"
    assert said(kracht, FULL).detail == "aangewezen: Ans de Vries als programmamanager"
    twee = compiled(shipped, "subsidie", {"check": "role", "with": {
        "role": ["programmamanager", "penvoerder"], "min": 2}})
    assert said(twee, FULL).detail == (
        "2 personen nodig als programmamanager of penvoerder, "
        "gevonden: Ans de Vries als programmamanager en penvoerder")


# --- moments: milestones and parameters by their labels -------------------------------------------


def test_before_a_milestone_names_its_label_and_moment(shipped: dict[str, LoadedWorkflow]) -> None:
    check = requirement(shipped, "subsidie", "voor_deadline")
    expected = "moet vóór de deadline subsidieaanvraag (dinsdag 15 oktober 2024, 16:00)"
    assert said(check, EMPTY) == CheckResult(True, expected)
    assert said(check, region(now=DEADLINE)) == CheckResult(False, expected)
    assert said(check, EMPTY, "en").detail == (
        "must be before the deadline subsidieaanvraag (Tuesday 15 October 2024, 16:00)")
    aanvulling = requirement(shipped, "aanvulling", "voor_deadline")
    assert said(aanvulling, EMPTY).detail == (
        "moet vóór de deadline aanvullende aanvraag (dinsdag 15 oktober 2024, 16:00)")


def test_after_a_milestone(shipped: dict[str, LoadedWorkflow]) -> None:
    check = requirement(shipped, "subsidie", "deadline_voorbij")
    assert said(check, EMPTY) == CheckResult(
        False, "kan pas vanaf de deadline subsidieaanvraag (dinsdag 15 oktober 2024, 16:00)")
    assert said(check, region(now=DEADLINE)).passed
    later = compiled(shipped, "subsidie", {"check": "before", "with": {
        "milestone": "deadline_aanvraag", "offset": "P1D"}})
    assert said(later, EMPTY).detail == (
        "moet vóór 1 dag na de deadline subsidieaanvraag (woensdag 16 oktober 2024, 16:00)")
    assert said(later, EMPTY, "en").detail == (
        "must be before 1 day after the deadline subsidieaanvraag (Wednesday 16 October 2024, 16:00)")


def test_a_milestone_without_a_date(shipped: dict[str, LoadedWorkflow]) -> None:
    check = requirement(shipped, "subsidie", "binnen_bezwaartermijn_afwijzing")
    assert said(check, EMPTY) == CheckResult(
        False, "geen datum voor de bezwaartermijn (zes weken na de beschikking) bij deze zaak")


def test_moments_of_parameters(shipped: dict[str, LoadedWorkflow]) -> None:
    venster = requirement(shipped, "subsidie", "venster_open")
    assert said(venster, EMPTY) == CheckResult(
        True, "kan pas vanaf maandag 17 juni 2024, 09:00 (aanvraagvenster open (09:00))")
    einde = requirement(shipped, "subsidie", "activiteitenperiode_voorbij")
    assert said(einde, EMPTY) == CheckResult(
        False, "kan pas vanaf woensdag 31 december 2025, 23:59 (einde van de activiteitenperiode)")
    assert said(einde, EMPTY, "en").detail == (
        "must be on or after Wednesday 31 December 2025, 23:59 (einde van de activiteitenperiode)")
    op_tijd = requirement(shipped, "voorlopers", "op_tijd_aangevraagd")
    assert said(op_tijd, EMPTY) == CheckResult(
        False, "moet vóór vrijdag 28 april 2023, 23:59 (uiterste datum aanvraag voorloper (28 april 2023))")
    assert said(op_tijd, region(params={})).detail == (
        "geen datum voor uiterste datum aanvraag voorloper (28 april 2023) bij deze zaak")


# --- facts: labels, numbers as Dutch writes them, yes and no --------------------------------------


def test_fact_checks_name_the_fact_by_its_label(shipped: dict[str, LoadedWorkflow]) -> None:
    bedrag = requirement(shipped, "subsidie", "aangevraagd_bedrag_vastgelegd")
    assert said(bedrag, EMPTY) == CheckResult(False, "Aangevraagd bedrag (EUR) is nog niet vastgelegd")
    assert said(bedrag, FULL) == CheckResult(True, "Aangevraagd bedrag (EUR): 1.275.000,00")
    assert said(bedrag, FULL, "en").detail == "Aangevraagd bedrag (EUR): 1,275,000.00"
    # subsidie 3 checks the size on the school locations; without them, on the declared facts.
    omvang = requirement(shipped, "subsidie", "minimale_omvang")
    assert said(omvang, region(facts={"leerlingen_po": 12000})) == CheckResult(False, (
        "voor deze regio zijn geen schoolvestigingen vastgelegd; volgens de opgegeven gegevens: "
        "PO 12.000 (15.000 nodig), VO nog niet vastgelegd (15.000 nodig), MBO nog niet vastgelegd "
        "(9.000 nodig)"))
    assert said(omvang, FULL) == CheckResult(True, (
        "voor deze regio zijn geen schoolvestigingen vastgelegd; volgens de opgegeven gegevens: "
        "PO 16.000 (15.000 nodig), VO nog niet vastgelegd (15.000 nodig), MBO nog niet vastgelegd "
        "(9.000 nodig)"))
    plafond = requirement(shipped, "aanvulling", "binnen_plafond")
    assert said(plafond, region(facts={"aangevraagd_aanvulling": Decimal("300000.00")})).detail == (
        "Aangevraagd aanvullend bedrag (EUR) moet ten minste 0,01 en ten hoogste 250.000 zijn, "
        "is 300.000,00")


def test_yes_no_facts(shipped: dict[str, LoadedWorkflow]) -> None:
    uniek = requirement(shipped, "subsidie", "vestigingen_uniek")
    fallback = ("voor deze regio zijn geen schoolvestigingen vastgelegd; volgens de opgegeven "
                "gegevens: elke schoolvestiging neemt aan ten hoogste één onderwijsregio deel: ")
    assert said(uniek, region(facts={"vestigingen_uniek": False})) == CheckResult(False, fallback + "nee")
    assert said(uniek, EMPTY).detail == fallback + "nog niet vastgelegd"
    assert said(uniek, region(facts={"vestigingen_uniek": True})) == CheckResult(True, fallback + "ja")
    aard = requirement(shipped, "aanvulling", "aard_gekozen")
    assert said(aard, region(facts={"aard_aanvulling": "verbreden"})).detail == (
        "Aard van de aanvulling: 'verbreden'")


# --- cases: the states by their labels ------------------------------------------------------------


def test_case_checks_name_the_states(shipped: dict[str, LoadedWorkflow]) -> None:
    lopend = requirement(shipped, "regiovorming", "subsidie_lopend")
    ingediend = region(cases={"subsidie": ["ingediend"]})
    assert said(lopend, ingediend) == CheckResult(False, (
        "de subsidie-zaak heeft status subsidieaanvraag ingediend bij DUS-I, nodig: subsidie "
        "verleend, in uitvoering (activiteitenperiode), verantwoording ingediend of bezwaar tegen "
        "de verlening ingediend (bijvoorbeeld een lager bedrag dan aangevraagd)"))
    assert said(lopend, region(cases={"subsidie": ["verleend"]})) == CheckResult(
        True, "een subsidie-zaak heeft status subsidie verleend")
    assert said(lopend, EMPTY).detail == "geen subsidie-zaak"
    twee = region(cases={"subsidie": ["afgewezen", "ingetrokken"]})
    assert said(lopend, twee).detail.startswith(
        "de subsidie-zaken hebben status subsidieaanvraag afgewezen (bezwaartermijn loopt) en "
        "aanvraag ingetrokken, nodig: ")
    ronde = requirement(shipped, "aanvulling", "subsidie_2025_verleend")
    assert said(ronde, EMPTY).detail == "geen subsidie-zaak van ronde 2025"
    assert said(ronde, region(rounds={"subsidie": {"2025": "verleend"}})) == CheckResult(
        True, "de subsidie-zaak van ronde 2025 heeft status subsidie verleend")
    assert said(ronde, EMPTY, "en").detail == "no subsidie case of round 2025"


def test_without_labels_a_state_is_its_name_in_words(shipped: dict[str, LoadedWorkflow]) -> None:
    """Loaded on its own, a workflow does not know another's labels: the state names read as
    words."""
    definition = shipped["regiovorming"].definition
    scope = CompileScope.for_workflow(definition, {})
    check = REGISTRY.compile(definition.requirements["subsidie_lopend"].model_dump(
        by_alias=True, exclude_none=True), scope)
    assert said(check, region(cases={"subsidie": ["ingediend"]})).detail == (
        "de subsidie-zaak heeft status ingediend, nodig: verleend, in uitvoering, verantwoording "
        "of bezwaar verlening")


def test_not_in_dutch(shipped: dict[str, LoadedWorkflow]) -> None:
    geen = requirement(shipped, "regiovorming", "geen_subsidie_lopend")
    assert said(geen, region(cases={"subsidie": ["verleend"]})) == CheckResult(
        False, "mag niet het geval zijn: een subsidie-zaak heeft status subsidie verleend")
    assert said(geen, EMPTY) == CheckResult(True, "niet het geval, zoals vereist: geen subsidie-zaak")
    assert said(geen, EMPTY, "en").detail == "does not hold, as required: no subsidie case"


def test_none_of_in_dutch(shipped: dict[str, LoadedWorkflow]) -> None:
    mixed = compiled(shipped, "subsidie", {"check": "any", "with": [
        {"check": "partner", "with": {"kind": "beroepsgroep"}},
        {"check": "document", "with": {"kind": "advies_re"}},
        {"check": "partner", "with": {"kind": "vakbond"}},
    ]})
    assert said(mixed, EMPTY) == CheckResult(
        False, "geen van: geen beroepsgroep of vakbond als partner; het advies van de RE ontbreekt")
    assert said(mixed, EMPTY, "en").detail == (
        "none of: no profession group or union as partner; the RE's advice is missing")


# --- records ------------------------------------------------------------------------------------


def actie(thema: str) -> RecordInfo:
    return RecordInfo("actie", {"thema": thema, "omschrijving": f"SMART {thema}"}, NOW, 1, "subsidie")


def test_every_theme_needs_an_action(shipped: dict[str, LoadedWorkflow]) -> None:
    check = requirement(shipped, "subsidie", "elk_thema_een_actie")
    ctx = region(records=[actie("werven"), actie("opleiden"), actie("begeleiden")])
    ctx.focus(1)
    assert said(check, ctx) == CheckResult(False, "geen actie voor thema matchen, professionaliseren")
    assert said(check, ctx, "en").detail == "no actie for thema matchen, professionaliseren"
    ctx = region(records=[actie(t) for t in ("werven", "matchen", "opleiden", "begeleiden",
                                             "professionaliseren")])
    ctx.focus(1)
    assert said(check, ctx) == CheckResult(
        True, "actie vastgelegd voor thema werven, matchen, opleiden, begeleiden, professionaliseren")


def test_a_peilgesprek_within_six_months(shipped: dict[str, LoadedWorkflow]) -> None:
    check = compiled(shipped, "subsidie", {"check": "record", "with": {
        "kind": "peilgesprek", "within": "P6M", "date_field": "datum"}})
    now = datetime(2025, 12, 4, 10, 0, tzinfo=UTC)
    gesprek = RecordInfo("peilgesprek", {"datum": "2025-01-10"}, now)
    assert said(check, region(now=now, records=[gesprek])) == CheckResult(
        False, "geen peilgesprek sinds 4 juni 2025 (het laatste op 10 januari 2025)")
    assert said(check, region(now=now)).detail == "geen peilgesprek sinds 4 juni 2025 (nog nooit vastgelegd)"
    assert said(check, region(now=now, records=[gesprek]), "en").detail == (
        "no peilgesprek since 4 June 2025 (the last on 10 January 2025)")
    recent = RecordInfo("peilgesprek", {"datum": "2025-07-01"}, now)
    assert said(check, region(now=now, records=[gesprek, recent])) == CheckResult(
        True, "peilgesprek sinds 4 juni 2025: 1 nodig, 1 gevonden (het laatste op 1 juli 2025)")
    counted = compiled(shipped, "subsidie", {"check": "record", "with": {
        "kind": "actie", "where": {"thema": ["werven", "matchen"]}, "min": 2}})
    ctx = region(records=[actie("werven")])
    ctx.focus(1)
    assert said(counted, ctx).detail == "actie met thema werven of matchen: 2 nodig, 1 gevonden"


# --- no English in the Dutch ----------------------------------------------------------------------


def test_no_english_word_in_any_shipped_requirement_sentence(shipped: dict[str, LoadedWorkflow]) -> None:
    contexts = [EMPTY, FULL, region(now=DEADLINE, cases={"subsidie": ["ingediend"]},
                                    rounds={"subsidie": {"2025": "afgewezen"}},
                                    facts={"leerlingen_po": 100, "vestigingen_uniek": False}),
                region(params={}, milestones={}, cases={"subsidie": ["verleend"]})]
    sentences = set()
    for workflow in shipped:
        scope = scope_of(shipped, workflow)
        for name, spec in scope.requirements.items():
            check = REGISTRY.compile(spec, scope)
            for ctx in contexts:
                sentences.add((f"{workflow}.{name}", said(check, ctx).detail))
    assert len(sentences) > 60
    english = [(where, s) for where, s in sentences if ENGLISH.search(s)]
    assert english == []


# --- spec errors and refusals ---------------------------------------------------------------------


def test_spec_errors_at_load_time_are_dutch(shipped: dict[str, LoadedWorkflow]) -> None:
    scope = scope_of(shipped, "subsidie")
    cases = [
        ({"check": "before", "with": {"milestone": "deadline_aanvrag"}},
         "onbekende mijlpaal 'deadline_aanvrag' (bedoelt u 'deadline_aanvraag'?)"),
        ({"check": "partner", "with": {"kind": "vakbond", "min": 0}},
         "check 'partner' 'min': De waarde moet minstens 1 zijn"),
        ({"check": "fact", "with": {"name": "leerlingen_po"}},
         "check 'fact': een check op een gegeven heeft set, equals, min of max nodig"),
        ({"check": "any", "with": []},
         "check 'any' krijgt onder 'with' een lijst met ten minste één check"),
        ({"check": "record", "with": {"kind": "peilgesprek", "date_field": "datum"}},
         "check 'record': date_field werkt alleen samen met within"),
    ]
    for spec, message in cases:
        with i18n.using("nl"), pytest.raises(CheckSpecError) as caught:
            REGISTRY.compile(spec, scope)
        assert str(caught.value) == message
    with i18n.using("en"), pytest.raises(CheckSpecError, match="unknown milestone 'deadline_aanvrag'"):
        REGISTRY.compile(cases[0][0], scope)


def test_refusals_of_the_machine_are_dutch(shipped: dict[str, LoadedWorkflow]) -> None:
    machine = WorkflowMachine(shipped["subsidie"])
    with i18n.using("nl"):
        final = machine.fire("vastgesteld", "trek_in", EMPTY)
        impossible = machine.fire("voorbereiding", "verleen", EMPTY)
        unmet = machine.fire("in_uitvoering", "dien_verantwoording_in", EMPTY)
        with pytest.raises(NotFound) as unknown:
            machine.fire("voorbereiding", "vlieg", EMPTY)
    assert final.refusal == "de zaak staat al in eindstatus 'vastgesteld'"
    assert impossible.refusal == ("stap 'verleen' kan niet vanuit status 'voorbereiding' "
                                  "(wel mogelijk: dien_aanvraag_in, deadline_verstreken, trek_in)")
    assert unmet.refusal == (
        "niet aan alle voorwaarden voldaan: De activiteitenperiode is voorbij: kan pas vanaf "
        "woensdag 31 december 2025, 23:59 (einde van de activiteitenperiode); Het jaarverslag met de "
        "verantwoording (model G1) is vastgelegd: het jaarverslag ontbreekt")
    assert str(unknown.value) == "workflow 'subsidie' heeft geen stap 'vlieg'"


def test_the_loader_compiles_sentences_that_need_no_label(shipped: dict[str, LoadedWorkflow]) -> None:
    """The workflow as loaded says the same for checks whose words come from the vocabulary."""
    loaded = shipped["subsidie"].requirements
    for name in ("beroepsgroep_betrokken", "penvoerder_aangewezen", "subsidieaanvraag_aanwezig",
                 "aangevraagd_bedrag_vastgelegd", "venster_open", "elk_thema_een_actie"):
        ours = requirement(shipped, "subsidie", name)
        for ctx in (EMPTY, FULL):
            assert said(loaded[name], ctx) == said(ours, ctx), name


# --- a plug-in's own translations -----------------------------------------------------------------


class SectorenParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: int = 2


def plugin_catalog(directory: Path) -> Path:
    """A plug-in's Dutch catalog, compiled as a plug-in ships it (domain `proefchecks`)."""
    catalog = Catalog(locale="nl", domain="proefchecks")
    catalog.add("school boards of {min} sectors needed, found: {found}",
                "schoolbesturen uit {min} sectoren nodig, gevonden: {found}")
    catalog.add("none", "geen")
    target = directory / "nl" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "proefchecks.mo").open("wb") as out:
        write_mo(out, catalog)
    return directory


def test_a_plugin_check_says_its_sentences_through_its_own_catalog(tmp_path: Path) -> None:
    _ = translator("proefchecks", plugin_catalog(tmp_path / "locale"))

    @check_type("sectoren", SectorenParams)
    def sectoren(p: SectorenParams, ctx: RegionContext) -> CheckResult:
        found = sorted({x.sector for x in ctx.partners if x.kind == "schoolbestuur" and x.sector})
        return CheckResult(len(found) >= p.min, lambda: _(
            "school boards of {min} sectors needed, found: {found}").format(
            min=p.min, found=", ".join(found) or _("none")))

    registry = CheckRegistry({"sectoren": sectoren}, plugins=False)
    check = registry.compile({"check": "sectoren", "with": {"min": 2}},
                             CompileScope(facts={}, milestones=frozenset(), requirements={}))
    assert said(check, EMPTY) == CheckResult(False, "schoolbesturen uit 2 sectoren nodig, gevonden: geen")
    assert said(check, EMPTY, "en") == CheckResult(
        False, "school boards of 2 sectors needed, found: none")
    assert said(check, FULL).detail == "schoolbesturen uit 2 sectoren nodig, gevonden: PO"
    # inside a combinator the plug-in's sentence keeps its language
    either = registry.compile({"check": "any", "with": [
        {"check": "sectoren"}, {"check": "partner", "with": {"kind": "gemeente"}}]},
        CompileScope(facts={}, milestones=frozenset(), requirements={}))
    assert said(either, EMPTY).detail == (
        "geen van: schoolbesturen uit 2 sectoren nodig, gevonden: geen; geen gemeente als partner")
    # a message the catalog lacks, and a language without a catalog, read as written
    assert _("something else") == "something else"
    with i18n.using("en"):
        assert _("none") == "none"
