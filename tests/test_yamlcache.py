"""The lean path's cache of parsed YAML: the same data as a parse, or a parse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from onderwijsflow.lean.labels import load_yaml
from onderwijsflow.resources import shipped
from onderwijsflow.textcache import cache_directory, cached_parse


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


class Counting:
    """`load_yaml`, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str) -> Any:
        self.calls += 1
        return load_yaml(text)


TEXT = "a: 1\nb: [x, 2.5, true, null]\nday: 2024-10-15\nmoment: 2024-10-15 16:00:00\nt: '16:00'\n"


def test_a_text_is_parsed_once_and_read_back_identical() -> None:
    parse = Counting()
    first = cached_parse(TEXT, parse)
    again = cached_parse(TEXT, parse)
    assert parse.calls == 1
    assert again == first == load_yaml(TEXT)
    assert isinstance(again["day"], dt.date) and isinstance(again["moment"], dt.datetime)
    assert [p.suffix for p in cache_directory().iterdir()] == [".json"]


def test_another_text_is_another_entry() -> None:
    parse = Counting()
    cached_parse(TEXT, parse)
    assert cached_parse(TEXT + "c: 3\n", parse)["c"] == 3
    assert parse.calls == 2


def test_a_damaged_entry_is_parsed_again_and_replaced() -> None:
    parse = Counting()
    cached_parse(TEXT, parse)
    (entry,) = cache_directory().iterdir()
    entry.write_text("{not json", encoding="utf-8")
    assert cached_parse(TEXT, parse) == load_yaml(TEXT)
    assert cached_parse(TEXT, parse) == load_yaml(TEXT)
    assert parse.calls == 2


def test_data_json_cannot_carry_is_not_kept() -> None:
    """A mapping with a number as key would come back with a text key: never cached."""
    parse = Counting()
    text = "1: one\n2: two\n"
    assert cached_parse(text, parse) == {1: "one", 2: "two"}
    assert cached_parse(text, parse) == {1: "one", 2: "two"}
    assert parse.calls == 2
    assert not cache_directory().exists() or not list(cache_directory().iterdir())


def test_a_mapping_that_looks_like_a_tag_is_not_kept() -> None:
    parse = Counting()
    text = "when: {$date: '2024-10-15'}\n"
    assert cached_parse(text, parse) == {"when": {"$date": "2024-10-15"}}
    assert cached_parse(text, parse) == {"when": {"$date": "2024-10-15"}}
    assert parse.calls == 2


def test_an_unwritable_cache_costs_only_the_parse(cache_home: Path) -> None:
    cache_home.write_text("a file where the directory should be", encoding="utf-8")
    parse = Counting()
    assert cached_parse(TEXT, parse) == load_yaml(TEXT)
    assert cached_parse(TEXT, parse) == load_yaml(TEXT)
    assert parse.calls == 2


@pytest.mark.parametrize("path", sorted([*shipped("workflows").glob("*.yaml"),
                                         shipped("config") / "onderwijsflow.yaml"]),
                         ids=lambda p: p.name)
def test_every_shipped_file_comes_back_as_parsed(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parse = Counting()
    cached_parse(text, parse)
    assert cached_parse(text, parse) == load_yaml(text)
    assert parse.calls == 1, "the shipped file was kept"



def test_a_years_holidays_are_kept_and_read_back_without_asking_holidays_again(
        cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Working days need the Dutch holidays; asking `holidays` imports every country, so a
    year's days are kept. Read back, they are the days `holidays` gave."""
    from onderwijsflow import deadline_rules

    def asked(year: int) -> list[dt.date]:
        raise AssertionError(f"holidays asked again for {year}")

    deadline_rules._holidays.cache_clear()
    try:
        worked_out = deadline_rules._holidays(2031)
        assert {dt.date(2031, 1, 1), dt.date(2031, 5, 5), dt.date(2031, 12, 26)} <= worked_out
        assert dt.date(2031, 4, 11) in worked_out  # Good Friday (Easter is 13 April 2031)
        assert list(cache_home.rglob("*.json"))

        deadline_rules._holidays.cache_clear()
        original = deadline_rules._dutch_holidays
        monkeypatch.setattr(deadline_rules, "_dutch_holidays", asked)
        assert deadline_rules._holidays(2031) == worked_out

        # A changed rule is not answered from the cache.
        deadline_rules._holidays.cache_clear()
        monkeypatch.setattr(deadline_rules, "_HOLIDAY_RULE", "termijnenwet-changed")
        with pytest.raises(AssertionError, match="asked again for 2031"):
            deadline_rules._holidays(2031)
        monkeypatch.setattr(deadline_rules, "_dutch_holidays", original)
        assert deadline_rules._holidays(2031) == worked_out
    finally:
        deadline_rules._holidays.cache_clear()
