"""Publishing speed: variants all due within the same minute, dispatched to mastodon_mock.

Goal (issue 10): 10,000 variants across 1,000 channels due in the same minute; lateness
after the due time (p50, p99) and posts/s, embedded (the loop in `serve`, SQLite) and with
Redis + 2 `townsquare worker` processes on PostgreSQL; p99 lateness under 30 s with Redis + 2
workers on this 2-core machine, and zero duplicates (counted on the server). Printed beside
a naive one-process loop (read what is due, post it, mark it; no claim, no lease, no parts).
Small by default (300 variants, 30 channels) so `make bench` stays quick; ``--full`` for the
issue's size. mastodon_mock runs in its own process.

    .venv/bin/python benchmarks/bench_publish.py [--full] [--variants N] [--channels M]
        [--parallel P] [--modes naive,embedded,workers]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_sync
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.networks.base import OutgoingPost
from townsquare.networks.connectors import connector_for
from townsquare.publish.models import PublishEvent, PublishPost, PublishVariant, VariantStatus
from townsquare.publish.worker import PublishWorker

GOAL_P99_SECONDS = 30.0
SPREAD_SECONDS = 60.0  # every variant is due within the same minute
POSTGRES_URL = os.environ.get(
    "TOWNSQUARE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TOWNSQUARE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def _start_mock(root: Path, channels: int) -> tuple[subprocess.Popen[bytes], str, Path]:
    database = root / "mock.db"
    config = root / "mock.toml"
    bench_sync.write_config(config, database, channels, statuses=False)
    process, url = bench_sync.start_mock(config)
    return process, url, database


def _prepare(database: Database, settings: Settings, url: str, channels: int) -> list[int]:
    ids = bench_sync.connect_channels(database, settings, url, channels)
    with database.session() as session:
        session.execute(sa.update(Channel).values(next_sync_at=None))  # no sync meanwhile
        session.commit()
    return ids


def _schedule(database: Database, channel_ids: list[int], variants: int, tag: str) -> datetime:
    """``variants`` single-part posts, due from a second from now over the next minute."""
    start = datetime.now(UTC) + timedelta(seconds=1)
    with database.session() as session:
        workspace_id = session.scalar(sa.select(Channel.workspace_id).limit(1))
        posts = [
            PublishPost(
                workspace_id=workspace_id,
                parts=[{"text": f"{tag} post {n}", "media": []}],
                status=VariantStatus.SCHEDULED.value,
            )
            for n in range(variants)
        ]
        session.add_all(posts)
        session.flush()
        session.add_all(
            PublishVariant(
                post_id=post.id,
                workspace_id=workspace_id,
                channel_id=channel_ids[n % len(channel_ids)],
                overrides={},
                status=VariantStatus.SCHEDULED.value,
                scheduled_at=start + timedelta(seconds=random.uniform(0, SPREAD_SECONDS)),
            )
            for n, post in enumerate(posts)
        )
        session.commit()
    return start


def _wait_published(database: Database, variants: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.session() as session:
            done = session.scalar(
                sa.select(sa.func.count())
                .select_from(PublishVariant)
                .where(PublishVariant.status.in_(("published", "failed")))
            )
        if done == variants:
            return
        time.sleep(0.5)


def _lateness(database: Database) -> list[float]:
    with database.session() as session:
        rows = session.execute(
            sa.select(PublishVariant.scheduled_at, PublishEvent.at)
            .join(PublishEvent, PublishEvent.variant_id == PublishVariant.id)
            .where(PublishEvent.action == "published")
        ).all()
    return [max(0.0, (at - due).total_seconds()) for due, at in rows if due and at]


def _server_counts(mock_db: Path, tag: str) -> tuple[int, int]:
    """(statuses on the server with the tag, how many of them are duplicates)."""
    with sqlite3.connect(mock_db) as db:
        total, unique = db.execute(
            "SELECT count(*), count(DISTINCT text) FROM statuses WHERE text LIKE ?", (f"{tag} %",)
        ).fetchone()
    return int(total), int(total) - int(unique)


def _naive(database: Database, settings: Settings, variants: int) -> list[float]:
    """One process, one variant at a time: read what is due, post it, mark it."""
    box = CredentialsBox(settings.resolved_credentials_key())
    late: list[float] = []
    while len(late) < variants:
        now = datetime.now(UTC)
        with database.session() as session:
            due = session.execute(
                sa.select(PublishVariant, PublishPost, Channel)
                .join(PublishPost, PublishPost.id == PublishVariant.post_id)
                .join(Channel, Channel.id == PublishVariant.channel_id)
                .where(
                    PublishVariant.status == VariantStatus.SCHEDULED.value,
                    PublishVariant.scheduled_at <= now,
                )
                .order_by(PublishVariant.scheduled_at)
            ).all()
            if not due:
                time.sleep(0.2)
                continue
            for variant, post, channel in due:
                credentials = box.open(channel.credentials_encrypted or b"")
                connector = connector_for("mastodon", credentials, settings)
                try:
                    connector.publish(  # type: ignore[attr-defined]
                        OutgoingPost(text=post.parts[0]["text"], idempotency_key=uuid.uuid4().hex)
                    )
                finally:
                    connector.close()
                variant.status = VariantStatus.PUBLISHED.value
                session.commit()
                assert variant.scheduled_at is not None
                late.append((datetime.now(UTC) - variant.scheduled_at).total_seconds())
    return late


def _report(name: str, late: list[float], seconds: float, counts: tuple[int, int]) -> None:
    late = sorted(late)
    p50 = statistics.median(late) if late else float("nan")
    p99 = late[min(len(late) - 1, int(len(late) * 0.99))] if late else float("nan")
    total, duplicates = counts
    print(
        f"{name:<34} lateness p50 {p50:6.1f} s  p99 {p99:6.1f} s  "
        f"{len(late) / seconds:6.1f} posts/s  on the server {total}, duplicates {duplicates}"
    )


def _run_mode(
    name: str,
    tag: str,
    make: Callable[[Path], tuple[Database, Settings]],
    run: Callable[[Database, Settings, int], list[float] | None],
    root: Path,
    url: str,
    mock_db: Path,
    variants: int,
    channels: int,
) -> float | None:
    database, settings = make(root / tag)
    ids = _prepare(database, settings, url, channels)
    start = _schedule(database, ids, variants, tag)
    began = time.monotonic()
    late = run(database, settings, variants)
    seconds = max(time.monotonic() - began, 1e-9)
    late = late if late is not None else _lateness(database)
    _report(name, late, seconds, _server_counts(mock_db, tag))
    database.dispose()
    del start
    late.sort()
    return late[min(len(late) - 1, int(len(late) * 0.99))] if late else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="10,000 variants, 1,000 channels")
    parser.add_argument("--variants", type=int)
    parser.add_argument("--channels", type=int)
    parser.add_argument("--parallel", type=int, default=8, help="dispatches at once per process")
    parser.add_argument("--modes", default="naive,embedded,workers")
    args = parser.parse_args()
    variants = args.variants or (10_000 if args.full else 300)
    channels = args.channels or (1_000 if args.full else 30)
    modes = args.modes.split(",")
    timeout = max(600.0, variants * 0.5)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"starting mastodon_mock with {channels} accounts …")
        mock, url, mock_db = _start_mock(root, channels)
        print(f"{variants} variants across {channels} channels due within the same minute")
        try:

            def sqlite_settings(path: Path) -> tuple[Database, Settings]:
                settings = Settings(
                    data_dir=path,
                    allow_private_urls=True,
                    publish_parallel=args.parallel,
                    _env_file=None,
                )
                return Database.from_settings(settings), settings

            if "naive" in modes:
                _run_mode(
                    "naive one-process loop",
                    "naive",
                    sqlite_settings,
                    _naive,
                    root,
                    url,
                    mock_db,
                    variants,
                    channels,
                )
            if "embedded" in modes:

                def embedded(database: Database, settings: Settings, count: int) -> None:
                    worker = PublishWorker(database, settings).start()
                    try:
                        _wait_published(database, count, timeout)
                    finally:
                        worker.stop()

                _run_mode(
                    "embedded (serve), SQLite",
                    "embedded",
                    sqlite_settings,
                    embedded,
                    root,
                    url,
                    mock_db,
                    variants,
                    channels,
                )
            if "workers" in modes:
                p99 = _run_workers(root, url, mock_db, variants, channels, args.parallel, timeout)
                verdict = "met" if p99 is not None and p99 < GOAL_P99_SECONDS else "MISSED"
                goal = f"p99 lateness < {GOAL_P99_SECONDS:.0f} s with Redis + 2 workers"
                print(f"goal: {goal} ({verdict})")
        finally:
            mock.terminate()
            mock.wait(timeout=20)


def _run_workers(
    root: Path, url: str, mock_db: Path, variants: int, channels: int, parallel: int, timeout: float
) -> float | None:
    """Redis + 2 `townsquare worker` processes on a fresh PostgreSQL database."""
    name = f"bench_publish_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    database_url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    data_dir = root / "workers"
    processes: list[subprocess.Popen[bytes]] = []
    try:

        def make(_path: Path) -> tuple[Database, Settings]:
            settings = Settings(
                data_dir=data_dir,
                database_url=database_url,
                allow_private_urls=True,
                _env_file=None,
            )
            return Database.from_settings(settings), settings

        def run(database: Database, settings: Settings, count: int) -> None:
            _wait_published(database, count, timeout)

        # The workers start first (seconds of imports on a loaded machine), then the posts.
        database, settings = make(data_dir)
        ids = _prepare(database, settings, url, channels)
        env = {
            **os.environ,
            "TOWNSQUARE_DATA_DIR": str(data_dir),
            "TOWNSQUARE_DATABASE_URL": database_url,
            "TOWNSQUARE_QUEUE_URL": REDIS_URL,
            "TOWNSQUARE_ALLOW_PRIVATE_URLS": "true",
            "TOWNSQUARE_PUBLISH_PARALLEL": str(parallel),
            "TOWNSQUARE_WORKER_THREADS": "1",
            "TOWNSQUARE_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        binary = str(Path(sys.executable).parent / "townsquare")
        logs = [(root / f"worker{n}.log") for n in range(2)]
        for log in logs:
            processes.append(
                subprocess.Popen(
                    [binary, "worker"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
                )
            )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not all(
            "consuming" in log.read_text() for log in logs
        ):
            time.sleep(0.5)
        name_ = "Redis + 2 workers, PostgreSQL"
        _schedule(database, ids, variants, "workers")
        began = time.monotonic()
        run(database, settings, variants)
        seconds = max(time.monotonic() - began, 1e-9)
        late = sorted(_lateness(database))
        _report(name_, late, seconds, _server_counts(mock_db, "workers"))
        database.dispose()
        return late[min(len(late) - 1, int(len(late) * 0.99))] if late else None
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    import signal

    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # A stopped run still stops its workers and drops its database (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
