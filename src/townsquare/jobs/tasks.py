"""House-keeping tasks of the house itself."""

from __future__ import annotations

import logging

from huey import crontab

from townsquare.jobs.queue import huey, task_database
from townsquare.workspaces import sessions

logger = logging.getLogger(__name__)


def prune_expired_sessions_now() -> int:
    """Delete expired browser sessions and old failed-login records; returns rows deleted."""
    with task_database().session() as session:
        deleted = sessions.prune(session, policy=sessions.LoginPolicy())
    logger.info("pruned %d expired sessions and login attempts", deleted)
    return deleted


@huey.periodic_task(crontab(minute="*/30"), name="prune_expired_sessions")
def prune_expired_sessions() -> int:
    return prune_expired_sessions_now()


@huey.task(name="prune_expired_sessions_once")
def prune_expired_sessions_once() -> int:
    """The same work on demand (used by `townsquare worker --once`-style checks and tests)."""
    return prune_expired_sessions_now()
