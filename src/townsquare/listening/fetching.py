"""Which connector fetches which kind of source (no database here: plain data in and out).

A poll builds one :class:`FetchJob` per source from the database, then runs the jobs in
threads: network time overlaps, and nothing here touches a session.
"""

from __future__ import annotations

from dataclasses import dataclass
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
