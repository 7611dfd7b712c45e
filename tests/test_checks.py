"""Requirement checks: every built-in, the combinators, compile errors and plug-ins (design §3).

A check answers pass/fail *and* a sentence of what it found; the sentences are part of the
contract (they are what a refused coordinator reads), so they are asserted exactly.
"""

from __future__ import annotations

import importlib.metadata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from onderwijsflow.definition.model import FactDef, RecordDef
from onderwijsflow.definition.records import validate_record
from onderwijsflow.engine import checks
from onderwijsflow.engine.checks import (
    ENTRY_POINT_GROUP,
    CheckRegistry,
    CheckResult,
    CheckSpecError,
    CheckType,
    CompileScope,
    check_type,
)
from onderwijsflow.engine.context import (
    DocumentInfo,
    PartnerInfo,
    RecordInfo,
    RegionContext,
    RoleInfo,
)
from onderwijsflow.engine.loading import load_workflow_text
from onderwijsflow.errors import DefinitionError

NOW = datetime(2024, 9, 1, 10, 0, tzinfo=UTC)
DEADLINE = datetime(2024, 10, 15, 14, 0, tzinfo=UTC)  # 15 October 2024 16:00 local

FACTS = {
    "subsidiebedrag": FactDef(type="decimal"),
    "leraren": FactDef(type="int"),
    "startdatum": FactDef(type="date"),
    "fase": FactDef(type="string", choices=("verkenning", "pilot")),
    "akkoord": FactDef(type="bool"),
}
MILESTONES = frozenset({"deadline_aanvraag", "beschikking"})


RECORDS = {
    "peilgesprek": RecordDef.model_validate({"label": "Peilgesprek", "fields": {
        "datum": {"type": "date", "required": True},
        "deelnemers": {"type": "list"},
        "verslag": {"type": "text"},
    }}),
    "actie": RecordDef.model_validate({"label": "Actie", "scope": "case", "fields": {
        "thema": {"type": "choice", "choices": ["werven", "matchen", "opleiden"], "required": True},
        "omschrijving": {"type": "text"},
        "eigenaar": {"type": "partner"},
        "uren": {"type": "integer"},
        "kosten": {"type": "number"},
        "smart": {"type": "boolean"},
        "gereed": {"type": "date"},
    }}),
}


def scope(**requirements: Any) -> CompileScope:
    return CompileScope(facts=FACTS, milestones=MILESTONES, requirements=requirements,
                        records=RECORDS)


REGISTRY = CheckRegistry(plugins=False)


def compile_(spec: Any, **requirements: Any):
    return REGISTRY.compile(spec, scope(**requirements))


def run(spec: Any, ctx: RegionContext, **requirements: Any) -> CheckResult:
    return compile_(spec, **requirements)(ctx)


def region(**fields: Any) -> RegionContext:
    fields.setdefault("now", NOW)
    return RegionContext(slug="twente", **fields)


EMPTY = region()
FULL = region(
    partners=[
        PartnerInfo("Stichting Atlant", "schoolbestuur", "PO"),
        PartnerInfo("Stichting Keender", "schoolbestuur", "VO"),
        PartnerInfo("AOb", "vakbond"),
        PartnerInfo("Saxion", "lerarenopleiding", "HO"),
    ],
    roles=[
        RoleInfo("programmamanager", "Ans de Vries", "ans@example.org"),
        RoleInfo("projectleider", "Bram Jansen"),
    ],
    documents=[
        DocumentInfo("plan_van_aanpak", "PvA Twente 2025", "PVA-1", date(2024, 9, 1)),
        DocumentInfo("arbeidsmarktanalyse", "Analyse 2024"),
        DocumentInfo("arbeidsmarktanalyse", "Analyse 2024 (herzien)"),
    ],
    facts={
        "subsidiebedrag": Decimal("150000.50"),
        "leraren": 12,
        "startdatum": date(2024, 8, 1),
        "fase": "pilot",
        "akkoord": False,
    },
    cases={"regiovorming": ["voorlopige_pilot"], "subsidie": ["ingediend"]},
    milestones={"deadline_aanvraag": DEADLINE},
)


def check(which: str, /, **params: Any) -> dict[str, Any]:
    return {"check": which, "with": params}


# --- leaf checks: pass and fail, with their sentence ------------------------------------------

