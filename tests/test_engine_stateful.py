"""The real library against a plain-Python model of one small workflow (hypothesis, stateful).

Each example runs the real :class:`Onderwijsflow` on a real SQLite file in a directory of
its own. A reference model (a dict of state, partners, documents, facts, records and
decisions plus the YAML's rules re-expressed in Python) predicts every decision; the
library must agree, a dry run must change nothing, and after every step the audit log must
replay to the case's state, verify, and hold exactly one event per write (refused attempts
included, a usage error writing nothing).

The workflow speaks language 1.1 as well (design §3.1): a record requirement of a case
(`themas`) and of the region within a period (`peilgesprek_recent`), a case-scoped fact
(`bedrag`), and transitions that record a decision taken outside the tool (`verleen`, with
its document as the derived requirement `besluit_beschikking`; `wijs_af`, without).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from onderwijsflow.clock import Clock
from onderwijsflow.config import load_config
from onderwijsflow.errors import NotFound, Refused, UsageError
from onderwijsflow.service import Onderwijsflow

SLUG = "twente"
WORKFLOW = "traject"
START = datetime(2024, 9, 2, 8, 0, tzinfo=UTC)

WORKFLOW_YAML = """\
workflow: traject
version: 1
title: Testtraject voor de modeltest
initial: verkenning
bodies:
  dus_i: DUS-I
  ocw: {label: OCW met de landelijke partners}
facts:
  leraren: {type: int, label: Aantal leraren in opleiding}
  bedrag: {type: number, label: Toegekend bedrag, scope: case}
records:
  actie:
    label: Actie uit het plan van aanpak
    scope: case
    fields:
      thema: {type: choice, choices: [werven, matchen, opleiden], required: true}
      omschrijving: {type: text}
  peilgesprek:
    label: Peilgesprek met de Realisatie-Eenheid
    fields:
      datum: {type: date, required: true}
states:
  verkenning: {label: Verkenning}
  opbouw: {label: Opbouw}
  uitvoering: {label: Uitvoering}
  verleend: {label: Subsidie verleend}
  afgerond: {label: Afgerond, final: true}
  gestopt: {label: Gestopt, final: true}
requirements:
  beroepsgroep_betrokken:
    label: De beroepsgroep is betrokken
    check: any
    with:
      - {check: partner, with: {kind: beroepsgroep}}
      - {check: partner, with: {kind: vakbond}}
  twee_besturen:
    label: Ten minste twee schoolbesturen
    check: partner
    with: {kind: schoolbestuur, min: 2}
  pva_aanwezig:
    label: Plan van aanpak vastgelegd
    check: document
    with: {kind: plan_van_aanpak}
  genoeg_leraren:
    label: Ten minste tien leraren
    check: fact
    with: {name: leraren, min: 10}
  verslag:
    label: Jaarverslag bij het plan
    check: all
    with:
      - {check: document, with: {kind: jaarverslag}}
      - {requirement: pva_aanwezig}
  stop_akkoord:
    label: Stoppen kan
    check: all
    with:
      - {check: not, with: {check: partner, with: {kind: gemeente}}}
      - {check: fact, with: {name: leraren, max: 3}}
  themas:
    label: Werven en matchen hebben elk een actie
    check: record
    with: {kind: actie, each: {thema: [werven, matchen]}}
  bedrag_vastgelegd:
    label: Het toegekende bedrag is vastgelegd
    check: fact
    with: {name: bedrag, set: true}
  peilgesprek_recent:
    label: Een peilgesprek in de afgelopen negentig dagen
    check: record
    with: {kind: peilgesprek, within: P90D, date_field: datum}
transitions:
  - {trigger: start_opbouw, source: verkenning, dest: opbouw, requires: [beroepsgroep_betrokken]}
  - {trigger: terug, source: opbouw, dest: verkenning}
  - trigger: begin
    source: opbouw
    dest: uitvoering
    requires: [twee_besturen, pva_aanwezig, genoeg_leraren, themas]
  - {trigger: pauzeer, source: uitvoering, dest: opbouw}
  - trigger: verleen
    source: uitvoering
    dest: verleend
    requires: [bedrag_vastgelegd]
    decision: {by: [dus_i, ocw], document: beschikking}
  - {trigger: wijs_af, source: uitvoering, dest: opbouw, decision: {by: dus_i}}
  - trigger: rond_af
    source: verleend
    dest: afgerond
    requires: [genoeg_leraren, verslag, peilgesprek_recent]
  - {trigger: stop, source: "*", dest: gestopt, requires: [stop_akkoord]}
