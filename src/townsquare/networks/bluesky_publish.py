"""Publishing to Bluesky (the ``Publisher`` half of :class:`BlueskyConnector`).

- ``publish``: uploads each image (``com.atproto.repo.uploadBlob``) and creates the post
  with ``com.atproto.repo.createRecord`` under the record key (``rkey``, TID syntax) that
  townsquare chose and stored before the first attempt, so that the same part can never
  exist twice: a second create with the same key is refused by the PDS. The record carries
  ``langs``, the images with their alt text, the ``reply`` refs (root and parent, each an
  at:// URI and CID) for the later parts of a thread, and ``facets`` for links, mentions
  (resolved to DIDs) and hashtags, indexed in UTF-8 bytes, so that they are clickable.
  Bluesky has no content warning for free text (its self-labels name adult content only):
  a variant's content warning is not sent.
- ``find_published``: ``com.atproto.repo.getRecord`` for that rkey; certain either way.
- ``publish_limits``: the lexicon's fixed limits (``app.bsky.feed.post``: 300 graphemes and
  3,000 bytes of text, 3 languages; ``app.bsky.embed.images``: 4 images of 2,000,000 bytes).

Failures, from what is certain (a 5xx or a 400 is first checked with getRecord: an attempt
whose record exists is a success):

- townsquare's own refusals first (:mod:`~townsquare.networks.publish_errors`): the rate
  policy's budget spent is ``RETRY`` after its reset, the SSRF rule ``REJECTED``;
- 401, a refused login, or a session the PDS no longer honours (400 ``ExpiredToken`` or
  ``InvalidToken``: a revoked app password's refresh token, an unverifiable access token):
  ``REJECTED`` with ``reconnect`` (the channel needs reconnection);
- 400 (invalid record, blob too large), 403, 413: ``REJECTED`` with the PDS's own words;
- 429: ``RETRY`` after the ``Retry-After``/``RateLimit-Reset`` the PDS sent;
- 500/503 and the record absent: ``RETRY`` (the PDS answered: its write did not happen);
  502/504 (a gateway gave up, the PDS may still write): ``UNKNOWN``;
- no connection (refused, connect timeout): ``RETRY``; a read timeout or a reset once the
  request went out: ``UNKNOWN`` (getRecord then tells; a retry with the same rkey is safe);
- a failed image upload publishes nothing: ``RETRY`` (``REJECTED`` on a 4xx).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pydantic
import regex
from atproto_client import exceptions as at_errors
from atproto_client import models
from atproto_client.models import ids

from townsquare.errors import AuthenticationError, RateLimited, TownsquareError, ValidationError
from townsquare.networks.base import OutgoingPost, PublishedRef, PublishError, PublishOutcome
from townsquare.networks.publish_errors import (
    chain,
    credentials_refused,
    own_refusal,
    too_many_requests,
)

if TYPE_CHECKING:
    from atproto import Client

POST_COLLECTION = ids.AppBskyFeedPost

# The lexicon's limits (app.bsky.feed.post, app.bsky.embed.images), as publish_limits gives
# them; tests/publish/test_limits.py checks them against the lexicon documents.
LEXICON_LIMITS: dict[str, Any] = {
    "statuses": {"max_graphemes": 300, "max_bytes": 3000, "max_langs": 3},
    "media_attachments": {
        "max_images": 4,
        "image_size_limit": 2_000_000,
        "supported_mime_types": ["image/*"],
    },
}

# --- record keys (TID) ---------------------------------------------------------------------

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID = regex.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def new_tid(moment: datetime | None = None, clock_id: int | None = None) -> str:
    """A record key in TID syntax (atproto spec "Record Key" / "TID"): 64 bits, the top one
    zero, then microseconds since the epoch (53 bits) and a 10-bit clock id, written in
    base32-sortable. Choose it once per part, store it, then publish with it."""
    micros = int(moment.timestamp() * 1_000_000) if moment is not None else time.time_ns() // 1000
    clock = secrets.randbelow(1024) if clock_id is None else clock_id % 1024
    value = (micros << 10) | clock
    return "".join(_TID_ALPHABET[(value >> (5 * shift)) & 31] for shift in range(12, -1, -1))


# --- facets --------------------------------------------------------------------------------

# Ported from @atproto/api's rich-text detection (util.js, detection.js).
_MENTION = regex.compile(r"(^|\s|\()(@)([a-zA-Z0-9.-]+)(\b)")
_URL = regex.compile(r"(^|\s|\()(https?://\S+)", regex.IGNORECASE)
_TAG = regex.compile(
    r"(^|\s)[#＃]((?!\ufe0f)[^\s\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2]*"
    r"[^\d\s\p{P}\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2]+"
    r"[^\s\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2]*)?"
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_HANDLE = regex.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class FacetSpan:
    """A link, mention or hashtag of a post's text, located in UTF-8 bytes
    (``byte_start`` inclusive, ``byte_end`` exclusive, as the facet lexicon says)."""

    kind: str  # "link", "mention" (value: the handle) or "tag" (value: without #)
    byte_start: int
    byte_end: int
    value: str


def _byte(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def facet_spans(text: str) -> list[FacetSpan]:
    """Links (http/https), mentions (``@handle.domain``) and hashtags of ``text``."""
    spans: list[FacetSpan] = []
    for match in _MENTION.finditer(text):
        handle = match.group(3)
        if not _HANDLE.match(handle):
            continue
        start = match.start(2)
        spans.append(
            FacetSpan("mention", _byte(text, start), _byte(text, match.end(3)), handle.lower())
        )
    for match in _URL.finditer(text):
        uri = match.group(2)
        start, end = match.start(2), match.end(2)
        if uri[-1] in ".,;:!?":
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        spans.append(FacetSpan("link", _byte(text, start), _byte(text, end), uri))
    for match in _TAG.finditer(text):
        tag = match.group(2)
        if not tag:
            continue
        tag = _TRAILING_PUNCTUATION.sub("", tag.strip())
        if not tag or len(_GRAPHEME.findall(tag)) > 64:
            continue
        start = match.start(0) + len(match.group(1))
        spans.append(FacetSpan("tag", _byte(text, start), _byte(text, start + 1 + len(tag)), tag))
    return sorted(spans, key=lambda span: span.byte_start)


# --- errors --------------------------------------------------------------------------------


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    code = getattr(response, "status_code", None)
    return int(code) if isinstance(code, int) else None


def _words(error: BaseException) -> str:
    response = getattr(error, "response", None)
    content = getattr(response, "content", None)
    name = str(getattr(content, "error", "") or "")
    message = str(getattr(content, "message", "") or "")
    if name or message:
        return f"{name}: {message}" if name and message else name or message
    causes = chain(error)
    return (str(causes[-1]) or type(causes[-1]).__name__).replace("\n", " ")[:200]


# What a PDS answers (400, not 401) to a session it no longer honours: an expired or revoked
# token (a refresh after the app password was revoked says "Token has been revoked"), or one
# it cannot verify.
SESSION_REFUSED = frozenset({"ExpiredToken", "InvalidToken"})


def _session_refused(error: BaseException) -> bool:
    """Whether the PDS refused the channel's credentials: a 401, or a 400 naming the token."""
    if isinstance(error, at_errors.UnauthorizedError):
        return True
    content = getattr(getattr(error, "response", None), "content", None)
    return _status(error) == 400 and str(getattr(content, "error", "") or "") in SESSION_REFUSED