LEAF_CASES = [
    # partner
    (check("partner", kind="beroepsgroep"), EMPTY, False, "no profession group as partner"),
    (check("partner", kind="vakbond"), FULL, True, "union as partner: AOb"),
    (check("partner", kind="schoolbestuur", min=2), FULL, True,
     "school boards as partner: Stichting Atlant, Stichting Keender"),
    (check("partner", kind="schoolbestuur", min=3), FULL, False,
     "3 school boards needed as partners, 2 found"),
    (check("partner", kind="schoolbestuur", sector="PO"), FULL, True,
     "school board (PO) as partner: Stichting Atlant"),
    (check("partner", kind="schoolbestuur", sector="MBO"), FULL, False,
     "no school board (MBO) as partner"),
    # role: one role, several roles, min
    (check("role", role="programmamanager"), EMPTY, False, "no programme manager appointed yet"),
    (check("role", role="programmamanager"), FULL, True,
     "appointed: Ans de Vries as programme manager"),
    (check("role", role=["kwartiermaker", "projectleider"]), FULL, True,
     "appointed: Bram Jansen as project leader"),
    (check("role", role=["kwartiermaker", "penvoerder"]), FULL, False,
     "no quartermaster (kwartiermaker) or lead applicant (penvoerder) appointed yet"),
    (check("role", role=["programmamanager", "projectleider"], min=2), FULL, True,
     "appointed: Ans de Vries as programme manager, Bram Jansen as project leader"),
    (check("role", role=["programmamanager", "secretaris"], min=2), FULL, False,
     "2 people needed as programme manager or secretary, found: Ans de Vries as programme manager"),
    # document
    (check("document", kind="plan_van_aanpak"), EMPTY, False,
     "the plan of action is missing"),
    (check("document", kind="plan_van_aanpak"), FULL, True,
     "the plan of action is recorded: 'PvA Twente 2025'"),
    (check("document", kind="arbeidsmarktanalyse", min=2), FULL, True,
     "the labour-market analysis is recorded: 'Analyse 2024'; 'Analyse 2024 (herzien)'"),
    (check("document", kind="arbeidsmarktanalyse", min=3), FULL, False,
     "the labour-market analysis: 3 needed, 2 found: 'Analyse 2024'; 'Analyse 2024 (herzien)'"),
    # fact: set
    (check("fact", name="subsidiebedrag", set=True), EMPTY, False,
     "subsidiebedrag is not set yet"),
    (check("fact", name="subsidiebedrag", set=True), FULL, True,
     "subsidiebedrag: 150,000.50"),
    (check("fact", name="subsidiebedrag", set=False), EMPTY, True,
     "subsidiebedrag is not set"),
    (check("fact", name="subsidiebedrag", set=False), FULL, False,
     "subsidiebedrag must not be set, is 150,000.50"),
    # fact: equals (text, bool, int, date)
    (check("fact", name="fase", equals="pilot"), FULL, True, "fase: 'pilot'"),
    (check("fact", name="fase", equals="verkenning"), FULL, False,
     "fase: 'pilot' (must be 'verkenning')"),
    (check("fact", name="fase", equals="pilot"), EMPTY, False, "fase: not set (must be 'pilot')"),
    (check("fact", name="akkoord", equals=False), FULL, True, "akkoord: no"),
    (check("fact", name="akkoord", equals=True), FULL, False, "akkoord: no (must be yes)"),
    (check("fact", name="leraren", equals=12), FULL, True, "leraren: 12"),
    (check("fact", name="startdatum", equals=date(2024, 8, 1)), FULL, True,
     "startdatum: 1 August 2024"),
    # fact: min / max over ints, decimals and dates
    (check("fact", name="leraren", min=10), FULL, True, "leraren must be at least 10, is 12"),
    (check("fact", name="leraren", min=15), FULL, False, "leraren must be at least 15, is 12"),
    (check("fact", name="leraren", min=10), EMPTY, False, "leraren must be at least 10, is not set"),
    (check("fact", name="leraren", max=12), FULL, True, "leraren must be at most 12, is 12"),
    (check("fact", name="leraren", max=11), FULL, False, "leraren must be at most 11, is 12"),
    (check("fact", name="leraren", min=1, max=20), FULL, True,
     "leraren must be at least 1 and at most 20, is 12"),
    (check("fact", name="leraren", min=13, max=20), FULL, False,
     "leraren must be at least 13 and at most 20, is 12"),
    (check("fact", name="subsidiebedrag", min="150000.50"), FULL, True,
     "subsidiebedrag must be at least 150,000.50, is 150,000.50"),
    (check("fact", name="subsidiebedrag", min=150000.51), FULL, False,
     "subsidiebedrag must be at least 150,000.51, is 150,000.50"),
    (check("fact", name="subsidiebedrag", max=100000), FULL, False,
     "subsidiebedrag must be at most 100,000, is 150,000.50"),
    (check("fact", name="startdatum", min=date(2024, 8, 1)), FULL, True,
     "startdatum must be at least 1 August 2024, is 1 August 2024"),
    (check("fact", name="startdatum", min="2024-08-02"), FULL, False,
     "startdatum must be at least 2 August 2024, is 1 August 2024"),
    (check("fact", name="startdatum", max=date(2024, 12, 31)), FULL, True,
     "startdatum must be at most 31 December 2024, is 1 August 2024"),
    # a bound of the wrong kind fails, it does not crash
    (check("fact", name="startdatum", min=5), FULL, False, "startdatum must be at least 5, is 1 August 2024"),
    (check("fact", name="fase", min=1), FULL, False, "fase must be at least 1, is 'pilot'"),
    # case
    (check("case", workflow="subsidie", state=["verleend", "in_uitvoering"]), FULL, False,
     "the subsidie case is in ingediend, needed: verleend or in uitvoering"),
    (check("case", workflow="subsidie", state="ingediend"), FULL, True,
     "a subsidie case is in ingediend"),
    (check("case", workflow="subsidie", state="ingediend"), EMPTY, False,
     "no subsidie case"),
]


@pytest.mark.parametrize(("spec", "ctx", "passed", "detail"), LEAF_CASES)
def test_leaf_check(spec: dict[str, Any], ctx: RegionContext, passed: bool, detail: str) -> None:
    assert run(spec, ctx) == CheckResult(passed, detail)


def test_a_case_check_passes_when_any_case_of_that_workflow_is_in_a_state() -> None:
    ctx = region(cases={"subsidie": ["afgewezen", "verleend"]})
    result = run(check("case", workflow="subsidie", state="verleend"), ctx)
    assert result == CheckResult(True, "a subsidie case is in verleend")


def test_a_decimal_fact_equals_the_number_written_in_yaml() -> None:
    """`equals: 0.1` in YAML is a float; a decimal fact of 0.1 must still match it."""
    ctx = region(facts={"subsidiebedrag": Decimal("0.1")})
    assert run(check("fact", name="subsidiebedrag", equals=0.1), ctx).passed
    ctx = region(facts={"subsidiebedrag": Decimal("150000.00")})
    assert run(check("fact", name="subsidiebedrag", equals=150000), ctx).passed
    assert not run(check("fact", name="subsidiebedrag", equals=150000.01), ctx).passed


