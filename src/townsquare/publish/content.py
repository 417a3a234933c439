"""What a variant says: the original post, with what the variant changes.

A variant follows the original for every key its ``overrides`` lacks (``parts``,
``content_warning``), so that editing the original changes every unchanged variant. When
the workspace shortens links, the variant's ``overrides["short_links"]`` maps each original
URL to its short link (made when the variant is scheduled) and the text sent is rewritten
with it. Pure functions over the models' columns: the composer, the counters, the
dispatcher and the API read a variant's content only through them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from townsquare.publish.models import PublishPost, PublishVariant


def effective_parts(post: PublishPost, variant: PublishVariant) -> list[dict[str, Any]]:
    """The thread as this channel receives it: ``[{"text": str, "media": [id, …]}, …]``,
    with the variant's short links applied."""
    overrides = variant.overrides or {}
    parts: list[dict[str, Any]] = overrides.get("parts") or post.parts or []
    short_links: dict[str, str] = overrides.get("short_links") or {}
    return [
        {
            "text": shorten_text(str(part.get("text") or ""), short_links),
            "media": list(part.get("media") or []),
        }
        for part in parts
    ]


def effective_content_warning(post: PublishPost, variant: PublishVariant) -> str | None:
    overrides = variant.overrides or {}
    if "content_warning" in overrides:
        return overrides["content_warning"] or None
    return post.content_warning or None


def effective_link_url(post: PublishPost, variant: PublishVariant) -> str | None:
    short_links: dict[str, str] = (variant.overrides or {}).get("short_links") or {}
    if not post.link_url:
        return None
    return short_links.get(post.link_url, post.link_url)


def is_adapted(variant: PublishVariant) -> bool:
    """Whether the variant says something other than the original."""
    overrides = variant.overrides or {}
    return "parts" in overrides or "content_warning" in overrides


def shorten_text(text: str, short_links: dict[str, str]) -> str:
    """``text`` with every original URL replaced by its short link, longest first so that
    a URL that prefixes another is not replaced inside it."""
    for original in sorted(short_links, key=len, reverse=True):
        text = text.replace(original, short_links[original])
    return text


def media_path(data_dir: Path, sha256: str) -> Path:
    """Where an uploaded medium's bytes live: ``<data_dir>/media/ab/abcdef…``."""
    return data_dir / "media" / sha256[:2] / sha256
