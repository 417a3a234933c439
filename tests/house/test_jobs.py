"""Jobs: the periodic prune task really runs, in both deployments of the issue.

- Embedded: ``townsquare serve`` consumes the SQLite queue in the data directory with
  threads of its own process.
- Scale-out: ``TOWNSQUARE_QUEUE_URL=redis://…`` and a separate ``townsquare worker``.

``TOWNSQUARE_PRUNE_INTERVAL_MINUTES=1`` makes the prune due every minute, and Huey checks
periodic tasks as soon as a consumer starts, so the test sees it run within seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from huey.storage import MemoryStorage

from tests.conftest import XDIST_WORKER, free_port, make_settings
from tests.house.test_cli_serve import healthy, running, townsquare_env, wait_for
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.jobs.queue import configure
from townsquare.jobs.tasks import prune_expired_sessions_once
from townsquare.workspaces import service, sessions
from townsquare.workspaces.models import RateLimit, WebSession

# A Redis database number of its own: the tests flush it, and only it.
JOBS_REDIS_DB = 12 - XDIST_WORKER  # 12 for xdist worker gw0, 11 for gw1 (REDIS_URL: 15, 14)
# A failed-login counter whose window ended a day ago (the live ones of the login stay).
STALE_KEY = "login:email:stale"


def _seed_stale_rows(database: Database) -> str:
    """An expired session, a stale attempt counter, and a live session that must survive."""
    with database.session() as session:
        user = service.create_user(session, email="jobs@acme.test", password="a long password")
        _user, live_key = sessions.login(
            session,
            email="jobs@acme.test",
            password="a long password",
            client="c",
            policy=sessions.LoginPolicy(),
        )
        now = utcnow()
        session.add(
            WebSession(
                key_hash="0" * 64,
                user_id=user.id,
                expires_at=now - timedelta(hours=1),
                last_seen_at=now - timedelta(days=2),
            )
        )
        session.add(
            RateLimit(key=STALE_KEY, hits=3, expires_at=(now - timedelta(days=1)).timestamp())
        )
        session.commit()
    return live_key


def _counts(database: Database) -> tuple[int, int]:
    with database.session() as session:
        return (
            int(session.scalar(sa.select(sa.func.count()).select_from(WebSession)) or 0),
            int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(RateLimit)
                    .where(RateLimit.key == STALE_KEY)
                )
                or 0
            ),
        )


def _pruned(database: Database) -> bool:
    return _counts(database) == (1, 0)


def test_serve_runs_the_periodic_prune_on_the_embedded_sqlite_queue(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database = Database.from_settings(make_settings(data_dir))
    database.upgrade()
    live_key = _seed_stale_rows(database)
    assert _counts(database) == (2, 1)
    port = free_port()
    log = tmp_path / "serve.log"
    env = townsquare_env(data_dir, TOWNSQUARE_PRUNE_INTERVAL_MINUTES="1")
    with running(["serve", "--port", str(port)], env, log):
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), "serve to answer", log)
        wait_for(lambda: _pruned(database), "the embedded consumer to prune", log)
    assert (data_dir / "queue.db").exists()  # the embedded queue lives in the data directory
    with database.session() as session:
        assert sessions.user_for_session(session, live_key) is not None
    database.dispose()


@pytest.fixture
def jobs_redis_url(redis_url: str) -> Iterator[str]:
    """A Redis database of these tests alone, empty before and after."""
    import redis

    url = redis_url.rsplit("/", 1)[0] + f"/{JOBS_REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.mark.redis
def test_worker_process_runs_the_periodic_prune_and_queued_tasks_through_redis(
    tmp_path: Path, database: Database, data_dir: Path, jobs_redis_url: str
) -> None:
    live_key = _seed_stale_rows(database)
    log = tmp_path / "worker.log"
    env = townsquare_env(
        data_dir,
        database.url,
        TOWNSQUARE_QUEUE_URL=jobs_redis_url,
        TOWNSQUARE_PRUNE_INTERVAL_MINUTES="1",
    )
    with running(["worker", "--threads", "1"], env, log):
        wait_for(lambda: _pruned(database), "the worker to prune", log)
        # Work enqueued by another process (here the test, as the web app would) is done
        # by the worker, and its answer comes back through Redis.
        huey = configure(make_settings(data_dir, database.url, queue_url=jobs_redis_url), database)
        try:
            assert prune_expired_sessions_once().get(blocking=True, timeout=90) == 0
        finally:
            # Leave this process's queue as the tests found it (in memory, not Redis).
            huey.storage = MemoryStorage("townsquare")
    with database.session() as session:
        assert sessions.user_for_session(session, live_key) is not None
    # The queue was Redis, not a SQLite file in the data directory.
    assert not (data_dir / "queue.db").exists()


def test_worker_never_prints_the_queue_password() -> None:
    from townsquare.cli.common import redact_url

    assert redact_url("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redact_url("rediss://app:s3cret@cache/2") == "rediss://app:***@cache/2"
    assert redact_url("redis://127.0.0.1:6379/12") == "redis://127.0.0.1:6379/12"
