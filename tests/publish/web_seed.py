"""Rows of Publish as the service and the dispatcher leave them, for the web's tests: a
workspace's Mastodon and Bluesky channels, and variants at given times and statuses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from townsquare.channels.models import Channel
from townsquare.db import Database
from townsquare.publish.models import PublishEvent, PublishPost, PublishVariant
from townsquare.workspaces.access import get_workspace


def channels(database: Database, slug: str = "acme") -> dict[str, int]:
    """The workspace's Mastodon and Bluesky channels (made if missing): network → id."""
    from townsquare.channels.service import add_channel
    from townsquare.workspaces.access import WorkspaceAccess

    with database.session() as session:
        workspace = get_workspace(session, slug)
        found = {
            channel.network: channel.id
            for channel in session.scalars(
                select(Channel).where(Channel.workspace_id == workspace.id)
            )
        }
        operator = WorkspaceAccess.operator(workspace)
        if "mastodon" not in found:
            found["mastodon"] = add_channel(
                session, operator, network="mastodon", handle="@cafe@m.example", timezone="UTC"
            ).id
        if "bluesky" not in found:
            found["bluesky"] = add_channel(
                session,
                operator,
                network="bluesky",
                handle="cafe.bsky.social",
                timezone="Europe/Paris",
            ).id
        return found


def variant(
    database: Database,
    channel_id: int,
    *,
    text: str,
    status: str,
    scheduled_at: datetime | None = None,
    published_at: datetime | None = None,
    url: str | None = None,
    error: str | None = None,
    slug: str = "acme",
) -> tuple[int, int]:
    """A one-channel post and its variant: (post id, variant id)."""
    with database.session() as session:
        workspace = get_workspace(session, slug)
        post = PublishPost(workspace_id=workspace.id, parts=[{"text": text}], status=status)
        session.add(post)
        session.flush()
        row = PublishVariant(
            post_id=post.id,
            workspace_id=workspace.id,
            channel_id=channel_id,
            status=status,
            scheduled_at=scheduled_at,
            published_at=published_at,
            url=url,
            external_id="1" if url else None,
            error=error,
        )
        session.add(row)
        session.flush()
        session.add(PublishEvent(post_id=post.id, variant_id=row.id, action="created"))
        session.commit()
        return post.id, row.id
