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
        "it did not go out: read the network's reason, fix the text or reconnect the "
        "channel, then schedule it again from the post's page"
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
    """A slot Measure's best times recommend for a channel, with its evidence."""

    channel: Channel
    weekday: int  # ISO, 1 = Monday
    hour: int
    next_local: datetime  # its next occurrence, in the channel's zone
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
    """Per channel, the best weekday × hour slots of its own past posts (Measure's best
    times: median interactions per post, bootstrap CI), each at its next occurrence."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from townsquare.analytics.service import measure_best_times
    from townsquare.db.base import utcnow
    from townsquare.errors import TownsquareError

    moment = now or utcnow()
    found: list[Recommendation] = []
    for channel in channels:
        try:
            result = measure_best_times(
                session, access, channel.handle, metric="interactions", resamples=200
            )
        except TownsquareError:
            continue
        zone = ZoneInfo(channel.timezone or "UTC")
        local_now = moment.astimezone(zone)
        for slot in result.get("recommended") or []:
            days = (int(slot["weekday"]) - 1 - local_now.weekday()) % 7
            candidate = (local_now + timedelta(days=days)).replace(
                hour=int(slot["hour"]), minute=0, second=0, microsecond=0
            )
            if candidate <= local_now:
                candidate += timedelta(days=7)
            found.append(
                Recommendation(
                    channel=channel,
                    weekday=int(slot["weekday"]),
                    hour=int(slot["hour"]),
                    next_local=candidate,
                    n=int(slot["n"]),
                    median=float(slot["median"]),
                    ci_low=float(slot["ci_low"]),
                    ci_high=float(slot["ci_high"]),
                    overall_median=slot.get("overall_median"),
                    above=bool(slot.get("ci_above_overall")),
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


IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
MAX_IMAGE_BYTES = 16 * 1024 * 1024


def store_image(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    filename: str,
    content: bytes,
    mime_type: str,
    alt_text: str,
) -> int:
    """Keep an image uploaded in the composer under the data directory (by its SHA-256,
    content.media_path) and return its ``publish_media`` id. Each network's own size and
    count limits are checked by the service before scheduling."""
    import hashlib

    from townsquare.errors import ValidationError
    from townsquare.publish.content import media_path
    from townsquare.publish.models import PublishMedia
    from townsquare.workspaces.roles import Role

    access.require(Role.CONTRIBUTOR, "compose posts")
    kind = mime_type.split(";")[0].strip().lower()
    if kind not in IMAGE_TYPES:
        raise ValidationError(
            "%(name)s is not an image townsquare can send (%(kind)s): use JPEG, PNG, GIF or WebP",
            params={"name": filename, "kind": kind or "?"},
            field="image",
        )
    if not content or len(content) > MAX_IMAGE_BYTES:
        raise ValidationError(
            "%(name)s is %(size)s bytes: an image is 1 to %(limit)s bytes",
            params={"name": filename, "size": len(content), "limit": MAX_IMAGE_BYTES},
            field="image",
        )
    digest = hashlib.sha256(content).hexdigest()
    path = media_path(settings.data_dir, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    row = PublishMedia(
        workspace_id=access.workspace_id,
        sha256=digest,
        filename=filename[:255],
        mime_type=kind,
        size=len(content),
        alt_text=alt_text,
    )
    session.add(row)
    session.flush()
    return row.id
