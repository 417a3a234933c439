"""The canonical mapping of each network, on payloads in the networks' documented shapes
for what the test servers do not produce (polls, video, cards, quotes_count, every Bluesky
embed type, reposts in an author feed, a Mastodon 4.x instance v2)."""

from __future__ import annotations

import json
from pathlib import Path

from townsquare.networks.bluesky import to_remote_post as bluesky_post
from townsquare.networks.http import RatePolicy, retry_after_seconds
from townsquare.networks.mastodon import to_remote_post as mastodon_post

DATA = Path(__file__).resolve().parents[1] / "data" / "networks"


def _load(name: str) -> object:
    return json.loads((DATA / name).read_text())


def test_mastodon_statuses_map_formats_and_counters() -> None:
    statuses = _load("mastodon/statuses_4x.json")
    assert isinstance(statuses, list)
    posts = [mastodon_post(s, "109000000000000001") for s in statuses]
    assert [p.format for p in posts] == ["poll", "video", "photo", "link", "thread", "text"]
    poll = posts[0]
    assert poll.metrics == {"reactions": 9, "shares": 2, "comments": 4, "quotes": 1}
    assert "quotes" not in posts[1].metrics  # an instance before 4.5 says nothing: unknown
    assert posts[3].link_url == "https://example.com/story"
    assert posts[4].text == "2/2 and more&more"
    assert poll.published_at.tzinfo is not None and poll.published_at.hour == 9


def test_mastodon_instance_v2_limits() -> None:
    instance = _load("mastodon/instance_v2.json")
    assert isinstance(instance, dict)
    assert instance["configuration"]["statuses"]["max_characters"] == 500


def test_bluesky_every_embed_type() -> None:
    feed = _load("bluesky/author_feed_embeds.json")
    assert isinstance(feed, dict)
    own = [i["post"] for i in feed["feed"] if not i.get("reason")]
    posts = [bluesky_post(p, "did:plc:brand") for p in own]
    assert [p.format for p in posts] == ["photo", "video", "link", "text", "photo", "thread"]
    assert posts[0].metrics == {"reactions": 12, "shares": 3, "comments": 2, "quotes": 1}
    assert posts[0].permalink == "https://bsky.app/profile/brand.bsky.social/post/3lb1images"
    assert posts[2].link_url == "https://example.com/a"
    assert "quotes" not in posts[5].metrics


def test_rate_policy_reads_both_networks_headers_and_retry_after() -> None:
    waited: list[float] = []
    policy = RatePolicy(sleep=waited.append, clock=lambda: 1_700_000_000.0)
    policy.observe(
        {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "2023-11-14T22:13:30.000Z",
        }
    )
    assert policy.state.limit == 300 and policy.state.remaining == 0
    policy.before_request()  # the reset is 10 s away: wait for it
    assert waited == [10.0]
    policy.observe({"ratelimit-limit": "3000", "ratelimit-remaining": "2999"})
    assert policy.state.limit == 3000
    assert policy.retry_delay(429, {"Retry-After": "3"}, attempt=0) == 3.0
    assert policy.retry_delay(429, {"Retry-After": "3600"}, attempt=0) is None  # too long
    assert policy.retry_delay(502, {}, attempt=1) == 1.0  # backoff
    assert policy.retry_delay(502, {}, attempt=3) is None  # gave up
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:40 GMT", 1_700_000_000.0) == 20.0
