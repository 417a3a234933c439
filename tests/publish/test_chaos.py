"""Chaos (issue 10, "Proof"): scheduled posts on Mastodon and Bluesky channels, all due at
once, dispatched by two `townsquare worker` processes and `townsquare publish due` runs
while a loop SIGKILLs one of them every 0.5 s; then one clean pass. Every variant must end
``published`` and each part must be on its server exactly once, threads in order.

Answers to creating a post are held by a loopback proxy (the post is made at once, its
answer comes 0.2 s later), so that a kill lands mid-call: after the network acted, before
the dispatcher knew. The victim is one of the processes holding a lease at that moment (a
process still starting, 3 to 10 s on a loaded 2-core machine, has nothing to lose yet; a
tick when nobody holds one kills nobody).

The processes are forked from one that imported the `townsquare` command once
(``chaos_zygote.py``), each running its real entry point (``worker``, ``publish due
--json``): started the usual way, each would spend 3 to 70 s importing on this shared
machine before doing anything, and the kills would only ever hit processes starting.

Sizes follow the issue (200 posts, 20 channels, 30 s of kills); ``TOWNSQUARE_CHAOS_POSTS``,
``TOWNSQUARE_CHAOS_CHANNELS`` and ``TOWNSQUARE_CHAOS_SECONDS`` make it smaller or larger.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import REDIS_URL, Seed, make_settings
from tests.networks_servers import BlueskyNetwork, MastodonServer, mastodon_seed
from tests.publish import factory
from tests.publish.lossy_proxy import lossy_proxy
from townsquare.channels.models import Channel
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.publish.models import PublishPart, PublishVariant, VariantStatus
from townsquare.publish.worker import dispatch_due

POSTS = int(os.environ.get("TOWNSQUARE_CHAOS_POSTS", "200"))
CHANNELS = int(os.environ.get("TOWNSQUARE_CHAOS_CHANNELS", "20"))
SECONDS = float(os.environ.get("TOWNSQUARE_CHAOS_SECONDS", "30"))
KILL_EVERY = 0.5
LEASE, SETTLE = 3, 3.0
THREAD_EVERY = 5  # every fifth post is a thread of three parts

pytestmark = [
    pytest.mark.chaos,
    # A killed dispatcher resets its connection to the proxy in the middle of a request.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]


@pytest.fixture
def mastodon_many() -> Iterator[MastodonServer]:
    from mastodon_mock.testing import MockServer

    tokens = {f"brand{n}": f"token{n}" for n in range(CHANNELS // 2)}
    with MockServer(seed=mastodon_seed(tokens)) as mock:
        yield MastodonServer(url=mock.base_url, tokens=tokens)


def _texts(index: int) -> list[str]:
    count = 3 if index % THREAD_EVERY == 0 else 1
    return [f"chaos {index} part {k + 1}/{count}" for k in range(count)]


class Fleet:
    """The dispatcher processes: two workers and two `publish due` loops, each restarted
    when it ends (killed, or done), forked from ``chaos_zygote.py``."""

    NAMES = ("worker-a", "worker-b", "due-a", "due-b")

    def __init__(self, env: dict[str, str], log: Path) -> None:
        zygote = Path(__file__).with_name("chaos_zygote.py")
        self.zygote = subprocess.Popen(
            [sys.executable, str(zygote), str(log)],
            env={**env, "PYTHONPATH": str(Path(__file__).parents[2])},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pids: dict[str, int] = {}
        self.kills = self.idle_ticks = self.spawned = 0

    def _ask(self, line: str) -> str:
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write(line + "\n")
        self.zygote.stdin.flush()
        answer = self.zygote.stdout.readline()
        assert answer, "the zygote ended"
        return answer

    def keep_running(self) -> None:
        live = set(json.loads(self._ask("live")))
        for name in self.NAMES:
            if self.pids.get(name) not in live:
                command = "worker" if name.startswith("worker") else "publish due --json"
                self.pids[name] = int(self._ask(f"spawn {command}"))
                self.spawned += 1

    def kill_one(self, holders: set[int]) -> None:
        busy = [pid for pid in self.pids.values() if pid in holders]
        if not busy:
            self.idle_ticks += 1
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(random.choice(busy), signal.SIGKILL)
            self.kills += 1

    def stop(self) -> None:
        for pid in self.pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._ask("live")  # reaps them
        assert self.zygote.stdin is not None
        self.zygote.stdin.close()
        self.zygote.wait(timeout=30)


def _lease_holders(database: Database) -> set[int]:
    with database.session() as session:
        owners = session.scalars(
            sa.select(PublishVariant.lease_owner).where(
                PublishVariant.status == VariantStatus.PUBLISHING.value,
                PublishVariant.lease_until > utcnow(),
            )
        ).all()
    pids = set()
    for owner in owners:
        parts = (owner or "").split("#")[0].split(":")
        if len(parts) >= 3 and parts[-2].isdigit():
            pids.add(int(parts[-2]))
    return pids


def _mastodon_statuses(server: MastodonServer, username: str) -> list[dict[str, Any]]:
    client = server.client(username)
    own = client.me()["id"]
    found: list[dict[str, Any]] = []
    max_id = None
    while True:
        page = client.account_statuses(own, max_id=max_id, limit=40)
        if not page:
            return found
        found.extend(page)
        max_id = page[-1]["id"]


def _bluesky_records(network: BlueskyNetwork, did: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"repo": did, "collection": "app.bsky.feed.post", "limit": 100}
        if cursor:
            params["cursor"] = cursor
        answer = httpx.get(f"{network.pds_url}/xrpc/com.atproto.repo.listRecords", params=params)
        answer.raise_for_status()
        body = answer.json()
        found.extend(body["records"])
        cursor = body.get("cursor")
        if not cursor or not body["records"]:
            return found


def test_every_post_goes_out_exactly_once_while_dispatchers_are_killed(
    database: Database,
    seed: Seed,
    data_dir: Path,
    tmp_path: Path,
    mastodon_many: MastodonServer,
    bluesky_network: BlueskyNetwork,
) -> None:
    if database.dialect == "postgresql":
        from tests.conftest import _port_open, require_service

        require_service("Redis", _port_open("127.0.0.1", 6379), REDIS_URL)
    settings = make_settings(
        data_dir,
        database.url,
        allow_private_urls=True,
        publish_lease_seconds=LEASE,
        publish_settle_seconds=SETTLE,
        publish_parallel=8,
        publish_retry_minutes=30,
    )
    began = time.monotonic()
    bluesky_accounts = [bluesky_network.create_account() for _ in range(CHANNELS - CHANNELS // 2)]
    with (
        lossy_proxy(mastodon_many.url, "/api/v1/statuses", mode="delay", delay=0.2) as m_proxy,
        lossy_proxy(
            bluesky_network.pds_url, "/xrpc/com.atproto.repo.createRecord", mode="delay", delay=0.2
        ) as b_proxy,
    ):
        host = m_proxy.url.split("://", 1)[1]
        channel_ids = [
            factory.connect_channel(
                database,
                settings,
                seed.workspace,
                network="mastodon",
                handle=f"@{username}@{host}",
                credentials={"instance_url": m_proxy.url, "access_token": token},
            )
            for username, token in mastodon_many.tokens.items()
        ]
        channel_ids += [
            factory.connect_bluesky(
                database, settings, seed.workspace, account.handle, account.password, b_proxy.url
            )
            for account in bluesky_accounts
        ]
        with database.session() as session:  # no channel sync during the test
            session.execute(sa.update(Channel).values(next_sync_at=None))
            session.commit()
        expected: dict[int, list[str]] = {}  # channel → texts in order
        for index in range(POSTS):
            channel = channel_ids[index % len(channel_ids)]
            texts = _texts(index)
            factory.schedule_post(database, settings, seed.workspace, [channel], texts)
            expected.setdefault(channel, []).extend(texts)

        env = {
            **os.environ,
            "TOWNSQUARE_DATA_DIR": str(data_dir),
            "TOWNSQUARE_DATABASE_URL": database.url,
            "TOWNSQUARE_SECRET_KEY": "test-secret-key",
            "TOWNSQUARE_QUEUE_URL": REDIS_URL if database.dialect == "postgresql" else "",
            "TOWNSQUARE_ALLOW_PRIVATE_URLS": "true",
            "TOWNSQUARE_PUBLISH_LEASE_SECONDS": str(LEASE),
            "TOWNSQUARE_PUBLISH_SETTLE_SECONDS": str(SETTLE),
            "TOWNSQUARE_PUBLISH_RETRY_MINUTES": "30",
            "TOWNSQUARE_WORKER_THREADS": "1",
            "TOWNSQUARE_LOG_LEVEL": os.environ.get("TOWNSQUARE_CHAOS_LOG_LEVEL", "WARNING"),
            "PYTHONUNBUFFERED": "1",
        }
        setup = time.monotonic() - began
        fleet = Fleet(env, Path(os.environ.get("TOWNSQUARE_CHAOS_LOG") or tmp_path / "fleet.log"))
        try:
            fleet.keep_running()
            # The kills start once a dispatcher is at work (the first lease), at most 60 s.
            ready = time.monotonic() + 60
            while not _lease_holders(database) and time.monotonic() < ready:
                time.sleep(0.2)
            end = time.monotonic() + SECONDS
            while time.monotonic() < end:
                time.sleep(KILL_EVERY)
                fleet.kill_one(_lease_holders(database))
                fleet.keep_running()
        finally:
            fleet.stop()
        during = factory.statuses(database)

        # The clean pass: one dispatcher nobody kills, until nothing is left to do.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            dispatch_due(database, settings)
            left = factory.statuses(database)
            cleaned = time.monotonic() - end
            if left == {"published": POSTS}:
                break
            time.sleep(0.5)

    summary = (
        f"setup {setup:.0f} s; {fleet.kills} kills of a process holding a lease, "
        f"{fleet.idle_ticks} ticks with none to kill, {fleet.spawned} processes started; "
        f"after the kills {during}; after the clean pass ({cleaned:.0f} s) {left}"
    )
    print(summary)
    assert left == {"published": POSTS}, summary
    assert fleet.kills >= 5, summary  # kills did land mid-work

    # Each part on its server exactly once, threads in order.
    with database.session() as session:
        channels = {c.id: c for c in session.scalars(sa.select(Channel))}
        parts = session.execute(
            sa.select(PublishVariant.channel_id, PublishPart.position, PublishPart.external_id)
            .join(PublishPart, PublishPart.variant_id == PublishVariant.id)
            .order_by(PublishVariant.id, PublishPart.position)
        ).all()
    stored_ids = Counter(str(external_id) for _channel, _position, external_id in parts)
    assert all(count == 1 for count in stored_ids.values())
    dids = {account.handle: account.did for account in bluesky_accounts}
    for channel_id, texts in expected.items():
        channel = channels[channel_id]
        if channel.network == "mastodon":
            username = channel.handle.split("@")[1]
            statuses = list(reversed(_mastodon_statuses(mastodon_many, username)))
            seen = [s["content"].removeprefix("<p>").removesuffix("</p>") for s in statuses]
            by_text = dict(zip(seen, statuses, strict=True))
            assert Counter(seen) == Counter(texts), channel.handle
            parent = {t: by_text[t]["in_reply_to_id"] for t in texts}
            previous_id = {t: by_text[t]["id"] for t in texts}
        else:
            records = list(reversed(_bluesky_records(bluesky_network, dids[channel.handle])))
            seen = [r["value"]["text"] for r in records]
            by_text = dict(zip(seen, records, strict=True))
            assert Counter(seen) == Counter(texts), channel.handle
            parent = {
                t: (by_text[t]["value"].get("reply") or {}).get("parent", {}).get("uri")
                for t in texts
            }
            previous_id = {t: by_text[t]["uri"] for t in texts}
        for text in texts:
            index, position = text.split(" part ")
            k, count = (int(n) for n in position.split("/"))
            if k == 1:
                assert parent[text] is None, text
            else:
                before = f"{index} part {k - 1}/{count}"
                assert str(parent[text]) == str(previous_id[before]), text