"""

CONFIG_YAML = f"""\
simulated_clock: true
start_with_region: [{WORKFLOW}]
rounds: {{}}
"""

# --- the reference model: the YAML's rules in plain Python ---------------------------------

Model = dict[str, Any]
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
RECENT = timedelta(days=90)  # peilgesprek_recent: within P90D


def today(model: Model) -> date:
    """The local day of the model's clock (people's dates are Europe/Amsterdam)."""
    return model["clock"].now().astimezone(AMSTERDAM).date()


REQUIREMENTS: dict[str, Callable[[Model], bool]] = {
    "beroepsgroep_betrokken": lambda m: any(
        k in ("beroepsgroep", "vakbond") for k in m["partners"].values()
    ),
    "twee_besturen": lambda m: list(m["partners"].values()).count("schoolbestuur") >= 2,
    "pva_aanwezig": lambda m: "plan_van_aanpak" in m["docs"],
    "genoeg_leraren": lambda m: m["facts"].get("leraren") is not None
    and m["facts"]["leraren"] >= 10,
    "verslag": lambda m: "jaarverslag" in m["docs"] and "plan_van_aanpak" in m["docs"],
    "stop_akkoord": lambda m: "gemeente" not in m["partners"].values()
    and m["facts"].get("leraren") is not None
    and m["facts"]["leraren"] <= 3,
    # records of the case: each of these themes at least once
    "themas": lambda m: all(t in m["acties"] for t in ("werven", "matchen")),
    # a fact of the case, not of the region
    "bedrag_vastgelegd": lambda m: m["case_facts"].get("bedrag") is not None,
    # derived from `decision: {document: beschikking}`
    "besluit_beschikking": lambda m: "beschikking" in m["docs"],
    # a region record dated in the last 90 days up to today (a future date does not count)
    "peilgesprek_recent": lambda m: any(
        today(m) - RECENT <= day <= today(m) for day in m["peilgesprekken"]
    ),
}
FINAL = {"afgerond", "gestopt"}
OPEN = ("verkenning", "opbouw", "uitvoering", "verleend")
# trigger -> (sources, dest, requirements in file order)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "start_opbouw": (("verkenning",), "opbouw", ("beroepsgroep_betrokken",)),
    "terug": (("opbouw",), "verkenning", ()),
    "begin": (("opbouw",), "uitvoering",
              ("twee_besturen", "pva_aanwezig", "genoeg_leraren", "themas")),
    "pauzeer": (("uitvoering",), "opbouw", ()),
    # the decision's document is appended to the transition's own requirements
    "verleen": (("uitvoering",), "verleend", ("bedrag_vastgelegd", "besluit_beschikking")),
    "wijs_af": (("uitvoering",), "opbouw", ()),
    "rond_af": (("verleend",), "afgerond", ("genoeg_leraren", "verslag", "peilgesprek_recent")),
    "stop": (OPEN, "gestopt", ("stop_akkoord",)),
}
# trigger -> (bodies that may take its decision, the decision's document kind)
DECISIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "verleen": (("dus_i", "ocw"), "beschikking"),
    "wijs_af": (("dus_i",), None),
}
BODY_LABELS = {"dus_i": "DUS-I", "ocw": "OCW met de landelijke partners"}
#: What the person recording a decision gives: (decided_by, decision_date, decision_ref).
Given = tuple[str | None, "str | date | None", str | None]
NO_DECISION: Given = (None, None, None)


def predict(model: Model, trigger: str) -> tuple[str, str | None, list[str]]:
    """(code, destination, unmet requirement names) as the engine should decide."""
    state = model["state"]
    if state in FINAL:
        return "final", None, []
    sources, dest, requires = TRANSITIONS[trigger]
    if state not in sources:
        return "impossible", None, []
    unmet = [name for name in requires if not REQUIREMENTS[name](model)]
    return ("unmet" if unmet else "ok"), dest, unmet


class Unusable(Exception):
    """The model's verdict: the decision given is a usage error (nothing is written)."""


