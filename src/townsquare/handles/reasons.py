"""The reasons a check gives, as templates: English in the results, French on the pages.

A result's ``reason`` is one of these templates filled in (the JSON contract is English).
:func:`localise` finds which template a stored reason was made from and fills the
translated template with the same values, so saved checks show in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

# Rules (handles/rules.py).
TOO_SHORT = "length: at least {count} characters on this platform"
TOO_LONG = "length: at most {count} characters on this platform"
BAD_CHARACTERS = "characters: only {allowed} ({bad} not allowed)"
BAD_EDGE = "characters: cannot start or end with {what}"
DOUBLE_PERIOD = "characters: two periods in a row are not allowed"
DOUBLE_HYPHEN = "characters: two hyphens in a row are not allowed"
END_PERIOD = "characters: cannot end with a period"
END_DOMAIN = "characters: cannot end with a domain such as .com"
CONTAINS_WORD = "reserved: this platform refuses handles containing '{word}'"
RESERVED_WORD = "reserved: '{word}' is kept by the platform"

# Answers (handles/checkers.py).
RATE_LIMITED = "{platform} limits how often it can be asked (HTTP 429): try later"
NEEDS_ACCOUNT = "{platform} refuses to answer without an account (HTTP {code})"
DOES_NOT_TELL = "{platform} answered HTTP {code}, which does not tell"
BLUESKY_TAKEN = "{handle} is the handle of {did}"
BLUESKY_FREE = "no Bluesky account uses {handle}"
MASTODON_TAKEN = "an account with this name exists on {instance}"
MASTODON_FREE = "no account with this name on {instance}"
MASTODON_GONE = "the account was suspended or deleted on {instance}; its name stays kept"
GITHUB_TAKEN = "a GitHub user or organisation has this name"
GITHUB_FREE = "no GitHub user or organisation has this name"
DOMAIN_TAKEN = "{domain} is registered"
DOMAIN_FREE = "{domain} is not registered (RDAP)"
PROFILE_MISSING = "the public profile page answers {code} (no such account)"
LOGIN_WALL = "the platform shows a login page instead of the profile"
PROFILE_EXISTS = "the public profile page exists"
PROFILE_NAMES = "the public profile page names this account"
PROFILE_SILENT = "the page answered without saying whether the account exists"
TIMEOUT = "no answer within {seconds} s"
REDIRECT_LOOP = "the platform redirects in a loop"
UNREACHABLE = "could not reach {host} ({error})"

# Values put in the templates that are words, translated too.
WORDS = (
    "letters, digits and hyphens",
    "letters, digits and underscores",
    "letters, digits, periods and underscores",
    "letters, digits and periods",
    "letters, digits, periods, hyphens and underscores",
    "a hyphen",
    "a period",
    "the registry",
)

TEMPLATES: tuple[str, ...] = tuple(
    value for name, value in globals().items() if name.isupper() and isinstance(value, str)
)


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
        for index, part in enumerate(parts)
    )
    return re.compile(regex)


def localise(reason: str, gettext: Callable[[str], str]) -> str:
    """``reason`` in the language of ``gettext`` (unchanged when no template matches)."""
    for template in TEMPLATES:
        match = _pattern(template).fullmatch(reason)
        if match:
            values = {key: gettext(value) for key, value in match.groupdict().items()}
            return gettext(template).format(**values)
    return reason
