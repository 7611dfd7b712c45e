"""Attacks on onderwijsflow, each through the real command line, each refused cleanly.

This module grows with every attack someone finds: add the attack here as a test, then make
it pass. Every refusal is one sentence on stderr naming the value (and the file and line
where there is one), exit 2 for a bad value (1 for a bad configuration or workflow file, as
the CLI contract says), and nothing written. A store that already holds a bad value (written
before a rule existed, or behind the tool's back) can still be read and repaired.

Found so far (issue 9, "values that cannot poison"): integers beyond 64 bits, decimals
without bounds, overlong and control-character names and slugs, e-mail fields holding two
addresses or a header, dates in the year 1 or 9999, durations of a hundred million years,
facts outside the `min`/`max` their workflow declares, YAML "billion laughs" and deeply
nested files, duplicate keys in the configuration, and a store poisoned by direct SQL.
"""

from __future__ import annotations

import sqlite3
import time
import tracemalloc
from pathlib import Path

import pytest
from support import Flow, Run

WORKFLOW = """\
workflow: proef
version: 1
title: Proef
initial: open
facts:
  leerlingen: {type: int, min: 0, max: 1000000, label: Leerlingen}
  groot: {type: int, label: Groot getal}
  bedrag: {type: decimal, decimals: 2, min: 0, label: Bedrag, scope: case}
  factor: {type: decimal, label: Factor}
  dag: {type: date, label: Dag}
records:
  notitie:
    label: Notitie
    fields:
      tekst: {type: text, required: true}
states:
  open: {label: Open}
  klaar: {label: Klaar, final: true}
transitions:
  - trigger: sluit
    source: open
    dest: klaar
"""

BOMB_LEVELS = 9  # 10**9 "lol"s once every alias is expanded


def billion_laughs(head: str = "") -> str:
    """A YAML text of nested anchors: a few hundred bytes, a billion values expanded."""
    lines = [head.rstrip("\n")] if head else []
    lines.append("a0: &a0 [" + ", ".join(['"lol"'] * 10) + "]")
    for i in range(1, BOMB_LEVELS + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append(f"bomb: *a{BOMB_LEVELS}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def flow(tmp_path: Path) -> Flow:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "proef.yaml").write_text(WORKFLOW, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\nstart_with_region: [proef]\n", encoding="utf-8")
    flow = Flow(f"sqlite:///{tmp_path / 'adversarial.db'}", config, workflows, "2024-09-02T10:00")
    flow.ok("init")
    flow.ok("region", "create", "noord", "--name", "Noord", "--sector", "PO")
    return flow


def db_path(flow: Flow) -> Path:
    return Path(flow.url.removeprefix("sqlite:///"))


def written(flow: Flow) -> tuple[int, int, int, int, int]:
    """How much the store holds: events, regions, facts, people, partners."""
    with sqlite3.connect(db_path(flow)) as db:
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[return-value]
                     for table in ("events", "regions", "facts", "role_assignments", "partners"))


def refused(flow: Flow, *args: str, code: int = 2, naming: str = "") -> str:
    """Run `args`, which must be refused with `code`, one sentence naming `naming`, and
    nothing written; the sentence."""
    before = written(flow)
    run = flow(*args)
    assert run.code == code, str(run)
    sentence = run.sentence()
    assert naming in sentence, str(run)
    assert written(flow) == before, f"something was written by {run}"
    return sentence


# --- integers, decimals, min/max -------------------------------------------------------------


@pytest.mark.parametrize("value", [str(2**63), str(-(2**63) - 1), "9" * 5000, "1e400"])
def test_an_integer_beyond_64_bits_is_refused(flow: Flow, value: str) -> None:
    refused(flow, "fact", "set", "noord", "groot", "--", value, naming=value[:20])


def test_the_largest_64_bit_integer_is_stored_and_read_back(flow: Flow) -> None:
    flow.ok("fact", "set", "noord", "groot", str(2**63 - 1))
    assert flow.json("region", "show", "noord")["facts"]["groot"] == 2**63 - 1


@pytest.mark.parametrize(("fact", "value", "naming"), [
    ("bedrag", "10.005", "more than 2 decimals"),           # money: decimals: 2
    ("factor", "0.1234567", "more than 6 decimals"),        # any decimal: at most 6
    ("factor", "1E+400", "too large"),
    ("factor", "1" * 16, "too large"),
    ("factor", "NaN", "finite"),
])
def test_a_decimal_has_bounded_precision(flow: Flow, fact: str, value: str, naming: str) -> None:
    sentence = refused(flow, "fact", "set", "noord", fact, value, naming=naming)
    assert value[:10] in sentence


