"""Claims on both databases, without a network: dispatchers racing for the same due
variants never take the same one; what is not due (later, waiting for its retry, held
under a live lease) is left alone; the loop embedded in `serve` publishes what falls due."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import Seed, ServerThread, make_settings
from tests.networks_servers import MastodonServer
from tests.publish import factory
from townsquare.channels import service as channels
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.publish import claims
from townsquare.publish.models import PublishEvent, PublishVariant, VariantStatus
from townsquare.workspaces.access import WorkspaceAccess, get_workspace


def _channels(database: Database, seed: Seed, count: int) -> list[int]:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, seed.workspace))
        made = [
            channels.add_channel(
                session, access, network="mastodon", handle=f"@brand{n}@mastodon.test"
            )
            for n in range(count)
        ]
        session.commit()
        return [channel.id for channel in made]


def _claim(database: Database, owner: str, limit: int = 3) -> list[int]:
    with database.session() as session:
        return claims.claim(
            session, owner=owner, now=utcnow(), limit=limit, lease_seconds=60, retry_minutes=10
        )


def test_racing_dispatchers_never_take_the_same_variant(database: Database, seed: Seed) -> None:
    ids = _channels(database, seed, 4)
    wanted: set[int] = set()
    for n in range(30):
        wanted.update(factory.insert_post(database, seed.workspace, ids, [f"post {n}"]))
    taken: dict[str, list[int]] = {f"d{n}": [] for n in range(4)}
    rounds = threading.Barrier(len(taken))  # every round, all four claim at the same moment
    left = threading.Event()
    errors: list[BaseException] = []

    def dispatcher(owner: str) -> None:
        try:
            while not left.is_set():
                rounds.wait(timeout=60)
                taken[owner].extend(_claim(database, owner))
                rounds.wait(timeout=60)
                if sum(len(batch) for batch in taken.values()) >= len(wanted):
                    left.set()
        except BaseException as error:  # shown by the assert below
            errors.append(error)
            rounds.abort()

    threads = [threading.Thread(target=dispatcher, args=(owner,)) for owner in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    every = [variant_id for batch in taken.values() for variant_id in batch]
    assert len(every) == len(set(every)) == len(wanted) == 120
    assert set(every) == wanted
    with database.session() as session:
        rows = session.execute(sa.select(PublishVariant.id, PublishVariant.lease_owner)).all()
        events = session.scalar(
            sa.select(sa.func.count())
            .select_from(PublishEvent)
            .where(PublishEvent.action == "publishing")
        )
    owners = dict(rows)
    assert all(variant_id in taken[owners[variant_id]] for variant_id in every)
    assert events == 120


def test_what_is_not_due_is_left_alone(database: Database, seed: Seed) -> None:
    [channel] = _channels(database, seed, 1)
    later = factory.insert_post(
        database, seed.workspace, [channel], ["later"], at=utcnow() + timedelta(minutes=5)
    )
    [waiting] = factory.insert_post(database, seed.workspace, [channel], ["waiting"])
    [held] = factory.insert_post(database, seed.workspace, [channel], ["held"])
    with database.session() as session:
        session.execute(
            sa.update(PublishVariant)
            .where(PublishVariant.id == waiting)
            .values(next_attempt_at=utcnow() + timedelta(minutes=1))
        )
        session.commit()
    assert _claim(database, "first", limit=1) == [held]
    assert _claim(database, "second") == []  # held under a live lease
    with database.session() as session:
        session.execute(
            sa.update(PublishVariant)
            .where(PublishVariant.id == held)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    assert _claim(database, "second") == [held]  # the sweep
    with database.session() as session:
        assert not claims.hold(session, held, "first", utcnow(), 60)
        assert claims.hold(session, held, "second", utcnow(), 60)
        session.commit()
        statuses = dict(session.execute(sa.select(PublishVariant.id, PublishVariant.status)).all())
    assert statuses[later[0]] == statuses[waiting] == VariantStatus.SCHEDULED.value


def test_lapsed_leases_come_first_then_checks_then_due_variants(
    database: Database, seed: Seed
) -> None:
    """One query reads the three kinds: the order and each kind's writes stay as they were
    when each had its own."""
    [channel] = _channels(database, seed, 1)
    earlier = utcnow() - timedelta(minutes=10)
    [due] = factory.insert_post(database, seed.workspace, [channel], ["due"], at=earlier)
    [check] = factory.insert_post(database, seed.workspace, [channel], ["check"])
    [lapsed] = factory.insert_post(database, seed.workspace, [channel], ["lapsed"])
    V = PublishVariant
    with database.session() as session:
        session.execute(
            sa.update(V).where(V.id == check).values(status=VariantStatus.UNCERTAIN.value)
        )
        session.execute(
            sa.update(V)
            .where(V.id == lapsed)
            .values(
                status=VariantStatus.PUBLISHING.value,
                lease_owner="gone#1",
                lease_until=utcnow() - timedelta(seconds=1),
                attempts=1,
            )
        )
        session.commit()
    assert _claim(database, "first", limit=1) == [lapsed]
    assert _claim(database, "first", limit=1) == [check]
    assert _claim(database, "first", limit=1) == [due]
    assert _claim(database, "first") == []
    with database.session() as session:
        rows = {
            row.id: row
            for row in session.execute(sa.select(V.id, V.status, V.lease_owner, V.attempts))
        }
        events = session.execute(
            sa.select(PublishEvent.variant_id, PublishEvent.detail).where(
                PublishEvent.action == "publishing"
            )
        ).all()
    assert {row.status for row in rows.values()} == {VariantStatus.PUBLISHING.value}
    assert rows[lapsed].lease_owner == rows[check].lease_owner == rows[due].lease_owner == "first"
    assert rows[lapsed].attempts == 1  # a swept attempt goes on: not counted again
    assert rows[due].attempts == 1
    detail = dict(events)
    assert set(detail) == {lapsed, due}  # a check that changes nothing writes nothing
    assert detail[lapsed]["lease_expired"] is True
    assert "lease_expired" not in detail[due]


def test_the_loop_embedded_in_serve_publishes_what_falls_due(
    database: Database, seed: Seed, data_dir: Path, mastodon_server: MastodonServer
) -> None:
    from townsquare.web.app import create_app

    settings = make_settings(data_dir, database.url, allow_private_urls=True)
    channel = factory.connect_channel(
        database,
        settings,
        seed.workspace,
        network="mastodon",
        handle=mastodon_server.handle(),
        credentials=mastodon_server.credentials(),
    )
    app = create_app(settings, database=database, run_worker=True)
    with ServerThread(app):
        [variant_id] = factory.schedule_post(
            database, settings, seed.workspace, [channel], ["from serve"]
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if factory.variant(database, variant_id).status == VariantStatus.PUBLISHED.value:
                break
            time.sleep(0.2)
    assert factory.variant(database, variant_id).status == VariantStatus.PUBLISHED.value
    client = mastodon_server.client()
    assert len(client.account_statuses(client.me()["id"])) == 1
