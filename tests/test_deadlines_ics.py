"""`deadlines`: coming, overdue and met milestones, as a library call, as JSON, and as iCalendar.

Four regions on a real SQLite file with a fake clock (1 March 2025): one deadline within
eight weeks (upcoming), one passed while the case still prepares (overdue), one whose case
was submitted in time (met), one far away. The CLI runs in process through the real entry
point; the `--ics` file is parsed back with `icalendar` (events, stable UIDs, alarms at the
moments the e-mail reminders go out).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from onderwijsflow.cli import main
from onderwijsflow.clock import Clock
from onderwijsflow.config import load_config
from onderwijsflow.definition.durations import Duration
from onderwijsflow.errors import NotFound
from onderwijsflow.scheduler.deadlines import deadlines
from onderwijsflow.scheduler.tick import Scheduler
from onderwijsflow.service import Onderwijsflow

WORKFLOW = """\
workflow: termijn
version: 1
title: Termijn (test)
initial: voorbereiding
params:
  deadline: {type: date}
states:
  voorbereiding: {label: In voorbereiding}
  ingediend: {label: Ingediend}
  verstreken: {label: Termijn verstreken, final: true}
transitions:
  - {trigger: dien_in, source: voorbereiding, dest: ingediend}
  - {trigger: verstrijk, source: voorbereiding, dest: verstreken}
milestones:
  - name: deadline
    label: Deadline aanvraag
    due: {param: deadline, time: "16:00"}
    active_in: [voorbereiding]
    remind: [P14D, P7D, P1D]
    notify: [coordinator]
