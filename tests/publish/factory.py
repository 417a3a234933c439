"""Posts and channels for the dispatcher's tests: channels connected through channels/ (the
account checked on the real server), scheduled posts inserted through the models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.publish.models import (
    PublishEvent,
    PublishPart,
    PublishPost,
    PublishVariant,
    VariantStatus,
)
from townsquare.workspaces.access import WorkspaceAccess, get_workspace


def connect_channel(
    database: Database,
    settings: Settings,
    workspace: str,
    *,
    network: str,
    handle: str,
    credentials: dict[str, Any],
) -> int:
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, workspace))
        channel, _account = connect.connect_channel(
            session,
            access,
            settings,
            box,
            network=network,
            handle=handle,
            credentials=credentials,
        )
        return channel.id


def schedule_post(
    database: Database,
    workspace: str,
    channel_ids: Sequence[int],
    parts: Sequence[str],
    *,
    at: datetime | None = None,
    content_warning: str | None = None,
    language: str | None = None,
) -> list[int]:
    """A post due at ``at`` (default: a second ago) on each channel; its variants' ids."""
    due = at or utcnow() - timedelta(seconds=1)
    with database.session() as session:
        workspace_id = get_workspace(session, workspace).id
        post = PublishPost(
            workspace_id=workspace_id,
            parts=[{"text": text, "media": []} for text in parts],
            content_warning=content_warning,
            language=language,
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
    with database.session() as session:
        return list(
            session.scalars(
                sa.select(PublishEvent.action)
                .where(PublishEvent.variant_id == variant_id)
                .order_by(PublishEvent.id)
            )
        )


def statuses(database: Database) -> dict[str, int]:
    with database.session() as session:
        rows = session.execute(
            sa.select(PublishVariant.status, sa.func.count()).group_by(PublishVariant.status)
        ).all()
    return {str(status): int(count) for status, count in rows}
