"""Shortcuts of the national report give what evaluating every check for every case gives.

The report evaluates a requirement once per distinct value of what decides it (the inputs a
built-in check declares with ``reads``), and keeps a plan's whole outcome when all its checks
are shared. Two things must hold for that to change nothing: each declaration names every input
the check's pass/fail depends on, and the report's keys of those inputs keep all of it. The
first is tried on every requirement of the shipped workflows over mixed snapshots of a small
network; the second by comparing the report with one computed without any sharing, on a
network whose regions share partner kinds, roles and documents but differ in names, people,
dates and figures.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from onderwijsflow.clock import Clock, parse_moment
from onderwijsflow.engine.checks import INPUTS, check_reads
from onderwijsflow.engine.context import RegionContext
from onderwijsflow.reporting import national
from onderwijsflow.service import Onderwijsflow
from onderwijsflow.service.snapshot import for_case, region_cases, region_context
from tests.support import copy_sqlite
from tests.test_report import REPORT_AT, built_network, make_app, region

#: The snapshot field behind each input a check may declare (the kinds of the documents are
#: in their list).
FIELD = {name: name for name in INPUTS} | {"document_kinds": "documents"}


def _more_regions(app: Onderwijsflow) -> None:
    """Regions like those of `build_network` in what checks count, unlike them in the rest."""
    region(app, "fenna", coordinator="f@re.example",
           partners=[("Fenna Scholen", "schoolbestuur"), ("Pabo Fenna", "lerarenopleiding")],
           documents=["intentieverklaring", "arbeidsmarktanalyse", "plan_van_aanpak"],
           facts={"leerlingen_po": "14000"})
    app.assign_role("fenna", "programmamanager", "Femke")
    app.assign_role("fenna", "projectleider", "Femke")
    app.advance("fenna", "dien_aanvraag_in", workflow="regiovorming")
    region(app, "gouda", coordinator="g@re.example",
           partners=[("Gouda PO", "schoolbestuur"), ("Hogeschool Gouda", "lerarenopleiding"),
                     ("CNV Gouda", "vakbond")],
           documents=["intentieverklaring", "arbeidsmarktanalyse"],
           facts={"leerlingen_po": "16000", "opgeleide_studenten_2023": "149"})
    app.assign_role("gouda", "programmamanager", "Gerrit")
    app.assign_role("gouda", "projectleider", "Gea")
    app.advance("gouda", "dien_aanvraag_in", workflow="regiovorming")
    app.start_case("gouda", "subsidie", round="2025")
    region(app, "hoorn", coordinator=None, partners=[("Hoorn Onderwijs", "schoolbestuur")])
    app.start_case("hoorn", "subsidie", round="2025")
    region(app, "ijssel", coordinator=None, partners=[("Pabo IJssel", "lerarenopleiding")])


@pytest.fixture(scope="module")
def network_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_network(tmp_path_factory.mktemp("equivalence"), _more_regions)


@pytest.fixture
def app(tmp_path: Path, network_db: Path) -> Any:
    target = copy_sqlite(network_db, tmp_path / "network.db")
    application = make_app(tmp_path, target, clock=Clock(parse_moment(REPORT_AT)))
    yield application
    application.close()


@pytest.mark.parametrize("at", [REPORT_AT, "2025-03-01T09:00", "2026-01-15T09:00"])
def test_the_report_with_shared_outcomes_is_the_report_without(app: Onderwijsflow, at: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    moment = parse_moment(at)
    shared = national.national_report(app, now=moment)
    monkeypatch.setattr(national, "_SHARED_INPUTS", frozenset())  # every check, every case
    assert national.national_report(app, now=moment) == shared
    assert shared["blocking"]  # something was compared


def test_a_check_that_does_not_say_what_it_reads_makes_the_report_read_whole(
        app: Onderwijsflow, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plug-in check may read names and titles: the report then reads every column (not
    narrow), runs that check for every case, and says what it says otherwise."""
    moment = parse_moment(REPORT_AT)
    shared = national.national_report(app, now=moment)
    declared = national.check_reads
    monkeypatch.setattr(national, "check_reads", lambda check: None if declared(check) == frozenset(
        {"partners"}) else declared(check))  # the partner checks now declare nothing
    narrow: list[bool] = []
    read = national.read_keyed

    def reading(*args: Any, **kwargs: Any) -> Any:
        narrow.append(kwargs["narrow"])
        return read(*args, **kwargs)

    monkeypatch.setattr(national, "read_keyed", reading)
    assert national.national_report(app, now=moment) == shared
    assert narrow == [False]


def _contexts(app: Onderwijsflow) -> list[tuple[RegionContext, str, str]]:
    """Every case's snapshot, as `check` builds it: (context, workflow, version)."""
    out = []
    with app.reading() as session:
        for slug in ("amstel", "bollen", "carre", "delta", "eems", "fenna", "gouda", "hoorn",
                     "ijssel"):
            found = app.region_in(session, slug)
            cases = region_cases(session, found)
            for case in cases:
                machine = app.catalog.machine(session, case.workflow, case.workflow_version)
                ctx = region_context(session, found, app.now(), cases)
                out.append((for_case(ctx, case, machine.definition), case.workflow,
                            str(case.workflow_version)))
    return out


def test_a_check_passes_as_the_inputs_it_declares_decide(app: Onderwijsflow) -> None:
    """Take any snapshot, put in another's declared inputs: the check answers as for the other."""
    contexts = _contexts(app)
    tried = 0
    for name in app.catalog.names:
        compiled = app.catalog.current(name).loaded.requirements
        for requirement, check in compiled.items():
            reads = check_reads(check)
            if reads is None:
                continue
            assert reads <= INPUTS, requirement
            fields = {FIELD[r] for r in reads}
            for source, _, _ in contexts:
                for target, _, _ in contexts:
                    mixed = dataclasses.replace(target, **{f: getattr(source, f) for f in fields})
                    assert check(mixed).passed == check(source).passed, (requirement, fields)
                    tried += 1
    assert tried > 1000