# --- before / after ---------------------------------------------------------------------------

MOMENT_CASES = [
    # milestone
    (check("before", milestone="deadline_aanvraag"), NOW, True,
     "must be before milestone deadline_aanvraag (Tuesday 15 October 2024, 16:00)"),
    (check("before", milestone="deadline_aanvraag"), DEADLINE, False,
     "must be before milestone deadline_aanvraag (Tuesday 15 October 2024, 16:00)"),
    (check("after", milestone="deadline_aanvraag"), DEADLINE, True,
     "must be on or after milestone deadline_aanvraag (Tuesday 15 October 2024, 16:00)"),
    (check("after", milestone="deadline_aanvraag"), NOW, False,
     "must be on or after milestone deadline_aanvraag (Tuesday 15 October 2024, 16:00)"),
    # milestone with an offset (6 weeks after the deadline is 26 November, winter time)
    (check("after", milestone="deadline_aanvraag", offset="P6W"),
     datetime(2024, 11, 26, 13, 59, tzinfo=UTC), False,
     "must be on or after 6 weeks after milestone deadline_aanvraag (Tuesday 26 November 2024, 15:00)"),
    (check("after", milestone="deadline_aanvraag", offset="P6W"),
     datetime(2024, 11, 26, 14, 0, tzinfo=UTC), True,
     "must be on or after 6 weeks after milestone deadline_aanvraag (Tuesday 26 November 2024, 15:00)"),
    # a milestone without a date for this case
    (check("before", milestone="beschikking"), NOW, False,
     "no date for milestone beschikking in this case"),
    (check("after", milestone="beschikking"), NOW, False,
     "no date for milestone beschikking in this case"),
    # a date: end of that day local; a date-time without offset is local time
    (check("before", date=date(2024, 10, 15)), datetime(2024, 10, 15, 21, 59, tzinfo=UTC), True,
     "must be before Tuesday 15 October 2024, 23:59"),
    (check("before", date="2024-10-15"), datetime(2024, 10, 15, 22, 0, tzinfo=UTC), False,
     "must be before Tuesday 15 October 2024, 23:59"),
    (check("after", date="2024-10-15T16:00"), datetime(2024, 10, 15, 14, 0, tzinfo=UTC), True,
     "must be on or after Tuesday 15 October 2024, 16:00"),
    (check("after", date="2024-07-01", offset="P1Y"), datetime(2025, 7, 1, 12, 0, tzinfo=UTC),
     False, "must be on or after Tuesday 1 July 2025, 23:59"),
    (check("before", date="2024-07-01", offset="P1Y"), datetime(2025, 7, 1, 12, 0, tzinfo=UTC),
     True, "must be before Tuesday 1 July 2025, 23:59"),
]


@pytest.mark.parametrize(("spec", "now", "passed", "detail"), MOMENT_CASES)
def test_before_and_after(spec: dict[str, Any], now: datetime, passed: bool, detail: str) -> None:
    ctx = region(now=now, milestones={"deadline_aanvraag": DEADLINE})
    assert run(spec, ctx) == CheckResult(passed, detail)


# --- record (language 1.1) --------------------------------------------------------------------
# NOW is 1 September 2024, 12:00 local: six months back (P6M) is 1 March 2024.


def record(kind: str, *, at: datetime = NOW - timedelta(days=1), case: int | None = None,
           **fields: Any) -> RecordInfo:
    """A record as the store keeps it: its fields validated by the library (dates as text)."""
    stored = validate_record(kind, RECORDS[kind], fields, None)
    return RecordInfo(kind, stored, at, case, "traject" if case else None)


def peilgesprek(datum: str, **fields: Any) -> RecordInfo:
    return record("peilgesprek", datum=datum, **fields)


def actie(thema: str, case: int = 1, **fields: Any) -> RecordInfo:
    return record("actie", thema=thema, case=case, **fields)


def in_case(case: int | None, **fields: Any) -> RegionContext:
    ctx = region(**fields)
    ctx.focus(case)
    return ctx


def test_record_min() -> None:
    spec = check("record", kind="peilgesprek")
    assert run(spec, EMPTY) == CheckResult(False, "no peilgesprek recorded")
    ctx = region(records=[peilgesprek("2020-01-01"), actie("werven", case=None)])
    assert run(spec, ctx) == CheckResult(True, "peilgesprek: 1 needed, 1 found")
    assert run(check("record", kind="peilgesprek", min=2), ctx) == CheckResult(
        False, "peilgesprek: 2 needed, 1 found")
    ctx = region(records=[peilgesprek("2020-01-01"), peilgesprek("2021-01-01")])
    assert run(check("record", kind="peilgesprek", min=2), ctx) == CheckResult(
        True, "peilgesprek: 2 needed, 2 found")


WITHIN = check("record", kind="peilgesprek", within="P6M", date_field="datum")


@pytest.mark.parametrize(("records", "passed", "detail"), [
    ([], False, "no peilgesprek since 1 March 2024 (none recorded)"),
    # exactly on the boundary day: counts
    (["2024-03-01"], True, "peilgesprek since 1 March 2024: 1 needed, 1 found (the last on 1 March 2024)"),
    # one day earlier: does not
    (["2024-02-29"], False, "no peilgesprek since 1 March 2024 (the last on 29 February 2024)"),
    # today counts; a record dated in the future does not count (nor is it "the last")
    (["2024-09-01"], True,
     "peilgesprek since 1 March 2024: 1 needed, 1 found (the last on 1 September 2024)"),
    (["2024-09-02"], False, "no peilgesprek since 1 March 2024 (none recorded)"),
    (["2024-02-29", "2024-12-01"], False, "no peilgesprek since 1 March 2024 (the last on 29 February 2024)"),
    (["2024-05-01", "2023-01-01", "2024-04-01"], True,
     "peilgesprek since 1 March 2024: 1 needed, 2 found (the last on 1 May 2024)"),
])
def test_record_within_a_date_field(records: list[str], passed: bool, detail: str) -> None:
    # the moment of adding does not matter when a date field is named
    ctx = region(records=[peilgesprek(d, at=datetime(2020, 1, 1, tzinfo=UTC)) for d in records])
    assert run(WITHIN, ctx) == CheckResult(passed, detail)


