"""Which connector fetches which kind of source (no database here: plain data in and out).

A poll builds one :class:`FetchJob` per source from the database, then runs the jobs in
threads: network time overlaps, and nothing here touches a session. Each fetch thread has
its own HTTP client (:class:`ThreadClients`).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx

from townsquare.config import Settings
from townsquare.errors import TownsquareError, ValidationError
from townsquare.networks import hackernews, reddit, rss, web
from townsquare.networks.items import PollResult


@dataclass
class FetchJob:
    source_id: int
    kind: str
    target: str
    state: dict[str, Any]
    credentials: dict[str, Any] | None = None  # of the connected channel, decrypted
    problem: TownsquareError | None = None  # found before any fetch (e.g. no credentials)


@dataclass
class FetchOutcome:
    result: PollResult | None
    error: TownsquareError | None = None
    # A connected channel whose session the network renewed (Bluesky): store it back.
    credentials: dict[str, Any] | None = None


def fetch_source(
    client: httpx.Client,
    settings: Settings,
    kind: str,
    target: str,
    state: dict[str, Any],
    credentials: dict[str, Any] | None = None,
) -> FetchOutcome:
    """Ask the source's connector for what is new; TownsquareError when it cannot."""
    if kind == "rss":
        return FetchOutcome(rss.fetch(client, target, state))
    if kind == "web":
        return FetchOutcome(web.fetch(client, target, state))
    if kind == "hackernews":
        return FetchOutcome(
            hackernews.fetch(client, target, state, api_url=settings.hackernews_api_url)
        )
    if kind == "reddit":
        return FetchOutcome(reddit.fetch(client, target, state, base_url=settings.reddit_base_url))
    if kind in ("mastodon-tag", "mastodon-search"):
        return _mastodon(settings, kind, target, state, credentials)
    if kind == "bluesky-search":
        return _bluesky(settings, target, state, credentials)
    raise ValidationError("%(type)s sources cannot be polled", params={"type": kind}, field="type")


def _mastodon(
    settings: Settings,
    kind: str,
    target: str,
    state: dict[str, Any],
    credentials: dict[str, Any] | None,
) -> FetchOutcome:
    from townsquare.networks import mastodon_listen
    from townsquare.networks.mastodon import MastodonConnector

    if credentials is None:
        raise ValidationError(
            "this Mastodon source has no connected channel any more: remove it and add it "
            "again with --channel",
            field="channel",
        )
    connector = MastodonConnector(credentials, settings)
    try:
        if kind == "mastodon-tag":
            return FetchOutcome(mastodon_listen.fetch_tag(connector, target, state))
        return FetchOutcome(mastodon_listen.fetch_search(connector, target, state))
    finally:
        connector.close()


def _bluesky(
    settings: Settings, target: str, state: dict[str, Any], credentials: dict[str, Any] | None
) -> FetchOutcome:
    from townsquare.networks import bluesky_listen

    if credentials is None:
        result = bluesky_listen.fetch_public(settings, settings.bluesky_appview_url, target, state)
        return FetchOutcome(result)
    from townsquare.networks.bluesky import BlueskyConnector

    connector = BlueskyConnector(credentials, settings)
    try:
        result = bluesky_listen.fetch_with_channel(connector, target, state)
        return FetchOutcome(result, credentials=connector.updated_credentials())
    finally:
        connector.close()


def run_job(client: httpx.Client, settings: Settings, job: FetchJob) -> FetchOutcome:
    """One job, its failure kept as a value (a poll goes on with the other sources)."""
    if job.problem is not None:
        return FetchOutcome(None, job.problem)
    try:
        return fetch_source(client, settings, job.kind, job.target, job.state, job.credentials)
    except TownsquareError as error:
        return FetchOutcome(None, error)


class ThreadClients:
    """One HTTP client per thread, made by ``make`` on the thread's first fetch.

    Threads must not share one client: httpcore's pool (1.0) may close an idle connection
    that it has just handed to another thread's request, before that request starts on
    it; the request then fails with "[Errno 9] Bad file descriptor" (a few sources of a
    poll of 1,000 feeds on 64 threads). A thread's own client serves one request at a time.
    """

    def __init__(self, make: Callable[[], httpx.Client]) -> None:
        self._make = make
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[httpx.Client] = []

    def get(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._make()
            with self._lock:
                self._clients.append(client)
        return client

    def run(self, settings: Settings, job: FetchJob) -> FetchOutcome:
        """:func:`run_job` on this thread's client."""
        return run_job(self.get(), settings, job)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def __enter__(self) -> ThreadClients:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@cache
def ssl_context() -> ssl.SSLContext:
    """The TLS context every fetch client shares (httpx's default one: building it reads
    the CA bundle, tens of milliseconds, once per process instead of once per client)."""
    return httpx.create_ssl_context()


def thread_clients(settings: Settings) -> ThreadClients:
    """Fetch clients for user-given URLs, one per thread (the SSRF rule on each)."""
    from townsquare.netguard import safe_http_client

    return ThreadClients(
        lambda: safe_http_client(settings, limits=THREAD_LIMITS, verify=ssl_context())
    )


# A thread's client keeps one idle connection (the last host's: a feed's host is often
# asked again next poll, rarely by the same thread before): never dozens of sockets open.
THREAD_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=1)