def test_money_with_two_decimals_is_kept_as_given(flow: Flow) -> None:
    flow.ok("fact", "set", "noord", "bedrag", "1275000.50")
    assert flow.json("region", "show", "noord")["cases"]["proef"]["facts"]["bedrag"] == "1275000.50"


@pytest.mark.parametrize(("value", "naming"), [("1000001", "maximum 1000000"),
                                               ("-1", "minimum 0")])
def test_a_fact_keeps_within_its_declared_min_and_max(flow: Flow, value: str, naming: str) -> None:
    refused(flow, "fact", "set", "noord", "leerlingen", "--", value, naming=naming)
    flow.ok("fact", "set", "noord", "leerlingen", "1000000")


def test_an_import_keeps_facts_within_min_max_and_64_bits(flow: Flow, tmp_path: Path) -> None:
    sheet = tmp_path / "regions.csv"
    sheet.write_text("slug,name,fact:leerlingen,fact:groot\n"
                     f"zuid,Zuid,2000000,5\nwest,West,5,{2**64}\n", encoding="utf-8")
    run = flow("import", "regions", str(sheet))
    assert run.code == 2, str(run)
    assert "regions.csv:2" in run.err and "maximum 1000000" in run.err, str(run)
    assert "regions.csv:3" in run.err and str(2**64) in run.err, str(run)
    assert [r["slug"] for r in flow.json("region", "list")["regions"]] == ["noord"]


def test_a_workflow_declaring_min_above_max_or_min_on_text_is_refused(flow: Flow, tmp_path: Path) -> None:
    bad = tmp_path / "slecht.yaml"
    bad.write_text(WORKFLOW.replace("{type: int, min: 0, max: 1000000,",
                                    "{type: int, min: 10, max: 1,")
                   .replace("dag: {type: date,", "dag: {type: string, min: 3,"), encoding="utf-8")
    run = flow("workflow", "validate", str(bad))
    assert run.code == 1, str(run)
    assert "slecht.yaml:6: fact 'leerlingen': min 10 is above max 1" in run.err, str(run)
    assert "slecht.yaml:10:" in run.err and "min is for a number or a date" in run.err, str(run)


# --- lengths and control characters ------------------------------------------------------------


@pytest.mark.parametrize(("args", "naming"), [
    (("region", "create", "a" * 65, "--name", "A"), "longer than 64 characters"),
    (("region", "create", "zuid\n", "--name", "Zuid"), "'zuid\\n'"),
    (("region", "create", "zuid", "--name", "Z" * 201), "longer than 200 characters"),
    (("region", "create", "zuid", "--name", "Zu\x00id"), "control character"),
    (("region", "create", "zuid", "--name", "Zuid\r\nBcc: x@evil.example"), "control character"),
    (("region", "update", "noord", "--name", "Noord\x1b[31m"), "control character"),
    (("partner", "add", "noord", "Stichting\nX", "--kind", "schoolbestuur"), "control character"),
    (("role", "assign", "noord", "projectleider", "Jan\rJansen"), "control character"),
    (("document", "add", "noord", "governance", "--title", "T" * 201), "longer than 200"),
    (("record", "add", "noord", "notitie", "--field", "tekst=" + "x" * 10_001),
     "longer than 10000 characters"),
])
def test_names_and_identifiers_are_bounded_and_one_line(flow: Flow, args: tuple[str, ...],
                                                        naming: str) -> None:
    refused(flow, *args, naming=naming)


# --- e-mail addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["a@x.nl, b@evil.example", "a@x.nl; b@evil.example",
                                     "a@x.nl\r\nBcc: b@evil.example", "a@x.nl\n", "geen adres",
                                     "a@@x.nl"])
def test_an_email_field_takes_exactly_one_address(flow: Flow, address: str) -> None:
    shown = repr(address)[:30]
    refused(flow, "role", "assign", "noord", "projectleider", "Jan", "--email", address,
            naming=shown)
    refused(flow, "region", "create", "zuid", "--name", "Zuid", "--coordinator", address,
            naming=shown)
    refused(flow, "region", "update", "noord", "--coordinator", address, naming=shown)


def test_an_address_with_a_name_is_still_one_address(flow: Flow) -> None:
    flow.ok("role", "assign", "noord", "projectleider", "Pim", "--email", "Pim de Vries <pim@x.example.org>")
    assert flow.json("region", "show", "noord")["roles"][0]["email"] == "Pim de Vries <pim@x.example.org>"


