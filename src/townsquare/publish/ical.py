"""The workspace's publishing calendar as an iCalendar feed (RFC 5545) at a secret address.

``/publish/ical/{token}.ics`` needs no login: the token (``tsc_`` + 32 random bytes) is the
key, shown once when an admin makes it; only its SHA-256 is stored, and making a new one
(``regenerate_feed``) ends the old address. The feed holds one event per variant that is
scheduled (TENTATIVE), being published or published (CONFIRMED, with its permalink as the
event's URL), from 90 days back; its UID is stable (``variant-{id}@townsquare``), so a
rescheduled post moves in the subscriber's calendar instead of appearing twice.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.db.base import utcnow
from townsquare.errors import NotFound, TownsquareError
from townsquare.networks.registry import get_network
from townsquare.publish.content import effective_parts
from townsquare.publish.models import PublishPost, PublishVariant, VariantStatus
from townsquare.publish.web_models import IcalFeed
from townsquare.workspaces import audit
from townsquare.workspaces.models import Workspace
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

PREFIX = "tsc_"
PAST = timedelta(days=90)
DURATION = timedelta(minutes=15)
SHOWN = (
    VariantStatus.SCHEDULED.value,
    VariantStatus.PUBLISHING.value,
    VariantStatus.PUBLISHED.value,
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_path(token: str) -> str:
    return f"/publish/ical/{token}.ics"


def has_feed(session: Session, access: WorkspaceAccess) -> IcalFeed | None:
    """The workspace's feed (its address is not kept, only when it was made)."""
    return session.scalar(select(IcalFeed).where(IcalFeed.workspace_id == access.workspace_id))


def regenerate_feed(session: Session, access: WorkspaceAccess) -> str:
    """A new secret token for the workspace's feed (admin); the previous address stops."""
    access.require(Role.ADMIN, "manage the calendar feed")
    token = PREFIX + secrets.token_urlsafe(32)
    feed = has_feed(session, access)
    if feed is None:
        feed = IcalFeed(workspace_id=access.workspace_id)
        session.add(feed)
    feed.token_hash = _hash(token)
    feed.created_by = access.user_id
    feed.created_at = utcnow()
    audit.record(
        session,
        "publish.ical.regenerate",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
    )
    session.commit()
    return token


def revoke_feed(session: Session, access: WorkspaceAccess) -> None:
    access.require(Role.ADMIN, "manage the calendar feed")
    feed = has_feed(session, access)
    if feed is not None:
        session.delete(feed)
        audit.record(
            session, "publish.ical.revoke", workspace_id=access.workspace_id, user_id=access.user_id
        )
        session.commit()


def workspace_for_token(session: Session, token: str) -> Workspace:
    """The workspace whose feed ``token`` opens; NotFound for any other token."""
    workspace = None
    if token.startswith(PREFIX) and len(token) < 100:
        workspace = session.scalar(
            select(Workspace)
            .join(IcalFeed, IcalFeed.workspace_id == Workspace.id)
            .where(IcalFeed.token_hash == _hash(token))
        )
    if workspace is None:
        raise NotFound(
            "this calendar address does not exist or was replaced: ask an admin of the "
            "workspace for the new one"
        )
    return workspace


def network_label(name: str) -> str:
    try:
        return get_network(name).label
    except TownsquareError:
        return name


def _summary(channel: Channel, text: str) -> str:
    words = " ".join(text.split())
    if len(words) > 60:
        words = words[:59].rstrip() + "…"
    return f"{network_label(channel.network)} {channel.handle}: {words}"


def build_calendar(
    session: Session, workspace: Workspace, *, base_url: str, now: datetime | None = None
) -> bytes:
    """The feed's bytes: ``text/calendar``; ``base_url`` makes links to the post pages."""
    moment = now or utcnow()
    calendar = Calendar()
    calendar.add("prodid", "-//townsquare//publish calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{workspace.name} · townsquare")
    calendar.add("x-wr-timezone", workspace.timezone or "UTC")
    rows = session.execute(
        select(PublishVariant, PublishPost, Channel)
        .join(PublishPost, PublishPost.id == PublishVariant.post_id)
        .join(Channel, Channel.id == PublishVariant.channel_id)
        .where(
            PublishVariant.workspace_id == workspace.id,
            PublishPost.workspace_id == workspace.id,
            PublishVariant.status.in_(SHOWN),
            or_(
                PublishVariant.published_at >= moment - PAST,
                PublishVariant.scheduled_at >= moment - PAST,
            ),
        )
        .order_by(PublishVariant.id)
    )
    base = base_url.rstrip("/")
    for variant, post, channel in rows:
        start = variant.published_at or variant.scheduled_at
        if start is None:
            continue
        parts = effective_parts(post, variant)
        text = "\n\n".join(str(part["text"]) for part in parts)
        page = f"{base}/w/{workspace.slug}/publish/posts/{post.id}"
        event = Event()
        event.add("uid", f"variant-{variant.id}@townsquare")
        event.add("dtstamp", moment)
        event.add("dtstart", start)
        event.add("dtend", start + DURATION)
        event.add("summary", _summary(channel, parts[0]["text"] if parts else ""))
        published = variant.status == VariantStatus.PUBLISHED.value
        event.add("status", "CONFIRMED" if published else "TENTATIVE")
        event.add("categories", [variant.status])
        lines = [text]
        if variant.url:
            lines.append(variant.url)
        lines.append(page)
        event.add("description", "\n\n".join(lines))
        event.add("url", variant.url or page)
        calendar.add_component(event)
    return calendar.to_ical()
