"""Images attached to posts: upload, storage by SHA-256, type and size checked against each
network's limits, alt text.

The bytes live under the data directory at ``content.media_path(data_dir, sha256)`` (the
same image uploaded twice is stored once); a ``publish_media`` row per upload keeps its
name, type, size, dimensions and alt text. The type is read from the file's first bytes,
never trusted from its name or the browser. Limits per network (``limits.DEFAULTS`` and the
channel's cached server limits): Bluesky takes at most 4 images of at most 2,000,000 bytes
each; Mastodon what the instance's ``configuration.media_attachments`` says
(``image_size_limit``, ``supported_mime_types``).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.errors import NotFound, TooLarge, ValidationError
from townsquare.publish import server_limits
from townsquare.publish.content import media_path
from townsquare.publish.models import PublishMedia
from townsquare.workspaces import audit
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.roles import Role

MAX_ALT_TEXT = 5000
MAX_FILENAME = 255
# Image types every publishing network takes (Bluesky's lexicon accepts image/*; these are
# the ones its app and Mastodon both handle).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


@dataclass(frozen=True)
class Sniffed:
    mime_type: str
    width: int | None
    height: int | None


def sniff(data: bytes) -> str | None:
    """The image type of ``data`` from its magic bytes, or None when it is not one."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _dimensions(data: bytes) -> tuple[int | None, int | None]:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with WeasyPrint
        return None, None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return int(image.width), int(image.height)
    except Exception:
        return None, None


def inspect(data: bytes) -> Sniffed:
    """The image's type and dimensions; ValidationError when it is not an image we take."""
    mime = sniff(data)
    if mime is None:
        raise ValidationError(
            "this file is not an image townsquare can publish: upload a JPEG, PNG, GIF or "
            "WebP file",
            field="file",
        )
    width, height = _dimensions(data)
    if width is None:
        raise ValidationError(
            "this image cannot be read (damaged or truncated): export it again and upload it",
            field="file",
        )
    return Sniffed(mime, width, height)


def check_for_channels(
    session: Session, channels: Iterable[Channel], mime_type: str, size: int
) -> None:
    """ValidationError when a network of ``channels`` refuses an image of this type or
    size (Bluesky 2,000,000 bytes; Mastodon from the instance's configuration)."""
    for channel in channels:
        limits = server_limits.limits_of(session, channel)
        ceiling = limits.max_image_bytes
        if ceiling is not None and size > ceiling:
            raise ValidationError(
                "this image is %(size)s bytes; %(channel)s takes images of at most %(limit)s "
                "bytes: make it smaller",
                params={"size": size, "channel": channel.handle, "limit": ceiling},
                field="file",
            )
        supported = _supported_types(server_limits.cached(session, channel))
        if supported and mime_type not in supported:
            raise ValidationError(
                "%(channel)s does not take %(type)s images: upload one of %(choices)s",
                params={
                    "channel": channel.handle,
                    "type": mime_type,
                    "choices": [t for t in IMAGE_TYPES if t in supported],
                },
                field="file",
            )


def _supported_types(server: dict[str, Any] | None) -> set[str]:
    media = (server or {}).get("media_attachments") or {}
    return {str(value) for value in media.get("supported_mime_types") or []}


def clean_alt_text(value: str | None) -> str | None:
    text = (value or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_ALT_TEXT:
        raise ValidationError(
            "the alt text is too long: at most %(max)s characters",
            params={"max": MAX_ALT_TEXT},
            field="alt_text",
        )
    return text or None


def upload(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    data: bytes,
    filename: str,
    alt_text: str | None = None,
    channels: Iterable[Channel] = (),
) -> PublishMedia:
    """Store an image for the workspace's posts (contributor or higher), checked against
    the limits of ``channels`` when given. Nothing is kept when it is refused."""
    access.require(Role.CONTRIBUTOR, "upload images")
    if len(data) > settings.max_upload_bytes:
        raise TooLarge(
            "the file is larger than the %(max)s MB limit: upload a smaller image, or ask the "
            "operator to raise TOWNSQUARE_MAX_UPLOAD_MB",
            params={"max": settings.max_upload_mb},
            field="file",
        )
    if not data:
        raise ValidationError("the file is empty: choose an image to upload", field="file")
    found = inspect(data)
    check_for_channels(session, list(channels), found.mime_type, len(data))
    alt = clean_alt_text(alt_text)
    digest = hashlib.sha256(data).hexdigest()
    path = media_path(settings.ensure_data_dir(), digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{digest}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        temporary.replace(path)  # atomic: a reader never sees half an image
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()[:MAX_FILENAME]
    name = name or digest[:12]
    media = PublishMedia(
        workspace_id=access.workspace_id,
        sha256=digest,
        filename=name,
        mime_type=found.mime_type,
        size=len(data),
        width=found.width,
        height=found.height,
        alt_text=alt,
    )
    session.add(media)
    session.flush()
    audit.record(
        session,
        "publish.media_uploaded",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(media.id),
        details={"sha256": digest, "size": len(data)},
    )
    session.commit()
    return media


def get_media(session: Session, access: WorkspaceAccess, media_id: int) -> PublishMedia:
    media = session.scalar(
        select(PublishMedia).where(
            PublishMedia.id == media_id, PublishMedia.workspace_id == access.workspace_id
        )
    )
    if media is None:
        raise NotFound(
            "no uploaded image %(media_id)s in this workspace: upload it first",
            params={"media_id": media_id},
            field="media",
        )
    return media


def set_alt_text(
    session: Session, access: WorkspaceAccess, media_id: int, alt_text: str | None
) -> PublishMedia:
    """Describe the image for people who cannot see it (contributor or higher)."""
    access.require(Role.CONTRIBUTOR, "describe images")
    media = get_media(session, access, media_id)
    media.alt_text = clean_alt_text(alt_text)
    session.commit()
    return media


def read_bytes(settings: Settings, media: PublishMedia) -> bytes:
    """The image's bytes (what the dispatcher attaches)."""
    return media_path(settings.data_dir, media.sha256).read_bytes()


def media_json(media: PublishMedia) -> dict[str, Any]:
    return {
        "id": media.id,
        "filename": media.filename,
        "mime_type": media.mime_type,
        "size": media.size,
        "width": media.width,
        "height": media.height,
        "alt_text": media.alt_text,
        "sha256": media.sha256,
    }