def test_an_import_takes_one_address_per_person(flow: Flow, tmp_path: Path) -> None:
    sheet = tmp_path / "people.csv"
    sheet.write_text('slug;name;people\nzuid;Zuid;"projectleider:Jan:a@x.nl, b@evil.example"\n',
                     encoding="utf-8")
    before = written(flow)
    run = flow("import", "regions", str(sheet))
    assert run.code == 2 and "people.csv:2:" in run.sentence() and "b@evil.example" in run.err, str(run)
    assert written(flow) == before


@pytest.mark.parametrize(("notify", "naming"), [
    ('{sender: "a@x.nl, b@evil.example"}', "notify.sender"),
    ('{reply_to: "a@x.nl\\r\\nBcc: b@evil.example"}', "notify.reply_to"),
])
def test_configuration_addresses_are_one_address(flow: Flow, notify: str, naming: str) -> None:
    flow.config.write_text(f"simulated_clock: true\nnotify: {notify}\n", encoding="utf-8")
    sentence = refused(flow, "region", "list", code=1, naming=naming)
    assert str(flow.config) in sentence


def test_an_actor_address_in_the_configuration_is_one_address(flow: Flow) -> None:
    flow.config.write_text('simulated_clock: true\nactors:\n  anne: {roles: [coordinator], '
                           'email: "anne@x.nl, b@evil.example"}\n', encoding="utf-8")
    refused(flow, "region", "list", code=1, naming="actors.anne.email")


# --- dates and durations --------------------------------------------------------------------------


@pytest.mark.parametrize("now", ["0001-01-01", "9999-12-31T23:00", "1899-12-31"])
def test_a_clock_outside_1900_2200_is_refused(flow: Flow, now: str) -> None:
    flow.now = now
    refused(flow, "region", "show", "noord", naming=now[:10])
    refused(flow, "partner", "add", "noord", "Pabo", "--kind", "lerarenopleiding", naming=now[:10])


@pytest.mark.parametrize("args", [
    ("document", "add", "noord", "governance", "--title", "G", "--date", "0001-01-01"),
    ("fact", "set", "noord", "dag", "2201-01-01"),
    ("history", "noord", "--as-of", "0001-01-01"),
])
def test_a_date_outside_1900_2200_is_refused(flow: Flow, args: tuple[str, ...]) -> None:
    refused(flow, *args, naming="outside the years 1900-2200")


@pytest.mark.parametrize("within", ["P99999999Y", "P101Y", "P40000D", "P" + "9" * 5000 + "D"])
def test_a_duration_beyond_a_century_is_refused(flow: Flow, within: str) -> None:
    refused(flow, "deadlines", "--within", within, naming="longer than a century")


@pytest.mark.parametrize(("date", "naming"), [("2024-13-45", "2024-13-45"),
                                              ("0001-01-01", "outside the years 1900-2200")])
def test_a_bad_round_date_in_the_configuration_names_file_and_line(flow: Flow, date: str,
                                                                   naming: str) -> None:
    flow.config.write_text("simulated_clock: true\nrounds:\n  '2025':\n    workflow: proef\n"
                           f"    params:\n      deadline: {date}\n", encoding="utf-8")
    sentence = refused(flow, "region", "list", code=1, naming=naming)
    assert f"{flow.config}:6" in sentence and "unexpected" not in sentence


# --- YAML -----------------------------------------------------------------------------------------


def _within_a_second_and_50_mb(run: callable) -> Run:  # type: ignore[valid-type]
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result: Run = run()
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert peak < 50_000_000, f"peak {peak / 1e6:.0f} MB"
    return result


def test_a_billion_laughs_workflow_is_refused_quickly(flow: Flow, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs(WORKFLOW), encoding="utf-8")
    run = _within_a_second_and_50_mb(lambda: flow("workflow", "validate", str(bomb)))
    assert run.code == 1 and "bomb.yaml:" in run.sentence() and "billion laughs" in run.err, str(run)


def test_a_billion_laughs_in_the_workflow_directory_is_refused_quickly(flow: Flow) -> None:
    (flow.workflows / "bomb.yaml").write_text(billion_laughs(), encoding="utf-8")
    run = _within_a_second_and_50_mb(lambda: flow("region", "list"))
    assert run.code == 1 and "bomb.yaml:" in run.sentence(), str(run)


def test_a_billion_laughs_record_fields_file_is_refused_quickly(flow: Flow, tmp_path: Path) -> None:
    bomb = tmp_path / "velden.yaml"
    bomb.write_text(billion_laughs("tekst: hallo\n"), encoding="utf-8")
    before = written(flow)
    run = _within_a_second_and_50_mb(lambda: flow("record", "add", "noord", "notitie", "--file", str(bomb)))
    assert run.code == 2 and "velden.yaml:" in run.sentence(), str(run)
    assert written(flow) == before


