"""What a network module declares about itself, and the plain data its connector returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class Capability(StrEnum):
    PUBLISH = "publish"  # post content to an account
    METRICS = "metrics"  # fetch metrics of published posts
    SEARCH = "search"  # search public mentions
    STREAM = "stream"  # follow mentions as they happen
    IMPORT = "import"  # analytics come from the platform's export files


@dataclass(frozen=True)
class NetworkInfo:
    name: str  # stable identifier stored on channels, e.g. "mastodon"
    label: str  # shown to people, e.g. "Mastodon"
    capabilities: frozenset[Capability] = field(default_factory=frozenset)
    max_text_length: int | None = None  # characters of a post, when the network limits it
    handle_hint: str = ""  # what a handle looks like on this network

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities


# --- what connectors return: plain data, never database rows -----------------------------


@dataclass(frozen=True)
class Account:
    """The connected account as the network describes it (``check``)."""

    external_id: str  # Mastodon account id, Bluesky DID
    handle: str  # @user@host, alice.bsky.social
    display_name: str | None = None
    avatar_url: str | None = None
    followers: int | None = None
    url: str | None = None


@dataclass(frozen=True)
class RemotePost:
    """One of the account's own posts with its counters, mapped to canonical names.

    ``metrics`` uses the canonical metric names (``analytics.models.METRIC_COLUMNS``); a
    counter the network does not give is absent (unknown), never 0.
    """

    external_id: str
    published_at: datetime
    format: str  # photo, video, link, text, poll, thread
    permalink: str | None = None
    text: str | None = None
    link_url: str | None = None
    metrics: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class PostPage:
    """A page of posts, newest first; ``cursor`` fetches the next (older) page, or None."""

    posts: list[RemotePost]
    cursor: str | None


@dataclass
class RateLimitState:
    """The last rate-limit figures a network sent (None: it said nothing)."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    retry_after: float | None = None  # the last Retry-After we honoured, seconds
    requests: int = 0  # requests sent through this state

    def as_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset_at": self.reset_at.isoformat() if self.reset_at else None,
        }


class Connector(Protocol):
    """What a network module offers the services (one instance per account and use).

    Errors: AuthenticationError (the credentials were refused: reconnect),
    NetworkError (unreachable, TLS, not the API), RateLimited, ValidationError (bad input,
    e.g. a private address). Publish, search and notifications will join this interface.
    """

    info: NetworkInfo
    rate_limit: RateLimitState

    def check(self) -> Account:
        """The account behind the credentials; raises when they do not work."""
        ...

    def fetch_posts(self, cursor: str | None = None, limit: int = 40) -> PostPage:
        """A page of the account's own posts, newest first, with their counters."""
        ...

    def updated_credentials(self) -> dict[str, Any] | None:
        """Credentials to store again when the connector refreshed them (else None)."""
        ...

    def revoke(self) -> bool:
        """Revoke the credentials on the network when it allows it; True if revoked."""
        ...

    def close(self) -> None: ...
