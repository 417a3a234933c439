"""Publishing to Bluesky against the reference PDS (@atproto/dev-env), through the atproto
SDK and the guarded transport: the caller's rkey, getRecord, images with alt text, reply
refs, langs, facets in UTF-8 bytes, the lexicon's own limits, and faults (429, 500, 502, a
lost answer, no server) mapped to their outcomes through a loopback proxy."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.networks_servers import BlueskyAccount, BlueskyNetwork
from tests.publish.lossy_proxy import lossy_proxy
from townsquare.networks.base import (
    OutgoingMedia,
    OutgoingPost,
    PublishError,
    PublishOutcome,
)
from townsquare.networks.bluesky import BlueskyConnector
from townsquare.networks.bluesky_publish import TID, facet_spans, new_tid
from townsquare.networks.http import RatePolicy
from townsquare.publish.limits import check_part, limits_for

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
CREATE = "/xrpc/com.atproto.repo.createRecord"


@pytest.fixture(scope="module")
def brand(bluesky_network: BlueskyNetwork) -> BlueskyAccount:
    return bluesky_network.create_account()


def _connector(account: BlueskyAccount, service_url: str, tmp_path: Path) -> BlueskyConnector:
    settings = make_settings(tmp_path, allow_private_urls=True)
    return BlueskyConnector(
        {
            "identifier": account.handle,
            "app_password": account.password,
            "service_url": service_url,
        },
        settings,
        policy=RatePolicy(max_retries=0, network="Bluesky"),
    )


@pytest.fixture
def connector(
    bluesky_network: BlueskyNetwork, brand: BlueskyAccount, tmp_path: Path
) -> Iterator[BlueskyConnector]:
    made = _connector(brand, bluesky_network.pds_url, tmp_path)
    yield made
    made.close()


def _record(network: BlueskyNetwork, account: BlueskyAccount, rkey: str) -> dict[str, Any]:
    import httpx

    answer = httpx.get(
        f"{network.pds_url}/xrpc/com.atproto.repo.getRecord",
        params={"repo": account.did, "collection": "app.bsky.feed.post", "rkey": rkey},
    )
    answer.raise_for_status()
    return dict(answer.json())


def _count(network: BlueskyNetwork, account: BlueskyAccount) -> int:
    import httpx

    answer = httpx.get(
        f"{network.pds_url}/xrpc/com.atproto.repo.listRecords",
        params={"repo": account.did, "collection": "app.bsky.feed.post", "limit": 100},
    )
    return len(answer.json()["records"])


def test_new_tid_is_a_valid_sortable_record_key() -> None:
    first = new_tid(datetime(2026, 1, 1, tzinfo=UTC), clock_id=1)
    later = new_tid(datetime(2026, 1, 2, tzinfo=UTC), clock_id=0)
    assert TID.match(first) and TID.match(later) and len(first) == 13
    assert first < later


def test_facets_are_located_in_utf8_bytes() -> None:
    text = "Café 🇫🇷 see https://example.com/a?b=1. with @alice.test #Lancement! ok"
    spans = facet_spans(text)
    raw = text.encode()
    assert [(s.kind, raw[s.byte_start : s.byte_end].decode()) for s in spans] == [
        ("link", "https://example.com/a?b=1"),
        ("mention", "@alice.test"),
        ("tag", "#Lancement"),
    ]
    assert [s.value for s in spans] == ["https://example.com/a?b=1", "alice.test", "Lancement"]
    assert facet_spans("price #1 and #2024 and user@example.com") == []


def test_a_thread_with_image_facets_and_langs(
    connector: BlueskyConnector, bluesky_network: BlueskyNetwork, brand: BlueskyAccount
) -> None:
    fan = bluesky_network.create_account()
    first = OutgoingPost(
        text=f"Bonjour 👋🏽 @{fan.handle} #townsquare",
        idempotency_key="b-1",
        language="fr",
        link_url="https://example.com/launch",
        rkey=new_tid(),
    )
    ref = connector.publish(first)
    assert ref.external_id == first.rkey and ref.uri and ref.cid
    assert ref.url == f"https://bsky.app/profile/{brand.handle}/post/{first.rkey}"
    second = OutgoingPost(
        text="2/2",
        idempotency_key="b-2",
        rkey=new_tid(),
        reply_to=ref,
        thread_root=ref,
        media=(OutgoingMedia(PNG, "image/png", "dot.png", alt_text="a red dot"),),
    )
    reply = connector.publish(second)
    record = _record(bluesky_network, brand, str(first.rkey))["value"]
    assert record["text"].endswith("\n\nhttps://example.com/launch")
    assert record["langs"] == ["fr"]
    raw = record["text"].encode()
    features = {
        raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in record["facets"]
    }
    assert features[f"@{fan.handle}"]["did"] == fan.did
    assert features["#townsquare"]["tag"] == "townsquare"
    assert features["https://example.com/launch"]["uri"] == "https://example.com/launch"
    child = _record(bluesky_network, brand, str(second.rkey))["value"]
    for key in ("parent", "root"):
        assert (child["reply"][key]["uri"], child["reply"][key]["cid"]) == (ref.uri, ref.cid)
    assert child["embed"]["images"][0]["alt"] == "a red dot"
    # Publishing a part again (a retry) gives the same record, never a second one.
    before = _count(bluesky_network, brand)
    assert connector.publish(second).cid == reply.cid
    assert _count(bluesky_network, brand) == before
    assert connector.find_published(second, datetime.now(UTC)) == connector.publish(second)
    assert (
        connector.find_published(
            OutgoingPost(text="never", idempotency_key="n", rkey=new_tid()), datetime.now(UTC)
        )
        is None
    )


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("👍🏽" * 300, True),  # 300 graphemes, 2,400 bytes
        ("👍🏽" * 301, False),  # one grapheme too many
        ("e\u0301" * 300, True),  # combining marks: 300 graphemes of 2 code points
        ("👨‍👩‍👧‍👦" * 121, False),  # 121 graphemes but 3,025 bytes
    ],
)
def test_the_lexicon_limits_are_counted_as_the_pds_counts(
    connector: BlueskyConnector, text: str, fits: bool
) -> None:
    check = check_part(limits_for("bluesky"), text)
    assert check.ok is fits
    post = OutgoingPost(text=text, idempotency_key="limit", rkey=new_tid())
    if fits:
        assert connector.publish(post).external_id == post.rkey
    else:
        with pytest.raises(PublishError) as caught:
            connector.publish(post)
        assert caught.value.outcome is PublishOutcome.REJECTED, caught.value
        assert "text" in str(caught.value).lower()


@pytest.mark.parametrize(
    ("status", "headers", "outcome"),
    [
        (429, {"Retry-After": "42"}, PublishOutcome.RETRY),
        (500, {}, PublishOutcome.RETRY),
        (502, {}, PublishOutcome.UNKNOWN),
    ],
)
def test_faults_before_the_write_map_to_their_outcome(
    bluesky_network: BlueskyNetwork,
    brand: BlueskyAccount,
    tmp_path: Path,
    status: int,
    headers: dict[str, str],
    outcome: PublishOutcome,
) -> None:
    with lossy_proxy(
        bluesky_network.pds_url, CREATE, mode="fail", fail_status=status, fail_headers=headers
    ) as proxy:
        connector = _connector(brand, proxy.url, tmp_path)
        post = OutgoingPost(text=f"fault {status}", idempotency_key="f", rkey=new_tid())
        with pytest.raises(PublishError) as caught:
            connector.publish(post)
        assert caught.value.outcome is outcome, caught.value
        if status == 429:
            assert caught.value.retry_after == 42.0
        assert connector.find_published(post, datetime.now(UTC)) is None
        connector.close()


def test_a_lost_answer_is_unknown_then_found_by_its_rkey(
    bluesky_network: BlueskyNetwork, brand: BlueskyAccount, tmp_path: Path
) -> None:
    with lossy_proxy(bluesky_network.pds_url, CREATE, mode="drop") as proxy:
        connector = _connector(brand, proxy.url, tmp_path)
        post = OutgoingPost(text="the answer was lost", idempotency_key="l", rkey=new_tid())
        before = _count(bluesky_network, brand)
        with pytest.raises(PublishError) as caught:
            connector.publish(post)
        assert caught.value.outcome is PublishOutcome.UNKNOWN, caught.value
        found = connector.find_published(post, datetime.now(UTC))
        assert found is not None and found.external_id == post.rkey
        # The retry the dispatcher might still make: refused by the PDS, found, no duplicate.
        proxy.lossy_paths = ()
        assert connector.publish(post).cid == found.cid
        assert _count(bluesky_network, brand) == before + 1
        connector.close()


def test_no_server_is_retry(brand: BlueskyAccount, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connector = _connector(brand, f"http://127.0.0.1:{port}", tmp_path)
    with pytest.raises(PublishError) as caught:
        connector.publish(OutgoingPost(text="x", idempotency_key="x", rkey=new_tid()))
    assert caught.value.outcome is PublishOutcome.RETRY


def test_publish_limits_are_the_lexicons(connector: BlueskyConnector) -> None:
    limits = connector.publish_limits()
    assert limits["statuses"] == {"max_graphemes": 300, "max_bytes": 3000, "max_langs": 3}
    assert limits["media_attachments"]["image_size_limit"] == 2_000_000
