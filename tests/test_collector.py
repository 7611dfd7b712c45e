"""Bulk work pauses Python's cyclic garbage collector, and always gives it back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from onderwijsflow.scheduler.tick import _batches
from onderwijsflow.service.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_paused_inside_and_restored_after_even_on_error() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_ticks_batches_each_run_without_the_collector_which_is_given_back() -> None:
    seen: list[bool] = []
    full = iter([True, True, False])

    def batch() -> bool:
        seen.append(gc.isenabled())
        return next(full)

    _batches(batch)
    assert seen == [False, False, False]  # three batches, the last one not full
    assert gc.isenabled()