def _never_sent(error: BaseException) -> bool:
    for cause in chain(error):
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return True
    return False


def _retry_after(error: BaseException) -> float:
    seconds = getattr(error, "retry_after", None)
    if isinstance(seconds, int | float) and seconds >= 0:
        return float(seconds)
    reset = getattr(error, "reset_at", None)
    if isinstance(reset, datetime):
        return max(1.0, reset.timestamp() - time.time())
    return 60.0


class BlueskyPublishing:
    """``publish``, ``find_published`` and ``publish_limits`` of a Bluesky account.

    A mixin of :class:`~townsquare.networks.bluesky.BlueskyConnector`, which gives it the
    logged-in atproto ``Client`` (``_login``), ``credentials`` and ``service_url``.
    """

    credentials: dict[str, Any]
    service_url: str

    def _login(self) -> Client:  # pragma: no cover - BlueskyConnector's
        raise NotImplementedError

    # --- publish -----------------------------------------------------------------------

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Create one part's record under ``post.rkey`` (required: choose it with
        :func:`new_tid` and store it first); ``PublishError`` says what may follow."""
        if not post.rkey or not TID.match(post.rkey):
            raise ValueError(f"a Bluesky part needs its stored rkey in TID syntax: {post.rkey!r}")
        client = self._client_for_publish()
        did = str(self.credentials.get("did") or client.me.did)
        try:
            images = [
                self._upload(client, item, index + 1) for index, item in enumerate(post.media)
            ]
            record = models.AppBskyFeedPost.Record(
                text=post.full_text,
                created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                langs=[post.language] if post.language else None,
                facets=self._facets(client, post.full_text) or None,
                reply=_reply_ref(post),
                embed=models.AppBskyEmbedImages.Main(images=images) if images else None,
            )
            data = models.ComAtprotoRepoCreateRecord.Data(
                repo=did, collection=POST_COLLECTION, record=record, rkey=post.rkey
            )
        except pydantic.ValidationError as error:
            raise PublishError(
                PublishOutcome.REJECTED,
                "the post does not fit Bluesky's post record: %(reason)s",
                params={"reason": str(error).replace("\n", " ")[:300]},
            ) from None
        try:
            created = client.com.atproto.repo.create_record(data)
        except (at_errors.AtProtocolError, httpx.HTTPError, TownsquareError, ValueError) as error:
            outcome = self._create_error(client, did, post.rkey, error)
            if isinstance(outcome, PublishedRef):
                return outcome  # this or an earlier attempt wrote it
            raise outcome from None
        return self._ref(post.rkey, str(created.uri), str(created.cid), record.created_at)

    def _client_for_publish(self) -> Client:
        try:
            return self._login()
        except (AuthenticationError, ValidationError) as error:
            raise credentials_refused(self.service_url, str(error)) from None
        except RateLimited as error:
            raise PublishError(
                PublishOutcome.RETRY,
                "Bluesky rate limit reached while logging in: townsquare tries again later",
                retry_after=float(error.retry_after or 60),
            ) from None
        except TownsquareError as error:
            raise PublishError(
                PublishOutcome.RETRY,
                "cannot log in to Bluesky (%(reason)s): nothing was sent, townsquare tries "
                "again later",
                params={"reason": str(error)},
            ) from None

    def _upload(self, client: Client, item: Any, index: int) -> Any:
        try:
            blob = client.upload_blob(item.data).blob
        except (at_errors.AtProtocolError, httpx.HTTPError, TownsquareError, ValueError) as error:
            code = _status(error)
            refusal = own_refusal(error, self.service_url)
            if refusal is not None:
                raise refusal from None
            if isinstance(error, at_errors.RateLimitExceededError):
                wait = _retry_after(error)
                raise PublishError(
                    PublishOutcome.RETRY,
                    "%(server)s rate limit reached (429) uploading image %(index)s: townsquare "
                    "tries again in %(seconds)s s",
                    params={"server": self.service_url, "index": index, "seconds": int(wait)},
                    retry_after=wait,
                ) from None
            if _session_refused(error):
                raise credentials_refused(self.service_url, _words(error)) from None
            if (code is not None and 400 <= code < 500) or isinstance(
                error, ValidationError | AuthenticationError
            ):
                raise PublishError(
                    PublishOutcome.REJECTED,
                    "%(server)s refused image %(index)s: %(reason)s",
                    params={"server": self.service_url, "index": index, "reason": _words(error)},
                ) from None
            raise PublishError(
                PublishOutcome.RETRY,
                "image %(index)s could not be uploaded to %(server)s (%(reason)s): townsquare "
                "tries again later",
                params={"server": self.service_url, "index": index, "reason": _words(error)},
            ) from None
        return models.AppBskyEmbedImages.Image(alt=item.alt_text or "", image=blob)

    def _facets(self, client: Client, text: str) -> list[models.AppBskyRichtextFacet.Main]:
        facets = []
        for span in facet_spans(text):
            feature: Any
            if span.kind == "link":
                feature = models.AppBskyRichtextFacet.Link(uri=span.value)
            elif span.kind == "tag":
                feature = models.AppBskyRichtextFacet.Tag(tag=span.value)
            else:
                did = self._resolve(client, span.value)
                if did is None:
                    continue  # not a Bluesky handle: the text stays plain
                feature = models.AppBskyRichtextFacet.Mention(did=did)
            facets.append(
                models.AppBskyRichtextFacet.Main(
                    index=models.AppBskyRichtextFacet.ByteSlice(
                        byte_start=span.byte_start, byte_end=span.byte_end
                    ),
                    features=[feature],
                )
            )
        return facets

    @staticmethod
    def _resolve(client: Client, handle: str) -> str | None:
        try:
            answer = client.com.atproto.identity.resolve_handle({"handle": handle})
        except (at_errors.AtProtocolError, httpx.HTTPError, TownsquareError, ValueError):
            return None
        return str(answer.did)

    def _ref(
        self, rkey: str, uri: str, cid: str | None, created_at: str | None = None
    ) -> PublishedRef:
        handle = self.credentials.get("handle") or self.credentials.get("did")
        published_at = None
        if created_at:
            published_at = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        return PublishedRef(
            external_id=rkey,
            url=f"https://bsky.app/profile/{handle}/post/{rkey}",
            uri=uri,
            cid=cid,
            published_at=published_at,
        )

    def _create_error(
        self, client: Client, did: str, rkey: str, error: BaseException
    ) -> PublishError | PublishedRef:
        server = self.service_url
        refusal = own_refusal(error, server)  # the rate policy's budget, the SSRF rule
        if refusal is not None:
            return refusal
        if isinstance(error, at_errors.RateLimitExceededError):
            return too_many_requests(server, _retry_after(error))
        if _session_refused(error):
            return credentials_refused(server, _words(error))
        code = _status(error)
        if code is not None:
            # The PDS answered: if the record is there (an earlier attempt, or this one
            # failing after its write), the part is published.
            try:
                existing = self._get(client, did, rkey)
            except PublishError:
                existing = None
                if code >= 500:
                    return PublishError(
                        PublishOutcome.UNKNOWN,
                        "%(server)s failed (%(code)s) and cannot say yet whether the post "
                        "exists: townsquare checks before trying again",
                        params={"server": server, "code": code},
                    )
            if existing is not None:
                return existing
            if 400 <= code < 500:
                return PublishError(
                    PublishOutcome.REJECTED,
                    "%(server)s refused the post (%(code)s): %(reason)s",
                    params={"server": server, "code": code, "reason": _words(error)},
                )
            if code in (502, 504):
                return PublishError(
                    PublishOutcome.UNKNOWN,
                    "a gateway in front of %(server)s gave up (%(code)s): the post may still "
                    "be written; townsquare checks before trying again",
                    params={"server": server, "code": code},
                )
            return PublishError(
                PublishOutcome.RETRY,
                "%(server)s failed (%(code)s) without writing the post: townsquare tries "
                "again later",
                params={"server": server, "code": code},
            )
        if isinstance(error, at_errors.NetworkError | httpx.HTTPError):
            if _never_sent(error):
                return PublishError(
                    PublishOutcome.RETRY,
                    "cannot reach %(server)s (%(reason)s): nothing was sent, townsquare tries "
                    "again later",
                    params={"server": server, "reason": _words(error)},
                )
            return PublishError(
                PublishOutcome.UNKNOWN,
                "%(server)s did not answer after receiving the post (%(reason)s): townsquare "
                "checks whether it was published before trying again",
                params={"server": server, "reason": _words(error)},
            )
        return PublishError(
            PublishOutcome.UNKNOWN,
            "%(server)s gave an unreadable answer to the post (%(reason)s): townsquare checks "
            "whether it was published before trying again",
            params={"server": server, "reason": _words(error)},
        )

    # --- find_published ------------------------------------------------------------------

    def find_published(self, post: OutgoingPost, sent_after: datetime) -> PublishedRef | None:
        """The record under ``post.rkey`` if it exists, else None (certain: a later create
        with the same rkey can never make a second one)."""
        if not post.rkey:
            raise ValueError("a Bluesky part is found by its stored rkey, and this one has none")
        try:
            client = self._login()
        except TownsquareError as error:
            raise PublishError(
                PublishOutcome.UNKNOWN,
                "cannot log in to Bluesky to look for the post (%(reason)s): townsquare asks "
                "again later",
                params={"reason": str(error)},
            ) from None
        did = str(self.credentials.get("did") or client.me.did)
        return self._get(client, did, post.rkey)

    def _get(self, client: Client, did: str, rkey: str) -> PublishedRef | None:
        try:
            found = client.com.atproto.repo.get_record(
                {"repo": did, "collection": POST_COLLECTION, "rkey": rkey}
            )
        except (at_errors.AtProtocolError, httpx.HTTPError, TownsquareError, ValueError) as error:
            if isinstance(error, at_errors.BadRequestError) and _not_found(error):
                return None
            raise PublishError(
                PublishOutcome.UNKNOWN,
                "cannot look for the post on %(server)s yet (%(reason)s): townsquare asks "
                "again later",
                params={"server": self.service_url, "reason": _words(error)},
            ) from None
        value = found.value
        created = value.get("createdAt") if isinstance(value, Mapping) else None
        created = created or getattr(value, "created_at", None)
        return self._ref(rkey, str(found.uri), str(found.cid) if found.cid else None, created)

    # --- publish_limits ------------------------------------------------------------------

    def publish_limits(self) -> dict[str, Any]:
        """The lexicon's fixed limits (the same for every PDS)."""
        return {key: dict(value) for key, value in LEXICON_LIMITS.items()}


def _not_found(error: BaseException) -> bool:
    words = _words(error).lower()
    return "recordnotfound" in words or "could not locate record" in words


def _reply_ref(post: OutgoingPost) -> models.AppBskyFeedPost.ReplyRef | None:
    if post.reply_to is None:
        return None
    parent = post.reply_to
    root = post.thread_root or parent
    if not (parent.uri and parent.cid and root.uri and root.cid):
        raise ValueError("a Bluesky reply needs the at:// URI and CID of its parent and root")
    return models.AppBskyFeedPost.ReplyRef(
        parent=models.ComAtprotoRepoStrongRef.Main(uri=parent.uri, cid=parent.cid),
        root=models.ComAtprotoRepoStrongRef.Main(uri=root.uri, cid=root.cid),
    )
