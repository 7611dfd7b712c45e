"""An anchor outside the database (issue 9, item 5).

Whoever owns the database can switch the append-only triggers off, cut a region's log short
and move its stored head back with it: what is left is a consistent, shorter chain that
`audit verify` alone accepts. An anchor (`audit anchor`), the heads of every chain kept
elsewhere, catches that; `audit verify` also replays each case and catches a case row changed
behind the log. Every attack here is done as the owner, on a real SQLite file and on
PostgreSQL (with ONDERWIJSFLOW_TEST_PG).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import LEGACY_WORKFLOWS
from sqlalchemy import Connection, MetaData, create_engine, text
from support import Flow, Run

NOW = "2024-09-02T10:00"


# --- a world of three regions, built through the CLI ---------------------------------------------


@pytest.fixture
def flow(backend_url: str, tmp_path: Path) -> Flow:
    """twente (applied: its case moved on), leiden and delft (each a case in verkenning)."""
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\n", encoding="utf-8")
    flow = Flow(backend_url, config, LEGACY_WORKFLOWS, NOW)
    flow.ok("init")
    for slug in ("twente", "leiden", "delft"):
        flow.ok("region", "create", slug, "--name", slug.title(), "--sector", "PO")
    flow.ok("partner", "add", "twente", "Stichting Primair Oost", "--kind", "schoolbestuur",
            "--sector", "PO")
    flow.ok("partner", "add", "twente", "Pabo Oost", "--kind", "lerarenopleiding")
    flow.ok("document", "add", "twente", "intentieverklaring", "--title", "Intentieverklaring")
    flow.ok("document", "add", "twente", "arbeidsmarktanalyse", "--title", "AMA 2024")
    flow.ok("advance", "twente", "dien_aanvraag_in")
    flow.ok("partner", "add", "leiden", "Pabo Leiden", "--kind", "lerarenopleiding")
    # The tail of twente's log: events that do not move a case.
    flow.ok("partner", "add", "twente", "ROC Twente", "--kind", "schoolbestuur", "--sector", "PO")
    flow.ok("document", "add", "twente", "governance", "--title", "Governance")
    return flow


def anchor(flow: Flow, path: Path) -> dict[str, Any]:
    """``audit anchor --out PATH --json``: the document, which is also the file."""
    document: dict[str, Any] = flow.json("audit", "anchor", "--out", str(path))
    assert json.loads(path.read_text(encoding="utf-8")) == document
    return document


def verify(flow: Flow, *args: str) -> Run:
    return flow("audit", "verify", *args)


def broken(flow: Flow, *args: str) -> str:
    """`audit verify ARGS` fails with exit 1 and one sentence; that sentence."""
    run = verify(flow, *args)
    assert run.code == 1, str(run)
    return run.sentence()


# --- the owner at work ------------------------------------------------------------------------------


@contextmanager
def owner(flow: Flow) -> Iterator[Connection]:
    """A transaction as the database's owner, with the append-only triggers on events gone."""
    engine = create_engine(flow.url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                names = connection.execute(text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
                )).scalars().all()
                assert not names or {"events_no_update", "events_no_delete"} <= set(names)
                for name in names:
                    connection.execute(text(f'DROP TRIGGER "{name}"'))
            else:
                connection.execute(text("ALTER TABLE events DISABLE TRIGGER ALL"))
            yield connection
    finally:
        engine.dispose()


def region_id(connection: Connection, slug: str) -> int:
    return int(connection.execute(text("SELECT id FROM regions WHERE slug = :s"), {"s": slug})
               .scalar_one())


def truncate(flow: Flow, slug: str, drop: int) -> int:
    """Delete the last `drop` events of `slug` and roll its stored head back; the new length."""
    with owner(flow) as connection:
        rid = region_id(connection, slug)
        seq = int(connection.execute(text("SELECT event_seq FROM regions WHERE id = :r"),
                                     {"r": rid}).scalar_one())
        keep = seq - drop
        connection.execute(text("DELETE FROM events WHERE region_id = :r AND seq > :k"),
                           {"r": rid, "k": keep})
        connection.execute(text(
            "UPDATE regions SET event_seq = :k, event_hash = "
            "(SELECT hash FROM events WHERE region_id = :r AND seq = :k) WHERE id = :r"),
            {"r": rid, "k": keep})
    return keep


