"""Publishing to Mastodon against mastodon_mock, through Mastodon.py and the guarded session:
the Idempotency-Key, media with alt text, CW, language, replies, and every fault mapped to
its outcome (REJECTED, RETRY, UNKNOWN) with find_published settling the unknown ones."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.networks_servers import MastodonServer
from tests.publish.lossy_proxy import lossy_proxy
from townsquare.networks.base import (
    OutgoingMedia,
    OutgoingPost,
    PublishError,
    PublishOutcome,
)
from townsquare.networks.http import RatePolicy
from townsquare.networks.mastodon import MastodonConnector
from townsquare.networks.mastodon_publish import comparable_text, instance_configuration

# A 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def connector(mastodon_server: MastodonServer, tmp_path: Path) -> Iterator[MastodonConnector]:
    settings = make_settings(tmp_path, allow_private_urls=True)
    # No retries inside a request: each fault reaches the outcome mapping as it is.
    policy = RatePolicy(max_retries=0, network="Mastodon")
    made = MastodonConnector(mastodon_server.credentials(), settings, policy=policy)
    yield made
    made.close()


def _own_statuses(server: MastodonServer) -> list[dict]:  # type: ignore[type-arg]
    client = server.client()
    return list(client.account_statuses(client.me()["id"], limit=40))


def test_publish_sends_text_cw_language_and_an_idempotency_key(
    connector: MastodonConnector, mastodon_server: MastodonServer
) -> None:
    post = OutgoingPost(
        text="Hello #townsquare",
        idempotency_key="ts-v1-p1",
        content_warning="launch news",
        language="fr",
        link_url="https://example.com/launch",
    )
    ref = connector.publish(post)
    again = connector.publish(post)  # a retry with the same key: the same status
    assert again.external_id == ref.external_id
    statuses = _own_statuses(mastodon_server)
    assert len(statuses) == 1
    status = statuses[0]
    assert str(status["id"]) == ref.external_id
    assert status["spoiler_text"] == "launch news" and status["language"] == "fr"
    assert "https://example.com/launch" in status["content"]  # the link on its own line
    assert ref.url and ref.published_at is not None


def test_a_thread_replies_to_its_previous_part_and_images_carry_alt_text(
    connector: MastodonConnector, mastodon_server: MastodonServer
) -> None:
    first = connector.publish(OutgoingPost(text="1/2", idempotency_key="thread-1"))
    second = connector.publish(
        OutgoingPost(
            text="2/2",
            idempotency_key="thread-2",
            reply_to=first,
            thread_root=first,
            media=(OutgoingMedia(PNG, "image/png", "dot.png", alt_text="a red dot"),),
        )
    )
    status = mastodon_server.client().status(second.external_id)
    assert str(status["in_reply_to_id"]) == first.external_id
    assert [m["description"] for m in status["media_attachments"]] == ["a red dot"]


def test_a_refused_status_is_rejected_with_the_instances_words(
    connector: MastodonConnector,
) -> None:
    with pytest.raises(PublishError) as caught:
        connector.publish(OutgoingPost(text="x" * 501, idempotency_key="too-long"))
    assert caught.value.outcome is PublishOutcome.REJECTED
    assert "Text is too long" in str(caught.value)
    assert caught.value.params["code"] == 422


def test_429_is_retried_after_the_servers_retry_after(
    connector: MastodonConnector, mastodon_server: MastodonServer
) -> None:
    mastodon_server.fault(
        "/api/v1/statuses", type="ratelimit", headers={"Retry-After": "120"}, count=1
    )
    with pytest.raises(PublishError) as caught:
        connector.publish(OutgoingPost(text="busy", idempotency_key="rl"))
    assert caught.value.outcome is PublishOutcome.RETRY
    assert caught.value.retry_after == 120.0
    assert _own_statuses(mastodon_server) == []


@pytest.mark.parametrize(("status", "outcome"), [(500, "unknown"), (503, "retry")])
def test_5xx_is_unknown_unless_the_instance_said_it_did_nothing(
    connector: MastodonConnector, mastodon_server: MastodonServer, status: int, outcome: str
) -> None:
    mastodon_server.fault("/api/v1/statuses", status=status, methods=["POST"], count=1)
    post = OutgoingPost(text=f"after a {status}", idempotency_key=f"e{status}")
    sent = datetime.now(UTC)
    with pytest.raises(PublishError) as caught:
        connector.publish(post)
    assert caught.value.outcome == outcome
    # mastodon_mock fails before storing anything: nothing is found once the attempt settled.
    connector.publish_settle_seconds = 0
    assert connector.find_published(post, sent) is None


@pytest.mark.parametrize("mode", ["delay", "drop"])
def test_an_answer_lost_after_sending_is_unknown_and_found_once_stored(
    mastodon_server: MastodonServer, tmp_path: Path, mode: str
) -> None:
    """The instance stores the status but its answer is lost: a read timeout ("delay",
    the client gives up after 1 s) or a connection closed without an answer ("drop")."""
    settings = make_settings(tmp_path, allow_private_urls=True)
    with lossy_proxy(mastodon_server.url, "/api/v1/statuses", mode=mode, delay=3) as proxy:
        connector = MastodonConnector(
            {"instance_url": proxy.url, "access_token": mastodon_server.token()},
            settings,
            policy=RatePolicy(max_retries=0),
        )
        connector.client.request_timeout = 1
        post = OutgoingPost(text=f"lost answer ({mode})", idempotency_key=f"lost-{mode}")
        sent = datetime.now(UTC)
        with pytest.raises(PublishError) as caught:
            connector.publish(post)
        assert caught.value.outcome is PublishOutcome.UNKNOWN, caught.value
        # The proxy counts the answer as lost once its delay is over (after the client gave up).
        waited = 0.0
        while proxy.lost < 1 and waited < 10:
            time.sleep(0.1)
            waited += 0.1
        assert proxy.lost == 1
        connector.publish_settle_seconds = 30
        found = connector.find_published(post, sent)  # already stored: found at once
        assert found is not None
        assert [str(s["id"]) for s in _own_statuses(mastodon_server)] == [found.external_id]
        connector.close()
    # Not there and too early to tell: UNKNOWN, then None once the attempt has settled.
    absent = OutgoingPost(text="never sent", idempotency_key="never")
    direct = MastodonConnector(mastodon_server.credentials(), settings)
    with pytest.raises(PublishError) as early:
        direct.find_published(absent, datetime.now(UTC))
    assert early.value.outcome is PublishOutcome.UNKNOWN
    direct.publish_settle_seconds = 0
    assert direct.find_published(absent, datetime.now(UTC)) is None
    # The dispatcher's retry carries the same key: still one status.
    assert direct.publish(post).external_id == found.external_id
    assert len(_own_statuses(mastodon_server)) == 1
    direct.close()


def test_connection_refused_before_sending_is_retry(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(tmp_path, allow_private_urls=True)
    connector = MastodonConnector(
        {"instance_url": f"http://127.0.0.1:{port}", "access_token": "t"},
        settings,
        policy=RatePolicy(max_retries=0),
    )
    with pytest.raises(PublishError) as caught:
        connector.publish(OutgoingPost(text="nobody home", idempotency_key="refused"))
    assert caught.value.outcome is PublishOutcome.RETRY
    connector.close()


def test_a_reset_after_sending_is_unknown(tmp_path: Path) -> None:
    """A server that reads the request then closes the connection without answering."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def serve() -> None:
        connection, _ = server.accept()
        connection.recv(65536)
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings = make_settings(tmp_path, allow_private_urls=True)
    connector = MastodonConnector(
        {"instance_url": f"http://127.0.0.1:{port}", "access_token": "t"},
        settings,
        policy=RatePolicy(max_retries=0),
    )
    try:
        with pytest.raises(PublishError) as caught:
            connector.publish(OutgoingPost(text="cut", idempotency_key="reset"))
        assert caught.value.outcome is PublishOutcome.UNKNOWN
    finally:
        connector.close()
        thread.join(timeout=5)
        server.close()


