"""Bluesky, on the atproto SDK: app-password session, PDS resolution, own posts, counters.

Mapping to canonical metrics, here and nowhere else: likes → reactions, reposts → shares,
replies → comments, quotes → quotes. Bluesky gives no reach and no impressions.

Credentials given: ``identifier`` (handle or DID), ``app_password``, optionally
``service_url`` (the PDS; otherwise resolved from the DID document). Credentials stored:
the session (``did``, ``handle``, ``service_url``, ``access_jwt``, ``refresh_jwt``), never
the app password; the SDK refreshes the access token 15 minutes before it expires and
:meth:`BlueskyConnector.updated_credentials` hands the new session back for storing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from atproto import Client
from atproto_client import exceptions as at_errors
from atproto_client.client.session import Session
from atproto_client.models.utils import get_model_as_dict
from atproto_client.request import Request

from townsquare.config import Settings
from townsquare.errors import (
    AuthenticationError,
    NetworkError,
    RateLimited,
    TownsquareError,
    ValidationError,
)
from townsquare.netguard import check_url, safe_http_client
from townsquare.networks.base import Account, PostPage, RateLimitState, RemotePost
from townsquare.networks.bluesky_publish import BlueskyPublishing
from townsquare.networks.http import RatePolicy, httpx_options
from townsquare.networks.registry import get_network

INFO = get_network("bluesky")
PLC_DIRECTORY = "https://plc.directory"
PUBLIC_APPVIEW = "https://public.api.bsky.app"
PAGE_SIZE = 100  # the largest page getAuthorFeed gives


def _kind(embed: Mapping[str, Any] | None) -> str | None:
    """The format an embed gives a post (None: no media of its own)."""
    if not embed:
        return None
    kind = str(embed.get("$type") or embed.get("py_type") or "").split("#", 1)[0]
    if kind == "app.bsky.embed.images":
        return "photo"
    if kind == "app.bsky.embed.video":
        return "video"
    if kind == "app.bsky.embed.external":
        return "link"
    if kind == "app.bsky.embed.recordWithMedia":
        return _kind(embed.get("media"))
    return None  # app.bsky.embed.record: a quote; the post itself is text


def post_format(record: Mapping[str, Any], own_did: str) -> str:
    """photo, video, link, thread (a reply to oneself) or text, from the post record."""
    media = _kind(record.get("embed"))
    if media:
        return media
    reply = record.get("reply") or {}
    parent = str((reply.get("parent") or {}).get("uri") or "")
    if parent.startswith(f"at://{own_did}/"):
        return "thread"
    return "text"


def post_metrics(post: Mapping[str, Any]) -> dict[str, int]:
    pairs = (
        ("reactions", "likeCount"),
        ("shares", "repostCount"),
        ("comments", "replyCount"),
        ("quotes", "quoteCount"),
    )
    return {ours: int(post[theirs]) for ours, theirs in pairs if post.get(theirs) is not None}


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_remote_post(post: Mapping[str, Any], own_did: str) -> RemotePost:
    """A post view (``app.bsky.feed.defs#postView`` as JSON) as plain data."""
    record = post.get("record") or {}
    author = post.get("author") or {}
    uri = str(post["uri"])
    rkey = uri.rsplit("/", 1)[-1]
    embed = record.get("embed") or {}
    external = embed.get("external") or (embed.get("media") or {}).get("external") or {}
    return RemotePost(
        external_id=uri,
        published_at=_when(str(record.get("createdAt") or post.get("indexedAt"))),
        format=post_format(record, own_did),
        permalink=f"https://bsky.app/profile/{author.get('handle') or own_did}/post/{rkey}",
        text=record.get("text") or None,
        link_url=external.get("uri"),
        metrics=post_metrics(post),
    )


def _explain(error: BaseException, where: str) -> TownsquareError:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, TownsquareError):
            return cause
        cause = cause.__context__ or cause.__cause__
    response = getattr(error, "response", None)
    content = getattr(response, "content", None)
    name = str(getattr(content, "error", "") or "")
    message = str(getattr(content, "message", "") or "")
    if isinstance(error, at_errors.UnauthorizedError) or name in (
        "AuthenticationRequired",
        "ExpiredToken",
        "InvalidToken",
        "AccountTakedown",
    ):
        return AuthenticationError(
            "%(server)s refused the login (%(detail)s): check the handle and the app password "
            "(Settings → Privacy and security → App passwords), or reconnect the channel",
            params={"server": where, "detail": message or name or "unauthorized"},
            field="app_password",
        )
    if isinstance(error, at_errors.RateLimitExceededError):
        return RateLimited(
            "%(server)s rate limit reached: townsquare tries again later",
            params={"server": where},
            retry_after=300,
        )
    if isinstance(error, at_errors.InvokeTimeoutError):
        return NetworkError(
            "%(server)s did not answer in time: try again later", params={"server": where}
        )
    if isinstance(error, at_errors.NetworkError) and response is None:
        text = str(error.__cause__ or error)
        if "SSL" in text or "certificate" in text.lower():
            return NetworkError(
                "TLS error talking to %(server)s: its certificate is not valid for this address",
                params={"server": where},
            )
        return NetworkError(
            "cannot reach the Bluesky server %(server)s: check the service URL and that it is up",
            params={"server": where},
        )
    if isinstance(error, at_errors.ModelError | ValueError):
        return NetworkError(
            "%(server)s answered with something that is not the atproto API (HTML or a broken "
            "body): check the service URL",
            params={"server": where},
        )
    if isinstance(error, at_errors.BadRequestError):
        return ValidationError(
            "%(server)s refused the request: %(detail)s",
            params={"server": where, "detail": message or name},
        )
    return NetworkError(
        "%(server)s failed: %(detail)s",
        params={"server": where, "detail": message or name or str(error)},
    )


