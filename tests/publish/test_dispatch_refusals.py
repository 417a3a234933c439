"""Refusals while publishing, against a real mastodon_mock: townsquare's own rate budget
spent mid-thread is retried after its reset (never failed), and a 401 fails the variant
with "reconnect the channel", marks the channel as needing reconnection, tells the owners
and admins, and the channel's other variants are not sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Seed, SmtpServer
from tests.networks_servers import MASTODON_ACCOUNTS, MastodonServer, mastodon_seed
from tests.publish import factory
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.errors import RateLimited
from townsquare.networks.base import PublishOutcome
from townsquare.networks.publish_errors import own_refusal
from townsquare.publish.models import PartStatus, VariantStatus
from townsquare.publish.worker import dispatch_due

STATUSES = "/api/v1/statuses"
BUDGET = 5  # requests per token and window: spent by the connection and the first part
WINDOW_SECONDS = 300


@pytest.fixture
def limited_server() -> Iterator[MastodonServer]:
    """mastodon_mock with its own rate limiting on: ``BUDGET`` requests per 5 minutes."""
    from mastodon_mock.config import MastodonMockConfig, RateLimitConfig
    from mastodon_mock.testing import MockServer

    config = MastodonMockConfig(
        seed=mastodon_seed(),
        ratelimit=RateLimitConfig(enabled=True, limit=BUDGET, window_seconds=WINDOW_SECONDS),
    )
    with MockServer(config=config) as mock:
        yield MastodonServer(url=mock.base_url, tokens=dict(MASTODON_ACCOUNTS))


def _channel(database: Database, settings: Settings, seed: Seed, server: MastodonServer) -> int:
    return factory.connect_channel(
        database,
        settings,
        seed.workspace,
        network="mastodon",
        handle=f"@brand@{server.url.split('://', 1)[1]}",
        credentials={"instance_url": server.url, "access_token": server.token()},
    )


def _remaining(server: MastodonServer) -> int:
    """What is left of the brand token's budget (this request spends one)."""
    response = httpx.get(
        f"{server.url}/api/v1/accounts/verify_credentials",
        headers={"Authorization": f"Bearer {server.token()}"},
    )
    return int(response.headers["X-RateLimit-Remaining"])


def _own_statuses(server: MastodonServer) -> list[dict[str, Any]]:
    client = server.client("fan1")  # another token: the brand's budget stays as it is
    account = client.account_lookup("brand")
    return list(client.account_statuses(account["id"], limit=40))


def test_the_rate_budget_spent_mid_thread_is_retried_after_its_reset(
    database: Database, seed: Seed, data_dir: Path, limited_server: MastodonServer
) -> None:
    settings = factory.dispatch_settings(database, data_dir, retry_minutes=30)
    channel = _channel(database, settings, seed, limited_server)
    [variant_id] = factory.schedule_post(
        database, settings, seed.workspace, [channel], ["1/2", "2/2"]
    )
    # Leave exactly one request: the first part takes it, the instance then says 0 left
    # until the window's end, and the policy refuses to send the second part.
    left = _remaining(limited_server)
    for _ in range(left - 1):
        _remaining(limited_server)
    before = utcnow()
    assert dispatch_due(database, settings).as_json()["skipped"] == 1
    variant = factory.variant(database, variant_id)
    assert variant.status == VariantStatus.SCHEDULED.value  # not failed
    assert variant.error == "%(server)s rate limit reached: townsquare tries again in %(seconds)s s"
    assert variant.next_attempt_at is not None
    wait = (variant.next_attempt_at - before).total_seconds()
    assert 60 < wait <= WINDOW_SECONDS + 5  # the window's reset, not a blind backoff
    first, second = factory.parts(database, variant_id)
    assert first.status == PartStatus.PUBLISHED.value
    assert second.status == PartStatus.PENDING.value  # nothing created: same key next time
    assert factory.actions(database, variant_id) == ["publishing", "retried"]
    assert [s["content"] for s in _own_statuses(limited_server)] == ["<p>1/2</p>"]


def test_own_refusals_are_mapped_the_same_for_every_network() -> None:
    spent = RateLimited("budget spent", retry_after=42)
    try:
        try:
            raise spent
        except RateLimited as error:
            raise RuntimeError("the library wrapped it") from error
    except RuntimeError as wrapped:
        outcome = own_refusal(wrapped, "https://example.social")
    assert outcome is not None and outcome.outcome is PublishOutcome.RETRY
    assert outcome.retry_after == 42.0 and not outcome.reconnect
    assert own_refusal(ValueError("not ours"), "https://example.social") is None


def test_a_401_fails_the_variant_marks_the_channel_and_tells_the_managers(
    database: Database,
    seed: Seed,
    data_dir: Path,
    mastodon_server: MastodonServer,
    smtp_server: SmtpServer,
) -> None:
    settings = factory.dispatch_settings(
        database, data_dir, retry_minutes=30, smtp_url=smtp_server.url
    )
    channel_id = _channel(database, settings, seed, mastodon_server)
    [first] = factory.schedule_post(database, settings, seed.workspace, [channel_id], ["one"])
    mastodon_server.fault(
        STATUSES,
        status=401,
        body={"error": "The access token is invalid"},
        methods=["POST"],
        count=1,
    )
    assert dispatch_due(database, settings).failed == 1
    factory.check_reconnection_asked(
        database, settings, seed, smtp_server, channel_id=channel_id, variant_id=first, reason="401"
    )
    client = mastodon_server.client()
    assert client.account_statuses(client.me()["id"], limit=40) == []  # neither was sent