def _blanked(ctx: RegionContext, dated: bool) -> tuple[Any, ...]:
    """What a narrow read keeps of a region's partners, roles and documents: no names, titles
    or e-mail addresses, people numbered in order of first appearance, and the documents'
    dates only when `dated`."""
    people: dict[str, str] = {}
    return (tuple(p._replace(name="") for p in ctx.partners),
            tuple(r._replace(person=people.setdefault(r.person, str(len(people))), email=None)
                  for r in ctx.roles),
            tuple(d._replace(title="", ref=None) if dated else d._replace(
                title="", ref=None, date=None, added=None) for d in ctx.documents))


@pytest.mark.parametrize(("narrow", "dated"), [(True, True), (True, False), (False, True)])
def test_keyed_snapshots_are_the_snapshots_check_sees_less_what_no_declared_check_reads(
        app: Onderwijsflow, narrow: bool, dated: bool) -> None:
    """Read by key, a region's partners, roles and documents are what `check` sees, blanked
    (narrow, the documents' dates too unless `dated`) or whole; regions with equal keys
    share one part, and equal keys mean equal parts. Its facts, records, cases, rounds and
    network are what `check` sees."""
    from onderwijsflow.service.snapshot import driver_run, read_snapshots
    from onderwijsflow.snapshot.keyed import REGION_INPUTS, read_keyed
    from onderwijsflow.store.tables import Case, Region

    with app.reading() as session:
        regions = sorted(session.exec(select(Region)).all(), key=lambda r: r.id or 0)
        cases = list(session.exec(select(Case)).all())
        ids = [r.id for r in regions if r.id is not None]
        batch = read_snapshots(session, ids, app.now())
        keyed = read_keyed(driver_run(session), driver_run(session, batch=3), app.now(), cases,
                           narrow=narrow, dated=dated)
    seen: dict[Any, tuple[Any, ...]] = {}
    for region_ in regions:
        assert region_.id is not None
        check = batch.context(region_.id, region_.slug)
        bulk = keyed.snapshots.context(region_.id, region_.slug)
        if narrow:
            parts = (tuple(bulk.partners), tuple(bulk.roles), tuple(bulk.documents))
            assert parts == _blanked(check, dated), region_.slug
        else:
            assert (bulk.partners, bulk.roles, bulk.documents) == (
                check.partners, check.roles, check.documents), region_.slug
        for part in ("facts", "records", "cases", "rounds", "network"):
            assert getattr(bulk, part) == getattr(check, part), (region_.slug, part)
        key = tuple(keyed.input_key(name, region_.id) for name in sorted(REGION_INPUTS))
        parts = (bulk.partners, bulk.roles, bulk.documents)
        if key in seen:  # equal keys: the very same lists
            assert all(a is b for a, b in zip(seen[key], parts, strict=True)), region_.slug
        seen[key] = parts
    partners = keyed.snapshots.partners
    distinct = {id(found) for found in partners.values()}
    if narrow:  # names differ, kinds repeat: fewer keys than regions with partners
        assert len(distinct) < len(partners)
    else:
        assert len(distinct) == len(partners)


@given(raw=st.one_of(st.integers(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70)),
       kind=st.sampled_from(["int", "bool", "string", "decimal"]))
def test_a_stored_value_is_what_coerce_value_makes_of_it_or_as_stored(raw: Any, kind: str) -> None:
    """`stored_value`'s shortcuts for integers and booleans give what the full rule gives."""
    from onderwijsflow.values import coerce_value, stored_value

    try:
        expected = coerce_value(kind, raw)  # type: ignore[arg-type]
    except (ValueError, ArithmeticError, TypeError):
        expected = raw
    found = stored_value(kind, raw)
    assert found == expected and type(found) is type(expected)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                     | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=6)


@given(value=_JSON)
def test_decode_json_reads_what_json_loads_reads(value: Any) -> None:
    """`decode_json`'s shortcut for natural numbers gives what `json.loads` gives."""
    import json

    from onderwijsflow.snapshot.rows import decode_json

    text = json.dumps(value)
    found = decode_json(text)
    assert found == json.loads(text) and type(found) is type(json.loads(text))


@pytest.mark.parametrize("text", ["0", "7", "15000", "12345678901234567890", "-3", "1.5", "1e3",
                                  '"15000"', "true"])
def test_decode_json_on_number_texts(text: str) -> None:
    import json

    from onderwijsflow.snapshot.rows import decode_json

    assert decode_json(text) == json.loads(text)
    assert type(decode_json(text)) is type(json.loads(text))


@pytest.mark.parametrize("text", ["007", "٣", "1_000", "05"])
def test_decode_json_refuses_what_json_refuses(text: str) -> None:
    """Texts `int` would read but JSON does not are not numbers here either."""
    import json

    from onderwijsflow.snapshot.rows import decode_json

    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        decode_json(text)


@given(value=st.integers(min_value=-(10**15), max_value=10**15), language=st.sampled_from(["nl", "en"]))
def test_a_whole_number_in_a_sentence_is_written_as_babel_writes_it(value: int, language: str) -> None:
    """Checks write whole numbers without Babel (they differ per region: a cache would not
    help); the text is Babel's."""
    from babel.numbers import format_decimal

    from onderwijsflow import i18n
    from onderwijsflow.engine.checks import _number

    with i18n.using(language):
        assert _number(value) == format_decimal(value, locale=i18n.locale(),
                                                decimal_quantization=False)
