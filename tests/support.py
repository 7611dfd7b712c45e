"""Helpers shared by the tests that start onderwijsflow processes."""

from __future__ import annotations

from pathlib import Path


def with_bytecode_cache(env: dict[str, str], cache: Path | None) -> dict[str, str]:
    """`env` with compiled modules kept under `cache` (see the `bytecode_cache` fixture)."""
    if cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env