def test_a_billion_laughs_configuration_is_refused_quickly(flow: Flow) -> None:
    flow.config.write_text(billion_laughs("simulated_clock: true"), encoding="utf-8")
    before = written(flow)
    run = _within_a_second_and_50_mb(lambda: flow("region", "create", "zuid", "--name", "Zuid"))
    assert run.code == 1 and str(flow.config) in run.sentence() and "billion laughs" in run.err, str(run)
    assert written(flow) == before


@pytest.mark.parametrize(("text", "naming"), [
    ("a: &a [1, *a]\n", "refers to the value it is part of"),
    ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested more than 100 levels"),
])
def test_recursive_and_deeply_nested_yaml_is_refused(flow: Flow, tmp_path: Path, text: str,
                                                    naming: str) -> None:
    bad = tmp_path / "diep.yaml"
    bad.write_text(text, encoding="utf-8")
    run = flow("workflow", "validate", str(bad))
    assert run.code == 1 and "diep.yaml:1:" in run.sentence() and naming in run.err, str(run)


def test_a_huge_yaml_file_is_refused_unread(flow: Flow, tmp_path: Path) -> None:
    huge = tmp_path / "groot.yaml"
    huge.write_text("# " + "x" * 5_000_000 + "\n", encoding="utf-8")
    run = flow("workflow", "validate", str(huge))
    assert run.code == 1 and "groot.yaml:1: the file is larger than 4 MB" in run.sentence(), str(run)


def test_duplicate_keys_in_the_configuration_are_an_error(flow: Flow) -> None:
    flow.config.write_text("simulated_clock: true\nnotify:\n  sender: a@x.nl\n  sender: b@evil.example\n",
                           encoding="utf-8")
    sentence = refused(flow, "region", "list", code=1, naming="duplicate key 'sender'")
    assert f"{flow.config}:4" in sentence and "first at line 3" in sentence


# --- the append-only log takes no unbounded text ------------------------------------------------


@pytest.mark.parametrize(("reason", "naming"), [
    pytest.param("x" * 10_001, "10000", id="a-book"),
    pytest.param("per post\x00binnen", "control", id="nul"),
    pytest.param("\x1b[31mrood\x1b[0m", "control", id="escape"),
])
@pytest.mark.parametrize("args", [("advance", "noord", "sluit", "--override"),
                                  ("advance", "noord", "sluit"),
                                  ("advance-all", "sluit", "--workflow", "proef")],
                         ids=["override", "advance", "advance-all"])
def test_a_reason_is_bounded_and_free_of_control_characters(flow: Flow, reason: str, naming: str,
                                                            args: tuple[str, ...]) -> None:
    refused(flow, *args, "--reason", reason, naming=naming)


# --- a poisoned store -----------------------------------------------------------------------------


def test_a_poisoned_store_is_shown_and_repaired(flow: Flow) -> None:
    flow.ok("fact", "set", "noord", "groot", "5")
    flow.ok("fact", "set", "noord", "dag", "2024-01-01")
    flow.ok("fact", "set", "noord", "bedrag", "10.50")
    with sqlite3.connect(db_path(flow)) as db:  # what a float or an old version left behind
        db.execute("UPDATE facts SET value = 9.3e18 WHERE name = 'groot'")
        db.execute("""UPDATE facts SET value = '"0001-01-01"' WHERE name = 'dag'""")
        db.execute("""UPDATE case_facts SET value = '"1E+400"' WHERE name = 'bedrag'""")
    shown = flow.json("region", "show", "noord")
    assert shown["facts"] == {"dag": "0001-01-01", "groot": 9.3e18}
    assert shown["cases"]["proef"]["facts"] == {"bedrag": "1E+400"}
    assert "9.3e+18" in flow.ok("region", "show", "noord").out
    flow.ok("history", "noord")
    # Every reader copes before the repair: the check, the national report, a dry run.
    assert flow.json("check", "noord")["triggers"][0]["allowed"] is True
    assert flow.json("report")["totals"]["regions"] >= 1
    flow.ok("advance", "noord", "sluit", "--dry-run")

    assert flow.json("fact", "set", "noord", "groot", "7")["old"] == 9.3e18
    assert flow.json("fact", "unset", "noord", "dag")["old"] == "0001-01-01"
    assert flow.json("fact", "set", "noord", "bedrag", "11.00")["old"] == "1E+400"
    shown = flow.json("region", "show", "noord")
    assert shown["facts"] == {"groot": 7} and shown["cases"]["proef"]["facts"] == {"bedrag": "11.00"}
    flow.ok("report")
    flow.ok("advance", "noord", "sluit")
    assert flow.json("audit", "verify")["ok"]
