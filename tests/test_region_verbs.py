"""The verbs users expect (design §4): region update, partner list, document list/remove,
fact unset: each write audited with its old value, each mistake one sentence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import support

from onderwijsflow.errors import NotFound, UsageError
from onderwijsflow.service import Onderwijsflow

DATA = Path(__file__).resolve().parent / "data" / "taal11" / "v1"


@pytest.fixture
def app(backend_url: str, tmp_path: Path) -> Iterator[Onderwijsflow]:
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\nstart_with_region: []\n", encoding="utf-8")
    app = Onderwijsflow.open(db=backend_url, config=config, workflows=DATA, actor="anne",
                             now="2024-09-02T10:00")
    app.init()
    app.create_region("noord", name="Noord", provinces=["Groningen"], sectors=["PO"])
    try:
        yield app
    finally:
        app.close()


def _last(app: Onderwijsflow, slug: str = "noord") -> dict[str, Any]:
    return dict(app.history(slug, all_events=True)["events"][-1])


def test_region_update_changes_only_what_is_given_and_keeps_the_old_values(app: Onderwijsflow) -> None:
    result = app.update_region("noord", name="Noord-Nederland", sectors=["PO", "VO"])
    assert result["old"] == {"name": "Noord", "sectors": ["PO"]}
    assert result["new"] == {"name": "Noord-Nederland", "sectors": ["PO", "VO"]}
    shown = app.show_region("noord")
    assert (shown["name"], shown["provinces"], shown["sectors"]) == (
        "Noord-Nederland", ["Groningen"], ["PO", "VO"])
    event = _last(app)
    assert (event["kind"], event["data"]["old"]["name"]) == ("region_updated", "Noord")
    seq = event["seq"]
    assert app.update_region("noord", name="Noord-Nederland")["new"] == {}  # nothing changed
    assert _last(app)["seq"] == seq  # and nothing was written
    with pytest.raises(UsageError, match="sector"):
        app.update_region("noord", sectors=["XX"])


def test_documents_are_listed_with_ids_and_removed_with_an_audit_trail(app: Onderwijsflow) -> None:
    app.add_document("noord", "plan_van_aanpak", title="Plan 2025")
    app.add_document("noord", "governance", title="Governance")
    listed = app.list_documents("noord")["documents"]
    assert [d["title"] for d in listed] == ["Plan 2025", "Governance"]
    assert [d["title"] for d in app.list_documents("noord", kind="governance")["documents"]] == [
        "Governance"]
    removed = app.remove_document("noord", listed[0]["id"])
    assert removed["removed"]["title"] == "Plan 2025"
    assert [d["title"] for d in app.list_documents("noord")["documents"]] == ["Governance"]
    event = _last(app)
    assert (event["kind"], event["data"]["old"]["title"]) == ("document_removed", "Plan 2025")
    with pytest.raises(NotFound, match="no document"):
        app.remove_document("noord", listed[0]["id"])
    assert app.verify_audit()["ok"]


def test_a_fact_is_unset_on_the_region_or_on_its_case(app: Onderwijsflow) -> None:
    app.set_fact("noord", "leerlingen", "16000")
    assert app.unset_fact("noord", "leerlingen")["old"] == 16000
    assert "leerlingen" not in app.show_region("noord")["facts"]
    assert (_last(app)["kind"], _last(app)["data"]["old"]) == ("fact_unset", 16000)
    with pytest.raises(NotFound, match="has no value"):
        app.unset_fact("noord", "leerlingen")
    app.start_case("noord", "traject", params={"deadline": "2024-10-15"})
    app.set_fact("noord", "bedrag", "1000.50")
    assert app.unset_fact("noord", "bedrag")["scope"] == "case"
    assert app.show_region("noord")["cases"]["traject"]["facts"] == {}
    assert app.verify_audit()["ok"]


def test_the_verbs_on_the_command_line(app: Onderwijsflow, tmp_path: Path) -> None:
    flow = support.Flow(app.db_url, tmp_path / "config.yaml", DATA, "2024-09-02T10:00")
    flow.ok("partner", "add", "noord", "Pabo Noord", "--kind", "lerarenopleiding")
    assert flow.json("partner", "list", "noord")["partners"] == [
        {"name": "Pabo Noord", "kind": "lerarenopleiding", "sector": None}]
    assert "Noord -> Noord-Nederland" in flow.ok("region", "update", "noord", "--name",
                                                  "Noord-Nederland").out
    flow.ok("document", "add", "noord", "governance", "--title", "Governance")
    [doc] = flow.json("document", "list", "noord")["documents"]
    assert "removed from noord" in flow.ok("document", "remove", "noord", str(doc["id"])).out
    assert "has no documents" in flow.ok("document", "list", "noord").out
    missing = flow("document", "remove", "noord", "999")
    assert missing.code == 4 and "no document 999" in missing.sentence()
    flow.ok("fact", "set", "noord", "leerlingen", "12")
    assert flow.json("fact", "unset", "noord", "leerlingen")["old"] == 12
