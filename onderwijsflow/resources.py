"""Where the shipped `workflows/` and `config/` live, installed or in a checkout.

In a wheel they are packed into ``onderwijsflow/_data/``; in a source checkout (or an
editable install) they are the top-level folders beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """The shipped folder `name` (``workflows`` or ``config``)."""
    packed = _PACKAGE / "_data" / name
    return packed if packed.is_dir() else _PACKAGE.parent / name