def test_record_within_with_min() -> None:
    spec = check("record", kind="peilgesprek", within="P6M", date_field="datum", min=2)
    ctx = region(records=[peilgesprek("2024-03-01"), peilgesprek("2024-02-29")])
    assert run(spec, ctx) == CheckResult(
        False, "peilgesprek since 1 March 2024: 2 needed, 1 found (the last on 1 March 2024)")
    ctx = region(records=[peilgesprek("2024-03-01"), peilgesprek("2024-08-31")])
    assert run(spec, ctx) == CheckResult(
        True, "peilgesprek since 1 March 2024: 2 needed, 2 found (the last on 31 August 2024)")
    assert run(spec, EMPTY) == CheckResult(
        False, "peilgesprek since 1 March 2024: 2 needed, 0 found (none recorded)")


def test_record_within_counts_calendar_months_from_the_local_day() -> None:
    # 31 August 2024 local: six months back is 29 February (clamped, a leap year) ...
    now = datetime(2024, 8, 31, 10, 0, tzinfo=UTC)
    ctx = region(now=now, records=[peilgesprek("2024-02-29")])
    assert run(WITHIN, ctx) == CheckResult(
        True, "peilgesprek since 29 February 2024: 1 needed, 1 found (the last on 29 February 2024)")
    ctx = region(now=now, records=[peilgesprek("2024-02-28")])
    assert run(WITHIN, ctx) == CheckResult(
        False, "no peilgesprek since 29 February 2024 (the last on 28 February 2024)")
    # ... and at 00:30 local on 1 September (22:30 UTC the day before) today is 1 September:
    # a record dated today counts and the window starts on 1 March.
    ctx = region(now=datetime(2024, 8, 31, 22, 30, tzinfo=UTC),
                 records=[peilgesprek("2024-09-01"), peilgesprek("2024-02-29")])
    assert run(WITHIN, ctx) == CheckResult(
        True, "peilgesprek since 1 March 2024: 1 needed, 1 found (the last on 1 September 2024)")


@pytest.mark.parametrize(("at", "passed", "detail"), [
    # 1 March 2024 00:30 local (winter time, UTC+1): on the boundary day
    (datetime(2024, 2, 29, 23, 30, tzinfo=UTC), True,
     "peilgesprek since 1 March 2024: 1 needed, 1 found (the last on 1 March 2024)"),
    # 29 February 2024 23:59 local: one day earlier
    (datetime(2024, 2, 29, 22, 59, tzinfo=UTC), False,
     "no peilgesprek since 1 March 2024 (the last on 29 February 2024)"),
    (NOW, True, "peilgesprek since 1 March 2024: 1 needed, 1 found (the last on 1 September 2024)"),
    # added "tomorrow" (a clock set back): does not count
    (NOW + timedelta(days=1), False, "no peilgesprek since 1 March 2024 (none recorded)"),
])
def test_record_within_without_date_field_uses_the_local_day_it_was_added(
        at: datetime, passed: bool, detail: str) -> None:
    spec = check("record", kind="peilgesprek", within="P6M")
    ctx = region(records=[peilgesprek("2000-01-01", at=at)])  # datum is not read
    assert run(spec, ctx) == CheckResult(passed, detail)


def test_record_where_a_scalar_value() -> None:
    ctx = in_case(1, records=[actie("werven"), actie("matchen"), actie("werven", smart="ja")])
    assert run(check("record", kind="actie", where={"thema": "werven"}), ctx) == CheckResult(
        True, "actie with thema werven: 1 needed, 2 found")
    assert run(check("record", kind="actie", where={"thema": "opleiden"}), ctx) == CheckResult(
        False, "no actie with thema opleiden recorded")
    assert run(check("record", kind="actie", where={"smart": True}), ctx) == CheckResult(
        True, "actie with smart yes: 1 needed, 1 found")
    spec = check("record", kind="actie", where={"thema": "werven", "smart": True}, min=2)
    assert run(spec, ctx) == CheckResult(
        False, "actie with thema werven with smart yes: 2 needed, 1 found")


def test_record_where_a_list_of_values() -> None:
    ctx = in_case(1, records=[actie("werven"), actie("matchen"), actie("opleiden")])
    spec = check("record", kind="actie", where={"thema": ["werven", "matchen"]}, min=2)
    assert run(spec, ctx) == CheckResult(True, "actie with thema werven or matchen: 2 needed, 2 found")
    spec = check("record", kind="actie", where={"thema": ["werven", "matchen"]}, min=3)
    assert run(spec, ctx) == CheckResult(False, "actie with thema werven or matchen: 3 needed, 2 found")


def test_record_where_on_a_list_field_matches_any_item() -> None:
    ctx = region(records=[peilgesprek("2024-08-01", deelnemers=["Anne", "Piet"]),
                          peilgesprek("2024-07-01", deelnemers=["Kees"])])
    assert run(check("record", kind="peilgesprek", where={"deelnemers": "Piet"}), ctx) == CheckResult(
        True, "peilgesprek with deelnemers Piet: 1 needed, 1 found")
    spec = check("record", kind="peilgesprek", where={"deelnemers": ["Kees", "Anne"]}, min=2)
    assert run(spec, ctx) == CheckResult(True, "peilgesprek with deelnemers Kees or Anne: 2 needed, 2 found")
    spec = check("record", kind="peilgesprek", where={"deelnemers": "Joke"})
    assert not run(spec, ctx).passed


