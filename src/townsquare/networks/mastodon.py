"""Mastodon (any instance), on Mastodon.py: check, own posts with counters, OAuth, revoke.

Mapping to canonical metrics, here and nowhere else: favourites → reactions, reblogs →
shares, replies → comments, quotes (Mastodon 4.5+) → quotes. Mastodon gives no reach and
no impressions, so those stay unknown.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from townsquare.config import Settings
from townsquare.errors import (
    AuthenticationError,
    NetworkError,
    RateLimited,
    TownsquareError,
    ValidationError,
)
from townsquare.netguard import USER_AGENT, check_url
from townsquare.networks.base import Account, PostPage, RateLimitState, RemotePost
from townsquare.networks.http import DEFAULT_TIMEOUT_SECONDS, RatePolicy, requests_session
from townsquare.networks.mastodon_publish import MastodonPublishing
from townsquare.networks.registry import get_network

INFO = get_network("mastodon")
# The least each capability needs: Measure reads; Publish will add write:statuses/media.
SCOPES = {
    "measure": ["read:accounts", "read:statuses"],
    "publish": ["write:statuses", "write:media"],
    "listen": ["read:search", "read:notifications"],
}
DEFAULT_SCOPES = [scope for group in SCOPES.values() for scope in group]
PAGE_SIZE = 40  # the largest page account_statuses gives

_HANDLE = re.compile(r"^@?(?P<user>[A-Za-z0-9_.-]+)@(?P<host>[A-Za-z0-9.-]+(?::\d{1,5})?)$")


def normalize_instance_url(value: str) -> str:
    """``mastodon.social`` → ``https://mastodon.social``; an explicit http:// is kept."""
    text = (value or "").strip().rstrip("/")
    if not text:
        raise ValidationError(
            "instance_url is missing: give the instance, e.g. https://mastodon.social",
            field="instance_url",
        )
    if "://" not in text:
        text = "https://" + text
    try:
        text.encode("utf-8")  # lone surrogates and the like cannot be an address
        parts = urlsplit(text)
        hostname, _port = parts.hostname, parts.port  # a bad [IPv6] or port raises here
    except ValueError:
        hostname = None
    if hostname is None or parts.scheme not in ("http", "https"):
        raise ValidationError(
            "%(value)r is not an instance address: write it as https://mastodon.social",
            # Lone surrogates escaped: the error's values go out as JSON.
            params={"value": value.encode("utf-8", "backslashreplace").decode("utf-8")},
            field="instance_url",
        )
    return f"{parts.scheme}://{parts.netloc}"


def parse_handle(handle: str) -> tuple[str, str]:
    """``@user@host[:port]`` → (user, host[:port]); ValidationError otherwise."""
    match = _HANDLE.match(handle.strip())
    if not match:
        raise ValidationError(
            "%(handle)r is not a Mastodon handle: write it as @user@instance.social",
            params={"handle": handle},
            field="handle",
        )
    return match["user"], match["host"].lower()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p") and self.parts:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str | None) -> str | None:
    """A status's HTML content as plain text (paragraphs and line breaks kept)."""
    if not html:
        return None
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts).strip() or None


def status_format(status: Mapping[str, Any], own_account_id: str) -> str:
    """The format of a status, from what it carries."""
    if status.get("poll"):
        return "poll"
    kinds = {str(m.get("type")) for m in status.get("media_attachments") or []}
    if kinds & {"video", "gifv"}:
        return "video"
    if "image" in kinds:
        return "photo"
    if "audio" in kinds:
        return "audio"
    if status.get("card"):
        return "link"
    if status.get("in_reply_to_id") and str(status.get("in_reply_to_account_id")) == str(
        own_account_id
    ):
        return "thread"
    return "text"


def status_metrics(status: Mapping[str, Any]) -> dict[str, int]:
    """Canonical counters of a status (absent when the instance does not give them)."""
    pairs = (
        ("reactions", "favourites_count"),
        ("shares", "reblogs_count"),
        ("comments", "replies_count"),
        ("quotes", "quotes_count"),
    )
    return {ours: int(status[theirs]) for ours, theirs in pairs if status.get(theirs) is not None}


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def to_remote_post(status: Mapping[str, Any], own_account_id: str) -> RemotePost:
    card = status.get("card") or {}
    return RemotePost(
        external_id=str(status["id"]),
        published_at=_when(status["created_at"]),
        format=status_format(status, own_account_id),
        permalink=status.get("url") or status.get("uri"),
        text=html_to_text(status.get("content")),
        link_url=card.get("url") if isinstance(card, Mapping) else None,
        metrics=status_metrics(status),
    )