def predict_decision(model: Model, trigger: str, given: Given, dry_run: bool) -> dict[str, Any] | None:
    """The decision a firing records, as `advance` returns it; None when it records none.

    Raises:
        Unusable: the library must raise UsageError before writing anything.
    """
    if predict(model, trigger)[0] in ("final", "impossible"):
        return None  # no transition from here: nothing to record a decision with
    by, day, ref = given
    if trigger not in DECISIONS:
        if any(v not in (None, "") for v in given):
            raise Unusable("a decision for a move that records none")
        return None
    bodies, document = DECISIONS[trigger]
    if any(v in (None, "") for v in given):
        if dry_run:
            return None  # a dry run may leave the decision out
        raise Unusable("an incomplete decision")
    day = day if isinstance(day, date) else date.fromisoformat(str(day))
    if by not in bodies:
        raise Unusable("a body that does not take it")
    if day > today(model):
        raise Unusable("a decision dated in the future")
    assert ref is not None
    if not ref.strip():
        raise Unusable("a blank reference")
    return {"by": by, "by_label": BODY_LABELS[by], "date": day.isoformat(), "ref": ref.strip(),
            "document": document}


# --- one migrated template database, copied per example ------------------------------------

_TEMPLATE: dict[str, Any] = {}


def _scratch_dir(prefix: str) -> Path:
    """A fresh directory; in RAM (tmpfs) when there is one, so that fsync costs nothing.

    The SQLite file behaves the same there (WAL, locks, synchronous=FULL); only the
    disk flushes, which would dominate 1,500 transactions, are free.
    """
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def _setup_files(directory: Path) -> tuple[Path, Path]:
    workflows = directory / "workflows"
    workflows.mkdir()
    (workflows / f"{WORKFLOW}.yaml").write_text(WORKFLOW_YAML, encoding="utf-8")
    config = directory / "config.yaml"
    config.write_text(CONFIG_YAML, encoding="utf-8")
    return workflows, config


@pytest.fixture(scope="module", autouse=True)
def _template_db():
    """Migrating costs ~0.3 s; do it once and copy the file into each example's directory."""
    directory = _scratch_dir("onderwijsflow-template-")
    try:
        workflows, config = _setup_files(directory)
        app = Onderwijsflow(
            load_config(config), db_url=f"sqlite:///{directory / 'template.db'}",
            workflows=workflows, actor="tester", clock=Clock(START),
        )
        try:
            app.init()
        finally:
            app.close()
        _TEMPLATE["db"] = directory / "template.db"
        _TEMPLATE["catalog"] = app.catalog
        yield
    finally:
        _TEMPLATE.clear()
        shutil.rmtree(directory, ignore_errors=True)


PARTNER_NAMES = st.sampled_from(["Stichting Atlant", "Vakbond AOb", "Gemeente Enschede",
                                 "Saxion", "Stichting Keender", "Onderwijscoöperatie"])
PARTNER_KINDS = st.sampled_from(["beroepsgroep", "vakbond", "schoolbestuur", "schoolbestuur",
                                 "gemeente", "lerarenopleiding"])
DOC_KINDS = st.sampled_from(["plan_van_aanpak", "jaarverslag", "beschikking", "overig"])
TRIGGERS = st.sampled_from(sorted(TRANSITIONS))
THEMAS = st.sampled_from(["werven", "matchen", "opleiden", "begeleiden"])  # begeleiden: no choice
#: A decision as a person might give it: parts missing, a body that did not take it, a date in
#: the future, a blank reference, or all well. A date is (days from today, given as text?),
#: resolved against the clock when firing. ANY_DECISION is half the time no decision at all.
SOME_DECISION = st.tuples(st.sampled_from([None, "dus_i", "ocw", "dus-i"]),
                          st.sampled_from([None, (0, False), (-3, True), (-45, False), (1, True)]),
                          st.sampled_from([None, "", "DUS-I/2024/0815", "  BO-12  ", " "]))
ANY_DECISION = st.one_of(st.just(None), SOME_DECISION)


