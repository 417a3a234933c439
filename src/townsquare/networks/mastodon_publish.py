"""Publishing to Mastodon (the ``Publisher`` half of :class:`MastodonConnector`).

- ``publish``: uploads each image with its description (alt text), waits until the instance
  has processed it, then posts the status with ``spoiler_text`` (content warning),
  ``language``, ``in_reply_to_id`` (a thread's previous part) and an ``Idempotency-Key``
  header chosen once per part by townsquare: Mastodon answers a second request carrying the
  same key, within an hour, with the status the first one created instead of a new one.
- ``find_published``: after an attempt of unknown outcome, looks for the status among the
  account's own recent statuses (same text, same reply target, posted since the attempt
  began). Side-effect free: re-asking with the idempotency key is what the dispatcher's
  retry (``publish`` again, with the same key) does, and only once this says "not there".
- ``publish_limits``: ``/api/v2/instance``'s ``configuration`` (``/api/v1/instance`` on
  instances before 4.0; ``max_toot_chars`` of glitch-soc and Pleroma understood).

How each failure ends (``PublishOutcome``), from what is certain:

- townsquare's own refusals first (:mod:`~townsquare.networks.publish_errors`): the rate
  policy's budget spent is ``RETRY`` after its reset, the SSRF rule ``REJECTED``;
- 401 (token refused): ``REJECTED`` with ``reconnect`` (the channel needs reconnection);
- other 4xx than 429 (422 validation, 403, 404 reply target gone): ``REJECTED`` with the
  instance's own words;
- 429: ``RETRY`` after the ``Retry-After`` the instance sent;
- 503 (the instance is down or refused to start the work): ``RETRY``;
  500, 502 and 504 may come after the status was stored: ``UNKNOWN``;
- no connection (refused, DNS, connect timeout): ``RETRY``, nothing was sent;
- a read timeout or a connection reset once the request went out: ``UNKNOWN``;
- a failed media upload never published anything: ``RETRY`` (``REJECTED`` on a 4xx).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import regex
import requests
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonUnauthorizedError,
)

from townsquare.errors import NetworkError, TownsquareError
from townsquare.networks.base import (
    OutgoingPost,
    PublishedRef,
    PublishError,
    PublishOutcome,
    RateLimitState,
)
from townsquare.networks.http import retry_after_seconds
from townsquare.networks.publish_errors import (
    chain,
    credentials_refused,
    own_refusal,
    too_many_requests,
)

if TYPE_CHECKING:
    from mastodon import Mastodon

# How long after an attempt began a missing status still may appear (the instance may hold
# a request past the client's timeout and store the status then). mastodon_mock's timeout
# fault holds 30 s.
SETTLE_SECONDS = 45.0
MEDIA_PROCESSING_SECONDS = 30.0  # how long to wait for an upload to be processed
RECENT_PAGES = 3  # pages of 40 statuses looked through by find_published
CLOCK_SKEW = timedelta(minutes=2)  # the instance's clock against ours

_SPACE = regex.compile(r"\s+")
_REMOTE_MENTION = regex.compile(r"(?<![\w@/])@([\w.]+)@[\w.-]+\w")


def instance_configuration(instance: Mapping[str, Any]) -> dict[str, Any]:
    """The limits part of an ``/api/v2/instance`` (or v1) answer, as plain JSON data.

    v2 and v1 (Mastodon 3.4+) carry ``configuration`` with ``statuses`` and
    ``media_attachments``; older v1 answers and some other servers give only
    ``max_toot_chars``, which becomes ``statuses.max_characters``.
    """
    data = json.loads(json.dumps(dict(instance), default=str))
    configuration = dict(data.get("configuration") or {})
    statuses = dict(configuration.get("statuses") or {})
    if "max_characters" not in statuses and data.get("max_toot_chars"):
        statuses["max_characters"] = int(data["max_toot_chars"])
    configuration["statuses"] = statuses
    configuration.setdefault("media_attachments", {})
    if data.get("version"):
        configuration["version"] = str(data["version"])
    return configuration


def comparable_text(text: str) -> str:
    """Text reduced to what survives Mastodon's rendering: remote mentions shown as
    ``@user``, every run of white space as one space."""
    return _SPACE.sub(" ", _REMOTE_MENTION.sub(r"@\1", text)).strip()


def _status_ref(status: Mapping[str, Any]) -> PublishedRef:
    created = status.get("created_at")
    published_at = None
    if isinstance(created, datetime):
        published_at = created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC)
    elif created:
        published_at = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    return PublishedRef(
        external_id=str(status["id"]),
        url=status.get("url") or status.get("uri"),
        published_at=published_at,
    )


def _error_words(error: MastodonError) -> str:
    """What the instance said (the ``error`` of its JSON body), else the status line."""
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) >= 4 and args[3]:
        return str(args[3])
    if len(args) >= 3 and args[2]:
        return f"{args[1]} {args[2]}"
    return str(error)


def _status_code(error: MastodonError) -> int | None:
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) >= 2 and isinstance(args[1], int):
        return args[1]
    return None


def _never_sent(error: BaseException) -> bool:
    """Whether a transport error happened before the request left (no connection made)."""
    for cause in chain(error):
        if isinstance(cause, requests.exceptions.ConnectTimeout):
            return True
        if isinstance(cause, requests.exceptions.ReadTimeout):
            return False
        if isinstance(cause, requests.exceptions.ConnectionError):
            text = repr(cause)
            return any(
                mark in text
                for mark in ("NewConnectionError", "NameResolutionError", "ConnectionRefused")
            )
    return False


class MastodonPublishing:
    """``publish``, ``find_published`` and ``publish_limits`` of a Mastodon account.

    A mixin of :class:`~townsquare.networks.mastodon.MastodonConnector`, which gives it its
    Mastodon.py ``client``, ``instance_url``, ``rate_limit`` and ``_own_id``.
    """

    client: Mastodon
    session: requests.Session
    instance_url: str
    rate_limit: RateLimitState
    publish_settle_seconds: float = SETTLE_SECONDS
    media_processing_seconds: float = MEDIA_PROCESSING_SECONDS

    def _own_id(self) -> str:  # pragma: no cover - MastodonConnector's
        raise NotImplementedError

    # --- publish ---------------------------------------------------------------------

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Post one part; ``PublishError`` says whether it may be retried (module doc)."""
        self._watch_responses()
        media_ids = [self._upload(item, index) for index, item in enumerate(post.media)]
        self.rate_limit.retry_after = None
        try:
            status = self._post_status(post, media_ids)
        except (MastodonError, requests.RequestException, TownsquareError) as error:
            raise self._publish_error(error, stage="status") from None
        if not isinstance(status, Mapping) or "id" not in status:
            raise PublishError(
                PublishOutcome.UNKNOWN,
                "%(instance)s answered the new status without its id: townsquare checks "
                "whether it exists before trying again",
                params={"instance": self.instance_url},
            )
        return _status_ref(status)

    def _post_status(self, post: OutgoingPost, media_ids: list[str]) -> Any:
        """``POST /api/v1/statuses`` through the connector's session (SSRF rule, rate
        policy), the answer as plain JSON: Mastodon.py's typed objects cost ~3 ms of CPU
        per status, a fifth of a whole dispatch. Failures are Mastodon.py's errors (as
        ``status_post`` raises them), which ``_publish_error`` reads."""
        from townsquare.networks.mastodon import _raise_for_status

        form: list[tuple[str, str]] = [("status", post.full_text)]
        if post.reply_to is not None:
            form.append(("in_reply_to_id", post.reply_to.external_id))
        form += [("media_ids[]", media_id) for media_id in media_ids]
        if post.content_warning:
            form.append(("spoiler_text", post.content_warning))
        if post.language:
            form.append(("language", post.language))
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        if post.idempotency_key:
            headers["Idempotency-Key"] = post.idempotency_key
        response = self.session.post(
            self.instance_url + "/api/v1/statuses",
            data=form,
            headers=headers,
            timeout=self.client.request_timeout,  # the client's (15 s), as Mastodon.py would
        )
        try:
            _raise_for_status(response)
        except MastodonError as error:  # the instance's words, as Mastodon.py gives them
            words = _json_error(response)
            if words:
                error.args = (*error.args[:3], words)
            raise
        try:
            return response.json()
        except ValueError:
            raise MastodonAPIError("Could not parse response as JSON") from None

    def _upload(self, item: Any, index: int) -> str:
        self.rate_limit.retry_after = None
        try:
            media = self.client.media_post(
                io.BytesIO(item.data),
                mime_type=item.mime_type,
                description=item.alt_text or None,
                file_name=item.filename,
            )
            deadline = time.monotonic() + self.media_processing_seconds
            while media.get("url") is None and time.monotonic() < deadline:
                time.sleep(0.5)
                media = self.client.media(media["id"])
        except (MastodonError, requests.RequestException, TownsquareError) as error:
            raise self._publish_error(error, stage="media", index=index + 1) from None
        if media.get("url") is None:
            raise PublishError(
                PublishOutcome.RETRY,
                "%(instance)s has not finished processing attachment %(index)s after "
                "%(seconds)s s: townsquare tries again later",
                params={
                    "instance": self.instance_url,
                    "index": index + 1,
                    "seconds": int(self.media_processing_seconds),
                },
            )
        return str(media["id"])

    def _watch_responses(self) -> None:
        """Remember the ``Retry-After`` of each answer (the rate policy reads it only when
        it retries itself)."""
        hooks = self.session.hooks.setdefault("response", [])
        if self._remember_retry_after not in hooks:
            hooks.append(self._remember_retry_after)

    def _remember_retry_after(self, response: requests.Response, *args: Any, **kw: Any) -> None:
        if response.status_code in (429, 503):
            seconds = retry_after_seconds(response.headers.get("Retry-After"), time.time())
            if seconds is not None:
                self.rate_limit.retry_after = seconds

    def _retry_after(self) -> float:
        state = self.rate_limit
        if state.retry_after is not None:
            return float(state.retry_after)
        if state.reset_at is not None:
            return max(1.0, state.reset_at.timestamp() - time.time())
        return 60.0

    def _publish_error(self, error: BaseException, *, stage: str, index: int = 0) -> PublishError:
        """The outcome of a failed call (see the module doc for the rules)."""
        instance = self.instance_url
        refusal = own_refusal(error, instance)  # the rate policy's budget, the SSRF rule
        if refusal is not None:
            return refusal
        if isinstance(error, MastodonRatelimitError):
            return too_many_requests(instance, self._retry_after())
        if isinstance(error, MastodonUnauthorizedError):
            return credentials_refused(instance, "401: " + _error_words(error))
        code = _status_code(error) if isinstance(error, MastodonError) else None
        if code is not None and 400 <= code < 500:
            template = (
                "%(instance)s refused attachment %(index)s (%(code)s): %(reason)s"
                if stage == "media"
                else "%(instance)s refused the status (%(code)s): %(reason)s"
            )
            params: dict[str, Any] = {
                "instance": instance,
                "code": code,
                "reason": _error_words(error),  # type: ignore[arg-type]
            }
            if stage == "media":
                params["index"] = index
            return PublishError(PublishOutcome.REJECTED, template, params=params)
        if stage == "media":
            # Nothing is published by an upload: an orphan attachment is removed by the
            # instance after a day.
            return PublishError(
                PublishOutcome.RETRY,
                "attachment %(index)s could not be uploaded to %(instance)s (%(reason)s): "
                "townsquare tries again later",
                params={"instance": instance, "index": index, "reason": _short(error)},
            )
        if code is not None and code == 503:
            return PublishError(
                PublishOutcome.RETRY,
                "%(instance)s is unavailable (503): townsquare tries again later",
                params={"instance": instance},
                retry_after=self.rate_limit.retry_after,
            )
        if code is not None and code >= 500:
            return PublishError(
                PublishOutcome.UNKNOWN,
                "%(instance)s failed (%(code)s) after receiving the status: townsquare checks "
                "whether it was published before trying again",
                params={"instance": instance, "code": code},
            )
        if isinstance(error, MastodonNetworkError | requests.RequestException):
            if _never_sent(error):
                return PublishError(
                    PublishOutcome.RETRY,
                    "cannot reach %(instance)s (%(reason)s): nothing was sent, townsquare tries "
                    "again later",
                    params={"instance": instance, "reason": _short(error)},
                )
            return PublishError(
                PublishOutcome.UNKNOWN,
                "%(instance)s did not answer after receiving the status (%(reason)s): "
                "townsquare checks whether it was published before trying again",
                params={"instance": instance, "reason": _short(error)},
            )
        if isinstance(error, MastodonAPIError):  # an unreadable answer to the status
            return PublishError(
                PublishOutcome.UNKNOWN,
                "%(instance)s gave an unreadable answer to the status (%(reason)s): "
                "townsquare checks whether it was published before trying again",
                params={"instance": instance, "reason": _short(error)},
            )
        return PublishError(
            PublishOutcome.UNKNOWN,
            "publishing to %(instance)s ended unexpectedly (%(reason)s): townsquare checks "
            "whether it was published before trying again",
            params={"instance": instance, "reason": _short(error)},
        )

    # --- find_published ----------------------------------------------------------------

    def find_published(self, post: OutgoingPost, sent_after: datetime) -> PublishedRef | None:
        """The status an earlier attempt created, None when certainly absent; raises
        ``PublishError(UNKNOWN)`` while the instance cannot be asked or it is too early to
        say (see ``publish_settle_seconds``)."""
        since = sent_after.astimezone(UTC) - CLOCK_SKEW
        wanted = comparable_text(post.full_text)
        wanted_cw = (post.content_warning or "").strip()
        reply_to = post.reply_to.external_id if post.reply_to else None
        try:
            own = self._own_id()
            max_id: str | None = None
            for _page in range(RECENT_PAGES):
                statuses = self.client.account_statuses(own, max_id=max_id, limit=40)
                if not statuses:
                    break
                for status in statuses:
                    if self._matches(status, wanted, wanted_cw, reply_to):
                        return _status_ref(status)
                oldest = _status_ref(statuses[-1]).published_at
                if oldest is None or oldest < since or len(statuses) < 40:
                    break
                max_id = str(statuses[-1]["id"])
        except (MastodonError, requests.RequestException, TownsquareError) as error:
            raise PublishError(
                PublishOutcome.UNKNOWN,
                "cannot look for the status on %(instance)s yet (%(reason)s): townsquare asks "
                "again later",
                params={"instance": self.instance_url, "reason": _short(error)},
            ) from None
        waited = (datetime.now(UTC) - sent_after.astimezone(UTC)).total_seconds()
        if waited < self.publish_settle_seconds:
            raise PublishError(
                PublishOutcome.UNKNOWN,
                "the status is not on %(instance)s yet, %(seconds)s s after it was sent: "
                "townsquare asks again later",
                params={"instance": self.instance_url, "seconds": int(waited)},
            )
        return None

    @staticmethod
    def _matches(
        status: Mapping[str, Any], wanted: str, wanted_cw: str, reply_to: str | None
    ) -> bool:
        from townsquare.networks.mastodon import html_to_text

        if reply_to is not None and str(status.get("in_reply_to_id") or "") != reply_to:
            return False
        if (status.get("spoiler_text") or "").strip() != wanted_cw:
            return False
        text = status.get("text") or html_to_text(status.get("content")) or ""
        return comparable_text(str(text)) == wanted

    # --- publish_limits ----------------------------------------------------------------

    def publish_limits(self) -> dict[str, Any]:
        """The instance's ``configuration`` (see :func:`instance_configuration`)."""
        from townsquare.networks.mastodon import _explain

        try:
            try:
                instance = self.client.instance_v2()
            except MastodonAPIError as error:
                if _status_code(error) not in (404, 410):
                    raise
                instance = self.client.instance_v1()
        except (MastodonError, requests.RequestException) as error:
            raise _explain(error, self.instance_url) from None
        if not isinstance(instance, Mapping):
            raise NetworkError(
                "%(instance)s answered /api/v2/instance with no JSON object: check that this "
                "is a Mastodon instance",
                params={"instance": self.instance_url},
            )
        return instance_configuration(instance)


def _json_error(response: requests.Response) -> str:
    """The ``error`` of a JSON error answer, else empty."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error") or "") if isinstance(body, Mapping) else ""


def _short(error: BaseException) -> str:
    """The innermost explanation of an error, on one short line."""
    causes = chain(error)
    text = str(causes[-1] if len(causes) > 1 else error) or type(error).__name__
    return text.replace("\n", " ")[:200]
