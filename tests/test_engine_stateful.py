"""The real library against a plain-Python model of one small workflow (hypothesis, stateful).

Each example runs the real :class:`Onderwijsflow` on a real SQLite file in a directory of
its own. A reference model (a dict of state, partners, documents and facts plus the YAML's
rules re-expressed in Python) predicts every decision; the library must agree, a dry run
must change nothing, and after every step the audit log must replay to the case's state,
verify, and hold exactly one event per write (refused attempts included).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
facts:
  leraren: {type: int, label: Aantal leraren in opleiding}
states:
  verkenning: {label: Verkenning}
  opbouw: {label: Opbouw}
  uitvoering: {label: Uitvoering}
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
transitions:
  - {trigger: start_opbouw, source: verkenning, dest: opbouw, requires: [beroepsgroep_betrokken]}
  - {trigger: terug, source: opbouw, dest: verkenning}
  - trigger: begin
    source: opbouw
    dest: uitvoering
    requires: [twee_besturen, pva_aanwezig, genoeg_leraren]
  - {trigger: pauzeer, source: uitvoering, dest: opbouw}
  - {trigger: rond_af, source: uitvoering, dest: afgerond, requires: [genoeg_leraren, verslag]}
  - {trigger: stop, source: "*", dest: gestopt, requires: [stop_akkoord]}
"""

CONFIG_YAML = f"""\
simulated_clock: true
start_with_region: [{WORKFLOW}]
rounds: {{}}
"""

# --- the reference model: the YAML's rules in plain Python ---------------------------------

Model = dict[str, Any]

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
}
FINAL = {"afgerond", "gestopt"}
OPEN = ("verkenning", "opbouw", "uitvoering")
# trigger -> (sources, dest, requirements in file order)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "start_opbouw": (("verkenning",), "opbouw", ("beroepsgroep_betrokken",)),
    "terug": (("opbouw",), "verkenning", ()),
    "begin": (("opbouw",), "uitvoering", ("twee_besturen", "pva_aanwezig", "genoeg_leraren")),
    "pauzeer": (("uitvoering",), "opbouw", ()),
    "rond_af": (("uitvoering",), "afgerond", ("genoeg_leraren", "verslag")),
    "stop": (OPEN, "gestopt", ("stop_akkoord",)),
}


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
DOC_KINDS = st.sampled_from(["plan_van_aanpak", "jaarverslag", "overig"])
TRIGGERS = st.sampled_from(sorted(TRANSITIONS))


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
        self.model: Model = {"state": "verkenning", "partners": {}, "docs": [], "facts": {}}
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
        for name in TRANSITIONS[trigger][2]:
            for _ in range(20):  # every supply step makes progress; never loop forever
                if REQUIREMENTS[name](self.model):
                    break
                self._supply(name, data)
            assert REQUIREMENTS[name](self.model), f"could not satisfy {name}"
        assert predict(self.model, trigger)[0] == "ok"
        self._fire(trigger, dry_run=data.draw(st.sampled_from([False, False, True])))

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
        assert shown["facts"] == self.model["facts"]

    # --- triggers -------------------------------------------------------------------

    @rule(trigger=TRIGGERS, dry_run=st.booleans(), hours=st.integers(0, 24 * 40))
    def fire_any(self, trigger: str, dry_run: bool, hours: int) -> None:
        """Any trigger, possibly impossible from here, after some time has passed."""
        self.clock.advance(timedelta(hours=hours))
        self._fire(trigger, dry_run)

    @precondition(lambda self: self.model["state"] not in FINAL)
    @rule(data=st.data(), dry_run=st.booleans())
    def fire_possible(self, data: st.DataObject, dry_run: bool) -> None:
        """A trigger the current state has (random ones are mostly impossible)."""
        possible = sorted(t for t, (src, _, _) in TRANSITIONS.items() if self.model["state"] in src)
        self._fire(data.draw(st.sampled_from(possible)), dry_run)

    def _fire(self, trigger: str, dry_run: bool) -> None:
        code, dest, unmet = predict(self.model, trigger)
        event(f"advance: {code}" + (f" -> {dest}" if code == "ok" else ""))
        events_before = self._event_count() if dry_run else None
        try:
            result = self.app.advance(SLUG, trigger, dry_run=dry_run)
        except Refused as err:
            assert not dry_run, "a dry run reports a refusal, it does not raise"
            result = err.details["result"]
        assert result["code"] == code, (trigger, self.model, result)
        assert result["ok"] == (code == "ok")
        assert result["dry_run"] == dry_run
        assert [u["requirement"] for u in result["unmet"]] == unmet
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
        for e in self.app.history(SLUG)["events"]:
            assert e["kind"] == "transition"
            assert e["from"] == state
            state = e["to"]
        assert state == self.model["state"]

    @invariant()
    def one_event_per_write_and_chain_verifies(self) -> None:
        report = self.app.verify_audit(SLUG)
        assert report["ok"], report["broken"]
        assert report["events"] == self.writes


EngineAgainstModel.TestCase.settings = settings(
    max_examples=50, stateful_step_count=30, deadline=None
)
TestEngineAgainstModel = EngineAgainstModel.TestCase
