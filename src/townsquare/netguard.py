"""The SSRF rule: a URL given by a user never reaches a private, loopback or link-local address.

Every fetch of a user-given URL (a Mastodon instance, a Bluesky service, a feed, a web page,
a handle checker) goes through :func:`check_url` or through a client from
:func:`safe_http_client`, whose transport applies the rule to every request it sends, so to
every hop of a redirect too. ``TOWNSQUARE_ALLOW_PRIVATE_URLS=true`` lifts the rule for an
instance on a trusted network (and for tests talking to servers on loopback).

The check resolves the host name and refuses it when any of its addresses is not public.
A host that resolves differently between the check and the connection (DNS rebinding) is
not covered by this layer; deployments that fear it put an egress proxy in front.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter

from townsquare import __version__
from townsquare.config import Settings
from townsquare.errors import NetworkError, UnknownHost, ValidationError

USER_AGENT = f"townsquare/{__version__} (self-hosted community management)"
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
ALLOWED_SCHEMES = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# getaddrinfo's failures of the resolver itself (try again later), not of the name.
_DNS_DOWN = frozenset(
    code
    for code in (getattr(socket, "EAI_AGAIN", None), getattr(socket, "EAI_FAIL", None))
    if code is not None
)


def is_public_address(address: IPAddress) -> bool:
    """True for a globally routable unicast address (IPv4-mapped IPv6 judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to; NetworkError when it does not resolve."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        # "No such name" is the address's fault (a typo: bad input); a resolver that does not
        # answer is the network's.
        kind = NetworkError if getattr(error, "errno", None) in _DNS_DOWN else UnknownHost
        raise kind(
            "cannot find the host %(host)r (%(error)s): check the address for a typo",
            params={"host": host, "error": str(error)},
        ) from None
    addresses: list[IPAddress] = []
    for info in infos:
        # The scope of a link-local IPv6 address ("fe80::1%eth0") is not part of the address.
        text = str(info[4][0]).split("%", 1)[0]
        addresses.append(ipaddress.ip_address(text))
    return addresses


def check_host(host: str, port: int, settings: Settings, *, field: str = "url") -> None:
    """Refuse ``host`` when it is, or resolves to, an address that is not public."""
    if settings.allow_private_urls:
        return
    for address in resolve(host, port):
        if not is_public_address(address):
            raise ValidationError(
                "%(host)s is a private, loopback or link-local address (%(address)s): "
                "townsquare only connects to public addresses (an administrator can allow "
                "others with TOWNSQUARE_ALLOW_PRIVATE_URLS=true)",
                params={"host": host, "address": str(address)},
                field=field,
            )


def check_url(url: str, settings: Settings, *, field: str = "url") -> str:
    """``url`` when it is an http(s) URL whose host passes the SSRF rule; else an error."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise ValidationError(
            "%(url)r is not a valid URL (%(error)s)",
            params={"url": url, "error": str(error)},
            field=field,
        ) from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
        raise ValidationError(
            "%(url)r is not a web address: write it as https://host/…",
            params={"url": url},
            field=field,
        )
    default_port = 443 if parts.scheme.lower() == "https" else 80
    check_host(parts.hostname, port or default_port, settings, field=field)
    return url.strip()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that applies the SSRF rule to every request before sending it."""

    def __init__(self, settings: Settings, **transport_options: Any) -> None:
        self.settings = settings
        self.inner = httpx.HTTPTransport(**transport_options)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_url(str(request.url), self.settings)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class AsyncGuardedTransport(httpx.AsyncBaseTransport):
    """The asynchronous twin of :class:`GuardedTransport`."""

    def __init__(self, settings: Settings, **transport_options: Any) -> None:
        self.settings = settings
        self.inner = httpx.AsyncHTTPTransport(**transport_options)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Resolving the host blocks: in a thread, so concurrent requests do not wait in turn.
        await asyncio.to_thread(check_url, str(request.url), self.settings)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def safe_http_client(
    settings: Settings,
    *,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    follow_redirects: bool = True,
    headers: dict[str, str] | None = None,
    **transport_options: Any,
) -> httpx.Client:
    """An httpx client for user-given URLs: SSRF rule on every hop, timeouts, our User-Agent."""
    return httpx.Client(
        transport=GuardedTransport(settings, **transport_options),
        timeout=timeout,
        follow_redirects=follow_redirects,
        max_redirects=5,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
    )


def safe_async_http_client(
    settings: Settings,
    *,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    follow_redirects: bool = True,
    headers: dict[str, str] | None = None,
    **transport_options: Any,
) -> httpx.AsyncClient:
    """The asynchronous twin of :func:`safe_http_client`."""
    return httpx.AsyncClient(
        transport=AsyncGuardedTransport(settings, **transport_options),
        timeout=timeout,
        follow_redirects=follow_redirects,
        max_redirects=5,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
    )


class GuardedRequestsAdapter(HTTPAdapter):
    """A ``requests`` adapter applying the SSRF rule to every request it sends.

    For client libraries built on ``requests`` (Mastodon.py): ``requests`` calls the
    adapter once per hop of a redirect, so every hop is checked, as with httpx above.
    """

    def __init__(self, settings: Settings, **options: Any) -> None:
        self.settings = settings
        super().__init__(**options)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        check_url(str(request.url), self.settings)
        return super().send(request, **kwargs)


def safe_requests_session(
    settings: Settings, adapter: HTTPAdapter | None = None
) -> requests.Session:
    """A ``requests`` session for user-given URLs: the SSRF rule on every hop, our
    User-Agent. ``adapter`` (a :class:`GuardedRequestsAdapter` subclass) may add more."""
    session = requests.Session()
    guarded = adapter if adapter is not None else GuardedRequestsAdapter(settings)
    if not isinstance(guarded, GuardedRequestsAdapter):
        raise TypeError("the adapter of a safe requests session must be a GuardedRequestsAdapter")
    session.mount("http://", guarded)
    session.mount("https://", guarded)
    session.headers["User-Agent"] = USER_AGENT
    session.max_redirects = 5
    return session