def _explain(error: BaseException, instance_url: str) -> TownsquareError:
    """One sentence with the fix for what Mastodon.py raised."""
    cause: BaseException | None = error
    while cause is not None:  # our own refusal (SSRF on a redirect hop) wrapped by Mastodon.py
        if isinstance(cause, TownsquareError):
            return cause
        cause = cause.__context__ or cause.__cause__
    text = str(error)
    if isinstance(error, MastodonUnauthorizedError):
        return AuthenticationError(
            "%(instance)s refused the access token (401): it is wrong, expired or revoked; "
            "reconnect the channel with a new token",
            params={"instance": instance_url},
            field="access_token",
        )
    if isinstance(error, MastodonRatelimitError):
        return RateLimited(
            "%(instance)s rate limit reached (300 requests per 5 minutes): try again in a "
            "few minutes",
            params={"instance": instance_url},
            retry_after=300,
        )
    if isinstance(error, MastodonNetworkError):
        if "SSL" in text or "certificate" in text.lower():
            return NetworkError(
                "TLS error talking to %(instance)s: its certificate is not valid for this "
                "address; check the address (https://…) or ask the instance's admin",
                params={"instance": instance_url},
            )
        if "timed out" in text.lower() or "timeout" in text.lower():
            return NetworkError(
                "%(instance)s did not answer in time: try again later or check the address",
                params={"instance": instance_url},
            )
        return NetworkError(
            "cannot reach the Mastodon instance %(instance)s: check the address and that "
            "the instance is up",
            params={"instance": instance_url},
        )
    if isinstance(error, MastodonAPIError) and "Could not parse response as JSON" in text:
        return NetworkError(
            "%(instance)s answered with something that is not the Mastodon API (HTML or a "
            "broken body instead of JSON): check that this is the instance's address",
            params={"instance": instance_url},
        )
    if isinstance(error, MastodonNotFoundError):
        return NetworkError(
            "%(instance)s has no Mastodon API here (404): check that this is an instance's address",
            params={"instance": instance_url},
        )
    if isinstance(error, MastodonServerError):
        return NetworkError(
            "%(instance)s failed (%(detail)s): try again later",
            params={"instance": instance_url, "detail": text},
        )
    return NetworkError(
        "%(instance)s refused the request (%(detail)s)",
        params={"instance": instance_url, "detail": text},
    )


def _next_cursor(statuses: list[Any], headers: Mapping[str, str], asked: int) -> str | None:
    """The ``max_id`` of the next (older) page, or None at the end of the history.

    The instance says it in its ``Link`` header (``rel="next"``); a server may serve fewer
    statuses than asked (its own cap), so a short page is the end only when there is no
    Link header to tell.
    """
    if not statuses:
        return None
    link = headers.get("Link") or headers.get("link")
    if link is not None:
        return str(statuses[-1]["id"]) if 'rel="next"' in link else None
    return str(statuses[-1]["id"]) if len(statuses) >= asked else None


def _raise_for_status(response: requests.Response) -> None:
    """Mastodon.py's error for an unsuccessful answer (so that _explain says it the same)."""
    status = response.status_code
    if status < 400:
        return
    kinds: dict[int, type[MastodonError]] = {
        401: MastodonUnauthorizedError,
        404: MastodonNotFoundError,
        429: MastodonRatelimitError,
    }
    kind = kinds.get(status, MastodonServerError if status >= 500 else MastodonAPIError)
    raise kind("Mastodon API returned error", status, response.reason, response.text[:200])


@contextmanager
def _translated(instance_url: str) -> Iterator[None]:
    try:
        yield
    except MastodonError as error:
        raise _explain(error, instance_url) from None
    except requests.RequestException as error:
        raise _explain(MastodonNetworkError(str(error)), instance_url) from None