class EngineAgainstModel(RuleBasedStateMachine):
    """Drive the library and the model side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = _scratch_dir("onderwijsflow-stateful-")
        workflows, config = _setup_files(self.dir)
        db_file = self.dir / "onderwijsflow.db"
        shutil.copyfile(_TEMPLATE["db"], db_file)
        self.clock = Clock(START)
        self.app = Onderwijsflow(
            load_config(config), db_url=f"sqlite:///{db_file}", workflows=workflows,
            actor="tester", clock=self.clock,
        )
        # Loading the same file again in every example would only re-measure the loader;
        # a catalog is read-only (one shared machine per version), so examples share one.
        self.app.catalog = _TEMPLATE["catalog"]
        self.app.create_region(SLUG, name="Twente")
        self.model: Model = {
            "state": "verkenning", "partners": {}, "docs": [], "facts": {}, "clock": self.clock,
            "case_facts": {}, "acties": [], "peilgesprekken": [],
            "decided_on": None,  # the date of the case's last decision, if any
            "decisions": [],  # per move: the decision it recorded (None: none)
        }
        self.writes = 2  # region_created + case_opened

    def teardown(self) -> None:
        self.app.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- the region's data ----------------------------------------------------------

    @initialize(
        partners=st.dictionaries(PARTNER_NAMES, PARTNER_KINDS, max_size=4),
        docs=st.lists(DOC_KINDS, max_size=2),
    )
    def seed(self, partners: dict[str, str], docs: list[str]) -> None:
        """Start from a region that already has some partners and evidence."""
        for name, kind in partners.items():
            self.add_partner(name, kind)
        for kind in docs:
            self.add_document(kind)

    @rule(name=PARTNER_NAMES, kind=PARTNER_KINDS)
    def add_partner(self, name: str, kind: str) -> None:
        if name in self.model["partners"]:
            with pytest.raises(Refused, match="already a partner"):
                self.app.add_partner(SLUG, name, kind=kind)
            return
        self.app.add_partner(SLUG, name, kind=kind)
        self.model["partners"][name] = kind
        self.writes += 1

    @rule(name=PARTNER_NAMES)
    def remove_partner(self, name: str) -> None:
        if name not in self.model["partners"]:
            with pytest.raises(NotFound):
                self.app.remove_partner(SLUG, name)
            return
        self.app.remove_partner(SLUG, name)
        del self.model["partners"][name]
        self.writes += 1

    @rule(kind=DOC_KINDS)
    def add_document(self, kind: str) -> None:
        self.app.add_document(SLUG, kind, title=f"{kind} {len(self.model['docs']) + 1}")
        self.model["docs"].append(kind)
        self.writes += 1

    @rule(value=st.one_of(st.integers(min_value=0, max_value=20).map(str),
                          st.sampled_from(["tien", "1.5", ""])))
    def set_fact(self, value: str) -> None:
        if not value.isdigit():  # refused before anything is written
            with pytest.raises(UsageError, match="leraren"):
                self.app.set_fact(SLUG, "leraren", value)
            return
        result = self.app.set_fact(SLUG, "leraren", value)
        assert result["old"] == self.model["facts"].get("leraren")
        assert result["new"] == int(value)
        self.model["facts"]["leraren"] = int(value)
        self.writes += 1

    @rule(value=st.sampled_from(["150000.50", "0", "12,5", "veel", ""]))
    def set_bedrag(self, value: str) -> None:
        """A fact of the case (``scope: case``): kept on the case, not on the region."""
        if not value[:1].isdigit():
            with pytest.raises(UsageError, match="bedrag"):
                self.app.set_fact(SLUG, "bedrag", value)
            return
        result = self.app.set_fact(SLUG, "bedrag", value)
        new = value.replace(",", ".")
        assert result == {"region": SLUG, "fact": "bedrag", "old": self.model["case_facts"].get("bedrag"),
                          "new": new, "scope": "case", "workflow": WORKFLOW, "round": None}
        self.model["case_facts"]["bedrag"] = new
        self.writes += 1

    @rule(thema=THEMAS, omschrijving=st.sampled_from([None, "Zij-instromers werven"]))
    def add_actie(self, thema: str, omschrijving: str | None) -> None:
        """A record of the case; a theme not among the choices is refused whole."""
        fields = {"thema": thema} | ({"omschrijving": omschrijving} if omschrijving else {})
        if thema == "begeleiden":
            with pytest.raises(UsageError, match="'begeleiden' is not one of werven, matchen, opleiden"):
                self.app.add_record(SLUG, "actie", fields)
            return
        result = self.app.add_record(SLUG, "actie", fields)
        assert (result["kind"], result["workflow"], result["round"]) == ("actie", WORKFLOW, None)
        assert result["fields"] == fields and result["met"] == []
        self.model["acties"].append(thema)
        self.writes += 1

    @rule(days=st.integers(-200, 3), as_text=st.booleans())
    def add_peilgesprek(self, days: int, as_text: bool) -> None:
        """A record of the region, dated `days` from today (a few days ahead now and then)."""
        day = today(self.model) + timedelta(days=days)
        result = self.app.add_record(SLUG, "peilgesprek",
                                     {"datum": day.isoformat() if as_text else day})
        assert result["fields"] == {"datum": day.isoformat()}
        assert (result["workflow"], result["round"]) == (WORKFLOW, None)
        self.model["peilgesprekken"].append(day)
        self.writes += 1

    @rule()
    def refuse_a_bad_record(self) -> None:
        """Missing or unknown fields and bad dates write nothing."""
        for fields, words in (({}, "field 'datum' is required"), ({"datum": "morgen"}, "datum"),
                              ({"datum": "2024-09-01", "plaats": "Hengelo"}, "no field 'plaats'")):
            with pytest.raises(UsageError, match=words):
                self.app.add_record(SLUG, "peilgesprek", fields)

    @precondition(lambda self: self.model["state"] not in FINAL)
    @rule(data=st.data())
    def prepare_and_fire(self, data: st.DataObject) -> None:
        """Supply what a guarded trigger from here lacks (through the library), then fire it.

        Random writes seldom line up three requirements; this gets runs to the later states.
        `stop` is drawn less often, or most runs would end in `gestopt` at once.
        """
        state = self.model["state"]
        guarded = sorted(t for t, (src, _, requires) in TRANSITIONS.items()
                         if state in src and requires and t != "stop")
        trigger = data.draw(st.sampled_from(guarded * 3 + ["stop"]))
        self._prepare(trigger, data)
        given = self._valid_decision(trigger, data) if trigger in DECISIONS else NO_DECISION
        self._fire(trigger, dry_run=data.draw(st.sampled_from([False, False, True])), given=given)

    @precondition(lambda self: self.model["state"] in ("verkenning", "opbouw", "uitvoering"))
    @rule(data=st.data(), dry_run=st.sampled_from([False, False, True]))
    def decide(self, data: st.DataObject, dry_run: bool) -> None:
        """Work the case to `uitvoering` as `prepare_and_fire` does, then record a decision
        taken outside: to grant (`verleen`) or to refuse (`wijs_af`); mostly a valid one,
        sometimes a wrong or incomplete one. (Random steps seldom get this far.)"""
        for trigger in ("start_opbouw", "begin"):
            if self.model["state"] in TRANSITIONS[trigger][0]:
                self._prepare(trigger, data)
                self._fire(trigger, dry_run=False)
        trigger = data.draw(st.sampled_from(["verleen", "wijs_af"]))
        self._prepare(trigger, data)
        if data.draw(st.booleans()):
            given = self._valid_decision(trigger, data)
        else:
            given = self._given(data.draw(SOME_DECISION))
        self._fire(trigger, dry_run, given)

    def _prepare(self, trigger: str, data: st.DataObject) -> None:
        """Supply, through the library, every requirement of `trigger` that is unmet."""
        for name in TRANSITIONS[trigger][2]:
            for _ in range(20):  # every supply step makes progress; never loop forever
                if REQUIREMENTS[name](self.model):
                    break
                self._supply(name, data)
            assert REQUIREMENTS[name](self.model), f"could not satisfy {name}"
        assert predict(self.model, trigger)[0] == "ok"

    def _valid_decision(self, trigger: str, data: st.DataObject) -> Given:
        bodies, _ = DECISIONS[trigger]
        day = today(self.model) - timedelta(days=data.draw(st.sampled_from([0, 1, 30])))
        return (data.draw(st.sampled_from(bodies)), day, f"REF-{len(self.model['decisions']) + 1}")

    def _given(self, drawn: Any) -> Given:
        """A drawn ANY_DECISION / SOME_DECISION with its date resolved against today."""
        if drawn is None:
            return NO_DECISION
        by, when, ref = drawn
        day: str | date | None = None
        if when is not None:
            offset, as_text = when
            resolved = today(self.model) + timedelta(days=offset)
            day = resolved.isoformat() if as_text else resolved
        return (by, day, ref)

    def _new_name(self, kind: str) -> str:
        """A partner name not in use: after removals "kind <count + 1>" may be taken, and a
        refused add would leave the requirement unmet."""
        n = len(self.model["partners"]) + 1
        while f"{kind} {n}" in self.model["partners"]:
            n += 1
        return f"{kind} {n}"

    def _supply(self, requirement: str, data: st.DataObject) -> None:
        """One write that brings `requirement` closer to passing."""
        model = self.model
        if requirement == "beroepsgroep_betrokken":
            kind = data.draw(st.sampled_from(["beroepsgroep", "vakbond"]))
            self.add_partner(self._new_name(kind), kind)
        elif requirement == "twee_besturen":
            self.add_partner(self._new_name("schoolbestuur"), "schoolbestuur")
        elif requirement in ("pva_aanwezig", "verslag"):
            missing = [k for k in ("plan_van_aanpak", "jaarverslag") if k not in model["docs"]]
            self.add_document(missing[0] if requirement == "verslag" else "plan_van_aanpak")
        elif requirement == "genoeg_leraren":
            self.set_fact(data.draw(st.sampled_from(["10", "17"])))
        elif requirement == "themas":
            self.add_actie(next(t for t in ("werven", "matchen") if t not in model["acties"]), None)
        elif requirement == "bedrag_vastgelegd":
            self.set_bedrag("150000.50")
        elif requirement == "besluit_beschikking":
            self.add_document("beschikking")
        elif requirement == "peilgesprek_recent":
            self.add_peilgesprek(-data.draw(st.integers(0, 30)), as_text=True)
        elif model["facts"].get("leraren") is None or model["facts"]["leraren"] > 3:
            self.set_fact(data.draw(st.sampled_from(["0", "3"])))  # stop_akkoord
        else:
            gemeente = next(n for n, k in model["partners"].items() if k == "gemeente")
            self.remove_partner(gemeente)

    @rule()
    def region_matches_model(self) -> None:
        """Partners, documents and facts as the model has them (a rule: not every step)."""
        shown = self.app.show_region(SLUG)
        assert shown["cases"][WORKFLOW]["state"] == self.model["state"]
        assert {p["name"]: p["kind"] for p in shown["partners"]} == self.model["partners"]
        assert sorted(d["kind"] for d in shown["documents"]) == sorted(self.model["docs"])
        assert shown["facts"] == self.model["facts"]  # the region's: no case fact among them
        case = shown["cases"][WORKFLOW]
        assert case["facts"] == self.model["case_facts"]
        decided = self.model["decided_on"]
        assert case["decided_on"] == (decided.isoformat() if decided else None)
        records = self.app.list_records(SLUG)["records"]
        assert [r["fields"]["thema"] for r in records if r["kind"] == "actie"] == self.model["acties"]
        assert [r["fields"]["datum"] for r in records if r["kind"] == "peilgesprek"] == [
            d.isoformat() for d in self.model["peilgesprekken"]]

    # --- triggers -------------------------------------------------------------------

    @rule(trigger=TRIGGERS, dry_run=st.booleans(), hours=st.integers(0, 24 * 40),
          decision=ANY_DECISION)
    def fire_any(self, trigger: str, dry_run: bool, hours: int, decision: Any) -> None:
        """Any trigger, possibly impossible from here, after some time has passed; now and
        then with a decision (right, wrong or incomplete) whether or not it records one."""
        self.clock.advance(timedelta(hours=hours))
        self._fire(trigger, dry_run, self._given(decision))

    @precondition(lambda self: self.model["state"] not in FINAL)
    @rule(data=st.data(), dry_run=st.booleans())
    def fire_possible(self, data: st.DataObject, dry_run: bool) -> None:
        """A trigger the current state has (random ones are mostly impossible); a decision
        trigger half the time with a valid decision."""
        possible = sorted(t for t, (src, _, _) in TRANSITIONS.items() if self.model["state"] in src)
        trigger = data.draw(st.sampled_from(possible))
        given = NO_DECISION
        if trigger in DECISIONS and data.draw(st.booleans()):
            given = self._valid_decision(trigger, data)
        elif trigger in DECISIONS:
            given = self._given(data.draw(ANY_DECISION))
        self._fire(trigger, dry_run, given)

    def _fire(self, trigger: str, dry_run: bool, given: Given = NO_DECISION) -> None:
        code, dest, unmet = predict(self.model, trigger)
        try:
            recorded = predict_decision(self.model, trigger, given, dry_run)
        except Unusable as why:
            event(f"advance: usage error, {why}")
            events_before = self._event_count()
            with pytest.raises(UsageError):
                self.app.advance(SLUG, trigger, dry_run=dry_run, decided_by=given[0],
                                 decision_date=given[1], decision_ref=given[2])
            assert self._event_count() == events_before  # nothing written, nothing audited
            return
        event(f"advance: {code}" + (f" -> {dest}" if code == "ok" else "")
              + (" (decision)" if recorded else ""))
        events_before = self._event_count() if dry_run else None
        try:
            result = self.app.advance(SLUG, trigger, dry_run=dry_run, decided_by=given[0],
                                      decision_date=given[1], decision_ref=given[2])
        except Refused as err:
            assert not dry_run, "a dry run reports a refusal, it does not raise"
            result = err.details["result"]
        assert result["code"] == code, (trigger, self.model, result)
        assert result["ok"] == (code == "ok")
        assert result["dry_run"] == dry_run
        assert [u["requirement"] for u in result["unmet"]] == unmet
        assert result["decision"] == recorded
        if code in ("ok", "unmet"):
            # Every requirement of the transition is evaluated, none short-circuited.
            assert [e["requirement"] for e in result["evidence"]] == list(TRANSITIONS[trigger][2])
        if dry_run:
            assert self._event_count() == events_before
            assert self.app.show_region(SLUG)["cases"][WORKFLOW]["state"] == self.model["state"]
            return
        self.writes += 1  # moved or refused: either way one audited attempt
        if code == "ok":
            assert result["to"] == dest
            self.model["state"] = dest
            self.model["decisions"].append(recorded)
            if recorded:  # a move without a decision keeps the date of the last one
                self.model["decided_on"] = date.fromisoformat(recorded["date"])
        else:
            assert result["to"] == self.model["state"]

    @rule()
    def readiness_matches_model(self) -> None:
        report = self.app.check(SLUG)
        assert report["state"] == self.model["state"]
        expected = {t for t, (src, _, _) in TRANSITIONS.items() if self.model["state"] in src}
        assert {t["trigger"] for t in report["triggers"]} == expected  # none in a final state
        for t in report["triggers"]:
            code, dest, unmet = predict(self.model, t["trigger"])
            assert t["allowed"] == (code == "ok")
            assert t["dest"] == dest
            assert [u["requirement"] for u in t["unmet"]] == unmet

    def _event_count(self) -> int:
        return len(self.app.history(SLUG, all_events=True)["events"])

    # --- invariants, after every step -----------------------------------------------

    @invariant()
    def state_matches_model(self) -> None:
        (region,) = self.app.list_regions()
        assert region["cases"] == {WORKFLOW: self.model["state"]}

    @invariant()
    def history_replays_to_state(self) -> None:
        state = "verkenning"
        decisions = []
        for e in self.app.history(SLUG)["events"]:
            assert e["kind"] == "transition"
            assert e["from"] == state
            state = e["to"]
            decisions.append(e["decision"])
        assert state == self.model["state"]
        assert decisions == self.model["decisions"]  # who decided, when, with which reference

    @invariant()
    def one_event_per_write_and_chain_verifies(self) -> None:
        report = self.app.verify_audit(SLUG)
        assert report["ok"], report["broken"]
        assert report["events"] == self.writes


EngineAgainstModel.TestCase.settings = settings(
    max_examples=50, stateful_step_count=30, deadline=None
)
TestEngineAgainstModel = EngineAgainstModel.TestCase
