"""Composing a post: creating it for one or more channels (with each channel's adaptation
and the media it uses) and editing the original or an adaptation while nothing has been
sent. Creating with a time hands the post to ``scheduling``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, NotFound, ValidationError
from townsquare.messages import Message
from townsquare.publish import server_limits, shortening
from townsquare.publish.approval import may_keep_approval, settings_of
from townsquare.publish.checks import check_variant, require_valid
from townsquare.publish.inputs import (
    MAX_CAMPAIGN,
    MAX_CW,
    clean_channels,
    clean_language,
    clean_link,
    clean_override,
    clean_parts,
    clean_text,
)
from townsquare.publish.models import PublishMedia, PublishPost, PublishVariant
from townsquare.publish.records import EDITABLE, S, get_post, record, transaction, variants_of
from townsquare.publish.scheduling import When, advance
from townsquare.publish.transitions import delete_pending_parts, finish, require_author_or_editor
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.roles import Role


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""An argument of :func:`edit_post` that was not given (None means "clear it")."""


@transaction
def create_post(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    channel_ids: Sequence[int],
    parts: str | Sequence[Any],
    content_warning: str | None = None,
    language: str | None = None,
    link_url: str | None = None,
    campaign: str | None = None,
    overrides: Mapping[int, Mapping[str, Any]] | None = None,
    when: When | None = None,
    draft: bool = False,
    now: datetime | None = None,
    via: str | None = None,
) -> PublishPost:
    """Compose a post for one or more channels (contributor or higher).

    ``overrides`` maps a channel id to what its variant changes (``text`` or ``parts``,
    ``content_warning``). Without ``when`` (or with ``draft``) the variants stay drafts;
    otherwise the post is submitted for approval or scheduled (see the module's docstring).
    ``via`` names where it was made when no user made it (``"cli"``: the command line),
    kept in the history's ``created`` event.
    """
    access.require(Role.CONTRIBUTOR, "compose posts")
    channels = clean_channels(session, access, channel_ids)
    clean = clean_parts(session, access, parts)
    extra = {int(key): value for key, value in (overrides or {}).items()}
    unknown = sorted(set(extra) - {channel.id for channel in channels})
    if unknown:
        raise ValidationError(
            "an adaptation is given for channel %(channel_id)s, which the post is not for",
            params={"channel_id": unknown[0]},
            field="text_for",
        )
    publish_settings = settings_of(session, access.workspace_id)
    post = PublishPost(
        workspace_id=access.workspace_id,
        author_id=access.user_id,
        parts=clean,
        content_warning=clean_text(content_warning, field="content_warning", max_length=MAX_CW),
        language=clean_language(language),
        link_url=clean_link(link_url),
        campaign=clean_text(campaign, field="campaign", max_length=MAX_CAMPAIGN),
        shorten_links=bool(publish_settings.shorten_links),
        needs_approval=False,
        status=S.DRAFT.value,
    )
    session.add(post)
    session.flush()
    for channel in channels:
        variant = PublishVariant(
            post_id=post.id,
            workspace_id=access.workspace_id,
            channel_id=channel.id,
            overrides=clean_override(session, access, extra.get(channel.id) or {}),
            status=S.DRAFT.value,
        )
        session.add(variant)
        server_limits.refresh(session, settings, channel)
    session.flush()
    used = {media_id for part in clean for media_id in part["media"]}
    for override in extra.values():
        for part in clean_override(session, access, override).get("parts") or []:
            used.update(part["media"])
    if used:
        # The images belong to the first post that uses them (an upload not yet in a post).
        session.execute(
            update(PublishMedia)
            .where(PublishMedia.id.in_(used), PublishMedia.post_id.is_(None))
            .values(post_id=post.id)
            .execution_options(synchronize_session=False)
        )
    record(
        session,
        post,
        "created",
        user_id=access.user_id,
        detail={
            "channels": [channel.handle for channel in channels],
            **({"via": via} if via and access.user_id is None else {}),
        },
        at=now,
    )
    variants = variants_of(session, post)
    if when is not None and not draft:
        advance(session, access, settings, post, variants, when, now=now or utcnow())
    else:
        post.schedule_kind = when.kind if when is not None else None
    return finish(session, access, post, audit_action="publish.post_created")


