"""The fields a file's columns can be mapped to, and how each cell is read (pure functions).

Every reader returns ``(value, None)`` or ``(None, message)`` instead of raising, so one pass
over a file collects every problem with its line number.
"""

from __future__ import annotations

import difflib
import re

from townsquare.analytics.models import METRIC_COLUMNS
from townsquare.messages import Message

# Post fields a column can be mapped to (besides the metrics and ``ignore``).
POST_FIELDS = (
    "external_id",
    "published_at",
    "format",
    "text",
    "permalink",
    "link_url",
    "is_paid",
    "category",
    "tags",
    "followers",
    "taken_at",
)
IGNORE = "ignore"
FIELDS = (*POST_FIELDS, *METRIC_COLUMNS, IGNORE)

# Column names that map to a field without --map (compared lower-cased, spaces and
# dashes as underscores). Kept short on purpose: anything else is mapped explicitly.
ALIASES: dict[str, str] = {
    "id": "external_id",
    "post_id": "external_id",
    "date": "published_at",
    "published": "published_at",
    "created_at": "published_at",
    "type": "format",
    "post_type": "format",
    "message": "text",
    "url": "permalink",
    "link": "link_url",
    "paid": "is_paid",
    "likes": "reactions",
    "followers_at_publish": "followers",
    "views": "video_views",
}

# Post formats, lower case (the KPI engine groups by these).
FORMATS = ("photo", "video", "link", "status", "carousel", "story", "reel", "event", "note")
FORMAT_ALIASES = {
    "image": "photo",
    "picture": "photo",
    "text": "status",
    "album": "carousel",
    "gallery": "carousel",
    "live": "video",
    "live_video": "video",
    "stories": "story",
    "reels": "reel",
}

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "paid", "oui", "vrai", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "organic", "non", "faux", "f"})

MAX_COUNT = 2**63 - 1  # BIGINT

_SPACES = re.compile(r"[\s\-]+")


def column_key(name: str) -> str:
    """A column name compared loosely: 'Post Type' and 'post_type' are the same."""
    return _SPACES.sub("_", name.strip().lower())


def auto_field(column: str) -> str | None:
    """The field a column maps to by its name alone, or None."""
    key = column_key(column)
    if key in FIELDS and key != IGNORE:
        return key
    return ALIASES.get(key)


def check_field(name: str) -> str | None:
    """An error message when ``name`` is not a field a column can be mapped to."""
    if name in FIELDS:
        return None
    close = difflib.get_close_matches(name, FIELDS, n=2)
    hint = Message(" (did you mean %(choices)s?)", choices=" or ".join(close)) if close else ""
    return Message(
        "unknown field %(name)r%(hint)s: use one of %(choices)s",
        name=name,
        hint=hint,
        choices=", ".join(FIELDS),
    )


def read_counter(raw: object, column: str) -> tuple[int | None, str | None]:
    """A count: a non-negative whole number; an empty cell is unknown (None), not 0."""
    if raw is None:
        return None, None
    if isinstance(raw, bool):
        return None, Message("%(column)s: %(raw)r is not a count", column=column, raw=raw)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if not raw.is_integer():
            return None, Message(
                "%(column)s: %(raw)r is not a whole number", column=column, raw=raw
            )
        value = int(raw)
    else:
        text = str(raw).strip()
        if not text:
            return None, None
        try:
            value = int(text)
        except ValueError:
            cleaned = text.replace("\u202f", "").replace("\xa0", "").replace(" ", "")
            try:
                number = float(cleaned)
            except ValueError:
                return None, Message(
                    "%(column)s: %(text)r is not a number (a count is expected)",
                    column=column,
                    text=text,
                )
            if not number.is_integer():
                return None, Message(
                    "%(column)s: %(text)r is not a whole number (a count is expected)",
                    column=column,
                    text=text,
                )
            value = int(number)
    if value < 0:
        return None, Message(
            "%(column)s: %(value)s is negative (a count cannot be)", column=column, value=value
        )
    if value > MAX_COUNT:
        return None, Message(
            "%(column)s: %(value)s is too large for a count", column=column, value=value
        )
    return value, None


def read_bool(raw: object, column: str) -> tuple[bool | None, str | None]:
    if raw is None:
        return None, None
    if isinstance(raw, bool):
        return raw, None
    text = str(raw).strip().lower()
    if not text:
        return None, None
    if text.endswith(".0"):
        text = text[:-2]
    if text in TRUE_WORDS:
        return True, None
    if text in FALSE_WORDS:
        return False, None
    return None, Message(
        "%(column)s: %(raw)r is not yes/no (use 1/0, true/false, yes/no)", column=column, raw=raw
    )


def read_format(raw: object, column: str) -> tuple[str | None, str | None]:
    text = column_key(str(raw or ""))
    if not text:
        return None, Message(
            "%(column)s: the post format is empty (one of %(choices)s)",
            column=column,
            choices=", ".join(FORMATS),
        )
    if text in FORMATS:
        return text, None
    if text in FORMAT_ALIASES:
        return FORMAT_ALIASES[text], None
    return None, Message(
        "%(column)s: unknown format %(value)r: use one of %(choices)s",
        column=column,
        value=str(raw),
        choices=", ".join(FORMATS),
    )


def read_text(raw: object) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def read_tags(raw: object) -> list[str]:
    text = read_text(raw)
    if not text:
        return []
    return [tag.strip() for tag in re.split(r"[,|;]", text) if tag.strip()]


# Longest values the posts table keeps (analytics/models.py); None: unlimited text.
MAX_LENGTHS: dict[str, int | None] = {
    "external_id": 200,
    "permalink": 2000,
    "link_url": 2000,
    "category": 100,
    "text": None,
}


def text_problem(value: str | None, column: str, field: str) -> str | None:
    """Why a text cannot be stored (a NUL character, or longer than its column), or None."""
    if value is None:
        return None
    if "\x00" in value:
        return Message(
            "%(column)s: contains a NUL character (\\0); remove it from the file", column=column
        )
    limit = MAX_LENGTHS.get(field)
    if limit is not None and len(value) > limit:
        return Message(
            "%(column)s: %(length)s characters, at most %(limit)s can be stored for %(field)s",
            column=column,
            length=len(value),
            limit=limit,
            field=field,
        )
    return None