def delete_region(flow: Flow, slug: str) -> None:
    """Delete a region whole: its events, every row that hangs from it, and the region."""
    with owner(flow) as connection:
        rid = region_id(connection, slug)
        metadata = MetaData()
        metadata.reflect(connection)
        by_parent = {
            "case_id": "SELECT id FROM cases WHERE region_id = :r",
            "milestone_id": "SELECT id FROM milestones WHERE region_id = :r",
            "reminder_id": "SELECT id FROM reminders WHERE region_id = :r",
        }
        for table in reversed(metadata.sorted_tables):  # those that refer to others first
            if table.name == "regions":
                continue
            for column, parents in by_parent.items():
                if column in table.c and "region_id" not in table.c:
                    connection.execute(text(
                        f'DELETE FROM "{table.name}" WHERE {column} IN ({parents})'), {"r": rid})
            if "region_id" in table.c:
                connection.execute(text(f'DELETE FROM "{table.name}" WHERE region_id = :r'),
                                   {"r": rid})
        connection.execute(text("DELETE FROM regions WHERE id = :r"), {"r": rid})


# --- the anchor itself ------------------------------------------------------------------------------


def test_the_anchor_names_every_head_and_its_root_covers_them(flow: Flow, tmp_path: Path) -> None:
    path = tmp_path / "anchors" / "2024-09-02.json"
    path.parent.mkdir()
    document = anchor(flow, path)
    assert document["format"] == 1
    assert len(document["root"]) == 64 and int(document["root"], 16) >= 0
    heads = {h["region"]: h for h in document["heads"] if h["region"] != "(policy)"}
    assert sorted(heads) == ["delft", "leiden", "twente"]
    for slug, head in heads.items():
        events = flow.events(slug)
        assert (head["seq"], head["hash"]) == (events[-1]["seq"], events[-1]["hash"])
    assert document["regions"] == 3
    assert document["events"] == sum(len(flow.events(s)) for s in heads)
    assert document["taken_at"]
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file left"

    # The same heads give the same root; one more event gives another.
    assert flow.json("audit", "anchor")["root"] == document["root"]
    flow.ok("fact", "set", "delft", "leerlingen_po", "12000")
    assert flow.json("audit", "anchor")["root"] != document["root"]

    shown = flow.ok("audit", "anchor", "--out", str(path)).out
    assert json.loads(path.read_text(encoding="utf-8"))["root"] in shown
    assert "3 regions" in shown and str(path) in shown


