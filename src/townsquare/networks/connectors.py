"""Which connector serves which network (only the networks with an API of their own)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from townsquare.config import Settings
from townsquare.errors import ValidationError
from townsquare.networks.base import Connector
from townsquare.networks.http import RatePolicy
from townsquare.networks.registry import get_network

CONNECTED_NETWORKS = ("mastodon", "bluesky")


def is_connectable(network: str) -> bool:
    return network in CONNECTED_NETWORKS


def connector_for(
    network: str,
    credentials: Mapping[str, Any],
    settings: Settings,
    *,
    policy: RatePolicy | None = None,
) -> Connector:
    """A connector for one account; ValidationError for a network townsquare cannot connect."""
    info = get_network(network)
    if info.name == "mastodon":
        from townsquare.networks.mastodon import MastodonConnector

        return MastodonConnector(credentials, settings, policy=policy)
    if info.name == "bluesky":
        from townsquare.networks.bluesky import BlueskyConnector

        return BlueskyConnector(credentials, settings, policy=policy)
    raise ValidationError(
        "%(network)s channels cannot be connected (its data comes from export files): "
        "connect one of %(choices)s",
        params={"network": info.label, "choices": list(CONNECTED_NETWORKS)},
        field="network",
    )