def test_record_where_values_are_compared_in_their_stored_form() -> None:
    """A date, whole number or yes/no in the workflow matches what a person typed."""
    ctx = in_case(1, records=[actie("werven", gereed="2024-08-01", uren="007", smart="ja")])
    for where in ({"gereed": date(2024, 8, 1)}, {"gereed": "2024-08-01"}, {"uren": 7},
                  {"uren": "7"}, {"smart": True}, {"smart": "yes"}):
        assert run(check("record", kind="actie", where=where), ctx).passed, where
    assert not run(check("record", kind="actie", where={"gereed": date(2024, 8, 2)}), ctx).passed


def test_record_where_a_decimal_matches_by_value() -> None:
    """`where: {kosten: 1.5}` means the amount 1.5; an action whose cost was typed as 1.50 has
    that amount (the fact check compares decimals by value the same way)."""
    ctx = in_case(1, records=[actie("werven", kosten="1.50"), actie("matchen", kosten="100")])
    assert run(check("record", kind="actie", where={"kosten": 1.5}), ctx) == CheckResult(
        True, "actie with kosten 1.5: 1 needed, 1 found")
    assert run(check("record", kind="actie", where={"kosten": ["1.5", "100.00"]}, min=2),
               ctx) == CheckResult(True, "actie with kosten 1.5 or 100.00: 2 needed, 2 found")
    assert run(check("record", kind="actie", each={"kosten": [1.5, 100, 2]}), ctx) == CheckResult(
        False, "no actie for kosten 2")


def test_record_where_on_a_text_field_compares_text() -> None:
    """Only a number field is compared by value: text that looks like a number (a version,
    a BRIN number with its leading zero) is text, and "1.50" is not "1.5"."""
    ctx = in_case(1, records=[actie("werven", omschrijving="1.50"), actie("matchen", omschrijving="007")])
    for typed in ("1.5", "7", "1.500"):
        spec = check("record", kind="actie", where={"omschrijving": typed})
        assert run(spec, ctx) == CheckResult(False, f"no actie with omschrijving {typed} recorded")
    spec = check("record", kind="actie", where={"omschrijving": "007"})
    assert run(spec, ctx) == CheckResult(True, "actie with omschrijving 007: 1 needed, 1 found")


def test_record_within_and_where_together() -> None:
    spec = check("record", kind="peilgesprek", within="P6M", date_field="datum",
                 where={"deelnemers": "Anne"})
    ctx = region(records=[peilgesprek("2024-08-01", deelnemers=["Piet"]),
                          peilgesprek("2024-01-01", deelnemers=["Anne"])])
    assert run(spec, ctx) == CheckResult(
        False, "no peilgesprek with deelnemers Anne since 1 March 2024 (the last on 1 January 2024)")


EACH = check("record", kind="actie", each={"thema": ["werven", "matchen", "opleiden"]})


@pytest.mark.parametrize(("themas", "passed", "detail"), [
    ([], False, "no actie for thema werven, matchen, opleiden"),
    (["werven", "opleiden", "werven"], False, "no actie for thema matchen"),
    (["opleiden", "matchen", "werven"], True, "actie recorded for thema werven, matchen, opleiden"),
])
def test_record_each_names_the_missing_values(themas: list[str], passed: bool, detail: str) -> None:
    ctx = in_case(1, records=[actie(t) for t in themas])
    assert run(EACH, ctx) == CheckResult(passed, detail)


def test_record_each_with_min_and_where() -> None:
    spec = check("record", kind="actie", each={"thema": ["werven", "matchen"]}, min=2)
    ctx = in_case(1, records=[actie("werven"), actie("werven"), actie("matchen")])
    assert run(spec, ctx) == CheckResult(False, "fewer than 2 actie for thema matchen")
    ctx = in_case(1, records=[actie("werven"), actie("werven"), actie("matchen"), actie("matchen")])
    assert run(spec, ctx) == CheckResult(True, "actie recorded for thema werven, matchen")
    spec = check("record", kind="actie", each={"thema": ["werven", "matchen"]}, where={"smart": True})
    ctx = in_case(1, records=[actie("werven", smart="ja"), actie("matchen", smart="nee")])
    assert run(spec, ctx) == CheckResult(False, "no actie with smart yes for thema matchen")


def test_record_each_on_a_list_field() -> None:
    spec = check("record", kind="peilgesprek", each={"deelnemers": ["Anne", "Piet", "Kees"]})
    ctx = region(records=[peilgesprek("2024-08-01", deelnemers=["Anne", "Piet"])])
    assert run(spec, ctx) == CheckResult(False, "no peilgesprek for deelnemers Kees")


def test_a_case_record_of_another_case_is_not_seen() -> None:
    ctx = region(records=[actie("werven", case=1), actie("matchen", case=2),
                          peilgesprek("2024-08-01")])
    mine = check("record", kind="actie", where={"thema": "werven"})
    ctx.focus(1)
    assert run(mine, ctx) == CheckResult(True, "actie with thema werven: 1 needed, 1 found")
    assert run(check("record", kind="actie"), ctx) == CheckResult(True, "actie: 1 needed, 1 found")
    assert run(check("record", kind="peilgesprek"), ctx) == CheckResult(
        True, "peilgesprek: 1 needed, 1 found")
    ctx.focus(2)
    assert run(mine, ctx) == CheckResult(False, "no actie with thema werven recorded")
    assert run(EACH, ctx) == CheckResult(False, "no actie for thema werven, opleiden")
    # the region's records are seen from every case
    assert run(check("record", kind="peilgesprek"), ctx) == CheckResult(
        True, "peilgesprek: 1 needed, 1 found")
    ctx.focus(None)  # the region itself: no case's records
    assert run(check("record", kind="actie"), ctx) == CheckResult(False, "no actie recorded")
    assert run(check("record", kind="peilgesprek"), ctx).passed
    ctx.focus(1)
    assert [r.fields["thema"] for r in ctx.records_of("actie")] == ["werven"]
    assert [r.kind for r in ctx.records_of("peilgesprek")] == ["peilgesprek"]