@contextmanager
def _translated(where: str) -> Iterator[None]:
    try:
        yield
    except TownsquareError:
        raise
    except (at_errors.AtProtocolError, httpx.HTTPError, ValueError) as error:
        raise _explain(error, where) from None


def resolve_pds(identifier: str, settings: Settings) -> tuple[str, str]:
    """(DID, PDS URL) of a handle or DID: handle → DID (its ``/.well-known/atproto-did``,
    else the public AppView), then the DID document's ``#atproto_pds`` service."""
    with safe_http_client(settings) as http:
        did = identifier
        if not identifier.startswith("did:"):
            did = _resolve_handle(http, identifier)
        if did.startswith("did:plc:"):
            url = f"{PLC_DIRECTORY}/{did}"
        elif did.startswith("did:web:"):
            url = f"https://{did.removeprefix('did:web:')}/.well-known/did.json"
        else:
            raise ValidationError(
                "%(did)r is not a DID townsquare can resolve",
                params={"did": did},
                field="identifier",
            )
        try:
            document = http.get(url).json()
        except (httpx.HTTPError, ValueError):
            raise NetworkError(
                "cannot read the DID document of %(identifier)s (%(url)s): give service_url",
                params={"identifier": identifier, "url": url},
            ) from None
    for service in document.get("service") or []:
        if str(service.get("id", "")).endswith("#atproto_pds"):
            return did, str(service["serviceEndpoint"]).rstrip("/")
    raise NetworkError(
        "the DID document of %(identifier)s names no PDS: give service_url",
        params={"identifier": identifier},
    )


def _resolve_handle(http: httpx.Client, handle: str) -> str:
    try:
        answer = http.get(f"https://{handle}/.well-known/atproto-did")
        if answer.status_code == 200 and answer.text.strip().startswith("did:"):
            return answer.text.strip()
    except httpx.HTTPError:
        pass
    try:
        answer = http.get(
            f"{PUBLIC_APPVIEW}/xrpc/com.atproto.identity.resolveHandle", params={"handle": handle}
        )
        did = answer.json().get("did") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        did = None
    if not did:
        raise ValidationError(
            "cannot find the Bluesky account %(handle)s: check the handle, or give its DID",
            params={"handle": handle},
            field="identifier",
        )
    return str(did)