class MastodonConnector(MastodonPublishing):
    """One Mastodon account. Credentials: ``instance_url``, ``access_token`` and, after
    OAuth, ``client_id``/``client_secret`` (needed to revoke)."""

    info = INFO

    def __init__(
        self,
        credentials: Mapping[str, Any],
        settings: Settings,
        *,
        policy: RatePolicy | None = None,
    ) -> None:
        self.instance_url = normalize_instance_url(str(credentials.get("instance_url") or ""))
        token = str(credentials.get("access_token") or "").strip()
        if not token:
            raise ValidationError(
                'access_token is missing: send {"instance_url": "…", "access_token": "…"}',
                field="access_token",
            )
        check_url(self.instance_url, settings, field="instance_url")
        self.credentials = dict(credentials)
        self.policy = policy or RatePolicy(network=f"Mastodon ({self.instance_url})")
        self.rate_limit: RateLimitState = self.policy.state
        self.session = requests_session(settings, self.policy)
        self.client = Mastodon(
            access_token=token,
            client_id=credentials.get("client_id"),
            client_secret=credentials.get("client_secret"),
            api_base_url=self.instance_url,
            session=self.session,
            ratelimit_method="throw",  # waiting and retrying is RatePolicy's job
            request_timeout=DEFAULT_TIMEOUT_SECONDS,
            version_check_mode="none",
            user_agent=USER_AGENT,
        )
        self._account_id: str | None = None

    def check(self) -> Account:
        me = self._get_json("/api/v1/accounts/verify_credentials", {})
        if not isinstance(me, Mapping) or "id" not in me:
            raise NetworkError(
                "%(instance)s answered verify_credentials without an account: check "
                "that this is a Mastodon instance",
                params={"instance": self.instance_url},
            )
        self._account_id = str(me["id"])
        return self._account(me)

    def _account(self, me: Mapping[str, Any]) -> Account:
        host = urlsplit(self.instance_url).netloc
        return Account(
            external_id=str(me["id"]),
            handle=f"@{me.get('username') or me.get('acct')}@{host}",
            display_name=me.get("display_name") or None,
            avatar_url=me.get("avatar"),
            followers=me.get("followers_count"),
            url=me.get("url"),
        )

    def _own_id(self) -> str:
        if self._account_id is None:
            self._account_id = self.check().external_id
        return self._account_id

    def fetch_posts(
        self, cursor: str | None = None, limit: int = PAGE_SIZE, *, account_id: str | None = None
    ) -> PostPage:
        """A page of the account's statuses. Each status carries its author, the account
        itself with its followers count: the page gives it back as ``account`` (so that an
        incremental sync with ``account_id`` known is one request)."""
        if account_id and self._account_id is None:
            self._account_id = str(account_id)
        own = self._own_id()
        params: dict[str, str | int] = {"limit": min(limit, PAGE_SIZE), "exclude_reblogs": "true"}
        if cursor is not None:
            params["max_id"] = cursor
        statuses, headers = self._get_json_and_headers(f"/api/v1/accounts/{own}/statuses", params)
        if not isinstance(statuses, list):
            raise NetworkError(
                "%(instance)s answered the statuses with no list",
                params={"instance": self.instance_url},
            )
        posts = [
            to_remote_post(status, own)
            for status in statuses
            if status.get("visibility") != "direct"  # private messages are not posts
        ]
        author = statuses[0].get("account") if statuses else None
        account = None
        if isinstance(author, Mapping) and str(author.get("id")) == own and "id" in author:
            account = self._account(author)
        cursor = _next_cursor(statuses, headers, min(limit, PAGE_SIZE))
        return PostPage(posts=posts, cursor=cursor, account=account)

    def _get_json(self, path: str, params: Mapping[str, str | int]) -> Any:
        return self._get_json_and_headers(path, params)[0]

    def _get_json_and_headers(
        self, path: str, params: Mapping[str, str | int]
    ) -> tuple[Any, Mapping[str, str]]:
        """GET an API path as plain JSON, through the connector's session (SSRF rule, rate
        policy, User-Agent). Reads skip Mastodon.py's typed objects: casting a page of 40
        statuses into them cost ~0.2 s of CPU, most of a sync with nothing new."""
        with _translated(self.instance_url):
            response = self.session.get(
                self.instance_url + path,
                params=params,
                headers={"Authorization": f"Bearer {self.client.access_token}"},
                timeout=DEFAULT_TIMEOUT_SECONDS,
            )
            _raise_for_status(response)
            try:
                return response.json(), response.headers
            except ValueError:
                raise MastodonAPIError("Could not parse response as JSON") from None

    def updated_credentials(self) -> dict[str, Any] | None:
        return None  # Mastodon tokens do not expire

    def revoke(self) -> bool:
        """Revoke the token (needs the OAuth app's client id and secret, which a pasted
        token does not come with: then the user revokes it in the instance's settings)."""
        if not (self.credentials.get("client_id") and self.credentials.get("client_secret")):
            return False
        with _translated(self.instance_url):
            self.client.revoke_access_token(allow_http=True)
        return True

    def close(self) -> None:
        self.session.close()


