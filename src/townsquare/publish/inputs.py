"""What a post is made of, cleaned: parts, media ids, warning, language, link, channels,
and a variant's adaptation (pure checks and workspace-scoped look-ups; nothing written)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.errors import NotFound, ValidationError
from townsquare.publish.models import (
    PublishMedia,
)
from townsquare.workspaces.access import WorkspaceAccess

MAX_PARTS = 25
MAX_TEXT = 100_000
MAX_CW = 1000
MAX_CAMPAIGN = 200
MAX_COMMENT = 5000
MAX_CHANNELS = 50


def clean_parts(
    session: Session, access: WorkspaceAccess, parts: str | Sequence[Any], *, field: str = "text"
) -> list[dict[str, Any]]:
    """The thread as stored: ``[{"text": str, "media": [id, …]}, …]``; a part is a string
    or a mapping with ``text`` and ``media``. Media must be this workspace's uploads."""
    items: Sequence[Any] = [parts] if isinstance(parts, str) else parts
    cleaned: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            text, media = item, []
        elif isinstance(item, Mapping):
            text, media = str(item.get("text") or ""), list(item.get("media") or [])
        else:
            raise ValidationError("a part of the thread is a text or {text, media}", field=field)
        text = text.replace("\r\n", "\n").strip()
        if len(text) > MAX_TEXT:
            raise ValidationError(
                "a part is too long to store: at most %(max)s characters",
                params={"max": MAX_TEXT},
                field=field,
            )
        ids = [_media_id(value, field) for value in media]
        if not text and not ids:
            continue
        cleaned.append({"text": text, "media": ids})
    if not cleaned:
        raise ValidationError("the post is empty: write its text (or attach an image)", field=field)
    if len(cleaned) > MAX_PARTS:
        raise ValidationError(
            "a thread has at most %(max)s parts, not %(count)s",
            params={"max": MAX_PARTS, "count": len(cleaned)},
            field=field,
        )
    wanted = {media_id for part in cleaned for media_id in part["media"]}
    if wanted:
        found = set(
            session.scalars(
                select(PublishMedia.id).where(
                    PublishMedia.id.in_(wanted), PublishMedia.workspace_id == access.workspace_id
                )
            )
        )
        missing = sorted(wanted - found)
        if missing:
            raise NotFound(
                "no uploaded image %(media_id)s in this workspace: upload it first",
                params={"media_id": missing[0]},
                field="media",
            )
    return cleaned


def _media_id(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            "media ids are numbers, not %(value)r", params={"value": value}, field=field
        ) from None


def clean_text(value: str | None, *, field: str, max_length: int) -> str | None:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationError(
            "%(field)s is too long: at most %(max)s characters",
            params={"field": field, "max": max_length},
            field=field,
        )
    return text or None


def clean_language(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > 16 or not all(ch.isalnum() or ch == "-" for ch in text):
        raise ValidationError(
            "invalid language %(value)r: use a code such as en, fr or pt-BR",
            params={"value": value},
            field="language",
        )
    return text


def clean_link(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if not text.lower().startswith(("http://", "https://")) or len(text) > 2000 or " " in text:
        raise ValidationError(
            "invalid link %(value)r: give an http or https URL of at most 2000 characters",
            params={"value": value[:100] if value else value},
            field="link_url",
        )
    return text


def clean_channels(
    session: Session, access: WorkspaceAccess, channel_ids: Iterable[int]
) -> list[Channel]:
    ids = list(dict.fromkeys(int(value) for value in channel_ids))
    if not ids:
        raise ValidationError("choose at least one channel to publish to", field="channel")
    if len(ids) > MAX_CHANNELS:
        raise ValidationError(
            "at most %(max)s channels per post", params={"max": MAX_CHANNELS}, field="channel"
        )
    found = {
        channel.id: channel
        for channel in session.scalars(
            select(Channel).where(Channel.id.in_(ids), Channel.workspace_id == access.workspace_id)
        )
    }
    for channel_id in ids:
        if channel_id not in found:
            raise NotFound(
                "no channel with id %(channel_id)s in this workspace",
                params={"channel_id": channel_id},
                field="channel",
            )
    return [found[channel_id] for channel_id in ids]


def clean_override(
    session: Session, access: WorkspaceAccess, override: Mapping[str, Any]
) -> dict[str, Any]:
    """A variant's overrides: ``parts`` (or ``text``) and/or ``content_warning``."""
    cleaned: dict[str, Any] = {}
    if override.get("parts") is not None:
        cleaned["parts"] = clean_parts(session, access, override["parts"], field="text_for")
    elif override.get("text") is not None:
        cleaned["parts"] = clean_parts(session, access, str(override["text"]), field="text_for")
    if "content_warning" in override:
        cleaned["content_warning"] = clean_text(
            override["content_warning"], field="content_warning", max_length=MAX_CW
        )
    return cleaned
