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

Counting is in graphemes (``é🇫🇷👍🏽`` is 3), never ``len()``. Each network's rule:

- Mastodon (as its ``StatusLengthValidator``): graphemes of the content warning plus the
  text in which every http(s) URL counts ``characters_reserved_per_url`` (23) and every
  ``@user@domain`` counts as ``@user``; the limit is the instance's
  ``configuration.statuses.max_characters`` (500 by default).
- Bluesky (the ``app.bsky.feed.post`` lexicon): at most 300 graphemes **and** 3,000 bytes of
  UTF-8; URLs count in full.
- X (twitter-text v3, ``weighted``): the text in NFC; each URL weighs 23, with or without
  ``https://`` (``example.com``, ``www.acme.fr/page``: a known TLD, see ``x_url_spans``);
  each emoji (one grapheme with a pictographic character, a flag, a keycap) weighs 2; any
  other code point weighs 1 in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F, U+2032–U+2037
  and 2 elsewhere (CJK, emoji…); limit 280.
- LinkedIn 3,000, Instagram 2,200, Threads 500, Facebook 63,206 graphemes (shown for
  copy-and-paste: townsquare does not publish there itself).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import regex

from townsquare.messages import Message
from townsquare.publish.tlds import COUNTRY_TLDS, GENERIC_TLDS, SHORT_DOMAIN_TLDS

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


# An http(s) URL as twitter-text (and so Mastodon) finds one: not glued to a preceding
# letter, digit, @, $ or #; it ends before white space, quotes or angle brackets.
_URL = regex.compile(r"(?<![A-Za-z0-9@＠$#＃])https?://[^\s<>\"]+", regex.IGNORECASE)
# A remote mention as Mastodon's MENTION_RE reads it: @user@domain, not after = / or a letter.
_MENTION = regex.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[a-z0-9_.-]*[a-z0-9_])?)@[\w.-]+\w", regex.IGNORECASE
)
# Punctuation that ends a sentence rather than a URL ("see https://example.org.").
_URL_TRAILING = ".,;:!?'\")]}"
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")
_TEXT_STYLE = regex.compile(r"^\p{Extended_Pictographic}$")
# twitter-text v3: code points weighing 1 (scaled 100); every other weighs 2.
X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
X_URL_WEIGHT = 23
X_LIMIT = 280


def _trimmed_end(text: str, start: int, end: int) -> int:
    """The end of a URL without the sentence's trailing punctuation (a closing parenthesis
    is kept when the URL opened one)."""
    while end > start and text[end - 1] in _URL_TRAILING:
        url = text[start:end]
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        end -= 1
    return end


def url_spans(text: str) -> list[tuple[int, int]]:
    """Where the http(s) URLs of ``text`` are (start, end), without the sentence's
    trailing punctuation (a closing parenthesis is kept when the URL opened one)."""
    spans: list[tuple[int, int]] = []
    for match in _URL.finditer(text):
        start = match.start()
        end = _trimmed_end(text, start, match.end())
        if text[start:end].partition("://")[2]:
            spans.append((start, end))
    return spans


def _tld_pattern(names: frozenset[str]) -> str:
    return "|".join(sorted(names, key=lambda name: (-len(name), name)))


# A URL without its protocol, as twitter-text extracts one (extractUrlsWithoutProtocol):
# ASCII labels ending with a known TLD, not glued to a letter, a digit, @ $ # or - _ . /
# before it (so never the domain of an e-mail address), nor to a letter, a digit, @ + or -
# after its TLD; then an optional port, path or query.
_BARE_URL = regex.compile(
    r"(?<![A-Za-z0-9@＠$#＃\-_./\u202a-\u202e])"
    r"(?P<labels>(?:[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?\.)+)"
    rf"(?P<tld>{_tld_pattern(GENERIC_TLDS | COUNTRY_TLDS)})(?![a-z0-9@＠+-])"
    r"(?P<port>:[0-9]+)?"
    r"(?P<path>[/?][^\s<>\"]*)?",
    regex.IGNORECASE,
)


_TOKEN_REST = regex.compile(r"\S*")


def x_url_spans(text: str) -> list[tuple[int, int]]:
    """Where X sees URLs in ``text``: the http(s) ones and the bare domains with a known TLD
    (``example.com``, ``www.acme.fr/page``; ``acme.fr`` alone is not one: a single label and
    a country code need a path, as in twitter-text, except ``.co`` and ``.tv``)."""
    spans = url_spans(text)
    taken = [range(start, end) for start, end in spans]
    for match in _BARE_URL.finditer(text):
        start, end = match.span()
        if any(start in span or end - 1 in span for span in taken):
            continue
        tld = match["tld"].lower()
        single_label = match["labels"].count(".") == 1
        short = single_label and tld in COUNTRY_TLDS and tld not in SHORT_DOMAIN_TLDS
        if short and not match["path"]:
            continue
        if not match["path"] and "@" in _TOKEN_REST.match(text, end)[0]:
            continue  # the left part of an e-mail address (jane.doe.com@example.org)
        spans.append((start, _trimmed_end(text, start, end)))
    return sorted(spans)