# --- OAuth 2: app registration per instance, authorization code, PKCE --------------------


@dataclass(frozen=True)
class OAuthApp:
    """townsquare registered on one instance (stored once per instance and redirect URI)."""

    instance_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: list[str]


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str  # where to send the user's browser
    state: str
    code_verifier: str | None  # None when the instance does not offer PKCE


def _oauth_call(session: requests.Session, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    instance = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    try:
        response = session.request(method, url, timeout=DEFAULT_TIMEOUT_SECONDS, **kwargs)
    except TownsquareError:
        raise
    except requests.RequestException as error:
        raise _explain(MastodonNetworkError(str(error)), instance) from None
    if response.status_code in (400, 401, 403):
        raise AuthenticationError(
            "%(instance)s refused the authorization (%(status)s): start the connection again",
            params={"instance": instance, "status": response.status_code},
        )
    if response.status_code >= 300:
        raise NetworkError(
            "%(instance)s answered %(status)s to %(path)s",
            params={
                "instance": instance,
                "status": response.status_code,
                "path": urlsplit(url).path,
            },
        )
    try:
        value = response.json()
    except ValueError:
        raise _explain(MastodonAPIError("Could not parse response as JSON"), instance) from None
    if not isinstance(value, dict):
        raise NetworkError(
            "%(instance)s answered %(path)s with no JSON object",
            params={"instance": instance, "path": urlsplit(url).path},
        )
    return value


def register_app(
    instance_url: str, redirect_uri: str, settings: Settings, scopes: list[str] | None = None
) -> OAuthApp:
    """``POST /api/v1/apps``: register townsquare on the instance (once per instance)."""
    base = check_url(normalize_instance_url(instance_url), settings, field="instance_url")
    chosen = scopes or DEFAULT_SCOPES
    with requests_session(settings, RatePolicy()) as session:
        data = _oauth_call(
            session,
            "POST",
            f"{base}/api/v1/apps",
            data={
                "client_name": "townsquare",
                "redirect_uris": redirect_uri,
                "scopes": " ".join(chosen),
                "website": settings.base_url or "",
            },
        )
    if not data.get("client_id") or not data.get("client_secret"):
        raise NetworkError(
            "%(instance)s registered the app but gave no client id or secret",
            params={"instance": base},
        )
    return OAuthApp(base, str(data["client_id"]), str(data["client_secret"]), redirect_uri, chosen)


def offers_pkce(instance_url: str, settings: Settings) -> bool:
    """Whether the instance's OAuth metadata lists S256 (Mastodon 4.3+)."""
    with requests_session(settings, RatePolicy()) as session:
        try:
            data = _oauth_call(
                session, "GET", f"{instance_url}/.well-known/oauth-authorization-server"
            )
        except TownsquareError:
            return False
    return "S256" in (data.get("code_challenge_methods_supported") or [])


def authorization_request(app: OAuthApp, *, pkce: bool) -> AuthorizationRequest:
    """The URL of the instance's consent page, with a fresh state (and PKCE challenge)."""
    state = secrets.token_urlsafe(24)
    params = {
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "response_type": "code",
        "scope": " ".join(app.scopes),
        "state": state,
    }
    verifier: str | None = None
    if pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        params["code_challenge"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        params["code_challenge_method"] = "S256"
    return AuthorizationRequest(
        f"{app.instance_url}/oauth/authorize?{urlencode(params)}", state, verifier
    )


def exchange_code(
    app: OAuthApp, code: str, settings: Settings, code_verifier: str | None = None
) -> dict[str, Any]:
    """``POST /oauth/token``: the authorization code for an access token; returns the
    channel's credentials."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uri": app.redirect_uri,
        "scope": " ".join(app.scopes),
    }
    if code_verifier:
        form["code_verifier"] = code_verifier
    with requests_session(settings, RatePolicy()) as session:
        data = _oauth_call(session, "POST", f"{app.instance_url}/oauth/token", data=form)
    token = data.get("access_token")
    if not token:
        raise AuthenticationError(
            "%(instance)s gave no access token: connect again",
            params={"instance": app.instance_url},
        )
    return {
        "instance_url": app.instance_url,
        "access_token": str(token),
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