@transaction
def edit_post(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    post_id: int,
    *,
    parts: Any = UNSET,
    content_warning: Any = UNSET,
    language: Any = UNSET,
    link_url: Any = UNSET,
    campaign: Any = UNSET,
    overrides: Mapping[int, Mapping[str, Any] | None] | None = None,
    now: datetime | None = None,
) -> PublishPost:
    """Change the original (unchanged variants follow it) or a channel's adaptation
    (``overrides[channel_id]``: its new overrides, None to follow the original again).

    Allowed while no variant is being published; a submitted or scheduled post is checked
    against its limits again. When the workspace needs approval, an approved post edited
    by someone who may not approve it goes back to ``pending_approval``.
    """
    post = get_post(session, access, post_id)
    require_author_or_editor(access, post, "edit posts")
    moment = now or utcnow()
    variants = variants_of(session, post)
    live = [(v, c) for v, c in variants if v.status in EDITABLE]
    if not live:
        raise Conflict(
            "post %(post_id)s can no longer be edited (its status is %(status)s)",
            params={"post_id": post.id, "status": Message(post.status)},
            field="post",
        )
    for variant, _channel in live:
        if variant.status == S.SCHEDULED.value:
            delete_pending_parts(session, variant)
    changed: list[str] = []
    if parts is not UNSET:
        post.parts = clean_parts(session, access, parts)
        changed.append("text")
    if content_warning is not UNSET:
        post.content_warning = clean_text(
            content_warning, field="content_warning", max_length=MAX_CW
        )
        changed.append("content_warning")
    if language is not UNSET:
        post.language = clean_language(language)
        changed.append("language")
    if link_url is not UNSET:
        post.link_url = clean_link(link_url)
        changed.append("link_url")
    if campaign is not UNSET:
        post.campaign = clean_text(campaign, field="campaign", max_length=MAX_CAMPAIGN)
        changed.append("campaign")
    by_channel = {channel.id: variant for variant, channel in live}
    for channel_id, override in (overrides or {}).items():
        target = by_channel.get(int(channel_id))
        if target is None:
            raise NotFound(
                "post %(post_id)s has no editable variant for channel %(channel_id)s",
                params={"post_id": post.id, "channel_id": channel_id},
                field="channel",
            )
        kept = {
            key: value
            for key, value in (target.overrides or {}).items()
            if key not in ("parts", "content_warning", "short_links")
        }
        target.overrides = {**kept, **clean_override(session, access, override or {})}
        changed.append(f"variant:{channel_id}")
    if not changed:
        raise ValidationError("nothing to change: give a new text, warning, link…", field="post")
    session.flush()
    waiting = [(v, c) for v, c in live if v.status != S.DRAFT.value]
    require_valid([check_variant(session, post, v, c) for v, c in waiting])
    record(session, post, "edited", user_id=access.user_id, detail={"changed": changed}, at=moment)
    publish_settings = settings_of(session, access.workspace_id)
    scheduled = [(v, c) for v, c in live if v.status == S.SCHEDULED.value]
    if (
        scheduled
        and post.needs_approval
        and publish_settings.needs_approval
        and not may_keep_approval(publish_settings, access, post)
    ):
        for variant, _channel in scheduled:
            variant.status = S.PENDING_APPROVAL.value
        post.approved_by = None
        post.approved_at = None
        record(session, post, "submitted", user_id=access.user_id, at=moment)
        scheduled = []
    for variant, channel in scheduled:
        if post.shorten_links:
            shortening.shorten_variant(session, access, settings, post, variant, channel)
            session.flush()
            require_valid([check_variant(session, post, variant, channel)])
    return finish(session, access, post)