"""

CONFIG = "simulated_clock: true\nstart_with_region: []\n"
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)  # 1 March 2025 10:00 CET
DEADLINES = {
    "achterhoek": "2025-04-04",  # within 8 weeks: upcoming
    "drenthe": "2025-02-20",  # passed, still preparing: overdue
    "twente": "2025-04-10",  # submitted in time: met
    "zeeland": "2025-09-01",  # beyond 8 weeks
}
KEYS = {"region", "workflow", "milestone", "due", "status"}  # design §4


@pytest.fixture
def setup(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[Onderwijsflow, Clock, Path, Path]]:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "termijn.yaml").write_text(WORKFLOW, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    clock = Clock(NOW - timedelta(days=30))
    app = Onderwijsflow(load_config(config), db_url=sqlite_url, workflows=workflows, actor="anne",
                        clock=clock)
    app.init()
    for slug, deadline in DEADLINES.items():
        app.create_region(slug, name=f"Regio {slug.title()}", coordinator="re@example.org")
        app.start_case(slug, "termijn", params={"deadline": deadline})
    clock.set(NOW - timedelta(days=1))
    app.advance("twente", "dien_in")
    clock.set(NOW)
    yield app, clock, workflows, config
    app.close()


@pytest.fixture
def app(setup: tuple[Onderwijsflow, Clock, Path, Path]) -> Onderwijsflow:
    return setup[0]


def statuses(found: list[dict[str, Any]]) -> dict[str, str]:
    return {row["region"]: row["status"] for row in found}


# --- the library ------------------------------------------------------------------------


def test_deadlines_lists_upcoming_overdue_and_met_milestones(app: Onderwijsflow) -> None:
    found = deadlines(app)
    assert statuses(found) == {"achterhoek": "upcoming", "drenthe": "overdue", "twente": "met",
                               "zeeland": "upcoming"}
    assert [row["region"] for row in found] == ["drenthe", "achterhoek", "twente", "zeeland"]  # soonest first
    for row in found:
        assert set(row) >= KEYS
        assert (row["workflow"], row["milestone"]) == ("termijn", "deadline")
        assert row["label"] == "Deadline aanvraag"
    by_region = {row["region"]: row for row in found}
    assert by_region["achterhoek"]["due"] == "2025-04-04T16:00:00+02:00"  # local time, with its offset
    assert by_region["drenthe"]["due"] == "2025-02-20T16:00:00+01:00"
    assert by_region["achterhoek"]["due_utc"] == "2025-04-04T14:00:00+00:00"
    assert by_region["achterhoek"]["reminders"] == ["P14D", "P7D", "P1D"]


def test_within_leaves_out_what_lies_further_away(app: Onderwijsflow) -> None:
    assert statuses(deadlines(app, within=Duration.parse("P8W"))) == {
        "achterhoek": "upcoming", "drenthe": "overdue", "twente": "met"}
    assert statuses(deadlines(app, within=Duration.parse("P2W"))) == {"drenthe": "overdue"}


def test_region_limits_the_list_and_an_unknown_region_is_not_found(app: Onderwijsflow) -> None:
    assert statuses(deadlines(app, region="twente")) == {"twente": "met"}
    with pytest.raises(NotFound, match="no region 'utrecht'"):
        deadlines(app, region="utrecht")


def test_a_passed_deadline_stays_overdue_after_the_scheduler_acted(
    setup: tuple[Onderwijsflow, Clock, Path, Path],
) -> None:
    app, clock, *_ = setup
    clock.set(datetime(2025, 4, 4, 14, 0, tzinfo=UTC))
    Scheduler(app, channels=[]).tick()
    assert statuses(deadlines(app)) == {"achterhoek": "overdue", "drenthe": "overdue", "twente": "met",
                                        "zeeland": "upcoming"}


# --- the command line ---------------------------------------------------------------------


def cli(setup: tuple[Onderwijsflow, Clock, Path, Path], *args: str, now: str = "2025-03-01T10:00") -> Any:
    """Run ``onderwijsflow ARGS`` in process; (exit code, stdout, stderr)."""
    app, _, workflows, config = setup
    env = {"ONDERWIJSFLOW_DB": app.db_url, "ONDERWIJSFLOW_CONFIG": str(config),
           "ONDERWIJSFLOW_WORKFLOWS": str(workflows), "ONDERWIJSFLOW_ACTOR": "anne",
           "ONDERWIJSFLOW_NOW": now}
    with CliRunner().isolation(env=env) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_cli_deadlines_json_within_and_region(setup: tuple[Onderwijsflow, Clock, Path, Path]) -> None:
    code, out, err = cli(setup, "deadlines", "--json", "--within", "P8W")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"deadlines"}
    assert statuses(doc["deadlines"]) == {"achterhoek": "upcoming", "drenthe": "overdue", "twente": "met"}
    assert all(set(row) >= KEYS for row in doc["deadlines"])

    code, out, err = cli(setup, "deadlines", "--json", "--within", "P8W", "--region", "achterhoek")
    assert code == 0, err
    (only,) = json.loads(out)["deadlines"]
    assert {k: only[k] for k in KEYS} == {"region": "achterhoek", "workflow": "termijn",
                                          "milestone": "deadline", "due": "2025-04-04T16:00:00+02:00",
                                          "status": "upcoming"}
    # Five weeks later the same deadline is overdue.
    code, out, err = cli(setup, "deadlines", "--json", "--region", "achterhoek", now="2025-04-05T09:00")
    assert code == 0, err
    assert statuses(json.loads(out)["deadlines"]) == {"achterhoek": "overdue"}


def test_cli_deadlines_refuses_bad_input(setup: tuple[Onderwijsflow, Clock, Path, Path]) -> None:
    code, out, err = cli(setup, "deadlines", "--within", "acht weken")
    assert (code, out) == (2, "")
    assert "--within" in err and "Traceback" not in err
    code, out, err = cli(setup, "deadlines", "--json", "--region", "utrecht")
    assert code == 4 and "utrecht" in err and out == ""


# --- iCalendar ------------------------------------------------------------------------------


def read_ics(path: Path) -> Calendar:
    return Calendar.from_ical(path.read_bytes())


def test_ics_export_parses_back_with_one_event_per_milestone_and_alarms(
    setup: tuple[Onderwijsflow, Clock, Path, Path], tmp_path: Path
) -> None:
    target = tmp_path / "deadlines.ics"
    code, _, err = cli(setup, "deadlines", "--ics", str(target))
    assert code == 0, err
    calendar = read_ics(target)
    assert str(calendar["version"]) == "2.0"
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == 4
    by_summary = {str(e["summary"]): e for e in events.values()}
    assert set(by_summary) == {f"Deadline aanvraag — Regio {slug.title()}" for slug in DEADLINES}
    event = by_summary["Deadline aanvraag — Regio Achterhoek"]
    assert event.decoded("dtstart") == datetime(2025, 4, 4, 14, 0, tzinfo=UTC)
    assert "achterhoek" in str(event["description"])
    # Absolute alarms at the moments the e-mail reminders go out: 09:00 local, 14, 7 and 1
    # day(s) before 4 April 2025 (CET until 30 March, CEST after).
    triggers = sorted(alarm.decoded("trigger") for alarm in event.walk("VALARM"))
    assert triggers == [datetime(2025, 3, 21, 8, 0, tzinfo=UTC), datetime(2025, 3, 28, 8, 0, tzinfo=UTC),
                        datetime(2025, 4, 3, 7, 0, tzinfo=UTC)]
    assert {str(alarm["action"]) for alarm in event.walk("VALARM")} == {"DISPLAY"}
    assert len(set(events)) == len(events)  # every UID distinct


def test_ics_uids_are_stable_across_exports(
    setup: tuple[Onderwijsflow, Clock, Path, Path], tmp_path: Path
) -> None:
    app, clock, *_ = setup
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    assert cli(setup, "deadlines", "--ics", str(first))[0] == 0
    clock.set(datetime(2025, 3, 28, 8, 0, tzinfo=UTC))
    Scheduler(app, channels=[]).tick()  # a reminder went out meanwhile
    assert cli(setup, "deadlines", "--ics", str(second), now="2025-03-28T09:00")[0] == 0
    uids = [sorted(str(e["uid"]) for e in read_ics(path).walk("VEVENT")) for path in (first, second)]
    assert uids[0] == uids[1]
    calendars = [str(read_ics(path)["uid"]) for path in (first, second)]
    assert calendars[0] == calendars[1]  # the calendar itself keeps its UID too
    starts = [sorted(e.decoded("dtstart") for e in read_ics(path).walk("VEVENT")) for path in (first, second)]
    assert starts[0] == starts[1]


def test_ics_with_json_and_region_writes_the_file_and_one_json_document(
    setup: tuple[Onderwijsflow, Clock, Path, Path], tmp_path: Path
) -> None:
    target = tmp_path / "twente.ics"
    code, out, err = cli(setup, "deadlines", "--json", "--region", "twente", "--ics", str(target))
    assert code == 0, err
    assert statuses(json.loads(out)["deadlines"]) == {"twente": "met"}
    (event,) = read_ics(target).walk("VEVENT")
    assert str(event["summary"]) == "Deadline aanvraag — Regio Twente"
    assert not list(tmp_path.glob("*.tmp"))


