"""onderwijsflow: steer regional education partnerships (onderwijsregio's) through their lifecycle.

Importing the package is cheap: the heavy parts (SQLAlchemy, transitions, APScheduler)
load only when a name below is first used::

    from onderwijsflow import Onderwijsflow

    app = Onderwijsflow.open(db="sqlite:///regio.db")
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Conflict",
    "DefinitionError",
    "NotFound",
    "Onderwijsflow",
    "OnderwijsflowError",
    "Refused",
    "Scheduler",
    "UsageError",
    "__version__",
]

_LAZY = {
    "Onderwijsflow": "onderwijsflow.service",
    "Scheduler": "onderwijsflow.scheduler.tick",
    "Conflict": "onderwijsflow.errors",
    "DefinitionError": "onderwijsflow.errors",
    "NotFound": "onderwijsflow.errors",
    "OnderwijsflowError": "onderwijsflow.errors",
    "Refused": "onderwijsflow.errors",
    "UsageError": "onderwijsflow.errors",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use, so ``import onderwijsflow`` stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'onderwijsflow' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
