"""Bulk work without Python's cyclic garbage collector.

`advance-all`, imports and the national report make some 10^5 small objects (rows,
snapshots, evidence dicts) that hold no reference cycles; the collector's repeated passes
over them took 10 to 50% of the time (measured on 10,000 regions), while reference counting
frees them all the same.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block; the previous setting is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
