"""The dispatcher against mastodon_mock, on SQLite and PostgreSQL: each outcome of a call
(published, 429 then retried, past the deadline, refused, 500 then verified, a lost answer
found by verification), threads in order, the sweep of a lapsed lease, a thread resumed
after its dispatcher was killed mid-call, and `townsquare publish due --json`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Seed
from tests.networks_servers import MastodonServer
from tests.publish import factory
from tests.publish.lossy_proxy import lossy_proxy
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.publish import claims
from townsquare.publish.models import PartStatus, VariantStatus
from townsquare.publish.worker import dispatch_due

STATUSES = "/api/v1/statuses"


@pytest.fixture
def net_settings(database: Database, data_dir: Path) -> Settings:
    return factory.dispatch_settings(database, data_dir)


def _channel(
    database: Database, settings: Settings, seed: Seed, url: str, server: MastodonServer
) -> int:
    return factory.connect_channel(
        database,
        settings,
        seed.workspace,
        network="mastodon",
        handle=f"@brand@{url.split('://', 1)[1]}",
        credentials={"instance_url": url, "access_token": server.token()},
    )


def _statuses(server: MastodonServer) -> list[dict[str, Any]]:
    client = server.client()
    return list(reversed(client.account_statuses(client.me()["id"], limit=40)))


def _later(seconds: float) -> Callable[[], datetime]:
    return lambda: utcnow() + timedelta(seconds=seconds)


def test_a_due_post_goes_out_once_with_its_history(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    channel = _channel(database, net_settings, seed, mastodon_server.url, mastodon_server)
    [variant_id] = factory.schedule_post(
        database,
        net_settings,
        seed.workspace,
        [channel],
        ["Hello from townsquare"],
        content_warning="news",
    )
    factory.schedule_post(  # not due yet: left alone
        database,
        net_settings,
        seed.workspace,
        [channel],
        ["later"],
        at=utcnow() + timedelta(hours=1),
    )
    report = dispatch_due(database, net_settings)
    assert report.as_json() == {"published": 1, "failed": 0, "uncertain": 0, "skipped": 0}
    statuses = _statuses(mastodon_server)
    assert len(statuses) == 1 and statuses[0]["spoiler_text"] == "news"
    variant = factory.variant(database, variant_id)
    assert variant.status == VariantStatus.PUBLISHED.value
    assert variant.external_id == str(statuses[0]["id"]) and variant.url
    assert variant.lease_owner is None and variant.attempts == 1
    [part] = factory.parts(database, variant_id)
    assert part.status == PartStatus.PUBLISHED.value and part.idempotency_key.startswith(
        f"ts-{variant_id}-0-"
    )
    assert factory.actions(database, variant_id) == ["publishing", "published"]
    # Nothing is due any more: a second pass sends nothing.
    assert dispatch_due(database, net_settings).as_json()["published"] == 0
    assert len(_statuses(mastodon_server)) == 1


def test_a_thread_goes_out_in_order_each_part_replying_to_the_previous(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    channel = _channel(database, net_settings, seed, mastodon_server.url, mastodon_server)
    [variant_id] = factory.schedule_post(
        database, net_settings, seed.workspace, [channel], ["1/3", "2/3", "3/3"]
    )
    assert dispatch_due(database, net_settings).published == 1
    statuses = _statuses(mastodon_server)
    assert [s["content"] for s in statuses] == ["<p>1/3</p>", "<p>2/3</p>", "<p>3/3</p>"]
    assert statuses[0]["in_reply_to_id"] is None
    assert str(statuses[1]["in_reply_to_id"]) == str(statuses[0]["id"])
    assert str(statuses[2]["in_reply_to_id"]) == str(statuses[1]["id"])
    assert factory.variant(database, variant_id).external_id == str(statuses[0]["id"])


def test_429_waits_for_retry_after_then_publishes_once(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    channel = _channel(database, net_settings, seed, mastodon_server.url, mastodon_server)
    [variant_id] = factory.schedule_post(
        database, net_settings, seed.workspace, [channel], ["busy day"]
    )
    mastodon_server.fault(
        STATUSES, type="ratelimit", headers={"Retry-After": "120"}, methods=["POST"], count=1
    )
    before = utcnow()
    assert dispatch_due(database, net_settings).as_json()["skipped"] == 1
    variant = factory.variant(database, variant_id)
    assert variant.status == VariantStatus.SCHEDULED.value
    assert variant.next_attempt_at is not None
    assert 110 <= (variant.next_attempt_at - before).total_seconds() <= 130
    assert variant.error and "429" in variant.error and variant.error_params
    assert _statuses(mastodon_server) == []
    # Not before its time…
    assert dispatch_due(database, net_settings, clock=_later(60)).as_json()["skipped"] == 0
    # …then once.
    assert dispatch_due(database, net_settings, clock=_later(125)).published == 1
    assert len(_statuses(mastodon_server)) == 1
    assert factory.actions(database, variant_id) == [
        "publishing",
        "retried",
        "publishing",
        "published",
    ]
    assert factory.variant(database, variant_id).error is None


def test_retries_stop_at_the_deadline_and_the_post_fails_with_the_reason(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    channel = _channel(database, net_settings, seed, mastodon_server.url, mastodon_server)
    [variant_id] = factory.schedule_post(
        database, net_settings, seed.workspace, [channel], ["never"]
    )
    mastodon_server.fault(
        STATUSES, type="ratelimit", headers={"Retry-After": "3600"}, methods=["POST"]
    )
    assert dispatch_due(database, net_settings).failed == 1
    variant = factory.variant(database, variant_id)
    assert variant.status == VariantStatus.FAILED.value
    assert variant.error and variant.error.startswith("still refused after %(minutes)s min")
    assert variant.error_params and variant.error_params["minutes"] == 10
    assert "429" in variant.error_params["reason"]
    assert factory.actions(database, variant_id)[-1] == "failed"


def test_a_refused_status_fails_with_the_instances_words(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    channel = _channel(database, net_settings, seed, mastodon_server.url, mastodon_server)
    [variant_id] = factory.insert_post(database, seed.workspace, [channel], ["x" * 501])
    assert dispatch_due(database, net_settings).failed == 1
    variant = factory.variant(database, variant_id)
    assert variant.status == VariantStatus.FAILED.value
    assert variant.error == "%(instance)s refused the status (%(code)s): %(reason)s"
    assert variant.error_params and variant.error_params["code"] == 422
    assert "too long" in str(variant.error_params["reason"]).lower()
    [part] = factory.parts(database, variant_id)
    assert part.status == PartStatus.FAILED.value


def test_a_500_is_uncertain_then_verified_absent_and_sent_once(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    channel = _channel(database, net_settings, seed, mastodon_server.url, mastodon_server)
    [variant_id] = factory.schedule_post(
        database, net_settings, seed.workspace, [channel], ["after a 500"]
    )
    mastodon_server.fault(STATUSES, status=500, methods=["POST"], count=1)
    assert dispatch_due(database, net_settings).uncertain == 1
    variant = factory.variant(database, variant_id)
    assert variant.status == VariantStatus.UNCERTAIN.value and variant.next_attempt_at
    assert factory.parts(database, variant_id)[0].status == PartStatus.UNCERTAIN.value
    # Checked again once its time came: not there (certain), so sent again, same key.
    assert dispatch_due(database, net_settings, clock=_later(120)).published == 1
    assert len(_statuses(mastodon_server)) == 1
    assert factory.actions(database, variant_id) == [
        "publishing",
        "uncertain",
        "retried",
        "published",
    ]


def test_verification_finds_a_status_whose_answer_was_lost(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    with lossy_proxy(mastodon_server.url, STATUSES, mode="drop") as proxy:
        channel = _channel(database, net_settings, seed, proxy.url, mastodon_server)
        [variant_id] = factory.schedule_post(
            database, net_settings, seed.workspace, [channel], ["lost answer"]
        )
        assert dispatch_due(database, net_settings).uncertain == 1
        assert proxy.lost == 1
        assert len(_statuses(mastodon_server)) == 1  # it went out; we were not told
        proxy.lossy_paths = ()
        assert dispatch_due(database, net_settings, clock=_later(120)).published == 1
    statuses = _statuses(mastodon_server)
    assert len(statuses) == 1
    variant = factory.variant(database, variant_id)
    assert variant.external_id == str(statuses[0]["id"])
    assert factory.actions(database, variant_id) == [
        "publishing",
        "uncertain",
        "verified",
        "published",
    ]


def test_a_variant_whose_dispatcher_died_is_swept_once_its_lease_lapsed(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    channel = _channel(database, net_settings, seed, mastodon_server.url, mastodon_server)
    [variant_id] = factory.schedule_post(
        database, net_settings, seed.workspace, [channel], ["swept"]
    )
    with database.session() as session:  # a dispatcher that claimed it, then died
        assert claims.claim(
            session,
            owner="dead",
            now=utcnow(),
            limit=10,
            lease_seconds=30,
            retry_minutes=10,
        ) == [variant_id]
    # Still held: nobody else takes it.
    assert dispatch_due(database, net_settings).as_json() == {
        "published": 0,
        "failed": 0,
        "uncertain": 0,
        "skipped": 0,
    }
    assert dispatch_due(database, net_settings, clock=_later(31)).published == 1
    assert len(_statuses(mastodon_server)) == 1
    with database.session() as session:
        from sqlalchemy import select

        from townsquare.publish.models import PublishEvent

        details = [
            e.detail
            for e in session.scalars(
                select(PublishEvent).where(
                    PublishEvent.variant_id == variant_id, PublishEvent.action == "publishing"
                )
            )
        ]
    assert details[0] and details[0]["by"] == "dead"
    assert details[1] and details[1].get("lease_expired") is True


def _cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TOWNSQUARE_DATA_DIR": str(settings.data_dir),
        "TOWNSQUARE_DATABASE_URL": settings.database_url or "",
        "TOWNSQUARE_SECRET_KEY": "test-secret-key",
        "TOWNSQUARE_QUEUE_URL": "",
        "TOWNSQUARE_ALLOW_PRIVATE_URLS": "true",
        "TOWNSQUARE_LOG_LEVEL": "WARNING",
        **extra,
    }


def _townsquare() -> list[str]:
    return [str(Path(sys.executable).parent / "townsquare")]


def test_publish_due_prints_its_counts_as_json(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    channel = _channel(database, net_settings, seed, mastodon_server.url, mastodon_server)
    factory.schedule_post(database, net_settings, seed.workspace, [channel], ["one"])
    factory.insert_post(database, seed.workspace, [channel], ["x" * 501])
    done = subprocess.run(
        [*_townsquare(), "publish", "due", "--json"],
        env=_cli_env(net_settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"published": 1, "failed": 1, "uncertain": 0, "skipped": 0}


def test_a_thread_killed_mid_call_resumes_at_the_next_part_never_reposting(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    # The proxy forwards each status at once and holds its answer 2 s: a kill then lands
    # after the instance stored the part, before the dispatcher knew.
    with lossy_proxy(mastodon_server.url, STATUSES, mode="delay", delay=2.0) as proxy:
        channel = _channel(database, net_settings, seed, proxy.url, mastodon_server)
        [variant_id] = factory.schedule_post(
            database, net_settings, seed.workspace, [channel], ["part 1", "part 2", "part 3"]
        )
        process = subprocess.Popen(
            [*_townsquare(), "publish", "due", "--json"],
            env=_cli_env(net_settings, TOWNSQUARE_PUBLISH_LEASE_SECONDS="30"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                states = [p.status for p in factory.parts(database, variant_id)]
                if states[:2] == ["published", "sending"]:
                    break
                time.sleep(0.05)
            assert states[:2] == ["published", "sending"], states
            time.sleep(0.5)  # the second part is on the instance, its answer held
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        assert len(_statuses(mastodon_server)) == 2
        proxy.lossy_paths = ()
        report = dispatch_due(database, net_settings, clock=_later(31))
    assert report.published == 1
    statuses = _statuses(mastodon_server)
    assert [s["content"] for s in statuses] == ["<p>part 1</p>", "<p>part 2</p>", "<p>part 3</p>"]
    assert str(statuses[2]["in_reply_to_id"]) == str(statuses[1]["id"])
    actions = factory.actions(database, variant_id)
    assert actions == ["publishing", "publishing", "verified", "published"]