def test_case_facts_overlay_the_region_facts_through_focus() -> None:
    ctx = region(facts={"subsidiebedrag": Decimal("1000"), "leraren": 12},
                 case_facts={1: {"subsidiebedrag": Decimal("150000.50"), "akkoord": True},
                             2: {"leraren": 3}})
    bedrag = check("fact", name="subsidiebedrag", min=100000)
    akkoord = check("fact", name="akkoord", set=True)
    leraren = check("fact", name="leraren", min=10)
    ctx.focus(1)
    assert run(bedrag, ctx) == CheckResult(True, "subsidiebedrag must be at least 100,000, is 150,000.50")
    assert run(akkoord, ctx) == CheckResult(True, "akkoord: yes")
    assert run(leraren, ctx) == CheckResult(True, "leraren must be at least 10, is 12")
    ctx.focus(2)  # case 1's facts do not leak into case 2
    assert run(bedrag, ctx) == CheckResult(False, "subsidiebedrag must be at least 100,000, is 1,000")
    assert run(akkoord, ctx) == CheckResult(False, "akkoord is not set yet")
    assert run(leraren, ctx) == CheckResult(False, "leraren must be at least 10, is 3")
    ctx.focus(3)  # a case without facts of its own sees the region's
    assert ctx.facts == {"subsidiebedrag": Decimal("1000"), "leraren": 12}
    ctx.focus(None)
    assert ctx.facts == {"subsidiebedrag": Decimal("1000"), "leraren": 12}
    ctx.focus(1)  # and back: the overlay is rebuilt from the region's own facts
    assert ctx.facts == {"subsidiebedrag": Decimal("150000.50"), "leraren": 12, "akkoord": True}
    assert ctx.case_id == 1


RECORD_COMPILE_ERRORS = [
    (check("record", kind="peilgesprk"),
     "record kind 'peilgesprk' is not declared under records: (did you mean 'peilgesprek'?)",
     ("with", "kind")),
    (check("record", kind="actie", where={"tema": "werven"}),
     "record kind 'actie' has no field 'tema' (did you mean 'thema'?)", ("with", "where", "tema")),
    (check("record", kind="actie", each={"thema": ["werven", "matchn"]}),
     "check 'record' 'each': field 'thema': 'matchn' is not one of werven, matchen, opleiden "
     "(did you mean 'matchen'?)", ("with", "each", "thema")),
    (check("record", kind="peilgesprek", within="P6M", date_field="verslag"),
     "record kind 'peilgesprek' has no date field 'verslag'", ("with", "date_field")),
    (check("record", kind="peilgesprek", date_field="datum"),
     "check 'record': date_field is only used with within", ("with",)),
    (check("record", kind="actie", each={"thema": ["werven"], "smart": True}),
     "check 'record': each takes exactly one field with its values", ("with",)),
    (check("record", kind="peilgesprek", within="zes maanden"),
     "check 'record' 'within': 'zes maanden' is not an ISO 8601 duration", ("with", "within")),
    (check("record", kind="peilgesprek", min=0), "check 'record' 'min': Input should be greater than",
     ("with", "min")),
]


@pytest.mark.parametrize(("spec", "message", "path"), RECORD_COMPILE_ERRORS)
def test_record_compile_errors(spec: Any, message: str, path: tuple[Any, ...]) -> None:
    with pytest.raises(CheckSpecError) as caught:
        compile_(spec)
    assert message in str(caught.value)
    assert caught.value.path == path


# --- combinators and references ---------------------------------------------------------------

BEROEPSGROEP = check("partner", kind="beroepsgroep")
VAKBOND = check("partner", kind="vakbond")
PVA = check("document", kind="plan_van_aanpak")


def test_any_passes_with_the_first_passing_sentence() -> None:
    spec = {"check": "any", "with": [BEROEPSGROEP, VAKBOND]}
    assert run(spec, FULL) == CheckResult(True, "union as partner: AOb")


def test_any_fails_saying_none_of_them_held() -> None:
    spec = {"check": "any", "with": [BEROEPSGROEP, VAKBOND]}
    assert run(spec, EMPTY) == CheckResult(
        False, "no profession group or union as partner"
    )


def test_all_fails_naming_only_what_failed() -> None:
    spec = {"check": "all", "with": [VAKBOND, BEROEPSGROEP, PVA]}
    assert run(spec, FULL) == CheckResult(False, "no profession group as partner")
    assert run(spec, EMPTY).detail == (
        "no union as partner; no profession group as partner; the plan of action is missing"
    )


def test_all_passes_with_every_sentence() -> None:
    spec = {"check": "all", "with": [VAKBOND, PVA]}
    assert run(spec, FULL) == CheckResult(
        True, "union as partner: AOb; the plan of action is recorded: 'PvA Twente 2025'"
    )


@pytest.mark.parametrize("params", [BEROEPSGROEP, [BEROEPSGROEP]])
def test_not_inverts_and_says_so(params: Any) -> None:
    spec = {"check": "not", "with": params}
    assert run(spec, EMPTY) == CheckResult(True, "does not hold, as required: no profession group as partner")
    ctx = region(partners=[PartnerInfo("NVS-NVL", "beroepsgroep")])
    assert run(spec, ctx) == CheckResult(False, "must not hold: profession group as partner: NVS-NVL")


