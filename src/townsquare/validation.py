"""Validators shared by every capability (pure functions; each raises ValidationError)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field

from townsquare.errors import ValidationError
from townsquare.messages import Message

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10

# Every database id (SQLite and PostgreSQL BIGINT hold 64-bit signed integers): a bigger
# one is a 422 naming the parameter, never an overflow in the driver.
MAX_ID = 2**63 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID, description="A database id (1 to 2⁶³-1)")]
"""The one type of every id parameter: path, query, form and JSON body fields."""


def parse_id(value: str, *, field: str, what: str) -> int:
    """An id typed in a form field (a ``<select>``'s value): 1 to 2⁶³-1, else ValidationError.

    ``what`` names the object in English (a msgid of the catalogs, e.g. "post")."""
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_ID:
        raise ValidationError(
            "invalid %(what)s %(value)r: choose one in the list",
            params={"what": Message(what), "value": value},
            field=field,
        )
    return number


def workspace_slug(value: str) -> str:
    """A workspace slug: 1-63 lower-case letters, digits and inner hyphens."""
    slug = value.strip()
    if not SLUG_PATTERN.match(slug):
        raise ValidationError(
            "invalid workspace slug %(value)r: use 1 to 63 lower-case letters (a-z), digits and "
            "hyphens, starting and ending with a letter or digit, e.g. 'acme-coffee'",
            params={"value": value},
            field="slug",
        )
    return slug


def email(value: str) -> str:
    address = value.strip().lower()
    if len(address) > 320 or not EMAIL_PATTERN.match(address) or "\x00" in address:
        raise ValidationError(
            "invalid e-mail address %(value)r: expected something like name@example.com",
            params={"value": value},
            field="email",
        )
    return address


def password(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "password too short: use at least %(min_password_length)s characters",
            params={"min_password_length": MIN_PASSWORD_LENGTH},
            field="password",
        )
    if len(value) > 1024:
        raise ValidationError("password too long: use at most 1024 characters", field="password")
    return value


def timezone(value: str, *, field: str = "timezone") -> str:
    """An IANA time zone name such as ``Europe/Paris``; ``UTC`` is accepted."""
    name = value.strip()
    try:
        if not name or name.startswith(("/", ".")):
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = _closest_timezones(name)
        if hint:
            raise ValidationError(
                "unknown time zone %(value)r: did you mean %(hint)s? Use an IANA name such as "
                "Europe/Paris, America/New_York or UTC",
                params={"value": value, "hint": ", ".join(hint)},
                field=field,
            ) from None
        raise ValidationError(
            "unknown time zone %(value)r: use an IANA name such as Europe/Paris, America/New_York "
            "or UTC",
            params={"value": value},
            field=field,
        ) from None
    return name


def _closest_timezones(name: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, sorted(available_timezones()), n=3, cutoff=0.6)


def no_nul(value: str, *, field: str) -> str:
    """Refuse the NUL character: never meant in text, and PostgreSQL cannot store it."""
    if "\x00" in value:
        raise ValidationError(
            "%(field)s contains a NUL character (\\0): remove it",
            params={"field": field},
            field=field,
        )
    return value


def non_empty(value: str | None, *, field: str, max_length: int = 200) -> str:
    text = no_nul((value or "").strip(), field=field)
    if not text:
        raise ValidationError("%(field)s is required", params={"field": field}, field=field)
    if len(text) > max_length:
        raise ValidationError(
            "%(field)s is too long: at most %(max_length)s characters",
            params={"field": field, "max_length": max_length},
            field=field,
        )
    return text


# The widest span a time-range query may cover: a per-day series over it stays small, and
# far-off years (where shifting by a zone overflows) are refused in words, not with a 500.
MAX_RANGE_DAYS = 3660
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def time_range(
    since: datetime, until: datetime, *, max_days: int = MAX_RANGE_DAYS
) -> tuple[datetime, datetime]:
    """``since`` and ``until`` checked as a query's period: both with their time zone,
    between 1970 and 2200, ``since`` before ``until``, at most ``max_days`` apart."""
    for field, value in (("since", since), ("until", until)):
        if value.tzinfo is None:
            raise ValidationError(
                "give %(field)s with its time zone, e.g. 2026-12-01T00:00:00Z",
                params={"field": field},
                field=field,
            )
        if not EARLIEST <= value <= LATEST:
            raise ValidationError(
                "%(field)s must be between 1970 and 2200", params={"field": field}, field=field
            )
    if until <= since:
        raise ValidationError("until must come after since", field="until")
    if until - since > timedelta(days=max_days):
        raise ValidationError(
            "the period is too long: at most %(max_days)s days",
            params={"max_days": max_days},
            field="until",
        )
    return since, until
