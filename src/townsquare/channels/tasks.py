"""Periodic sync of connected channels (Huey; embedded SQLite queue and Redis alike).

Every minute :func:`schedule_channel_syncs` claims the channels whose ``next_sync_at`` has
come (moving it to their next slot in the same UPDATE, so two schedulers never enqueue a
channel twice) and enqueues one :func:`sync_channel_task` per channel. Each channel's slots
are offset by its id (see ``sync.next_sync_after``), so 1,000 channels are spread over the
interval instead of firing in the same second; the sync lease keeps one sync at a time
per channel even if a slow one overlaps its next slot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from huey import crontab
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare.channels.connect import sync_loaded_channel
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.sync import next_sync_after
from townsquare.db.base import utcnow
from townsquare.errors import TownsquareError
from townsquare.jobs.queue import huey, task_database, task_settings
from townsquare.networks.connectors import CONNECTED_NETWORKS

logger = logging.getLogger(__name__)


def claim_due_channels(session: Session, now: datetime, limit: int = 1000) -> list[int]:
    """Ids of the connected channels due at ``now``, their next slot already set."""
    due = session.scalars(
        select(Channel)
        .where(
            Channel.next_sync_at <= now,
            Channel.status == "active",
            Channel.credentials_encrypted.is_not(None),
            Channel.network.in_(CONNECTED_NETWORKS),
        )
        .order_by(Channel.next_sync_at)
        .limit(limit)
    ).all()
    claimed: list[int] = []
    for channel in due:
        # Conditional on the value read: a second scheduler that read it too claims nothing.
        result = session.execute(
            update(Channel)
            .where(Channel.id == channel.id, Channel.next_sync_at == channel.next_sync_at)
            .values(next_sync_at=next_sync_after(channel, now))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(channel.id)
    session.commit()
    return claimed


def schedule_due(now: datetime, enqueue: Callable[[int], object]) -> list[int]:
    with task_database().session() as session:
        claimed = claim_due_channels(session, now)
    for channel_id in claimed:
        enqueue(channel_id)
    return claimed


def sync_channel_now(
    channel_id: int, full: bool = False, reservation: datetime | None = None
) -> dict[str, object] | None:
    """Sync one channel (the worker's side); failures are recorded on the channel.
    ``reservation``: the hold a "Sync now" took when it queued this task."""
    settings = task_settings()
    box = CredentialsBox(settings.resolved_credentials_key())
    with task_database().session() as session:
        channel = session.get(Channel, channel_id)
        if channel is None or channel.credentials_encrypted is None:
            return None
        try:
            return sync_loaded_channel(
                session, channel, settings, box, full=full, reservation=reservation
            ).as_json()
        except TownsquareError as error:
            logger.info("sync of channel %s: %s", channel_id, error.message)
            return None


@huey.task(name="sync_channel")
def sync_channel_task(
    channel_id: int, full: bool = False, reservation: datetime | None = None
) -> dict[str, object] | None:
    return sync_channel_now(channel_id, full, reservation)


def enqueue_sync(channel_id: int, full: bool, reservation: datetime) -> object:
    """Queue a "Sync now" (see ``connect.queue_sync``)."""
    return sync_channel_task(channel_id, full, reservation)


@huey.periodic_task(crontab(minute="*"), name="schedule_channel_syncs")
def schedule_channel_syncs() -> int:
    return len(schedule_due(utcnow(), sync_channel_task))