class BlueskyConnector(BlueskyPublishing):
    """One Bluesky account (see the module doc for its credentials)."""

    info = INFO

    def __init__(
        self,
        credentials: Mapping[str, Any],
        settings: Settings,
        *,
        policy: RatePolicy | None = None,
    ) -> None:
        self.settings = settings
        self.credentials = dict(credentials)
        self.policy = policy or RatePolicy(network="Bluesky")
        self.rate_limit: RateLimitState = self.policy.state
        self._changed = False
        identifier = str(credentials.get("identifier") or credentials.get("did") or "").strip()
        if not identifier:
            raise ValidationError(
                'identifier is missing: send {"identifier": "alice.bsky.social", '
                '"app_password": "…"}',
                field="identifier",
            )
        self.identifier = identifier.lstrip("@")
        service = str(credentials.get("service_url") or "").strip().rstrip("/")
        service = service.removesuffix("/xrpc")
        if service:
            self.service_url = check_url(service, settings, field="service_url")
        else:
            self.service_url = ""
        has_session = bool(credentials.get("refresh_jwt"))
        if not has_session and not str(credentials.get("app_password") or "").strip():
            raise ValidationError(
                "app_password is missing: create one in Bluesky's Settings → Privacy and "
                "security → App passwords",
                field="app_password",
            )
        self.client: Client | None = None

    def _login(self) -> Client:
        if self.client is not None:
            return self.client
        if not self.service_url:
            _did, self.service_url = resolve_pds(self.identifier, self.settings)
            check_url(self.service_url, self.settings, field="service_url")
        client = Client(
            base_url=self.service_url, request=Request(**httpx_options(self.settings, self.policy))
        )
        client.on_session_change(self._session_changed)
        with _translated(self.service_url):
            if self.credentials.get("refresh_jwt"):
                session = Session(
                    handle=str(self.credentials.get("handle") or self.identifier),
                    did=str(self.credentials["did"]),
                    access_jwt=str(self.credentials.get("access_jwt") or ""),
                    refresh_jwt=str(self.credentials["refresh_jwt"]),
                    pds_endpoint=self.service_url,
                )
                client.login(session_string=session.encode(), fetch_bsky_profile=False)
            else:
                client.login(
                    self.identifier,
                    str(self.credentials["app_password"]),
                    fetch_bsky_profile=False,
                )
        self.client = client
        return client

    def _session_changed(self, event: Any, session: Session) -> None:
        self.credentials = {
            "identifier": self.identifier,
            "did": session.did,
            "handle": session.handle,
            "service_url": (session.pds_endpoint or self.service_url).removesuffix("/xrpc"),
            "access_jwt": session.access_jwt,
            "refresh_jwt": session.refresh_jwt,
        }
        self._changed = str(getattr(event, "value", event)).lower() != "import"

    def check(self) -> Account:
        client = self._login()
        did = str(self.credentials.get("did") or client.me or self.identifier)
        with _translated(self.service_url):
            profile = None
            for attempt in range(10):
                try:
                    profile = get_model_as_dict(client.app.bsky.actor.get_profile({"actor": did}))
                    break
                except Exception as error:
                    # A new account's profile reaches the AppView a moment after the PDS.
                    if "Profile not found" not in str(error) or attempt == 9:
                        raise
                    time.sleep(0.5 * (attempt + 1))
        assert profile is not None
        return Account(
            external_id=str(profile["did"]),
            handle=str(profile["handle"]),
            display_name=profile.get("displayName") or None,
            avatar_url=profile.get("avatar"),
            followers=profile.get("followersCount"),
            url=f"https://bsky.app/profile/{profile['handle']}",
        )

    def fetch_posts(
        self, cursor: str | None = None, limit: int = PAGE_SIZE, *, account_id: str | None = None
    ) -> PostPage:
        """A page of the account's author feed (``account_id`` unused: the session names
        the DID; the feed's authors carry no followers count, so ``account`` stays None)."""
        client = self._login()
        did = str(self.credentials["did"])
        params: dict[str, Any] = {
            "actor": did,
            "limit": min(limit, PAGE_SIZE),
            "filter": "posts_and_author_threads",
        }
        if cursor:
            params["cursor"] = cursor
        with _translated(self.service_url):
            answer = get_model_as_dict(client.app.bsky.feed.get_author_feed(params))
        posts = [
            to_remote_post(item["post"], did)
            for item in answer.get("feed") or []
            if not item.get("reason")  # a repost of someone else's post
            and str(item["post"]["uri"]).startswith(f"at://{did}/")
        ]
        return PostPage(posts=posts, cursor=answer.get("cursor") or None)

    def updated_credentials(self) -> dict[str, Any] | None:
        return dict(self.credentials) if self._changed else None

    def revoke(self) -> bool:
        """Delete the session on the PDS (the app password itself stays until the user
        deletes it in Bluesky's settings)."""
        client = self._login()
        with _translated(self.service_url):
            client.com.atproto.server.delete_session(
                headers={"Authorization": f"Bearer {self.credentials['refresh_jwt']}"}
            )
        return True

    def close(self) -> None:
        if self.client is not None:
            self.client.request.close()
