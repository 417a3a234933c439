"""Each platform's rules for a handle, and the variants proposed when a name is taken.

Pure functions, no I/O. :func:`invalid_reason` answers why a name cannot be a handle on a
platform (too short, too long, a character the platform refuses, a reserved word), or None
when the platform would accept it; the checkers only ask platforms about valid names.

The rules are those each platform states in its help pages for new accounts (as of 2026);
a platform that changes them is changed here, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from townsquare.handles import reasons as R

MAX_NAME_LENGTH = 100

# Words a platform keeps for its own pages (a profile there would shadow a feature).
RESERVED: dict[str, frozenset[str]] = {
    "mastodon": frozenset(
        {"admin", "administrator", "root", "support", "help", "mod", "moderator", "webmaster"}
    ),
    "github": frozenset(
        {
            "about",
            "admin",
            "api",
            "blog",
            "explore",
            "features",
            "login",
            "marketplace",
            "new",
            "organizations",
            "pricing",
            "security",
            "settings",
            "site",
            "support",
            "topics",
        }
    ),
    "instagram": frozenset({"about", "accounts", "explore", "developer", "legal", "p", "reels"}),
    "threads": frozenset({"about", "accounts", "explore", "legal", "login", "search"}),
    "x": frozenset({"home", "explore", "i", "login", "messages", "search", "settings", "tos"}),
    "tiktok": frozenset({"about", "discover", "explore", "live", "login", "tag", "upload"}),
    "facebook": frozenset({"groups", "help", "login", "marketplace", "pages", "watch"}),
    "linkedin": frozenset({"company", "feed", "help", "jobs", "learning", "login", "school"}),
    "youtube": frozenset({"channel", "feed", "playlist", "results", "shorts", "watch"}),
    "bluesky": frozenset({"about", "admin", "help", "support", "bsky", "bluesky", "atproto"}),
}


@dataclass(frozen=True)
class Rule:
    """Length bounds, the allowed characters (a regex class) and a further check."""

    min_length: int
    max_length: int
    characters: str  # a regex character class, e.g. "a-z0-9_"
    characters_label: str  # said in the reason: "letters, digits and underscores"
    check: Callable[[str], str | None] | None = None


def _no_edge(chars: str, what: str) -> Callable[[str], str | None]:
    def check(name: str) -> str | None:
        if name[0] in chars or name[-1] in chars:
            return R.BAD_EDGE.format(what=what)
        return None

    return check


def _instagram_extra(name: str) -> str | None:
    if name.startswith(".") or name.endswith("."):
        return R.BAD_EDGE.format(what="a period")
    if ".." in name:
        return R.DOUBLE_PERIOD
    return None


def _x_extra(name: str) -> str | None:
    lowered = name.lower()
    for word in ("twitter", "admin"):
        if word in lowered:
            return R.CONTAINS_WORD.format(word=word)
    return None


def _tiktok_extra(name: str) -> str | None:
    if name.endswith("."):
        return R.END_PERIOD
    return None


def _facebook_extra(name: str) -> str | None:
    if name.lower().endswith((".com", ".net", ".org")):
        return R.END_DOMAIN
    return None


def _github_extra(name: str) -> str | None:
    if name.startswith("-") or name.endswith("-"):
        return R.BAD_EDGE.format(what="a hyphen")
    if "--" in name:
        return R.DOUBLE_HYPHEN
    return None


RULES: dict[str, Rule] = {
    # bsky.social sub-domains: 3 to 18 characters, one DNS label.
    "bluesky": Rule(3, 18, "a-zA-Z0-9-", "letters, digits and hyphens", _no_edge("-", "a hyphen")),
    "mastodon": Rule(1, 30, "a-zA-Z0-9_", "letters, digits and underscores"),
    "github": Rule(1, 39, "a-zA-Z0-9-", "letters, digits and hyphens", _github_extra),
    "domain": Rule(1, 63, "a-zA-Z0-9-", "letters, digits and hyphens", _no_edge("-", "a hyphen")),
    "instagram": Rule(
        1, 30, "a-zA-Z0-9._", "letters, digits, periods and underscores", _instagram_extra
    ),
    "threads": Rule(
        1, 30, "a-zA-Z0-9._", "letters, digits, periods and underscores", _instagram_extra
    ),
    "x": Rule(4, 15, "a-zA-Z0-9_", "letters, digits and underscores", _x_extra),
    "tiktok": Rule(2, 24, "a-zA-Z0-9._", "letters, digits, periods and underscores", _tiktok_extra),
    "facebook": Rule(5, 50, "a-zA-Z0-9.", "letters, digits and periods", _facebook_extra),
    "linkedin": Rule(3, 100, "a-zA-Z0-9-", "letters, digits and hyphens"),
    "youtube": Rule(3, 30, "a-zA-Z0-9._-", "letters, digits, periods, hyphens and underscores"),
}


def clean_name(name: str) -> str:
    """The name as typed, without spaces around it or a leading '@'."""
    return name.strip().lstrip("@").strip()


def invalid_reason(network: str, name: str) -> str | None:
    """Why ``name`` cannot be a handle on ``network`` (the rule broken), or None.

    The reason starts with the kind of rule: ``length:``, ``characters:`` or ``reserved:``.
    """
    rule = RULES[network]
    if len(name) < rule.min_length:
        return R.TOO_SHORT.format(count=rule.min_length)
    if len(name) > rule.max_length:
        return R.TOO_LONG.format(count=rule.max_length)
    if re.fullmatch(f"[{rule.characters}]+", name) is None:
        bad = sorted({ch for ch in name if re.fullmatch(f"[{rule.characters}]", ch) is None})
        shown = " ".join(repr(ch) for ch in bad[:5])
        return R.BAD_CHARACTERS.format(allowed=rule.characters_label, bad=shown)
    if rule.check is not None and (reason := rule.check(name)) is not None:
        return reason
    if name.lower() in RESERVED.get(network, frozenset()):
        return R.RESERVED_WORD.format(word=name.lower())
    return None


# Suffixes and prefixes of the variants: French first (the product's first users), then
# the usual international ones. "{}" is the name.
VARIANT_PATTERNS: tuple[str, ...] = (
    "{}_fr",
    "{}officiel",
    "get{}",
    "{}fr",
    "{}_officiel",
    "{}hq",
    "hello{}",
    "{}app",
)


def variants(name: str, limit: int = 4, patterns: Sequence[str] = VARIANT_PATTERNS) -> list[str]:
    """Up to ``limit`` variants of ``name`` to try when it is taken (in order of preference)."""
    found: list[str] = []
    for pattern in patterns:
        if len(found) >= limit:
            break
        candidate = pattern.format(name)
        if candidate.lower() != name.lower() and candidate not in found:
            found.append(candidate)
    return found
