"""Whether each variant fits its network: counted on its channel's cached limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.errors import ValidationError
from townsquare.messages import Message
from townsquare.networks.base import with_link
from townsquare.publish import server_limits
from townsquare.publish.content import (
    effective_content_warning,
    effective_link_url,
    effective_parts,
)
from townsquare.publish.limits import MediaInfo, check_part
from townsquare.publish.models import (
    PublishMedia,
    PublishPost,
    PublishVariant,
)


@dataclass
class VariantCheck:
    """How a variant counts on its network: the longest part's ``length`` and the
    ``limit``, and every problem (over the limit, too many attachments…)."""

    channel: Channel
    length: int
    limit: int | None
    unit: str
    problems: list[Message] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_variant(
    session: Session, post: PublishPost, variant: PublishVariant, channel: Channel
) -> VariantCheck:
    """How the variant counts on its channel's network (cached server limits)."""
    limits = server_limits.limits_of(session, channel)
    parts = effective_parts(post, variant)
    warning = effective_content_warning(post, variant)
    link = effective_link_url(post, variant)
    media_ids = {media_id for part in parts for media_id in part["media"]}
    media = {
        row.id: MediaInfo(row.mime_type, row.size, row.alt_text)
        for row in (
            session.scalars(select(PublishMedia).where(PublishMedia.id.in_(media_ids)))
            if media_ids
            else []
        )
    }
    longest, problems = 0, []
    for index, part in enumerate(parts):
        text = with_link(part["text"], link) if index == 0 else part["text"]
        checked = check_part(
            limits,
            text,
            content_warning=warning,
            media=[media[media_id] for media_id in part["media"] if media_id in media],
        )
        longest = max(longest, checked.length)
        for message in checked.problems:
            problems.append(
                Message(
                    "%(channel)s, part %(part)s: %(problem)s"
                    if len(parts) > 1
                    else "%(channel)s: %(problem)s",
                    channel=channel.handle,
                    part=index + 1,
                    problem=message,
                )
            )
    return VariantCheck(channel, longest, limits.max_characters, limits.unit, problems)


def require_valid(checks: Sequence[VariantCheck]) -> None:
    """ValidationError naming the first variant that does not fit (with its count and its
    limit), every problem of every variant in ``problems``."""
    problems: list[dict[str, object]] = [
        {"field": "text", "message": message} for check in checks for message in check.problems
    ]
    if not problems:
        return
    first = next(check for check in checks if check.problems)
    if first.limit is not None and first.length > first.limit:
        raise ValidationError(
            "the post does not fit %(channel)s: %(length)s %(unit)s for a limit of "
            "%(limit)s; shorten it by %(over)s (a variant over its limit cannot be scheduled)",
            params={
                "channel": first.channel.handle,
                "length": first.length,
                "unit": Message(first.unit),
                "limit": first.limit,
                "over": first.length - first.limit,
            },
            field="text",
            problems=problems,
        )
    raise ValidationError(
        "the post does not fit %(channel)s: %(problem)s",
        params={"channel": first.channel.handle, "problem": first.problems[0]},
        field="text",
        problems=problems,
    )
