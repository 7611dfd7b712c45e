"""Who is looking, and who was: the trusted-proxy header rules, the bind rule, the view log.

The web view has no login of its own. Behind the ministry's reverse proxy the proxy
authenticates and names the user in a header (``X-Remote-User`` by default); that header is
believed only when the request's peer address is one of the configured proxies, because
anyone else who can reach the port could send it too. Without a configured proxy the server
listens on loopback only, and the person looking is the operating-system user who started it
(the same person whose login the CLI would use); a request that is not believed is anonymous.

Every view of a dossier is one JSON line on the logger ``onderwijsflow.web.access``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from onderwijsflow.errors import UsageError
from onderwijsflow.i18n import _

__all__ = ["ACCESS_LOGGER", "Identity", "Viewers", "is_loopback", "log_view", "parse_proxies",
           "refuse_open_bind"]

#: The logger every page view of a dossier goes to, one JSON object per line.
ACCESS_LOGGER = "onderwijsflow.web.access"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(addresses: Iterable[str]) -> tuple[Network, ...]:
    """The trusted proxies: addresses (``10.0.0.5``) or networks (``10.0.0.0/24``).

    Raises:
        UsageError: an address is neither.
    """
    out = []
    for text in addresses:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise UsageError(_("--trusted-proxy {address} is not an IP address or network")
                             .format(address=text)) from None
    return tuple(out)


def is_loopback(host: str) -> bool:
    """Whether `host` (what ``--host`` names) is a loopback address."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[] ")).is_loopback
    except ValueError:
        return False


def refuse_open_bind(host: str, proxies: Sequence[Network]) -> None:
    """Refuse to listen beyond loopback unless the proxy in front is named.

    Raises:
        UsageError: `host` is not loopback and no trusted proxy is configured (exit 2).
    """
    if not proxies and not is_loopback(host):
        raise UsageError(_("refusing to listen on {host}: without --trusted-proxy the web view "
                           "listens on loopback only (127.0.0.1 or ::1)").format(host=host))


@dataclass(frozen=True)
class Identity:
    """The person looking at a page: `user` (None: anonymous) and how it was learned."""

    user: str | None
    #: ``header`` (named by a trusted proxy), ``local`` (the server's OS user) or ``anonymous``.
    source: str
    client: str | None


@dataclass(frozen=True)
class Viewers:
    """The rules that say who a request comes from."""

    proxies: tuple[Network, ...] = ()
    header: str = "X-Remote-User"
    #: The user of a request on a server without proxies (the OS user who started it).
    local_user: str | None = None
    _header_key: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "_header_key", self.header.lower())

    def trusted(self, client: str | None) -> bool:
        """Whether `client` (a peer address) is a configured proxy."""
        if client is None:
            return False
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def identify(self, client: str | None, headers: Any) -> Identity:
        """Who a request with peer `client` and `headers` (a case-insensitive mapping) is."""
        if self.proxies:
            if self.trusted(client):
                named = (headers.get(self._header_key) or "").strip()
                if named:
                    return Identity(named[:200], "header", client)
            return Identity(None, "anonymous", client)
        if self.local_user:
            return Identity(self.local_user, "local", client)
        return Identity(None, "anonymous", client)


def log_view(identity: Identity, *, region: str, path: str, at: str, what: str = "dossier",
             status: int = 200) -> None:
    """One JSON line on :data:`ACCESS_LOGGER`: who looked at which region's what, and when."""
    logging.getLogger(ACCESS_LOGGER).info(json.dumps({
        "at": at, "user": identity.user, "via": identity.source, "client": identity.client,
        "region": region, "view": what, "path": path, "status": status,
    }, ensure_ascii=False))


def matches_user(user: str | None, coordinator: str | None, emails: dict[str, str]) -> bool:
    """Whether a region's `coordinator` (an e-mail address) is `user`.

    The user may be named by the address itself, by its part before ``@``, or by a name the
    configuration's ``actors:`` give that address (`emails`: name -> address).
    """
    if not user or not coordinator:
        return False
    who, address = user.strip().lower(), coordinator.strip().lower()
    return who in (address, address.split("@")[0]) or emails.get(who, "").lower() == address
