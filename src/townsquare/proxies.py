"""Who the client is: the peer's address, or what a trusted reverse proxy forwarded.

The one place that believes forwarded headers. ``X-Forwarded-For`` and the country header
(``TOWNSQUARE_TRUSTED_PROXY_COUNTRY_HEADER``) are read only when the peer of the connection
is one of ``TOWNSQUARE_TRUSTED_PROXIES`` (addresses or CIDRs; empty by default, so nobody is
believed). Every rate limiter, the click's visitor hash and the country of a click ask this
module, so that rotating a header from an untrusted peer changes nothing.

Works on ASGI scopes, so the short-link redirector (which runs before the web app's
layers) and the pages share it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_FORWARDED_FOR = b"x-forwarded-for"
# A forwarded chain longer than this is cut (a header of megabytes costs nothing to read).
_MAX_HOPS = 32


def parse_networks(value: str) -> tuple[Network, ...]:
    """``'127.0.0.1, 10.0.0.0/8 ::1'`` → networks; ValueError naming a bad entry."""
    networks: list[Network] = []
    for item in value.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or CIDR (e.g. 127.0.0.1 or 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a forwarded hop: ``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``::1``."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class ClientResolver:
    """Resolves the client address and the forwarded country of a request."""

    networks: tuple[Network, ...] = ()
    country_header: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> ClientResolver:
        header = settings.trusted_proxy_country_header
        return cls(
            parse_networks(settings.trusted_proxies),
            header.strip().lower().encode("latin-1") if header else None,
        )

    def is_trusted(self, address: str) -> bool:
        if not self.networks:
            return False
        parsed = _address(address)
        return parsed is not None and any(parsed in network for network in self.networks)

    def client_address(self, scope: dict[str, Any] | Any) -> str:
        """The client's address: the peer, or the nearest untrusted hop a trusted peer names.

        The chain is read from the right (the hop the trusted proxy itself appended) and
        every trusted proxy is skipped; whatever the client put on the left is not believed.
        """
        peer = _peer(scope)
        if not self.is_trusted(peer):
            return peer
        hops = list(_forwarded_hops(scope["headers"]))
        for hop in reversed(hops[-_MAX_HOPS:]):
            parsed = _address(hop)
            if parsed is None:
                return hop[:64]  # not an address: still a stable key for this client
            if not self.is_trusted(str(parsed)):
                return str(parsed)
        return str(_address(hops[0])) if hops else peer

    def country(self, scope: dict[str, Any] | Any) -> str | None:
        """The raw country header, when configured and sent by a trusted peer."""
        if self.country_header is None or not self.is_trusted(_peer(scope)):
            return None
        for name, value in scope["headers"]:
            if name == self.country_header:
                return bytes(value[:16]).decode("latin-1")
        return None


def _peer(scope: Any) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def _forwarded_hops(headers: Iterable[tuple[bytes, bytes]]) -> Iterable[str]:
    for name, value in headers:
        if name == _FORWARDED_FOR:
            for hop in bytes(value[:4096]).decode("latin-1").split(","):
                if hop.strip():
                    yield hop.strip()
