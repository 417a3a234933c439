"""What the web pages need beside pcore's service: reading the posts that need attention,
and moving one variant (a calendar drag) through the service's own scheduling.

Reads are scoped by workspace; every change goes through ``publish.service``, so the
history, the checks (limits, approval, "already being published") and the post's status
are the service's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.messages import Message
from townsquare.publish.content import effective_parts
from townsquare.publish.models import PublishPost, PublishVariant, VariantStatus
from townsquare.workspaces.service import WorkspaceAccess

ATTENTION = (VariantStatus.FAILED.value, VariantStatus.UNCERTAIN.value)


@dataclass(frozen=True)
class AttentionItem:
    variant: PublishVariant
    post: PublishPost
    channel: Channel
    text: str
    advice: Message


def advice_for(variant: PublishVariant) -> Message:
    """What to do about a failed or uncertain variant, in words."""
    if variant.status == VariantStatus.UNCERTAIN.value:
        return Message(
            "townsquare does not know yet whether the network received it: it is looking "
            "for the post on the network before any retry; check the account, and do not "
            "post it again by hand"
        )
    return Message(
        "it did not go out: read the network's reason, reconnect the channel if it asks "
        "to, then compose it again (the button opens the composer with its text) and fix it"
    )


def needing_attention(session: Session, access: WorkspaceAccess) -> list[AttentionItem]:
    """Every failed or uncertain variant of the workspace, newest first."""
    rows = session.execute(
        select(PublishVariant, PublishPost, Channel)
        .join(PublishPost, PublishPost.id == PublishVariant.post_id)
        .join(Channel, Channel.id == PublishVariant.channel_id)
        .where(
            PublishVariant.workspace_id == access.workspace_id,
            PublishPost.workspace_id == access.workspace_id,
            PublishVariant.status.in_(ATTENTION),
        )
        .order_by(PublishVariant.scheduled_at.desc().nulls_last(), PublishVariant.id.desc())
    )
    items = []
    for variant, post, channel in rows:
        parts = effective_parts(post, variant)
        text = str(parts[0]["text"]) if parts else ""
        items.append(AttentionItem(variant, post, channel, text, advice_for(variant)))
    return items


def reschedule_variant(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    variant: PublishVariant,
    instant: datetime,
) -> None:
    """Move one variant to ``instant`` (aware), the rest of its post staying where it is."""
    from townsquare.publish import service

    service.schedule_post(
        session,
        access,
        settings,
        variant.post_id,
        service.When("at", instant),
        channel_ids=[variant.channel_id],
    )


@dataclass(frozen=True)
class Recommendation:
    """A slot Measure's best times recommend for a channel (pcore's ``slots``), at its next
    occurrence in the channel's zone, with its evidence."""

    channel: Channel
    next_local: datetime
    n: int
    median: float
    ci_low: float
    ci_high: float
    overall_median: float | None
    above: bool


def recommended_slots(
    session: Session,
    access: WorkspaceAccess,
    channels: list[Channel],
    *,
    now: datetime | None = None,
) -> list[Recommendation]:
    """Per channel, its recommended weekly slots (``slots.recommended_slots``: median
    interactions per post with a bootstrap CI), each at its next occurrence."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from townsquare.db.base import utcnow
    from townsquare.errors import TownsquareError
    from townsquare.publish import slots

    moment = now or utcnow()
    found: list[Recommendation] = []
    for channel in channels:
        try:
            recommended = slots.recommended_slots(session, access, channel)
        except TownsquareError:
            continue
        local_now = moment.astimezone(ZoneInfo(channel.timezone or "UTC"))
        for item in recommended:
            if item.median is None or item.ci_low is None or item.ci_high is None:
                continue
            hour, minute = (int(value) for value in item.slot.local_time.split(":"))
            days = (item.slot.weekday - local_now.weekday()) % 7
            candidate = (local_now + timedelta(days=days)).replace(
                hour=hour, minute=minute, second=0, microsecond=0
            )
            if candidate <= local_now:
                candidate += timedelta(days=7)
            found.append(
                Recommendation(
                    channel=channel,
                    next_local=candidate,
                    n=item.n,
                    median=item.median,
                    ci_low=item.ci_low,
                    ci_high=item.ci_high,
                    overall_median=item.overall_median,
                    above=item.ci_above_overall,
                )
            )
    return found


def metrics_of(session: Session, variant: PublishVariant) -> dict[str, int | None] | None:
    """The latest metrics of the variant's post in Measure, once the channel's sync saw it."""
    from townsquare.analytics.models import PostLatestMetrics

    if variant.measure_post_id is None:
        return None
    row = session.get(PostLatestMetrics, variant.measure_post_id)
    if row is None:
        return None
    return {
        "reactions": row.reactions,
        "comments": row.comments,
        "shares": row.shares,
        "impressions": row.impressions,
    }


def store_image(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    filename: str,
    content: bytes,
    alt_text: str,
    channels: list[Channel],
) -> int:
    """An image uploaded in the composer, stored by pcore's ``media.upload`` (type from the
    bytes, size and type checked for the chosen channels): its ``publish_media`` id."""
    from townsquare.publish import media

    return media.upload(
        session,
        access,
        settings,
        data=content,
        filename=filename,
        alt_text=alt_text,
        channels=channels,
    ).id