def test_combinators_nest() -> None:
    spec = {"check": "all", "with": [
        {"check": "any", "with": [BEROEPSGROEP, VAKBOND]},
        {"check": "not", "with": check("partner", kind="gemeente")},
    ]}
    assert run(spec, FULL).passed
    ctx = region(partners=[PartnerInfo("AOb", "vakbond"), PartnerInfo("Enschede", "gemeente")])
    assert run(spec, ctx) == CheckResult(False, "must not hold: municipality as partner: Enschede")


def test_a_requirement_reference_evaluates_the_named_requirement() -> None:
    requirements = {"pva_aanwezig": {"label": "PvA", **PVA}}
    spec = {"check": "all", "with": [{"requirement": "pva_aanwezig"}, VAKBOND]}
    assert run(spec, FULL, **requirements).passed
    assert run(spec, EMPTY, **requirements) == CheckResult(
        False, "the plan of action is missing; no union as partner"
    )
    assert run({"requirement": "pva_aanwezig"}, FULL, **requirements).passed


def test_a_requirement_that_refers_to_itself_is_an_error() -> None:
    requirements = {"rond": {"label": "Rond", "check": "any",
                             "with": [PVA, {"requirement": "rond"}]}}
    with pytest.raises(CheckSpecError, match="requirement 'rond' refers to itself"):
        compile_(requirements["rond"], **requirements)


def test_requirements_that_refer_to_each_other_are_an_error() -> None:
    requirements = {
        "a": {"label": "A", "check": "all", "with": [{"requirement": "b"}]},
        "b": {"label": "B", "check": "not", "with": {"requirement": "a"}},
    }
    with pytest.raises(CheckSpecError, match=r"requirement '[ab]' (refers to itself|is in a cycle)"):
        compile_(requirements["a"], **requirements)


def test_a_loaded_workflow_reports_self_reference_at_its_line() -> None:
    text = WORKFLOW.replace("REQUIREMENT", "check: any\n    with: [{requirement: rond}]")
    with pytest.raises(DefinitionError) as caught:
        load_workflow_text(text, "zelf.yaml")
    assert "zelf.yaml:" in str(caught.value)
    assert "requirement 'rond' refers to itself" in str(caught.value)


# --- compile errors ---------------------------------------------------------------------------

COMPILE_ERRORS = [
    ({"check": "parnter", "with": {"kind": "beroepsgroep"}},
     "unknown check 'parnter' (did you mean 'partner'?)", ("check",)),
    ({"check": "patrner"}, "unknown check 'patrner' (did you mean 'partner'?)", ("check",)),
    ({"check": "docment", "with": {"kind": "plan_van_aanpak"}},
     "unknown check 'docment' (did you mean 'document'?)", ("check",)),
    (check("partner", kind="beroepsgroe"),
     "check 'partner' 'kind': unknown partner kind 'beroepsgroe' (did you mean 'beroepsgroep'?)",
     ("with", "kind")),
    (check("partner", kind="vakbond", sector="WO"), "check 'partner' 'sector': unknown sector 'WO'",
     ("with", "sector")),
    (check("partner", kind="vakbond", min=0), "check 'partner' 'min': Input should be greater than",
     ("with", "min")),
    (check("partner"), "check 'partner' 'kind': Field required", ("with", "kind")),
    (check("document", kind="plan_van_aanpak", title="PvA"),
     "check 'document' 'title': Extra inputs are not permitted", ("with", "title")),
    (check("document", kind="plan_van_aanpk"),
     "unknown document kind 'plan_van_aanpk' (did you mean 'plan_van_aanpak'?)", ("with", "kind")),
    (check("role", role=["programmamanager", "voorzitter"]), "unknown role 'voorzitter'",
     ("with", "role")),
    (check("fact", name="leraren"), "a fact check needs one of set, equals, min or max", ("with",)),
    (check("fact", name="leraren", set=True, min=3), "a fact check takes one of set, equals, min/max",
     ("with",)),
    (check("fact", name="leraar", min=3),
     "fact 'leraar' is not declared under facts: (did you mean 'leraren'?)", ("with", "name")),
    (check("fact", name="onbekend", set=True), "fact 'onbekend' is not declared under facts:",
     ("with", "name")),
    (check("before", milestone="deadline_aanvrag"),
     "unknown milestone 'deadline_aanvrag' (did you mean 'deadline_aanvraag'?)",
     ("with", "milestone")),
    (check("after", milestone="deadline_aanvraag", date="2024-10-15"),
     "give exactly one of milestone, date or param", ("with",)),
    (check("after"), "give exactly one of milestone, date or param", ("with",)),
    (check("after", milestone="deadline_aanvraag", offset="P-1D"),
     "'P-1D' is not an ISO 8601 duration", ("with", "offset")),
    (check("before", date="15/10/2024"), "check 'before' 'date': '15/10/2024' is not a date",
     ("with", "date")),
    (check("case", workflow="subsidie"), "check 'case' 'state': Field required", ("with", "state")),
    ({"check": "any", "with": []}, "check 'any' takes a non-empty list of checks", ("with",)),
    ({"check": "all", "with": BEROEPSGROEP}, "check 'all' takes a non-empty list", ("with",)),
    ({"check": "not", "with": [BEROEPSGROEP, VAKBOND]}, "check 'not' takes exactly one check",
     ("with",)),
    ({"check": "any", "with": [VAKBOND, check("partner", kind="beroepsgroe")]},
     "unknown partner kind 'beroepsgroe'", ("with", 1, "with", "kind")),
    ({"check": "partner", "with": {"kind": "vakbond"}, "wiht": 1}, "unknown key 'wiht' in a check",
     ("wiht",)),
    ({"with": {"kind": "vakbond"}}, "a requirement needs 'check: NAME' or 'requirement: NAME'", ()),
    ("partner", "a check must be a mapping", ()),
    ({"requirement": "pva_aanwzig"}, "unknown requirement 'pva_aanwzig' (did you mean 'pva_aanwezig'?)",
     ("requirement",)),
    ({"requirement": "pva_aanwezig", "check": "partner"}, "'requirement:' stands alone", ()),
]


