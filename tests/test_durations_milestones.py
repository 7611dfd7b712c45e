"""ISO 8601 durations with calendar months, and when milestones fall due (design §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onderwijsflow.clock import LOCAL, to_local
from onderwijsflow.deadline_rules import is_working_day, next_working_day, previous_working_day
from onderwijsflow.definition.durations import Duration
from onderwijsflow.definition.model import DueDef, MilestoneDef
from onderwijsflow.engine.milestones import due_moment

# --- Duration.parse ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "months", "delta"),
    [
        ("P30D", 0, timedelta(days=30)),
        ("P6W", 0, timedelta(weeks=6)),
        ("P6M", 6, timedelta(0)),
        ("P1Y", 12, timedelta(0)),
        ("P1Y6M", 18, timedelta(0)),
        ("PT16H", 0, timedelta(hours=16)),
        ("PT30M", 0, timedelta(minutes=30)),
        ("PT45S", 0, timedelta(seconds=45)),
        ("P1DT12H", 0, timedelta(days=1, hours=12)),
        ("P1M14D", 1, timedelta(days=14)),
        (" P14D ", 0, timedelta(days=14)),
    ],
)
def test_duration_parses_iso_8601(text: str, months: int, delta: timedelta) -> None:
    duration = Duration.parse(text)
    assert (duration.months, duration.delta) == (months, delta)
    assert str(duration) == text.strip()


@pytest.mark.parametrize(
    "text",
    ["P", "PT", "30D", "P-1D", "", "D30P", "P1.5D", "P1DT", "PT1D", "P1H", "P0D", "PT0S",
     "P 1D", "1Y"],
)
def test_duration_refuses_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        Duration.parse(text)


def test_duration_refuses_non_text() -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        Duration.parse(30)  # type: ignore[arg-type]


# --- calendar arithmetic ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "text", "expected"),
    [
        (date(2024, 1, 31), "P1M", date(2024, 2, 29)),  # leap year
        (date(2023, 1, 31), "P1M", date(2023, 2, 28)),
        (date(2024, 3, 31), "P1M", date(2024, 4, 30)),
        (date(2024, 8, 31), "P6M", date(2025, 2, 28)),
        (date(2024, 2, 29), "P1Y", date(2025, 2, 28)),
        (date(2024, 11, 30), "P2M", date(2025, 1, 30)),
        (date(2024, 12, 15), "P1M", date(2025, 1, 15)),
        (date(2024, 4, 15), "P6M", date(2024, 10, 15)),
        (date(2024, 1, 31), "P1M1D", date(2024, 3, 1)),  # months first, then days
        (date(2024, 10, 15), "P6W", date(2024, 11, 26)),
    ],
)
def test_months_are_calendar_months(start: date, text: str, expected: date) -> None:
    assert Duration.parse(text).add_to(start) == expected


@pytest.mark.parametrize(
    ("moment", "text", "expected"),
    [
        (date(2024, 3, 31), "P1M", date(2024, 2, 29)),
        (date(2023, 3, 31), "P1M", date(2023, 2, 28)),
        (date(2024, 10, 15), "P30D", date(2024, 9, 15)),
        (date(2025, 1, 15), "P1Y6M", date(2023, 7, 15)),
        (date(2024, 10, 15), "P1D", date(2024, 10, 14)),
    ],
)
def test_before_goes_back(moment: date, text: str, expected: date) -> None:
    assert Duration.parse(text).before(moment) == expected


def test_arithmetic_keeps_time_and_zone_of_datetimes() -> None:
    moment = datetime(2024, 1, 31, 14, 0, tzinfo=UTC)
    assert Duration.parse("P1M").add_to(moment) == datetime(2024, 2, 29, 14, 0, tzinfo=UTC)
    assert Duration.parse("PT16H").add_to(moment) == datetime(2024, 2, 1, 6, 0, tzinfo=UTC)
    assert Duration.parse("PT16H").before(moment) == datetime(2024, 1, 30, 22, 0, tzinfo=UTC)


@settings(deadline=None)  # no timing assertions on shared test machines
@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    days=st.integers(min_value=1, max_value=400),
)
def test_day_durations_are_exact_inverses(day: date, days: int) -> None:
    duration = Duration.parse(f"P{days}D")
    assert duration.before(duration.add_to(day)) == day
    assert (duration.add_to(day) - day).days == days


@settings(deadline=None)  # no timing assertions on shared test machines
@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    months=st.integers(min_value=1, max_value=36),
)
def test_month_durations_land_in_the_right_month_and_never_overflow(day: date, months: int) -> None:
    shifted = Duration.parse(f"P{months}M").add_to(day)
    assert (shifted.year * 12 + shifted.month) - (day.year * 12 + day.month) == months
    assert shifted.day == day.day or (shifted.day < day.day and (shifted + timedelta(1)).day == 1)


# --- working days ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 10, 15), True),  # a Tuesday
        (date(2024, 10, 19), False),  # Saturday
        (date(2024, 10, 20), False),  # Sunday
        (date(2024, 12, 25), False),  # Eerste Kerstdag
        (date(2024, 12, 26), False),  # Tweede Kerstdag
        (date(2024, 12, 27), True),
        (date(2025, 1, 1), False),  # Nieuwjaarsdag
        (date(2026, 4, 27), False),  # Koningsdag, a Monday
        (date(2026, 4, 28), True),
        (date(2025, 4, 26), False),  # Koningsdag 2025 falls on Sunday 27 April -> Saturday 26
        (date(2025, 4, 21), False),  # Tweede Paasdag
        (date(2025, 5, 29), False),  # Hemelvaartsdag
        (date(2025, 6, 9), False),  # Tweede Pinksterdag
        # Algemene termijnenwet art. 3: the fifth of May every year, not only in lustrum years,
        # and Good Friday on a par with the public holidays.
        (date(2025, 5, 5), False),
        (date(2026, 5, 5), False),
        (date(2026, 4, 3), False),  # Goede Vrijdag
        (date(2026, 5, 6), True),
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("day", "previous", "following"),
    [
        (date(2024, 10, 16), date(2024, 10, 16), date(2024, 10, 16)),  # a Wednesday
        (date(2024, 10, 19), date(2024, 10, 18), date(2024, 10, 21)),  # Saturday
        (date(2024, 10, 20), date(2024, 10, 18), date(2024, 10, 21)),  # Sunday
        (date(2024, 12, 25), date(2024, 12, 24), date(2024, 12, 27)),
        (date(2024, 12, 26), date(2024, 12, 24), date(2024, 12, 27)),
        (date(2025, 12, 27), date(2025, 12, 24), date(2025, 12, 29)),  # Christmas Thu/Fri
        (date(2026, 4, 27), date(2026, 4, 24), date(2026, 4, 28)),
        (date(2026, 4, 5), date(2026, 4, 2), date(2026, 4, 7)),  # Easter: Good Friday to Monday
    ],
)
def test_previous_and_next_working_day(day: date, previous: date, following: date) -> None:
    assert previous_working_day(day) == previous
    assert next_working_day(day) == following


@settings(deadline=None)  # the first call per year loads the holiday tables
@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_working_day_helpers_land_on_working_days_nearby(day: date) -> None:
    before, after = previous_working_day(day), next_working_day(day)
    assert is_working_day(before) and is_working_day(after)
    assert before <= day <= after
    assert (after - before).days <= 10
    for between in range(1, (day - before).days + 1):
        assert not is_working_day(before + timedelta(days=between))


# --- due moments --------------------------------------------------------------------------------


def milestone(**fields: Any) -> MilestoneDef:
    fields.setdefault("name", "deadline")
    return MilestoneDef.model_validate(fields)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("2024-10-15", utc(2024, 10, 15, 14, 0)),  # CEST: UTC+2
        ("2024-12-15", utc(2024, 12, 15, 15, 0)),  # CET: UTC+1
        (date(2024, 10, 15), utc(2024, 10, 15, 14, 0)),  # a date object, as YAML reads it
        ("2025-03-30", utc(2025, 3, 30, 14, 0)),  # the day summer time starts
        ("2024-10-27", utc(2024, 10, 27, 15, 0)),  # the day it ends
    ],
)
def test_param_due_with_time_is_local_time(param: Any, expected: datetime) -> None:
    m = milestone(due={"param": "deadline_aanvraag", "time": "16:00"})
    moment = due_moment(m, {"deadline_aanvraag": param}, None)
    assert moment == expected
    assert moment.tzinfo is not None
    assert to_local(moment).time() == time(16, 0)


def test_due_without_time_is_the_end_of_that_day_local() -> None:
    m = milestone(due={"param": "beschikking"})
    assert due_moment(m, {"beschikking": "2025-01-31"}, None) == utc(2025, 1, 31, 22, 59, 59)
    m = milestone(due={"param": "beschikking"})
    assert due_moment(m, {"beschikking": "2024-07-01"}, None) == utc(2024, 7, 1, 21, 59, 59)


def test_literal_date_due() -> None:
    m = milestone(due=date(2024, 10, 15))
    assert due_moment(m, {}, None) == utc(2024, 10, 15, 21, 59, 59)


def test_param_not_given_means_no_date_yet() -> None:
    m = milestone(due={"param": "deadline_aanvraag", "time": "16:00"})
    assert due_moment(m, {}, None) is None


@pytest.mark.parametrize(
    ("param", "moved_to"),
    [
        ("2024-10-19", date(2024, 10, 21)),  # Saturday -> Monday
        ("2024-10-20", date(2024, 10, 21)),  # Sunday -> Monday
        ("2024-10-15", date(2024, 10, 15)),  # a Tuesday stays
        ("2024-12-25", date(2024, 12, 27)),  # the 26th is a holiday too
        ("2026-04-27", date(2026, 4, 28)),  # Koningsdag on a Monday
        ("2026-05-05", date(2026, 5, 6)),  # the fifth of May, not a lustrum year
        ("2026-04-03", date(2026, 4, 7)),  # Good Friday, over Easter to Tuesday
        ("2024-12-31", date(2024, 12, 31)),
        ("2025-12-27", date(2025, 12, 29)),
    ],
)
def test_termijnenwet_moves_a_deadline_to_the_next_working_day(param: str, moved_to: date) -> None:
    m = milestone(due={"param": "d", "time": "16:00"}, termijnenwet=True)
    moment = due_moment(m, {"d": param}, None)
    assert moment is not None
    assert to_local(moment).date() == moved_to
    assert to_local(moment).time() == time(16, 0)


def test_without_termijnenwet_a_weekend_deadline_stays() -> None:
    m = milestone(due={"param": "d", "time": "16:00"})
    assert to_local(due_moment(m, {"d": "2024-10-19"}, None)).date() == date(2024, 10, 19)


def test_termijnenwet_end_of_day_in_winter() -> None:
    m = milestone(due={"param": "d"}, termijnenwet=True)
    assert due_moment(m, {"d": "2024-12-25"}, None) == utc(2024, 12, 27, 22, 59, 59)


ENTERED = utc(2024, 9, 2, 10, 30)


def test_after_counts_from_entering_the_state() -> None:
    m = milestone(due={"after": "P6W"}, active_in=["afgewezen"])
    assert due_moment(m, {}, ENTERED) == ENTERED + timedelta(weeks=6)
    assert due_moment(m, {}, None) is None  # not in active_in: no date


def test_after_with_months_uses_the_calendar() -> None:
    m = milestone(due={"after": "P1M"}, active_in=["x"])
    entered = utc(2024, 1, 31, 9, 0)
    assert due_moment(m, {}, entered) == utc(2024, 2, 29, 9, 0)


def test_after_with_a_time_lands_on_that_local_time() -> None:
    m = milestone(due={"after": "P6W", "time": "16:00"}, active_in=["x"])
    moment = due_moment(m, {}, ENTERED)  # 2 Sep + 6 weeks = 14 October 2024
    assert moment == utc(2024, 10, 14, 14, 0)


def test_after_with_termijnenwet_skips_the_weekend() -> None:
    m = milestone(due={"after": "P5D"}, active_in=["x"], termijnenwet=True)
    moment = due_moment(m, {}, ENTERED)  # Monday 2 Sep + 5 days = Saturday 7 September
    assert moment is not None
    assert to_local(moment).date() == date(2024, 9, 9)
    assert to_local(moment).time() == to_local(ENTERED).time()


def test_every_first_occurrence_counts_from_entering() -> None:
    m = milestone(every="P6M", active_in=["in_uitvoering"])
    # 12:30 summer time on 2 September -> 12:30 winter time on 2 March (local calendar).
    assert due_moment(m, {}, ENTERED) == utc(2025, 3, 2, 11, 30)
    assert due_moment(m, {}, None) is None


def test_due_def_refuses_a_number_as_time() -> None:
    with pytest.raises(ValueError, match="16:00"):
        DueDef.model_validate({"param": "d", "time": 1600})


def test_calendar_months_count_on_the_local_calendar_across_summer_time() -> None:
    from onderwijsflow.engine.milestones import add_local

    entered = datetime(2025, 3, 1, 0, 30, tzinfo=LOCAL)  # winter time
    due = add_local(Duration.parse("P6M"), entered.astimezone(UTC))
    assert due.astimezone(LOCAL).replace(tzinfo=None) == datetime(2025, 9, 1, 0, 30)
    m = milestone(every="P6M", active_in=["x"])
    assert due_moment(m, {}, entered.astimezone(UTC)) == due
