"""Each channel's limits as its server states them, cached per channel.

Counting never waits on the network: it reads the cached ``publish_limits()`` answer (for
Mastodon the instance's ``configuration``: ``statuses.max_characters``,
``characters_reserved_per_url``, media sizes), or the documented defaults of
``limits.DEFAULTS`` when the server was never asked. :func:`refresh` asks the connector when
the cache is older than :data:`CACHE_SECONDS` (composing and scheduling call it); a server
that does not answer leaves the cache as it was.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.service import channel_credentials
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import TownsquareError
from townsquare.networks.connectors import connector_for, is_connectable
from townsquare.publish.core_models import ChannelLimits
from townsquare.publish.limits import NetworkLimits, limits_for

logger = logging.getLogger(__name__)

CACHE_SECONDS = 24 * 3600


def cached(session: Session, channel: Channel) -> dict[str, Any] | None:
    row = session.get(ChannelLimits, channel.id)
    return dict(row.limits) if row is not None else None


def limits_of(session: Session, channel: Channel) -> NetworkLimits:
    """The channel's limits from the cache (or the network's documented defaults)."""
    return limits_for(channel.network, cached(session, channel))


def store(session: Session, channel: Channel, limits: dict[str, Any]) -> None:
    """Cache ``limits`` for ``channel`` (the caller commits)."""
    row = session.get(ChannelLimits, channel.id)
    if row is None:
        session.add(ChannelLimits(channel_id=channel.id, limits=limits, fetched_at=utcnow()))
    else:
        row.limits = limits
        row.fetched_at = utcnow()


def refresh(
    session: Session,
    settings: Settings,
    channel: Channel,
    *,
    box: CredentialsBox | None = None,
    max_age: float = CACHE_SECONDS,
    now: datetime | None = None,
) -> NetworkLimits:
    """The channel's limits, asking its server first when the cache is stale (the caller
    commits the new cache row)."""
    row = session.get(ChannelLimits, channel.id)
    moment = now or utcnow()
    fresh = row is not None and row.fetched_at > moment - timedelta(seconds=max_age)
    if fresh or not is_connectable(channel.network) or channel.credentials_encrypted is None:
        return limits_of(session, channel)
    try:
        credentials = channel_credentials(
            channel, box or CredentialsBox(settings.resolved_credentials_key())
        )
        if credentials is None:
            return limits_of(session, channel)
        connector = connector_for(channel.network, credentials, settings)
        try:
            ask = getattr(connector, "publish_limits", None)
            answer = ask() if ask is not None else None
        finally:
            connector.close()
    except TownsquareError as error:
        logger.warning("limits of channel %s unavailable: %s", channel.id, error)
        return limits_of(session, channel)
    if isinstance(answer, dict):
        store(session, channel, answer)
        return limits_for(channel.network, answer)
    return limits_of(session, channel)
