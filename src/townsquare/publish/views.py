"""A post and its variants as the command line's ``--json`` and the API show them."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.publish.checks import check_variant
from townsquare.publish.content import (
    effective_content_warning,
    effective_link_url,
    effective_parts,
)
from townsquare.publish.models import (
    PublishEvent,
    PublishPost,
    PublishVariant,
)
from townsquare.publish.records import variants_of


def variant_json(
    session: Session, post: PublishPost, variant: PublishVariant, channel: Channel
) -> dict[str, Any]:
    checked = check_variant(session, post, variant, channel)
    return {
        "id": variant.id,
        "channel": channel.handle,
        "channel_id": channel.id,
        "network": channel.network,
        "status": variant.status,
        "scheduled_at": (
            variant.scheduled_at.astimezone(UTC).isoformat() if variant.scheduled_at else None
        ),
        "scheduled_local": variant.scheduled_local,
        "from_queue": variant.from_queue,
        "length": checked.length,
        "limit": checked.limit,
        "unit": checked.unit,
        "problems": [str(message) for message in checked.problems],
        "adapted": "parts" in (variant.overrides or {})
        or "content_warning" in (variant.overrides or {}),
        "parts": effective_parts(post, variant),
        "content_warning": effective_content_warning(post, variant),
        "link_url": effective_link_url(post, variant),
        "short_links": dict((variant.overrides or {}).get("short_links") or {}),
        "external_id": variant.external_id,
        "url": variant.url,
        "published_at": (
            variant.published_at.astimezone(UTC).isoformat() if variant.published_at else None
        ),
        "attempts": variant.attempts,
        "error": variant.error,
    }


def post_json(session: Session, post: PublishPost) -> dict[str, Any]:
    """The post as the CLI's ``--json`` and the API show it."""
    return {
        "id": post.id,
        "status": post.status,
        "author_id": post.author_id,
        "parts": post.parts,
        "content_warning": post.content_warning,
        "language": post.language,
        "link_url": post.link_url,
        "campaign": post.campaign,
        "shorten_links": post.shorten_links,
        "schedule_kind": post.schedule_kind,
        "needs_approval": post.needs_approval,
        "approved_by": post.approved_by,
        "approved_at": post.approved_at.astimezone(UTC).isoformat() if post.approved_at else None,
        "created_at": post.created_at.astimezone(UTC).isoformat() if post.created_at else None,
        "variants": [
            variant_json(session, post, variant, channel)
            for variant, channel in variants_of(session, post)
        ],
    }


def event_json(event: PublishEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "action": event.action,
        "variant_id": event.variant_id,
        "user_id": event.user_id,
        "comment": event.comment,
        "detail": event.detail,
        "at": event.at.astimezone(UTC).isoformat(),
    }
