"""Posts and channels for the dispatcher's tests: channels connected through channels/ (the
account checked on the real server), posts composed through the publish service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

# Connecting is the channel tests' set-up too: one function for both (tests/connected.py).
from tests.conftest import Seed, SmtpServer, make_settings
from tests.connected import connect_channel as connect_channel
from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.publish import service
from townsquare.publish.models import (
    PublishEvent,
    PublishPart,
    PublishPost,
    PublishVariant,
    VariantStatus,
)
from townsquare.workspaces.access import WorkspaceAccess, get_workspace


def connect_bluesky(
    database: Database, settings: Settings, workspace: str, handle: str, password: str, pds: str
) -> int:
    """A Bluesky channel connected with ``password`` (the account's, or an app password) on
    the PDS at ``pds``; its id."""
    return connect_channel(
        database,
        settings,
        workspace,
        network="bluesky",
        handle=handle,
        credentials={"identifier": handle, "app_password": password, "service_url": pds},
    )


def dispatch_settings(
    database: Database, data_dir: Path, *, retry_minutes: int = 10, **extra: Any
) -> Settings:
    """Settings for dispatching against a server on loopback: no settling wait, a 30 s
    lease, retries for ``retry_minutes``."""
    return make_settings(
        data_dir,
        database.url,
        allow_private_urls=True,
        publish_settle_seconds=0.0,
        publish_lease_seconds=30,
        publish_retry_minutes=retry_minutes,
        **extra,
    )


def schedule_post(
    database: Database,
    settings: Settings,
    workspace: str,
    channel_ids: Sequence[int],
    parts: Sequence[str],
    *,
    at: datetime | None = None,
    content_warning: str | None = None,
    language: str | None = None,
) -> list[int]:
    """A post composed through the service, to publish now (or ``at``), on each channel;
    its variants' ids."""
    when = service.When("at", at) if at is not None else service.NOW
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, workspace))
        post = service.create_post(
            session,
            access,
            settings,
            channel_ids=list(channel_ids),
            parts=[{"text": text, "media": []} for text in parts],
            content_warning=content_warning,
            language=language,
            when=when,
        )
        return [variant.id for variant, _channel in service.variants_of(session, post)]


def insert_post(
    database: Database,
    workspace: str,
    channel_ids: Sequence[int],
    parts: Sequence[str],
    *,
    at: datetime | None = None,
) -> list[int]:
    """A scheduled post written straight into the tables, for what the service would refuse
    first (a text over the instance's limit, to see the instance's own refusal)."""
    due = at or utcnow() - timedelta(seconds=1)
    with database.session() as session:
        workspace_id = get_workspace(session, workspace).id
        post = PublishPost(
            workspace_id=workspace_id,
            parts=[{"text": text, "media": []} for text in parts],
            schedule_kind="at",
            status=VariantStatus.SCHEDULED.value,
        )
        session.add(post)
        session.flush()
        variants = [
            PublishVariant(
                post_id=post.id,
                workspace_id=workspace_id,
                channel_id=channel_id,
                overrides={},
                status=VariantStatus.SCHEDULED.value,
                scheduled_at=due,
            )
            for channel_id in channel_ids
        ]
        session.add_all(variants)
        session.commit()
        return [variant.id for variant in variants]


def variant(database: Database, variant_id: int) -> PublishVariant:
    with database.session() as session:
        found = session.get(PublishVariant, variant_id)
        assert found is not None
        return found


def parts(database: Database, variant_id: int) -> list[PublishPart]:
    with database.session() as session:
        return list(
            session.scalars(
                sa.select(PublishPart)
                .where(PublishPart.variant_id == variant_id)
                .order_by(PublishPart.position)
            )
        )


def actions(database: Database, variant_id: int) -> list[str]:
    """The variant's history from its dispatch on (composing's events left out)."""
    with database.session() as session:
        return list(
            session.scalars(
                sa.select(PublishEvent.action)
                .where(
                    PublishEvent.variant_id == variant_id,
                    PublishEvent.action.not_in(("created", "scheduled")),
                )
                .order_by(PublishEvent.id)
            )
        )


def statuses(database: Database) -> dict[str, int]:
    with database.session() as session:
        rows = session.execute(
            sa.select(PublishVariant.status, sa.func.count()).group_by(PublishVariant.status)
        ).all()
    return {str(status): int(count) for status, count in rows}


def check_reconnection_asked(
    database: Database,
    settings: Settings,
    seed: Seed,
    smtp_server: SmtpServer,
    *,
    channel_id: int,
    variant_id: int,
    reason: str,
) -> None:
    """After a dispatch that met refused credentials: the variant failed with "reconnect
    the channel" (``reason`` in the network's words), the channel needs reconnection, its
    owners were told once by e-mail, and its next variant fails without a call."""
    from townsquare.publish.worker import dispatch_due

    failed = variant(database, variant_id)
    assert failed.status == VariantStatus.FAILED.value
    assert failed.error and failed.error.endswith("reconnect the channel")
    assert failed.error_params and reason in failed.error_params["reason"]
    with database.session() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None and channel.status == "needs_reconnection"
        assert "reconnect the channel" in (channel.status_reason or "")
    [mail] = smtp_server.wait_for(1)
    assert seed.owner_email in mail["To"] and "needs reconnection" in mail["Subject"]
    # The network might now accept, but the channel's next variant is not sent while the
    # channel needs reconnection; it fails with what to do.
    [second] = schedule_post(database, settings, seed.workspace, [channel_id], ["two"])
    assert dispatch_due(database, settings).failed == 1
    refused = variant(database, second)
    assert refused.error and refused.error.startswith("channel %(handle)s needs reconnection")
    assert all(part.attempts == 0 for part in parts(database, second))  # never sent
    assert len(smtp_server.messages) == 1  # told once
