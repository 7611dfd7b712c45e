"""Who runs this process: the login the policy names when no actor is given."""

from __future__ import annotations

import getpass
import os

__all__ = ["login_name"]


def login_name() -> str:
    """The operating system's user name (``$USER`` where the password database has none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")