@pytest.mark.parametrize(("spec", "message", "path"), COMPILE_ERRORS)
def test_compile_errors_say_what_and_where(spec: Any, message: str, path: tuple[Any, ...]) -> None:
    with pytest.raises(CheckSpecError) as caught:
        compile_(spec, pva_aanwezig={"label": "PvA", **PVA})
    assert message in str(caught.value)
    assert caught.value.path == path


def test_a_label_and_description_are_allowed_beside_a_check() -> None:
    spec = {"label": "Vakbond", "description": "De vakbond doet mee", **VAKBOND}
    assert run(spec, FULL).passed


def test_registry_names_include_the_combinators() -> None:
    assert REGISTRY.names == sorted(
        ["after", "all", "any", "before", "case", "contiguous", "coverage_unique", "document", "fact", "not",
         "partner", "record", "role", "size"]
    )


# --- custom checks: `extra` and entry-point plug-ins ---------------------------------------------


class SectorsParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: int = Field(default=2, ge=1)


@check_type("sectoren", SectorsParams)
def sectors_check(p: SectorsParams, ctx: RegionContext) -> CheckResult:
    sectors = sorted({x.sector for x in ctx.partners if x.kind == "schoolbestuur" and x.sector})
    return CheckResult(len(sectors) >= p.min,
                       f"school boards of {p.min} sectors needed, found: {', '.join(sectors) or 'none'}")


WORKFLOW = """\
workflow: proef
version: 1
title: Proef
initial: begin
states:
  begin: {label: Begin}
  klaar: {label: Klaar, final: true}
requirements:
  rond:
    label: Rond
    REQUIREMENT
transitions:
  - {trigger: af, source: begin, dest: klaar, requires: [rond]}
"""


def test_a_custom_check_type_passed_as_extra_is_usable() -> None:
    assert isinstance(sectors_check, CheckType)
    registry = CheckRegistry({"sectoren": sectors_check}, plugins=False)
    assert "sectoren" in registry.names
    compiled = registry.compile({"check": "sectoren", "with": {"min": 2}}, scope())
    assert compiled(FULL) == CheckResult(True, "school boards of 2 sectors needed, found: PO, VO")
    assert compiled(EMPTY) == CheckResult(False, "school boards of 2 sectors needed, found: none")
    with pytest.raises(CheckSpecError, match="check 'sectoren' 'min'"):
        registry.compile({"check": "sectoren", "with": {"min": 0}}, scope())
    # inside combinators too
    nested = registry.compile({"check": "not", "with": {"check": "sectoren", "with": {"min": 3}}},
                              scope())
    assert nested(FULL).passed


def test_a_workflow_can_use_a_custom_check_through_its_registry() -> None:
    text = WORKFLOW.replace("REQUIREMENT", "check: sectoren\n    with: {min: 2}")
    registry = CheckRegistry({"sectoren": sectors_check}, plugins=False)
    loaded = load_workflow_text(text, "proef.yaml", registry=registry)
    assert loaded.requirements["rond"](FULL).passed
    with pytest.raises(DefinitionError, match="unknown check 'sectoren'"):
        load_workflow_text(text, "proef.yaml", registry=CheckRegistry(plugins=False))


class FakeEntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name = name
        self.group = ENTRY_POINT_GROUP
        self._target = target

    def load(self) -> Any:
        return self._target


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, *found: FakeEntryPoint) -> list[str]:
    asked: list[str] = []

    def entry_points(*, group: str | None = None, **_: Any) -> list[FakeEntryPoint]:
        asked.append(group or "")
        return list(found) if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return asked


def test_an_entry_point_plugin_is_registered_and_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_entry_points(monkeypatch, FakeEntryPoint("sectoren", sectors_check))
    registry = CheckRegistry()
    assert asked == [ENTRY_POINT_GROUP]
    assert registry.types["sectoren"] is sectors_check
    assert "sectoren" in registry.names
    assert registry.compile({"check": "sectoren"}, scope())(FULL).passed
    # and a workflow loaded with the default registry can use it
    text = WORKFLOW.replace("REQUIREMENT", "check: sectoren\n    with: {min: 3}")
    loaded = load_workflow_text(text, "proef.yaml")
    assert loaded.requirements["rond"](FULL) == CheckResult(
        False, "school boards of 3 sectors needed, found: PO, VO"
    )


def test_plugins_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_entry_points(monkeypatch, FakeEntryPoint("sectoren", sectors_check))
    registry = CheckRegistry(plugins=False)
    assert asked == []
    assert "sectoren" not in registry.types


def test_an_explicit_extra_wins_over_a_plugin_of_the_same_name(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, FakeEntryPoint("sectoren", sectors_check))
    other = CheckType("sectoren", SectorsParams, lambda p, ctx: CheckResult(True, "always"))
    assert CheckRegistry({"sectoren": other}).types["sectoren"] is other


def test_an_entry_point_that_is_not_a_check_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, FakeEntryPoint("kapot", lambda: None))
    with pytest.raises(TypeError, match=f"entry point kapot in {ENTRY_POINT_GROUP} is not a CheckType"):
        checks._entry_point_checks()
