"""What a network module declares about itself, and the plain data its connector returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from townsquare.messages import Message


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
    """A page of posts, newest first; ``cursor`` fetches the next (older) page, or None.

    ``account``: the account as the page describes it, when the network sends it with the
    posts (Mastodon does, with every status): then a sync needs no ``check`` request.
    """

    posts: list[RemotePost]
    cursor: str | None
    account: Account | None = None


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

    def fetch_posts(
        self, cursor: str | None = None, limit: int = 40, *, account_id: str | None = None
    ) -> PostPage:
        """A page of the account's own posts, newest first, with their counters.

        ``account_id``: the account's id on the network when the caller knows it (from an
        earlier check), so that the connector need not ask for it first.
        """
        ...

    def updated_credentials(self) -> dict[str, Any] | None:
        """Credentials to store again when the connector refreshed them (else None)."""
        ...

    def revoke(self) -> bool:
        """Revoke the credentials on the network when it allows it; True if revoked."""
        ...

    def close(self) -> None: ...


# --- publishing (Publish capability): what the dispatcher hands a connector and gets back -


@dataclass(frozen=True)
class OutgoingMedia:
    """One image (or video) to attach, read from the data directory by the service."""

    data: bytes
    mime_type: str
    filename: str
    alt_text: str | None = None


@dataclass(frozen=True)
class PublishedRef:
    """Where a published part lives on the network.

    Mastodon: ``external_id`` is the status id, ``uri``/``cid`` None. Bluesky: ``external_id``
    is the record's rkey, ``uri`` its at:// URI and ``cid`` its CID (a reply needs both, for
    the parent and for the thread's root).
    """

    external_id: str
    url: str | None = None
    uri: str | None = None
    cid: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True)
class OutgoingPost:
    """One part of a variant as the network will receive it.

    ``idempotency_key`` is chosen once per part by townsquare and never changes between
    attempts (Mastodon's ``Idempotency-Key``); ``rkey`` is the Bluesky record key chosen
    once and stored before the first call, so that a retry can ask ``getRecord`` for it.
    ``reply_to``/``thread_root`` are set for the second and later parts of a thread.
    """

    text: str
    idempotency_key: str
    content_warning: str | None = None
    language: str | None = None
    media: tuple[OutgoingMedia, ...] = ()
    link_url: str | None = None
    rkey: str | None = None
    reply_to: PublishedRef | None = None
    thread_root: PublishedRef | None = None

    @property
    def full_text(self) -> str:
        """The text as the network receives it: ``link_url`` added on its own line when the
        text does not already contain it (count this, not ``text``)."""
        return with_link(self.text, self.link_url)


def with_link(text: str, link_url: str | None) -> str:
    """``text`` with ``link_url`` appended after a blank line unless it already holds it."""
    if not link_url or link_url in text:
        return text
    return f"{text.rstrip()}\n\n{link_url}" if text.strip() else link_url


class PublishOutcome(StrEnum):
    """How an attempt that did not return a ``PublishedRef`` ended."""

    REJECTED = "rejected"  # definite: the network refused it (4xx other than 429, validation)
    RETRY = "retry"  # definite: nothing was created (429, 5xx before effect); retry later
    UNKNOWN = "unknown"  # the request may have been applied (timeout, reset after sending)


class PublishError(Exception):
    """A publishing attempt that failed; ``outcome`` tells the dispatcher what may follow.

    ``reason`` is the network's answer in words (shown to the user, English template plus
    ``params`` like every townsquare message); ``retry_after`` is in seconds when the network
    said so (429's ``Retry-After``); ``reconnect`` says that the network refused the
    channel's credentials (a 401): the channel needs reconnection before anything else can
    be sent to it.
    """

    def __init__(
        self,
        outcome: PublishOutcome,
        reason: str,
        *,
        params: dict[str, Any] | None = None,
        retry_after: float | None = None,
        reconnect: bool = False,
    ) -> None:
        super().__init__(reason % params if params else reason)
        self.outcome = outcome
        self.reason = reason
        self.params = params or {}
        self.retry_after = retry_after
        self.reconnect = reconnect

    @property
    def message(self) -> Message:
        """The reason as a translatable message (English template and its values)."""
        return Message(self.reason, self.params)


class Publisher(Protocol):
    """What a connector that can publish offers (Mastodon, Bluesky).

    ``publish`` returns where the part now lives, or raises ``PublishError``. It is never
    retried blindly after ``UNKNOWN``: the dispatcher first calls ``find_published`` (by
    idempotency key, by rkey with getRecord, or by the account's recent posts with the same
    text since ``sent_after``), which returns the ref when the part exists, None when it
    certainly does not, and raises ``PublishError(UNKNOWN)`` when it cannot tell yet.
    """

    def publish(self, post: OutgoingPost) -> PublishedRef: ...

    def find_published(self, post: OutgoingPost, sent_after: datetime) -> PublishedRef | None: ...

    def publish_limits(self) -> dict[str, Any]:
        """The account's server limits as the network states them (Mastodon's
        ``/api/v2/instance`` ``configuration``; Bluesky: the lexicon's fixed limits)."""
        ...
