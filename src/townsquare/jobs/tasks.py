"""House-keeping tasks of the house itself."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from townsquare.jobs.queue import huey, task_database, task_settings
from townsquare.workspaces import sessions

logger = logging.getLogger(__name__)


def prune_expired_sessions_now() -> int:
    """Delete expired browser sessions, old attempt counters and abandoned import uploads;
    returns how many."""
    settings = task_settings()
    policy = sessions.LoginPolicy(
        max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
        session_lifetime=timedelta(days=settings.session_days),
    )
    with task_database().session() as session:
        deleted = sessions.prune(session, policy=policy)
    logger.info("pruned %d expired sessions and login attempts", deleted)
    # Uploads abandoned in the import wizard (a workspace nobody imports into again would
    # otherwise keep them for ever).
    from townsquare.analytics import uploads

    abandoned = uploads.prune_abandoned(settings)
    if abandoned:
        logger.info("pruned %d abandoned import uploads", abandoned)
    return deleted + abandoned


def prune_due(moment: datetime) -> bool:
    """Huey asks this every minute; the interval comes from settings, read when it asks.

    (A crontab fixed at import time could not follow TOWNSQUARE_PRUNE_INTERVAL_MINUTES.)
    """
    return moment.minute % task_settings().prune_interval_minutes == 0


@huey.periodic_task(prune_due, name="prune_expired_sessions")
def prune_expired_sessions() -> int:
    return prune_expired_sessions_now()


@huey.task(name="prune_expired_sessions_once")
def prune_expired_sessions_once() -> int:
    """The same work on demand (used by `townsquare worker --once`-style checks and tests)."""
    return prune_expired_sessions_now()
