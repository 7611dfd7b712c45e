"""Running the web view under uvicorn, and the logging of page views to a file."""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from onderwijsflow.web.access import ACCESS_LOGGER, Network, Viewers

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from onderwijsflow.service import Onderwijsflow

__all__ = ["build", "configure_access_log", "serve"]


def build(app: Onderwijsflow, *, proxies: Sequence[Network] = (), user_header: str = "X-Remote-User",
          local_user: str | None = None) -> ASGIApp:
    """The ASGI application over `app`.

    Args:
        proxies: the trusted proxies; their `user_header` names the user.
        local_user: who looks when there is no proxy (the OS user by default).
    """
    from onderwijsflow.web.app import Site, create_app
    from onderwijsflow.web.dossier import chromium

    if not proxies and local_user is None:
        try:
            local_user = getpass.getuser()
        except (KeyError, OSError):
            local_user = None
    viewers = Viewers(proxies=tuple(proxies), header=user_header, local_user=local_user)
    return create_app(Site(app=app, viewers=viewers, chromium=chromium()))


def configure_access_log(path: str | None) -> None:
    """Page views as JSON lines: on stderr, and also to `path` when given."""
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    plain = logging.Formatter("%(message)s")
    if not logger.handlers:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(plain)
        logger.addHandler(stream)
    if path:
        file = logging.FileHandler(path, encoding="utf-8")
        file.setFormatter(plain)
        logger.addHandler(file)


def serve(asgi: ASGIApp, *, host: str, port: int) -> None:
    """Serve `asgi` until interrupted.

    uvicorn's own reading of ``X-Forwarded-For`` is off: the client address the header rules
    test must be the peer that connected, not what a header claims.
    """
    import uvicorn

    uvicorn.run(asgi, host=host, port=port, proxy_headers=False, server_header=False,
                access_log=False, log_level="warning", lifespan="off")
