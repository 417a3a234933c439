"""Sync of a connected channel: its posts and counters into Measure, its followers daily.

- The first sync (or ``full=True``) walks back over the whole history the network gives;
  later ones read the newest page (the counters of recent posts move, old ones rarely)
  and go further only while new posts keep appearing. Nothing changed: one request on
  Mastodon (the newest page: every status carries the account, followers included, so the
  account seen before is not asked for again), two on Bluesky (the profile, one page).
- Each page is written and committed on its own, through Measure's writer: a post is found
  again by (channel, external id), a snapshot is appended only when a counter changed. A
  sync killed halfway and run again therefore writes no duplicate post or snapshot.
- One sync at a time per channel, whoever runs it (CLI, API, worker): a lease on the
  channel row (``sync_locked_until``), taken by a conditional UPDATE that only one process
  can win, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from townsquare.analytics.importers.records import PostRecord
from townsquare.analytics.importers.writer import PostWriter, existing_posts
from townsquare.analytics.models import METRIC_COLUMNS, Post
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.db.base import utcnow
from townsquare.errors import AuthenticationError, Conflict, TownsquareError
from townsquare.networks.base import Account, Connector, PostPage, RemotePost

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=20)  # a sync that died without releasing frees the channel then
MAX_PAGES = 10_000  # a safety net against a server that pages forever


@dataclass
class SyncReport:
    """What a sync did; ``as_json`` is the CLI/API contract."""

    posts_fetched: int = 0
    posts_new: int = 0
    snapshots_written: int = 0
    followers: int | None = None
    pages: int = 0
    full: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "posts_fetched": self.posts_fetched,
            "posts_new": self.posts_new,
            "snapshots_written": self.snapshots_written,
            "followers": self.followers,
        }


Progress = Callable[[SyncReport], None]


def to_record(
    post: RemotePost, zone: ZoneInfo, taken_at: datetime, followers: int | None = None
) -> PostRecord:
    """A network's post as Measure's writer takes it (local weekday/hour in the channel's
    time zone, counters in METRIC_COLUMNS order, followers when it was first seen)."""
    local = post.published_at.astimezone(zone)
    return PostRecord(
        line=0,
        external_id=post.external_id,
        format=post.format,
        published_at=post.published_at,
        published_precision="second",
        local_weekday=local.isoweekday(),
        local_hour=local.hour,
        permalink=post.permalink,
        text=post.text,
        link_url=post.link_url,
        local_date=local.date(),
        followers_at_publish=followers,
        metrics=tuple(post.metrics.get(name) for name in METRIC_COLUMNS),
        extra=post.extra,
        taken_at=taken_at,
    )


def acquire_lease(
    session: Session,
    channel: Channel,
    now: datetime,
    *,
    reservation: datetime | None = None,
    until: datetime | None = None,
) -> None:
    """Take the channel's sync lease or raise Conflict when another sync holds it.

    ``reservation``: the lease :func:`reserve` took when it queued this sync, handed over
    to the task that runs it (a second click finds the channel held, not free).
    """
    free = or_(Channel.sync_locked_until.is_(None), Channel.sync_locked_until < now)
    if reservation is not None:
        free = or_(free, Channel.sync_locked_until == reservation)
    result = session.execute(
        update(Channel)
        .where(Channel.id == channel.id, free)
        .values(sync_locked_until=until or now + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "a sync of channel %(handle)s is already running: wait for it to finish "
            "(or, if its process died, for the lease to expire within 20 minutes)",
            params={"handle": channel.handle},
            field="channel",
        )
    session.refresh(channel)


def release_lease(session: Session, channel: Channel) -> None:
    channel.sync_locked_until = None
    session.commit()


def reserve(session: Session, channel: Channel, now: datetime, *, full: bool) -> datetime:
    """Hold the channel for a sync about to be queued; returns the reservation that the
    task hands to :func:`run_sync`. Conflict when a sync is queued or running already.

    Whole seconds, so that the value read back compares equal on SQLite and PostgreSQL.
    """
    reservation = (now + LEASE).replace(microsecond=0)
    acquire_lease(session, channel, now, until=reservation)
    channel.sync_progress = {
        "running": True,
        "queued": True,
        "posts": 0,
        "pages": 0,
        "full": full or not channel.history_complete,
    }
    session.commit()
    return reservation


def cancel_reservation(session: Session, channel: Channel) -> None:
    """The queue refused the task: free the channel again."""
    session.rollback()
    session.refresh(channel)
    channel.sync_locked_until = None
    if channel.sync_progress:
        channel.sync_progress = {**channel.sync_progress, "running": False, "queued": False}
    session.commit()


def next_sync_after(channel: Channel, moment: datetime) -> datetime:
    """The channel's next slot after ``moment``: every ``sync_interval_minutes``, at an
    offset of its own so that many channels do not all fire in the same second."""
    period = timedelta(minutes=max(1, channel.sync_interval_minutes))
    offset = timedelta(seconds=(channel.id * 7919) % int(period.total_seconds()))
    epoch = datetime(2020, 1, 1, tzinfo=moment.tzinfo) + offset
    slots = (moment - epoch) // period + 1
    return epoch + slots * period


def run_sync(
    session: Session,
    channel: Channel,
    connector: Connector,
    *,
    full: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
    box: CredentialsBox | None = None,
    reservation: datetime | None = None,
) -> SyncReport:
    """Sync ``channel`` through ``connector`` (the caller checked workspace and role).

    Records the outcome on the channel (last sync, next sync, last error, rate-limit
    state); a refused token marks it ``needs_reconnection`` and re-raises, so the caller
    can tell the owners. ``reservation``: see :func:`reserve`.
    """
    started = now or utcnow()
    acquire_lease(session, channel, started, reservation=reservation)
    report = SyncReport(full=full or not channel.history_complete)
    channel.sync_progress = {"running": True, "posts": 0, "pages": 0, "full": report.full}
    session.commit()
    try:
        _sync_pages(session, channel, connector, report, started, progress, box)
    except TownsquareError as error:
        session.rollback()
        _record_failure(session, channel, connector, error, started)
        raise
    except Exception:
        session.rollback()
        release_lease(session, channel)
        raise
    channel.last_sync_at = started
    channel.next_sync_at = next_sync_after(channel, started)
    channel.last_error = None
    channel.last_error_at = None
    channel.rate_limit = connector.rate_limit.as_json()
    channel.sync_progress = {
        "running": False,
        "posts": report.posts_fetched,
        "pages": report.pages,
        "full": report.full,
    }
    if report.full:
        channel.history_complete = True
    release_lease(session, channel)
    return report


def _sync_pages(
    session: Session,
    channel: Channel,
    connector: Connector,
    report: SyncReport,
    started: datetime,
    progress: Progress | None,
    box: CredentialsBox | None,
) -> None:
    # An incremental sync of an account seen before starts with the newest page: when the
    # network sends the account with it (Mastodon), that is the whole sync in one request.
    first: PostPage | None = None
    account: Account | None = None
    if not report.full and channel.account_id:
        first = connector.fetch_posts(None, account_id=channel.account_id)
        account = first.account
    if account is None:
        account = connector.check()
    report.followers = account.followers
    zone = ZoneInfo(channel.timezone)
    channel.followers = account.followers
    channel.display_name = channel.display_name or account.display_name
    channel.avatar_url = account.avatar_url
    channel.account_id = account.external_id
    known = existing_posts(session, channel.id)

    def writer() -> PostWriter:
        # One per page: each page is its own transaction, and the writer's connection
        # goes back to the pool at every commit.
        return PostWriter(
            session,
            workspace_id=channel.workspace_id,
            channel_id=channel.id,
            default_taken_at=started,
            known=known,
        )

    if account.followers is not None:
        writer().write_channel_snapshots({started.astimezone(zone).date(): account.followers})
    cursor: str | None = None
    while report.pages < MAX_PAGES:
        page, first = (first, None) if first is not None else (connector.fetch_posts(cursor), None)
        report.pages += 1
        new = [p for p in page.posts if p.external_id not in known]
        if page.posts:
            # Followers at publication: the count when townsquare first saw the post (the
            # networks give no history of it), kept as it was at later syncs.
            kept = _followers_of(session, channel.id, [p.external_id for p in page.posts])
            records = [
                to_record(
                    p,
                    zone,
                    started,
                    kept.get(p.external_id, account.followers),
                )
                for p in page.posts
            ]
            page_writer = writer()
            try:
                page_writer.write(records)
            finally:
                page_writer.close()
            report.snapshots_written += page_writer.snapshots_written
            if page_writer.inserted:
                known.update(_ids_of(session, channel.id, page_writer.inserted))
        report.posts_fetched += len(page.posts)
        report.posts_new += len(new)
        channel.sync_progress = {
            "running": True,
            "posts": report.posts_fetched,
            "pages": report.pages,
            "full": report.full,
        }
        session.commit()  # each page stands on its own: a killed sync keeps its work
        if progress is not None:
            progress(report)
        cursor = page.cursor
        if cursor is None or (not report.full and not new):
            break
    refreshed = connector.updated_credentials()
    if refreshed is not None and box is not None:  # e.g. a Bluesky session refreshed
        channel.credentials_encrypted = box.seal(refreshed)
        session.commit()


def _followers_of(
    session: Session, channel_id: int, external_ids: list[str]
) -> dict[str, int | None]:
    rows = session.execute(
        select(Post.external_id, Post.followers_at_publish).where(
            Post.channel_id == channel_id, Post.external_id.in_(external_ids)
        )
    )
    return {row[0]: row[1] for row in rows}


def _ids_of(session: Session, channel_id: int, external_ids: set[str]) -> dict[str, int]:
    rows = session.execute(
        select(Post.external_id, Post.id).where(
            Post.channel_id == channel_id, Post.external_id.in_(list(external_ids))
        )
    )
    return {row[0]: row[1] for row in rows}


def _record_failure(
    session: Session,
    channel: Channel,
    connector: Connector,
    error: TownsquareError,
    started: datetime,
) -> None:
    session.refresh(channel)
    channel.last_error = error.message
    channel.last_error_at = started
    channel.rate_limit = connector.rate_limit.as_json()
    channel.next_sync_at = next_sync_after(channel, started)
    if channel.sync_progress:
        channel.sync_progress = {**channel.sync_progress, "running": False}
    if isinstance(error, AuthenticationError):
        channel.status = "needs_reconnection"
        channel.status_reason = error.message
    channel.sync_locked_until = None
    session.commit()
    logger.warning("sync of channel %s failed: %s", channel.id, error.message)