def find_urls(text: str) -> list[str]:
    """The http(s) URLs in ``text``, in order."""
    return [text[start:end] for start, end in url_spans(text)]


def _replace_urls(text: str, placeholder: str) -> str:
    pieces, last = [], 0
    for start, end in url_spans(text):
        pieces += [text[last:start], placeholder]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def is_emoji(cluster: str) -> bool:
    """Whether one grapheme is an emoji as twitter-text's parser counts one: a pictograph
    (shown as an emoji: not a lone text-style symbol such as © or ™), a flag, a keycap."""
    if not _EMOJI.search(cluster):
        return False
    if len(cluster) == 1 and _TEXT_STYLE.match(cluster):
        return bool(regex.match(r"\p{Emoji_Presentation}", cluster))
    return True


def x_weighted_length(text: str, *, url_weight: int = X_URL_WEIGHT) -> int:
    """The length X gives ``text`` (twitter-text v3's weighted length)."""
    normalized = unicodedata.normalize("NFC", text)
    total, last = 0, 0

    def plain(piece: str) -> int:
        weight = 0
        for cluster in _GRAPHEME.findall(piece):
            if is_emoji(cluster):
                weight += 2
                continue
            for char in cluster:
                point = ord(char)
                light = any(low <= point <= high for low, high in X_LIGHT_RANGES)
                weight += 1 if light else 2
        return weight

    for start, end in x_url_spans(normalized):
        total += plain(normalized[last:start]) + url_weight
        last = end
    return total + plain(normalized[last:])


def mastodon_length(text: str, content_warning: str | None = None, url_length: int = 23) -> int:
    """The length Mastodon gives a status: graphemes of the warning and of the text with
    each URL as ``url_length`` characters and each ``@user@domain`` as ``@user``."""
    countable = _replace_urls(text, "x" * url_length)
    countable = _MENTION.sub(lambda match: "@" + match.group(1), countable)
    return graphemes(content_warning or "") + graphemes(countable)


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
    "x": NetworkLimits("x", X_LIMIT, unit="weighted", url_length=X_URL_WEIGHT, max_media=4),
    "linkedin": NetworkLimits("linkedin", 3000, max_media=9),
    "instagram": NetworkLimits("instagram", 2200, max_media=10),
    "threads": NetworkLimits("threads", 500, max_media=10),
    "facebook": NetworkLimits("facebook", 63206, max_media=10),
}


def limits_for(network: str, server_limits: Mapping[str, Any] | None = None) -> NetworkLimits:
    """The limits of ``network`` (a registry name), from the server's own figures when given."""
    base = DEFAULTS.get(network) or NetworkLimits(network, None)

    def figure(section: Mapping[str, Any], key: str, default: int | None) -> int | None:
        # A key present as null (Mastodon.py fills absent fields with None) is unknown too.
        value = section.get(key)
        return int(value) if value is not None else default

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
            max_alt_characters=figure(media, "description_limit", base.max_alt_characters),
            publishable=True,
        )
    return base


def count(limits: NetworkLimits, text: str, content_warning: str | None = None) -> int:
    """The length of ``text`` as ``limits.network`` counts it (see the module docstring);
    ``content_warning`` counts only where the network counts it (Mastodon)."""
    if limits.network == "mastodon":
        warning = content_warning if limits.counts_content_warning else None
        return mastodon_length(text, warning, limits.url_length or 23)
    if limits.unit == "weighted":
        return x_weighted_length(text, url_weight=limits.url_length or X_URL_WEIGHT)
    if limits.url_length is not None:
        text = _replace_urls(text, "x" * limits.url_length)
    return graphemes(text)


def check_part(
    limits: NetworkLimits,
    text: str,
    *,
    content_warning: str | None = None,
    media: Sequence[MediaInfo] = (),
) -> LengthCheck:
    """Whether one part (one post of a thread) fits the network's limits."""
    length = count(limits, text, content_warning)
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
        alt = graphemes(item.alt_text or "")
        if limits.max_alt_characters is not None and alt > limits.max_alt_characters:
            problems.append(
                Message(
                    "an image description of %(length)s characters for a limit of %(limit)s: "
                    "shorten it",
                    length=alt,
                    limit=limits.max_alt_characters,
                )
            )
    return LengthCheck(length, limits.max_characters, limits.unit, problems)
