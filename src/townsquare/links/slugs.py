"""Slug rules of short links (pure logic; the unique constraint lives in the database).

A slug is the part after the short-link host: ``https://go.example.com/<slug>``.

Alphabet and length
    Custom slugs use lower-case ASCII letters ``a-z``, digits ``0-9``, hyphens ``-`` and
    underscores ``_``; they start and end with a letter or digit and are
    :data:`MIN_LENGTH` to :data:`MAX_LENGTH` characters long. Nothing else: no dots (which
    look like file names to proxies), no slashes, no percent-escapes, no Unicode look-alikes.

Case
    Slugs are case-insensitive: ``Promo`` and ``promo`` are the same link. They are stored
    in lower case and the redirector lower-cases the request path before looking one up
    (:func:`canonical`), so a slug typed in capitals from a printed flyer still works.

Reserved words
    :data:`RESERVED` are refused because the redirector may share a host with the web app
    (``/login``, ``/api``, ``/static``…) or will need them later.

Generated slugs
    :data:`GENERATED_LENGTH` characters drawn with :mod:`secrets` from
    :data:`GENERATED_ALPHABET` (no ``0 o 1 l i`` that people misread): 31^7 ≈ 2.7·10^10
    values. They are not guessable; a collision is caught by the unique index on
    ``links.slug`` and the service retries with a fresh slug (see ``service.create_link``).
"""

from __future__ import annotations

import re
import secrets

from townsquare.errors import ValidationError

MIN_LENGTH = 1
MAX_LENGTH = 64  # the column is String(64)
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$")
GENERATED_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
GENERATED_LENGTH = 7

RESERVED = frozenset(
    {
        "about",
        "account",
        "admin",
        "api",
        "app",
        "assets",
        "auth",
        "callback",
        "docs",
        "favicon",
        "health",
        "healthz",
        "help",
        "language",
        "links",
        "login",
        "logout",
        "me",
        "metrics",
        "new",
        "oauth",
        "openapi",
        "preview",
        "register",
        "robots",
        "settings",
        "setup",
        "signup",
        "static",
        "status",
        "tokens",
        "w",
        "well-known",
        "workspaces",
        "www",
    }
)


def canonical(value: str) -> str:
    """The stored form of a slug as typed or requested: trimmed and lower-cased."""
    return value.strip().lower()


def validate(value: str, *, field: str = "slug") -> str:
    """A custom slug in canonical form, or ValidationError saying which rule it breaks."""
    slug = canonical(value)
    if len(slug) < MIN_LENGTH:
        raise ValidationError("the slug is empty: leave it out to get a generated one", field=field)
    if len(slug) > MAX_LENGTH:
        raise ValidationError(
            "the slug is too long (%(length)s characters): use at most %(max_length)s",
            params={"length": len(slug), "max_length": MAX_LENGTH},
            field=field,
        )
    if not SLUG_PATTERN.match(slug):
        raise ValidationError(
            "invalid slug %(value)r: use letters a-z, digits, '-' and '_', starting and ending "
            "with a letter or digit, e.g. 'spring-sale'",
            params={"value": value},
            field=field,
        )
    if slug in RESERVED:
        raise ValidationError(
            "the slug %(slug)r is reserved (used by townsquare itself): choose another one",
            params={"slug": slug},
            field=field,
        )
    return slug


def generate(length: int = GENERATED_LENGTH) -> str:
    """A random slug of ``length`` characters from :data:`GENERATED_ALPHABET`."""
    while True:
        slug = "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(length))
        if slug not in RESERVED:
            return slug
