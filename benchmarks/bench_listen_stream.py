"""Listen's hashtag streaming: how soon a posted status is a stored mention.

    python benchmarks/bench_listen_stream.py                 # 100 statuses, SQLite
    python benchmarks/bench_listen_stream.py --full          # 1,000
    python benchmarks/bench_listen_stream.py --statuses 300 --postgres

1. Starts mastodon_mock in its own process (its SSE streaming on, a 1 s heartbeat).
2. Migrates a database (SQLite in a temporary directory, or a fresh PostgreSQL database with
   ``--postgres``), adds a workspace with a brand watch, a connected Mastodon channel and a
   ``mastodon-tag`` source, and starts a :class:`~townsquare.listening.streaming.StreamListener`.
3. Posts ``--statuses`` statuses with the hashtag, ``--pause`` seconds apart; a status's
   latency is the time from the instance's answer to the POST to its mention's
   ``created_at`` (after language, sentiment and watches; the instant alerts are checked
   after each).

Prints the median, 95th percentile and largest latency, and this process's CPU time per
status (the listener's ingestion and the posting client; the instance runs elsewhere),
with the load average (the database is read only at the end). With polling the same
status waits half a polling interval on average (7.5 minutes at the default 15).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TOKEN = "bench-token-brand"  # noqa: S105 - the seeded account of the local mock


def _serve_mock(queue: Any) -> None:
    from mastodon_mock.config import (
        DatabaseConfig,
        MastodonMockConfig,
        SeedAccount,
        SeedConfig,
        StreamingConfig,
    )
    from mastodon_mock.testing import MockServer

    config = MastodonMockConfig(
        database=DatabaseConfig(path=":memory:"),
        seed=SeedConfig(
            accounts=[SeedAccount(username="brand", display_name="Brand", access_token=TOKEN)]
        ),
        streaming=StreamingConfig(heartbeat_seconds=1.0),
    )
    with MockServer(config=config) as mock:
        queue.put(mock.base_url)
        while True:
            time.sleep(3600)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--statuses", type=int, default=100)
    parser.add_argument("--full", action="store_true", help="1,000 statuses")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between posts")
    options = parser.parse_args()
    if options.full:
        options.statuses = 1000

    queue: Any = multiprocessing.get_context("spawn").Queue()
    mock = multiprocessing.get_context("spawn").Process(target=_serve_mock, args=(queue,))
    mock.start()
    try:
        instance = queue.get(timeout=60)
        with tempfile.TemporaryDirectory() as root:
            run(Path(root), instance, options.statuses, options.postgres, options.pause)
    finally:
        mock.terminate()
        mock.join()


def run(root: Path, instance: str, count: int, postgres: bool, pause: float) -> None:
    url = None
    admin = os.environ.get(
        "TOWNSQUARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"bench_stream_{uuid.uuid4().hex[:8]}"
    if postgres:
        _admin_sql(admin, f'CREATE DATABASE "{name}"')
        url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        _measure(root, instance, count, pause, url)
    finally:
        if postgres:
            _admin_sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_sql(admin_url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def _measure(root: Path, instance: str, count: int, pause: float, url: str | None) -> None:
    import httpx
    from sqlalchemy import select

    from townsquare.channels import connect
    from townsquare.channels.crypto import CredentialsBox
    from townsquare.config import Settings
    from townsquare.db import Database
    from townsquare.listening import service, sources, streaming
    from townsquare.listening.models import Mention
    from townsquare.workspaces import service as workspaces
    from townsquare.workspaces.access import WorkspaceAccess

    settings = Settings(
        data_dir=root / "data", allow_private_urls=True, database_url=url, _env_file=None
    )
    database = Database.from_settings(settings)
    database.upgrade()
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        workspace = workspaces.create_workspace(session, "bench", name="B")
        access = WorkspaceAccess.operator(workspace)
        service.create_watch(session, access, name="Acme", query="#acme", kind="brand")
        channel, _account = connect.connect_channel(
            session, access, settings, box, network="mastodon",
            handle=f"@brand@{instance.split('://', 1)[1]}",
            credentials={"instance_url": instance, "access_token": TOKEN},
        )  # fmt: skip
        sources.add_source(
            session, access, settings, type="mastodon-tag", target="acme", channel_id=channel.id
        )
    listener = streaming.StreamListener(database, settings, scan_seconds=0.5)
    listener.start()
    deadline = time.monotonic() + 30
    while not any(s.connected.is_set() for s in list(listener.streams.values())):
        if time.monotonic() > deadline:
            raise SystemExit("the listener did not connect within 30 s")
        time.sleep(0.05)

    posted: dict[str, datetime] = {}
    client = httpx.Client(base_url=instance, headers={"Authorization": f"Bearer {TOKEN}"})
    # A first status loads what ingestion loads once (language model, lexicons, the index).
    client.post("/api/v1/statuses", data={"status": "warming up #acme"}).raise_for_status()
    while True:
        with database.session() as session:
            if session.scalar(select(Mention.id)) is not None:
                break
        time.sleep(0.05)
    cpu = _cpu()
    try:
        for number in range(count):
            status = f"le manteau {number} est chaud #acme"
            client.post("/api/v1/statuses", data={"status": status}).raise_for_status()
            posted[status] = datetime.now(UTC)
            time.sleep(pause)
        deadline = time.monotonic() + 60
        while True:
            with database.session() as session:
                stored = dict(session.execute(select(Mention.text, Mention.created_at)).all())
            if len(stored) >= count + 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        cpu = _cpu() - cpu
    finally:
        client.close()
        listener.stop()
        database.dispose()
    if len(stored) < count + 1:
        raise SystemExit(f"{count + 1 - len(stored)} statuses were not stored within a minute")
    latencies = [(stored[status] - moment).total_seconds() for status, moment in posted.items()]
    slowest = sorted(range(count), key=lambda n: -latencies[n])[:5]
    ordered = sorted(latencies)
    load = os.getloadavg()
    print(f"statuses streamed: {count} ({'PostgreSQL' if url else 'SQLite'})")
    print(
        f"latency post → mention: median {statistics.median(ordered) * 1000:.0f} ms, "
        f"p95 {ordered[int(len(ordered) * 0.95) - 1] * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms"
    )
    print("slowest: " + ", ".join(f"#{n} {latencies[n] * 1000:.0f} ms" for n in slowest))
    print(f"CPU of this process: {cpu / count * 1000:.1f} ms per status ({cpu:.2f} s in all)")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
