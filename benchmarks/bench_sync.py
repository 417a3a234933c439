"""Sync speed: connected Mastodon channels synced from mastodon_mock into SQLite.

Goal (issue "Connected channels"): 200 channels × 400 posts; the incremental sync of all
200 with nothing new in under 10 s on this machine, and at most 2 requests per channel
when nothing changed. Printed beside a naive sequential sync that re-reads every page of
every channel each time. Small by default (5 × 40) so `make bench` stays quick;
``--full`` for the issue's sizes. mastodon_mock runs in its own process.

    .venv/bin/python benchmarks/bench_sync.py [--full] [--channels N] [--posts M]
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import requests

from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.sync import run_sync
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.networks.connectors import connector_for
from townsquare.workspaces import service as workspaces
from townsquare.workspaces.service import WorkspaceAccess

GOAL_SECONDS = 10.0
GOAL_REQUESTS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, database: Path, channels: int, *, statuses: bool = True) -> None:
    """mastodon_mock's configuration: accounts ``brand<n>`` (token ``token<n>``) and, with
    ``statuses``, one status each: mastodon_mock seeds a status at a time (a query and a
    flush for each), which takes minutes for 80,000; :func:`_fill` copies the rest."""
    lines = ["[database]", f'path = "{database}"', "", "[seed]"]
    for n in range(channels):
        lines += [
            "[[seed.accounts]]",
            f'username = "brand{n}"',
            f'access_token = "token{n}"',
        ]
    if statuses:
        for n in range(channels):
            lines += ["[[seed.statuses]]", f'account = "brand{n}"', 'text = "post 0"']
    path.write_text("\n".join(lines) + "\n")


def _fill(database: Path, posts: int) -> None:
    """Give every account ``posts`` statuses, copies of its seeded one with ids below it
    (mastodon_mock's ids are epoch milliseconds; the copies sort before, as older posts),
    written straight into mastodon_mock's SQLite file while it is stopped."""
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        seeded = [dict(row) for row in db.execute("SELECT * FROM statuses ORDER BY id")]
        if not seeded or posts <= 1:
            return
        columns = list(seeded[0])
        lowest = int(seeded[0]["id"])
        rows = []
        next_id = lowest - len(seeded) * posts
        for m in range(posts - 1, 0, -1):
            for status in seeded:
                copy = {**status, "id": next_id, "text": f"post {m}"}
                copy["content"] = f"<p>post {m}</p>"
                rows.append(tuple(copy[name] for name in columns))
                next_id += 1
        marks = ", ".join("?" for _ in columns)
        db.executemany(f"INSERT INTO statuses ({', '.join(columns)}) VALUES ({marks})", rows)


def start_mock(config: Path) -> tuple[subprocess.Popen[bytes], str]:
    """mastodon_mock serving ``config`` on a free loopback port, once it answers."""
    port = _free_port()
    executable = Path(sys.executable).parent / "mastodon_mock"
    command = [str(executable), "serve", "--port", str(port), "--config", str(config)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/instance", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("mastodon_mock did not start")


def connect_channels(
    database: Database, settings: Settings, url: str | list[str], channels: int
) -> list[int]:
    """A migrated database with workspace ``bench`` and one Mastodon channel per mock account
    (``@brand<m>@host``, not checked against the server); their ids. With several servers'
    URLs the channels go round them: channel n is account ``brand<n // K>`` on server n % K."""
    database.upgrade()
    box = CredentialsBox(settings.resolved_credentials_key())
    urls = [url] if isinstance(url, str) else url
    count = len(urls)
    with database.session() as session:
        owner = workspaces.create_user(session, email="b@bench.test", password="x" * 12)
        workspace = workspaces.create_workspace(session, "bench", name="B", owner=owner)
        access = WorkspaceAccess.operator(workspace)
        ids = []
        for n in range(channels):
            server = urls[n % count]
            channel, _ = connect.connect_channel(
                session,
                access,
                settings,
                box,
                network="mastodon",
                handle=f"@brand{n // count}@{server.split('://', 1)[1]}",
                credentials={"instance_url": server, "access_token": f"token{n // count}"},
                check=False,
            )
            ids.append(channel.id)
    return ids


class Waits:
    """The time requests spent waiting for mastodon_mock's answers (``Response.elapsed``:
    from sending the request to its headers), summed over every thread."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.by_kind: dict[str, float] = {}
        self.lock = threading.Lock()

    def hook(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        kind = "statuses" if "/statuses" in (response.url or "") else "account"
        with self.lock:
            self.seconds += response.elapsed.total_seconds()
            self.by_kind[kind] = self.by_kind.get(kind, 0.0) + response.elapsed.total_seconds()

    def split(self) -> str:
        return ", ".join(
            f"{kind} {seconds:.2f} s" for kind, seconds in sorted(self.by_kind.items())
        )


def _sync_all(
    database: Database,
    settings: Settings,
    ids: list[int],
    *,
    full: bool,
    threads: int,
    waits: Waits | None = None,
) -> tuple[float, int]:
    """Seconds and requests to sync every channel (``full``: walk every page)."""
    box = CredentialsBox(settings.resolved_credentials_key())

    def one(channel_id: int) -> int:
        with database.session() as session:
            channel = session.get(Channel, channel_id)
            assert channel is not None
            credentials = box.open(channel.credentials_encrypted or b"")
            connector = connector_for("mastodon", credentials, settings)
            if waits is not None:
                connector.session.hooks["response"].append(waits.hook)  # type: ignore[attr-defined]
            try:
                run_sync(session, channel, connector, full=full)
            finally:
                connector.close()
            return connector.rate_limit.requests

    started = time.perf_counter()
    if threads == 1:
        requests = sum(one(i) for i in ids)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            requests = sum(pool.map(one, ids))
    return time.perf_counter() - started, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="200 channels × 400 posts")
    parser.add_argument("--channels", type=int)
    parser.add_argument("--posts", type=int)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--profile", action="store_true", help="profile the incremental sync (sequential)"
    )
    parser.add_argument(
        "--skip-naive", action="store_true", help="leave out the naive re-read (minutes)"
    )
    args = parser.parse_args()
    channels = args.channels or (200 if args.full else 5)
    posts = args.posts or (400 if args.full else 40)  # small: `make bench` under a minute

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = root / "mock.toml"
        write_config(config, root / "mock.db", channels)
        print(f"starting mastodon_mock with {channels} accounts × {posts} statuses …")
        process, url = start_mock(config)  # creates its tables and seeds the accounts
        process.terminate()
        process.wait(timeout=20)
        _fill(root / "mock.db", posts)
        process, url = start_mock(config)
        try:
            settings = Settings(
                data_dir=root / "data",
                allow_private_urls=True,
                _env_file=None,
            )
            database = Database.from_settings(settings)
            ids = connect_channels(database, settings, url, channels)

            first, first_requests = _sync_all(database, settings, ids, full=False, threads=1)
            print(
                f"first full sync      {channels} channels × {posts} posts: {first:7.2f} s, "
                f"{first_requests} requests (sequential)"
            )
            if not args.skip_naive:
                naive, naive_requests = _sync_all(database, settings, ids, full=True, threads=1)
                print(
                    f"naive re-read        sequential, every page:    {naive:7.2f} s, "
                    f"{naive_requests / channels:5.1f} requests per channel"
                )
            # Sequential, the time splits cleanly: waiting for the mock, and the rest (ours).
            waits = Waits()
            alone, _ = _sync_all(database, settings, ids, full=False, threads=1, waits=waits)
            print(
                f"incremental, nothing new (sequential):         {alone:7.2f} s: "
                f"{waits.seconds:.2f} s waiting for mastodon_mock ({waits.split()}), "
                f"{alone - waits.seconds:.2f} s townsquare's own "
                f"({(alone - waits.seconds) / channels * 1000:.0f} ms per channel)"
            )
            if args.profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(_sync_all, database, settings, ids, full=False, threads=1)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            cpu = time.process_time()
            incremental, requests = _sync_all(
                database, settings, ids, full=False, threads=args.threads
            )
            cpu = time.process_time() - cpu
            per_channel = requests / channels
            print(
                f"incremental, nothing new ({args.threads} threads):       {incremental:7.2f} s, "
                f"{per_channel:5.1f} requests per channel"
            )
            # mastodon_mock is another process: this is townsquare's own share of the time.
            print(
                f"  townsquare's CPU: {cpu:.2f} s ({cpu / channels * 1000:.0f} ms per channel); "
                f"the rest is mastodon_mock answering"
            )
            scale = 200 / channels
            print(
                f"goal: 200 channels < {GOAL_SECONDS:.0f} s (here ≈ {incremental * scale:.2f} s "
                f"scaled to 200), ≤ {GOAL_REQUESTS} requests per channel "
                f"({'met' if per_channel <= GOAL_REQUESTS else 'MISSED'})"
            )
            database.dispose()
        finally:
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
