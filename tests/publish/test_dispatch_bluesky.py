"""The dispatcher against the reference PDS (@atproto/dev-env): a thread with its reply
refs under the rkeys chosen before the first call, a lost answer found by getRecord, a 500
that wrote nothing retried, and a 429's Retry-After honoured (faults through the proxy)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Seed, make_settings
from tests.networks_servers import BlueskyAccount, BlueskyNetwork
from tests.publish import factory
from tests.publish.lossy_proxy import lossy_proxy
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.networks.bluesky_publish import TID
from townsquare.publish.models import PartStatus, VariantStatus
from townsquare.publish.worker import dispatch_due

CREATE = "/xrpc/com.atproto.repo.createRecord"


@pytest.fixture
def net_settings(database: Database, data_dir: Path) -> Settings:
    return make_settings(
        data_dir,
        database.url,
        allow_private_urls=True,
        publish_lease_seconds=30,
        publish_retry_minutes=10,
    )


@pytest.fixture
def account(bluesky_network: BlueskyNetwork) -> BlueskyAccount:
    return bluesky_network.create_account()


def _channel(
    database: Database, settings: Settings, seed: Seed, account: BlueskyAccount, url: str
) -> int:
    return factory.connect_bluesky(
        database, settings, seed.workspace, account.handle, account.password, url
    )


def _records(network: BlueskyNetwork, account: BlueskyAccount) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{network.pds_url}/xrpc/com.atproto.repo.listRecords",
        params={"repo": account.did, "collection": "app.bsky.feed.post", "limit": 100},
    )
    answer.raise_for_status()
    return list(reversed(answer.json()["records"]))  # oldest first


def _later(seconds: float) -> Callable[[], datetime]:
    return lambda: utcnow() + timedelta(seconds=seconds)


def test_a_thread_goes_out_under_its_stored_rkeys_each_part_replying(
    database: Database,
    seed: Seed,
    net_settings: Settings,
    bluesky_network: BlueskyNetwork,
    account: BlueskyAccount,
) -> None:
    channel = _channel(database, net_settings, seed, account, bluesky_network.pds_url)
    [variant_id] = factory.schedule_post(
        database, net_settings, seed.workspace, [channel], ["first #townsquare", "second"]
    )
    assert dispatch_due(database, net_settings).published == 1
    parts = factory.parts(database, variant_id)
    assert all(p.status == PartStatus.PUBLISHED.value and TID.match(p.rkey or "") for p in parts)
    records = _records(bluesky_network, account)
    assert [r["uri"].rsplit("/", 1)[1] for r in records] == [p.rkey for p in parts]
    assert [r["value"]["text"] for r in records] == ["first #townsquare", "second"]
    reply = records[1]["value"]["reply"]
    assert reply["parent"]["uri"] == records[0]["uri"] == reply["root"]["uri"]
    assert records[0]["value"]["facets"][0]["features"][0]["tag"] == "townsquare"
    variant = factory.variant(database, variant_id)
    assert variant.external_id == parts[0].rkey and variant.url and parts[0].rkey in variant.url


def test_a_lost_answer_is_found_by_its_rkey_and_never_sent_twice(
    database: Database,
    seed: Seed,
    net_settings: Settings,
    bluesky_network: BlueskyNetwork,
    account: BlueskyAccount,
) -> None:
    with lossy_proxy(bluesky_network.pds_url, CREATE, mode="drop") as proxy:
        channel = _channel(database, net_settings, seed, account, proxy.url)
        [variant_id] = factory.schedule_post(
            database, net_settings, seed.workspace, [channel], ["lost on the way back"]
        )
        assert dispatch_due(database, net_settings).uncertain == 1
        assert len(_records(bluesky_network, account)) == 1
        proxy.lossy_paths = ()
        assert dispatch_due(database, net_settings, clock=_later(60)).published == 1
    records = _records(bluesky_network, account)
    assert len(records) == 1
    assert factory.actions(database, variant_id) == [
        "publishing",
        "uncertain",
        "verified",
        "published",
    ]


@pytest.mark.parametrize(
    ("status", "headers", "wait"), [(500, {}, None), (429, {"Retry-After": "90"}, 90.0)]
)
def test_a_refusal_before_any_write_is_retried_later_then_published(
    database: Database,
    seed: Seed,
    net_settings: Settings,
    bluesky_network: BlueskyNetwork,
    account: BlueskyAccount,
    status: int,
    headers: dict[str, str],
    wait: float | None,
) -> None:
    with lossy_proxy(
        bluesky_network.pds_url, CREATE, mode="fail", fail_status=status, fail_headers=headers
    ) as proxy:
        channel = _channel(database, net_settings, seed, account, proxy.url)
        [variant_id] = factory.schedule_post(
            database, net_settings, seed.workspace, [channel], [f"after a {status}"]
        )
        before = utcnow()
        assert dispatch_due(database, net_settings).skipped == 1
        variant = factory.variant(database, variant_id)
        assert variant.status == VariantStatus.SCHEDULED.value and variant.next_attempt_at
        waited = (variant.next_attempt_at - before).total_seconds()
        if wait is not None:
            assert wait - 5 <= waited <= wait + 5
        assert _records(bluesky_network, account) == []
        proxy.lossy_paths = ()
        assert dispatch_due(database, net_settings, clock=_later(1000)).published == 1
    assert len(_records(bluesky_network, account)) == 1
    assert factory.actions(database, variant_id) == [
        "publishing",
        "retried",
        "publishing",
        "published",
    ]
