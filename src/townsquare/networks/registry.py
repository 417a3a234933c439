"""The networks townsquare knows. Adding one: declare it here, then add its connector module."""

from __future__ import annotations

import difflib

from townsquare.errors import ValidationError
from townsquare.messages import Message
from townsquare.networks.base import Capability as C
from townsquare.networks.base import NetworkInfo

_NETWORKS = (
    NetworkInfo(
        "mastodon",
        "Mastodon",
        frozenset({C.PUBLISH, C.METRICS, C.SEARCH, C.STREAM}),
        500,
        "@name@instance.social",
    ),
    NetworkInfo(
        "bluesky", "Bluesky", frozenset({C.PUBLISH, C.METRICS, C.SEARCH}), 300, "name.bsky.social"
    ),
    NetworkInfo("facebook", "Facebook", frozenset({C.IMPORT}), 63206, "page name"),
    NetworkInfo("instagram", "Instagram", frozenset({C.IMPORT}), 2200, "@account"),
    NetworkInfo("linkedin", "LinkedIn", frozenset({C.IMPORT}), 3000, "company page"),
    NetworkInfo("x", "X (Twitter)", frozenset({C.IMPORT}), 280, "@account"),
    NetworkInfo("youtube", "YouTube", frozenset({C.IMPORT}), 5000, "@channel"),
    NetworkInfo("tiktok", "TikTok", frozenset({C.IMPORT}), 2200, "@account"),
    NetworkInfo("threads", "Threads", frozenset({C.IMPORT}), 500, "@account"),
    NetworkInfo("rss", "RSS / Atom feed", frozenset({C.SEARCH}), None, "https://example.com/feed"),
    NetworkInfo("hackernews", "Hacker News", frozenset({C.SEARCH}), None, "username"),
    NetworkInfo("reddit", "Reddit", frozenset({C.SEARCH}), 40000, "u/name or r/community"),
    NetworkInfo("web", "Web page", frozenset({C.SEARCH}), None, "https://example.com/page"),
)
_BY_NAME = {network.name: network for network in _NETWORKS}


def known_networks() -> tuple[NetworkInfo, ...]:
    return _NETWORKS


def network_names() -> list[str]:
    return [network.name for network in _NETWORKS]


def get_network(name: str) -> NetworkInfo:
    """The network called ``name`` (case-insensitive), or ValidationError listing the choices."""
    key = name.strip().lower()
    network = _BY_NAME.get(key)
    if network is None:
        close = difflib.get_close_matches(key, _BY_NAME, n=1)
        hint = Message(" (did you mean %(name)s?)", name=close[0]) if close else ""
        raise ValidationError(
            "unknown network %(name)r%(hint)s: choose one of %(choices)s",
            params={"name": name, "hint": hint, "choices": ", ".join(_BY_NAME)},
            field="network",
        )
    return network
