"""How each network counts a post, and whether a variant fits (pure: no I/O, no database).

The contract the rest of Publish relies on (the composer's live counter, the service's check
before scheduling, the CLI's ``length``/``limit``):

- ``limits_for(network, server_limits)`` gives a network's :class:`NetworkLimits`;
  ``server_limits`` is what the connector's ``publish_limits()`` returned (Mastodon's
  ``/api/v2/instance`` ``configuration``), None for the documented defaults.
- ``check_part(limits, text, content_warning=..., media=[...])`` returns a
  :class:`LengthCheck`: ``length`` as the network counts it, ``limit``, ``unit``, and
  ``problems`` (messages naming what is over and by how much). ``ok`` is False when any
  problem exists: such a variant cannot be scheduled.

Counting is in graphemes (``é🇫🇷👍🏽`` is 3), never ``len()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import regex

from townsquare.messages import Message

_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters)."""
    return len(_GRAPHEME.findall(text))


@dataclass(frozen=True)
class MediaInfo:
    """What the limits need to know about an attachment."""

    mime_type: str
    size: int  # bytes
    alt_text: str | None = None


@dataclass(frozen=True)
class NetworkLimits:
    network: str
    max_characters: int | None  # None: the network has no limit we know
    unit: str = "characters"  # "characters" (Mastodon), "graphemes" (Bluesky), "weighted" (X)
    max_bytes: int | None = None  # Bluesky: 3,000 bytes of UTF-8
    url_length: int | None = None  # a URL counts this many characters (Mastodon 23, X 23)
    counts_content_warning: bool = False
    max_media: int = 4
    max_image_bytes: int | None = None
    max_video_bytes: int | None = None
    max_alt_characters: int | None = None
    publishable: bool = False  # townsquare publishes there itself (else copy-and-paste)


@dataclass(frozen=True)
class LengthCheck:
    length: int
    limit: int | None
    unit: str
    problems: list[Message] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_URL = regex.compile(r"https?://[^\s<>\"]+", regex.IGNORECASE)
_MENTION = regex.compile(r"(?<![\w@])@([\w.]+)@[\w.-]+\w", regex.UNICODE)
# Punctuation that ends a sentence rather than a URL ("see https://example.org.").
_URL_TRAILING = ".,;:!?'\")]}"


def find_urls(text: str) -> list[str]:
    """The http(s) URLs in ``text``, in order, without the sentence's trailing punctuation
    (a closing parenthesis is kept when the URL opened one, as in Wikipedia links)."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0)
        while url and url[-1] in _URL_TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
        if url.partition("://")[2]:
            found.append(url)
    return found


DEFAULTS: dict[str, NetworkLimits] = {
    "mastodon": NetworkLimits(
        "mastodon",
        500,
        url_length=23,
        counts_content_warning=True,
        max_media=4,
        max_image_bytes=16 * 1024 * 1024,
        max_video_bytes=99 * 1024 * 1024,
        max_alt_characters=1500,
        publishable=True,
    ),
    "bluesky": NetworkLimits(
        "bluesky",
        300,
        unit="graphemes",
        max_bytes=3000,
        max_media=4,
        max_image_bytes=2_000_000,
        max_alt_characters=2000,
        publishable=True,
    ),
}


def limits_for(network: str, server_limits: Mapping[str, Any] | None = None) -> NetworkLimits:
    """The limits of ``network`` (a registry name), from the server's own figures when given."""
    base = DEFAULTS.get(network) or NetworkLimits(network, None)

    def figure(section: Mapping[str, Any], key: str, default: int | None) -> int | None:
        value = section.get(key, default)
        return int(value) if value is not None else None

    if network == "mastodon" and server_limits:
        statuses = server_limits.get("statuses") or {}
        media = server_limits.get("media_attachments") or {}
        return NetworkLimits(
            "mastodon",
            figure(statuses, "max_characters", base.max_characters),
            url_length=figure(statuses, "characters_reserved_per_url", base.url_length),
            counts_content_warning=True,
            max_media=figure(statuses, "max_media_attachments", base.max_media) or base.max_media,
            max_image_bytes=figure(media, "image_size_limit", base.max_image_bytes),
            max_video_bytes=figure(media, "video_size_limit", base.max_video_bytes),
            max_alt_characters=base.max_alt_characters,
            publishable=True,
        )
    return base


def count(limits: NetworkLimits, text: str, content_warning: str | None = None) -> int:
    """The length of ``text`` as ``limits.network`` counts it."""
    if limits.url_length is not None:
        text = _URL.sub("x" * limits.url_length, text)
    if limits.network == "mastodon":
        text = _MENTION.sub(lambda match: "@" + match.group(1), text)
        if content_warning:
            text = content_warning + text
    return graphemes(text)


def check_part(
    limits: NetworkLimits,
    text: str,
    *,
    content_warning: str | None = None,
    media: Sequence[MediaInfo] = (),
) -> LengthCheck:
    """Whether one part (one post of a thread) fits the network's limits."""
    length = count(limits, text, content_warning if limits.counts_content_warning else None)
    problems: list[Message] = []
    if limits.max_characters is not None and length > limits.max_characters:
        problems.append(
            Message(
                "%(length)s %(unit)s for a limit of %(limit)s: shorten it by %(over)s",
                length=length,
                unit=limits.unit,
                limit=limits.max_characters,
                over=length - limits.max_characters,
            )
        )
    if limits.max_bytes is not None and len(text.encode()) > limits.max_bytes:
        problems.append(
            Message(
                "%(size)s bytes of UTF-8 for a limit of %(limit)s bytes: shorten it",
                size=len(text.encode()),
                limit=limits.max_bytes,
            )
        )
    if len(media) > limits.max_media:
        problems.append(
            Message(
                "%(count)s attachments for a limit of %(limit)s: remove %(over)s",
                count=len(media),
                limit=limits.max_media,
                over=len(media) - limits.max_media,
            )
        )
    for item in media:
        ceiling = (
            limits.max_video_bytes
            if item.mime_type.startswith("video/")
            else (limits.max_image_bytes)
        )
        if ceiling is not None and item.size > ceiling:
            problems.append(
                Message(
                    "an attachment of %(size)s bytes for a limit of %(limit)s bytes",
                    size=item.size,
                    limit=ceiling,
                )
            )
    return LengthCheck(length, limits.max_characters, limits.unit, problems)
