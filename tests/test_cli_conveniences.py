"""What a person types: Dutch dates, lower-case sectors, and a history that can be filtered."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import support

from onderwijsflow.clock import parse_date, parse_moment
from onderwijsflow.errors import UsageError

DATA = Path(__file__).resolve().parent / "data" / "taal11" / "v1"


@pytest.mark.parametrize(("text", "day"), [
    ("2024-10-15", date(2024, 10, 15)), ("15-10-2024", date(2024, 10, 15)),
    ("1-2-2025", date(2025, 2, 1)),
])
def test_dutch_dates_are_accepted_beside_iso(text: str, day: date) -> None:
    assert parse_date(text) == day


def test_a_dutch_date_with_a_time_is_local_time() -> None:
    assert parse_moment("15-10-2024 16:00") == parse_moment("2024-10-15T16:00")
    with pytest.raises(UsageError, match="not a date"):
        parse_date("15-13-2024")


@pytest.fixture
def flow(tmp_path: Path) -> support.Flow:
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\nstart_with_region: []\n", encoding="utf-8")
    flow = support.Flow(f"sqlite:///{tmp_path / 'c.db'}", config, DATA, "2024-09-02T10:00")
    flow.ok("init")
    return flow


def test_sectors_in_any_case_and_dutch_dates_on_the_command_line(flow: support.Flow) -> None:
    shown = flow.json("region", "create", "noord", "--name", "Noord", "--sector", "po",
                      "--sector", "Vo")
    assert shown["sectors"] == ["PO", "VO"]
    flow.ok("document", "add", "noord", "governance", "--title", "G", "--date", "15-10-2024")
    assert flow.json("document", "list", "noord")["documents"][0]["date"] == "2024-10-15"


def test_history_filters_and_one_event_in_full(flow: support.Flow) -> None:
    flow.ok("region", "create", "noord", "--name", "Noord")
    flow.ok("partner", "add", "noord", "Pabo", "--kind", "lerarenopleiding")
    flow.now = "2024-09-10T10:00"
    flow.ok("fact", "set", "noord", "leerlingen", "1200")
    flow.ok("fact", "set", "noord", "leerlingen", "1300")
    everything = flow.json("history", "noord", "--all")["events"]
    facts = flow.json("history", "noord", "--kind", "fact_set")["events"]
    assert [e["data"]["new"] for e in facts] == [1200, 1300]
    assert flow.json("history", "noord", "--all", "--limit", "1")["events"] == everything[-1:]
    later = flow.json("history", "noord", "--all", "--since", "10-09-2024")["events"]
    assert [e["kind"] for e in later] == ["fact_set", "fact_set"]
    table = flow.ok("history", "noord", "--all").out
    assert "leerlingen: 1200 -> 1300" in table and "Pabo" in table  # the details column
    one = flow.json("history", "noord", "--event", "2")["event"]
    assert (one["seq"], one["kind"]) == (2, "partner_added")
    missing = flow("history", "noord", "--event", "99")
    assert missing.code == 4 and "no event 99" in missing.sentence()
    assert flow("history", "noord", "--limit", "0").code == 2


def test_an_empty_result_is_one_line_not_an_empty_table(flow: support.Flow) -> None:
    assert flow.ok("region", "list").out.strip() == "No regions yet."
    flow.ok("region", "create", "noord", "--name", "Noord")
    assert flow.ok("region", "list", "--workflow", "traject").out.strip() == "No regions match."
    assert flow.ok("record", "list", "noord").out.strip() == "noord has no records yet"
    assert flow.ok("deadlines", "--within", "P4W").out.strip() == "No deadlines within P4W."
    assert flow.ok("history", "noord", "--kind", "refused").out.strip() == "No events of noord match."
    assert flow.ok("scheduler", "status").out.strip().endswith("No deliveries need attention.")


def test_tables_are_plain_text_when_not_at_a_terminal(flow: support.Flow) -> None:
    flow.ok("region", "create", "noord", "--name", "Noord")
    out = flow.ok("region", "list").out
    assert "noord" in out and not any(c in out for c in "│┃━─┏┡└\x1b")