def test_a_private_address_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)  # private addresses not allowed
    with pytest.raises(Exception, match=r"private|loopback|not allowed|refuse"):
        MastodonConnector(
            {"instance_url": "http://127.0.0.1:9", "access_token": "t"}, settings
        ).publish(OutgoingPost(text="x", idempotency_key="ssrf"))


def test_find_published_matches_text_reply_and_cw_only(
    connector: MastodonConnector, mastodon_server: MastodonServer
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    first = connector.publish(
        OutgoingPost(text="Thanks @fan1@example.social for   this", idempotency_key="a")
    )
    connector.publish_settle_seconds = 0
    same_text = OutgoingPost(text="Thanks @fan1@example.social for this", idempotency_key="b")
    found = connector.find_published(same_text, before)
    assert found is not None and found.external_id == first.external_id
    other_cw = OutgoingPost(
        text="Thanks @fan1@example.social for this", idempotency_key="c", content_warning="cw"
    )
    assert connector.find_published(other_cw, before) is None
    reply = OutgoingPost(
        text="Thanks @fan1@example.social for this", idempotency_key="d", reply_to=first
    )
    assert connector.find_published(reply, before) is None
    assert comparable_text("a\n\n b @x@y.z") == "a b @x"


def test_publish_limits_reads_the_instance_configuration(
    connector: MastodonConnector,
) -> None:
    limits = connector.publish_limits()
    assert limits["statuses"]["max_characters"] == 500
    assert limits["statuses"]["characters_reserved_per_url"] == 23
    assert limits["media_attachments"]["image_size_limit"] > 0


def test_instance_configuration_understands_v2_v1_and_max_toot_chars() -> None:
    import json

    recorded = json.loads(
        (Path(__file__).parents[1] / "data/networks/mastodon/instance_v2.json").read_text()
    )
    assert instance_configuration(recorded)["statuses"]["max_characters"] == 500
    assert instance_configuration(recorded)["version"] == "4.3.2"
    old = instance_configuration({"version": "2.9.0", "max_toot_chars": 5000})
    assert old["statuses"] == {"max_characters": 5000} and old["media_attachments"] == {}
