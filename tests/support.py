"""Helpers shared by the tests that start onderwijsflow processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FROZEN_SITE = Path(__file__).resolve().parent / "data" / "frozen_site"


def frozen_child(env: dict[str, str]) -> dict[str, str]:
    """`env` for a child process that must see the frozen 2024 workflows and configuration
    (as the in-process tests do, see ``conftest.frozen_workflows``)."""
    env["ONDERWIJSFLOW_TEST_FROZEN"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FROZEN_SITE), env.get("PYTHONPATH")]))
    return env


def with_bytecode_cache(env: dict[str, str], cache: Path | None) -> dict[str, str]:
    """`env` with compiled modules kept under `cache` (see the `bytecode_cache` fixture)."""
    if cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


@contextmanager
def library(db: Path, **options: Any) -> Iterator[Any]:
    """The application in process, for setting up state and looking inside."""
    from onderwijsflow.service import Onderwijsflow

    options.setdefault("actor", "anne")
    app = Onderwijsflow.open(db=f"sqlite:///{db}", **options)
    try:
        yield app
    finally:
        app.close()


def make_ready(app: Any, slug: str) -> None:
    """A region whose regiovorming case may fire `dien_aanvraag_in`."""
    app.create_region(slug, name=slug.title(), sectors=["PO"])
    app.add_partner(slug, "Stichting Primair Oost", kind="schoolbestuur", sector="PO")
    app.add_partner(slug, "Pabo Oost", kind="lerarenopleiding")
    app.add_document(slug, "intentieverklaring", title="Intentieverklaring")
    app.add_document(slug, "arbeidsmarktanalyse", title="Arbeidsmarktanalyse 2024")
