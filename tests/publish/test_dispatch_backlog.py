"""A dispatcher claims in batches (its threads' worth running, as many waiting): stopped
with a backlog, it ends those leases so that the next pass takes them back at once, and
each variant still goes out once."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Seed, make_settings
from tests.networks_servers import MastodonServer
from tests.publish import factory
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.publish.claims import new_owner
from townsquare.publish.models import VariantStatus
from townsquare.publish.worker import _Pool, dispatch_due


def test_a_stopped_dispatcher_lets_its_backlog_go_at_once(
    database: Database, seed: Seed, data_dir: Path, mastodon_server: MastodonServer
) -> None:
    settings = make_settings(
        data_dir,
        database.url,
        allow_private_urls=True,
        publish_parallel=1,
        publish_lease_seconds=300,
        publish_settle_seconds=0.0,
    )
    channel = factory.connect_channel(
        database,
        settings,
        seed.workspace,
        network="mastodon",
        handle=f"@brand@{mastodon_server.url.split('://', 1)[1]}",
        credentials={"instance_url": mastodon_server.url, "access_token": mastodon_server.token()},
    )
    ids = [
        factory.schedule_post(database, settings, seed.workspace, [channel], [text])[0]
        for text in ("first", "second")
    ]
    mastodon_server.fault("/api/v1/statuses", type="latency", delay_ms=1500, methods=["POST"])
    pool = _Pool(database, settings, new_owner(), utcnow)
    assert pool.fill() == 2  # one running, one waiting for the thread
    pool.close()
    states = {factory.variant(database, i).status for i in ids}
    assert states == {VariantStatus.PUBLISHED.value, VariantStatus.PUBLISHING.value}
    [waiting] = [i for i in ids if factory.variant(database, i).status == "publishing"]
    lease_until = factory.variant(database, waiting).lease_until
    assert lease_until is not None and lease_until <= utcnow()  # not 300 s from now
    mastodon_server.clear_faults()
    assert dispatch_due(database, settings).published == 1  # the sweep, right away
    assert len(mastodon_server.client().account_statuses(mastodon_server.client().me()["id"])) == 2
