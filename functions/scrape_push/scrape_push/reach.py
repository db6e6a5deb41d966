"""Where a redirect may lead: never to loopback, link-local or instance metadata addresses,
unless the target itself is on one of that kind.

``follow_redirects`` is on by default (as in Prometheus), so any target could otherwise send
the function to the Lambda runtime API on loopback or to the instance metadata service. The
check is made on the address each redirected request really connects to (so a name that
resolves differently the second time changes nothing), and before connecting when the redirect
names an address; through a ``proxy_url`` the proxy connects, so the redirect's host is
resolved here and every address it has is checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
"""The EC2 instance metadata service (IMDS, IPv4 and IPv6 endpoints; "Access instance
metadata", Amazon EC2 User Guide)."""

NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
"""RFC 6052's well-known prefix: an IPv6 address that reaches the IPv4 address in its low bits."""

LOOPBACK, LINK_LOCAL, METADATA = "a loopback address", "a link-local address", "an instance metadata address"
MAX_URL_SHOWN = 120
"""Characters of a refused redirect's URL quoted in the error (a Location header is the target's)."""


class ReachRefused(Exception):
    """A redirect would lead where this target may not send the function."""


def kind_of(address: str) -> str | None:
    """``LOOPBACK``, ``LINK_LOCAL`` or ``METADATA`` for such an address, else ``None``.
    The unspecified address counts as loopback (connecting to it reaches the local host)."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in NAT64_PREFIX:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in METADATA_ADDRESSES:
        return METADATA
    if ip.is_loopback or ip.is_unspecified:
        return LOOPBACK
    if ip.is_link_local:
        return LINK_LOCAL
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an address literal is itself)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in found]


@dataclass
class Reach:
    """The redirect policy of one scrape of ``target_url``."""

    target_url: str
    classify: Callable[[str], str | None] = kind_of
    resolver: Callable[[str, int], list[str]] = resolve
    _allowed: frozenset[str] | None = field(default=None, init=False)

    def allowed(self) -> frozenset[str]:
        """The kinds of restricted address the target itself is on (resolved once, when a
        redirect first needs it)."""
        if self._allowed is None:
            host, port = _host_port(self.target_url)
            self._allowed = frozenset(k for k in map(self.classify, self.resolver(host, port)) if k)
        return self._allowed

    def check_peer(self, address: str, url: str) -> None:
        """Refuse a redirected request connected to ``address``."""
        self._check([address], url)

    def check_url(self, url: str, resolve: bool) -> None:
        """Refuse a redirect whose host is a restricted address, before anything is sent; with
        ``resolve`` (through a proxy) a name is resolved and every address it has is checked."""
        host, port = _host_port(url)
        if _is_address(host):
            self._check([host], url)
        elif resolve:
            self._check(self.resolver(host, port), url)

    def _check(self, addresses: Iterable[str], url: str) -> None:
        for address in addresses:
            kind = self.classify(address)
            if kind is not None and kind not in self.allowed():
                shown = url if len(url) <= MAX_URL_SHOWN else url[:MAX_URL_SHOWN] + "..."
                raise ReachRefused(
                    f"redirect to {shown} refused: {address} is {kind} and the target is not "
                    "(follow_redirects never leads to loopback, link-local or instance metadata "
                    "addresses the target is not on)"
                )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "", 0