def test_events_and_regions_after_the_anchor_still_verify(flow: Flow, tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    document = anchor(flow, path)
    flow.ok("partner", "add", "leiden", "Stichting Leiden", "--kind", "schoolbestuur",
            "--sector", "PO")
    flow.ok("fact", "set", "twente", "leerlingen_po", "16000")
    flow.ok("region", "create", "zwolle", "--name", "Zwolle", "--sector", "PO")
    run = flow.ok("audit", "verify", "--anchor", str(path))
    assert "intact" in run.out and document["root"] in run.out
    report = flow.json("audit", "verify", "--anchor", str(path))
    assert report["ok"] is True and report["regions"] == 4
    assert report["anchor"]["root"] == document["root"] and report["anchor"]["problems"] == []
    assert report["broken"] == [] and report["case_mismatches"] == [] and report["cases"] == 4
    assert flow.json("audit", "verify", "leiden", "--anchor", str(path))["ok"] is True


def drop_last_policy_events(flow: Flow, drop: int) -> int:
    """As the database's owner, delete the last `drop` policy events; the new length."""
    engine = create_engine(flow.url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                for name in connection.execute(text(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                        "AND tbl_name = 'policy_events'")).scalars().all():
                    connection.execute(text(f'DROP TRIGGER "{name}"'))
            else:
                connection.execute(text("ALTER TABLE policy_events DISABLE TRIGGER ALL"))
            top = int(connection.execute(text("SELECT max(seq) FROM policy_events")).scalar_one())
            connection.execute(text("DELETE FROM policy_events WHERE seq > :k"), {"k": top - drop})
            return top - drop
    finally:
        engine.dispose()


def test_the_policy_log_is_anchored_beside_the_regions(flow: Flow, tmp_path: Path) -> None:
    """Users, roles and the write scope have a chain of their own; the anchor holds its head,
    so an owner who deletes the last policy events (the chain alone still holds) is caught,
    and so is one who rolls the policy back and writes it again."""
    flow.ok("policy", "write-scope", "own", "--reason", "each coordinator their own regions")
    path = tmp_path / "anchor.json"
    document = anchor(flow, path)
    (policy,) = [h for h in document["heads"] if h["region"] == "(policy)"]
    assert policy["seq"] == len(flow.json("policy", "events")["events"])
    assert document["regions"] == 3, "the policy head is not a region"

    keep = drop_last_policy_events(flow, 1)
    assert verify(flow).code == 0, "the policy chain alone cannot tell"
    sentence = broken(flow, "--anchor", str(path))
    assert "policy log" in sentence and "deleted from its end" in sentence
    assert f"{keep} event" in sentence and f"{policy['seq']} events" in sentence

    flow.ok("policy", "write-scope", "all", "--reason", "written again")
    sentence = broken(flow, "--anchor", str(path))
    assert f"policy event {policy['seq']} is not the event the anchor recorded" in sentence
    assert verify(flow, "--anchor", str(path), "--json").json()["ok"] is False


def test_an_anchor_without_a_policy_head_still_verifies(flow: Flow, tmp_path: Path) -> None:
    """Anchors taken before the policy head existed keep working: only their regions count."""
    document = anchor(flow, tmp_path / "anchor.json")
    heads = [h for h in document["heads"] if h["region"] != "(policy)"]
    from onderwijsflow.store.audit import AnchorHead, anchor_root

    old = {**document, "heads": heads,
           "root": anchor_root(AnchorHead(h["region"], h["seq"], h["hash"]) for h in heads)}
    path = tmp_path / "old-anchor.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert verify(flow, "--anchor", str(path)).code == 0


# --- the attacks ------------------------------------------------------------------------------------


def test_a_truncated_tail_passes_verify_but_not_the_anchor(flow: Flow, tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    anchored = {h["region"]: h["seq"] for h in anchor(flow, path)["heads"]}
    keep = truncate(flow, "twente", 2)  # the partner and the document after the transition

    assert verify(flow).code == 0, "what the issue found: the chain alone cannot tell"
    sentence = broken(flow, "--anchor", str(path))
    assert "'twente'" in sentence and "deleted from the end" in sentence
    assert f"{keep} events" in sentence and f"{anchored['twente']} events" in sentence
    report = verify(flow, "--anchor", str(path), "--json")
    assert report.code == 1
    doc = report.json()
    assert doc["ok"] is False and doc["broken"] == [] and doc["case_mismatches"] == []
    assert [(p["region"], p["problem"], p["anchored_seq"], p["found_seq"])
            for p in doc["anchor"]["problems"]] == [("twente", "truncated", anchored["twente"], keep)]
    assert broken(flow, "twente", "--anchor", str(path)) == sentence
    assert verify(flow, "leiden", "--anchor", str(path)).code == 0


def test_a_rolled_back_head_written_again_is_caught(flow: Flow, tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    anchored = {h["region"]: h["seq"] for h in anchor(flow, path)["heads"]}
    truncate(flow, "twente", 2)
    # The log written again past its anchored length, through the tool itself.
    for name in ("leerlingen_po", "leerlingen_vo", "studenten_mbo"):
        flow.ok("fact", "set", "twente", name, "100")
    assert len(flow.events("twente")) > anchored["twente"]

    assert verify(flow).code == 0
    sentence = broken(flow, "--anchor", str(path))
    assert f"event {anchored['twente']} of region 'twente'" in sentence
    assert "rolled back" in sentence
    doc = verify(flow, "--anchor", str(path), "--json").json()
    assert [(p["region"], p["problem"]) for p in doc["anchor"]["problems"]] == [("twente", "rewritten")]


def test_a_deleted_region_is_caught_and_every_problem_named(flow: Flow, tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    anchor(flow, path)
    delete_region(flow, "leiden")
    assert verify(flow).code == 0, "a region deleted whole leaves consistent chains"
    sentence = broken(flow, "--anchor", str(path))
    assert "'leiden'" in sentence and "no longer exists" in sentence
    assert broken(flow, "leiden", "--anchor", str(path)) == sentence
    assert verify(flow, "leiden").code == 4

    truncate(flow, "twente", 1)
    run = verify(flow, "--anchor", str(path))
    assert run.code == 1
    assert "'leiden'" in run.out and "'twente'" in run.out, "each problem, one line each"
    assert "1 more problem" in run.sentence()
    doc = verify(flow, "--anchor", str(path), "--json").json()
    assert [(p["region"], p["problem"]) for p in doc["anchor"]["problems"]] == [
        ("leiden", "deleted"), ("twente", "truncated")]
    assert len(doc["problems"]) == 2


def test_a_case_row_changed_behind_the_log_is_caught_by_verify(flow: Flow) -> None:
    with owner(flow) as connection:
        connection.execute(text("UPDATE cases SET state = 'aanvraag_ingediend' WHERE region_id = :r"),
                           {"r": region_id(connection, "leiden")})
    sentence = broken(flow)
    for part in ("'leiden'", "regiovorming", "'aanvraag_ingediend'", "'verkenning'"):
        assert part in sentence
    doc = verify(flow, "--json").json()
    assert doc["ok"] is False and doc["broken"] == []
    [mismatch] = doc["case_mismatches"]
    assert (mismatch["region"], mismatch["workflow"], mismatch["stored"], mismatch["history"]) == (
        "leiden", "regiovorming", "aanvraag_ingediend", "verkenning")
    assert verify(flow, "twente").code == 0, "only the region asked for is replayed"
    assert verify(flow, "leiden").code == 1


def test_cutting_a_transition_from_the_log_is_caught_by_verify_alone(flow: Flow) -> None:
    transition = next(e for e in flow.events("twente") if e["kind"] == "transition")
    truncate(flow, "twente", len(flow.events("twente")) - transition["seq"] + 1)
    sentence = broken(flow)
    assert "'twente'" in sentence and "'aanvraag_ingediend'" in sentence and "'verkenning'" in sentence


# --- refusals ---------------------------------------------------------------------------------------


def test_no_anchor_is_taken_over_a_broken_log(flow: Flow, tmp_path: Path) -> None:
    with owner(flow) as connection:
        connection.execute(text("UPDATE events SET actor = 'mallory' WHERE seq = 2 AND region_id = :r"),
                           {"r": region_id(connection, "delft")})
    path = tmp_path / "anchor.json"
    run = flow("audit", "anchor", "--out", str(path))
    assert run.code == 1 and "delft" in run.sentence() and "no anchor" in run.sentence()
    assert not path.exists()


def test_an_altered_or_missing_anchor_file_is_refused(flow: Flow, tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    document = anchor(flow, path)
    document["heads"][0]["seq"] -= 1  # an anchor edited to fit a truncation
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document), encoding="utf-8")
    for file, fragment in ((edited, "root hash does not match"), (tmp_path / "nope.json", "nope.json"),
                           (LEGACY_WORKFLOWS / "subsidie.yaml", "not JSON")):
        run = verify(flow, "--anchor", str(file))
        assert run.code == 2, str(run)
        assert fragment in run.sentence()
    run = flow("audit", "anchor", "--out", str(tmp_path / "no" / "such" / "dir.json"))
    assert run.code == 2 and "cannot write" in run.sentence()


def test_the_sentences_are_dutch_for_a_dutch_reader(flow: Flow, tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    anchor(flow, path)
    truncate(flow, "twente", 1)
    flow.lang = "nl"
    run = verify(flow, "--anchor", str(path))
    assert run.code == 1 and run.err.startswith("fout: "), str(run)
    assert "'twente'" in run.err and "het anker" in run.err, str(run)
