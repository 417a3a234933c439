"""The one place connectors' HTTP goes through: SSRF rule, timeouts, User-Agent, rate limits.

Both client libraries get their HTTP from here: Mastodon.py a ``requests`` session with
:class:`PolicyRequestsAdapter`, the atproto SDK an httpx client with
:class:`PolicyTransport`. Each sends every request through a :class:`RatePolicy`, which

- reads the rate-limit headers each network publishes (Mastodon ``X-RateLimit-Limit``,
  ``-Remaining``, ``-Reset`` as an ISO date, 300 requests per 5 minutes; Bluesky's PDS
  ``RateLimit-*`` with the reset as epoch seconds, its points per hour) into a
  :class:`~townsquare.networks.base.RateLimitState` shown on the channel page;
- waits before a request when the budget is spent and the reset is near, and refuses with
  RateLimited when it is far (the next sync picks up from there);
- retries 429 and 503 after ``Retry-After`` (seconds or an HTTP date) and 500/502/504
  with exponential backoff, a few times, then hands the error to the library.

The SSRF rule itself lives in :mod:`townsquare.netguard` (one place for the rule).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import requests

from townsquare.config import Settings
from townsquare.errors import RateLimited
from townsquare.netguard import (
    USER_AGENT,
    GuardedRequestsAdapter,
    GuardedTransport,
    safe_requests_session,
)
from townsquare.networks.base import RateLimitState

DEFAULT_TIMEOUT_SECONDS = 15.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _parse_reset(value: str, now: float) -> datetime | None:
    """A reset given as epoch seconds, seconds from now (small numbers) or an ISO date."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    # Some servers send a delta (RFC draft "RateLimit-Reset: 30"), most an epoch.
    epoch = number if number > 1_000_000_000 else now + number
    return datetime.fromtimestamp(epoch, UTC)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


class RatePolicy:
    """Rate limits, backoff and Retry-After for the requests of one connector."""

    def __init__(
        self,
        state: RateLimitState | None = None,
        *,
        max_retries: int = 3,
        max_wait: float = 30.0,
        base_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        network: str = "the network",
    ) -> None:
        self.state = state or RateLimitState()
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.base_delay = base_delay
        self.sleep = sleep
        self.clock = clock
        self.network = network

    def before_request(self) -> None:
        """Wait for the reset when the budget is spent; refuse when the reset is far."""
        state = self.state
        if state.remaining is None or state.remaining > 0 or state.reset_at is None:
            return
        wait = state.reset_at.timestamp() - self.clock()
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise RateLimited(
                "%(network)s rate limit reached: %(limit)s requests used, it resets in "
                "%(seconds)s s; townsquare tries again then",
                params={
                    "network": self.network,
                    "limit": state.limit or "all",
                    "seconds": int(wait) + 1,
                },
                retry_after=int(wait) + 1,
            )
        self.sleep(wait)
        state.remaining = None

    def observe(self, headers: Mapping[str, str]) -> None:
        """Record the rate-limit headers of a response."""
        state = self.state
        state.requests += 1
        lower = {key.lower(): value for key, value in headers.items()}
        for prefix in ("x-ratelimit-", "ratelimit-"):
            if prefix + "remaining" in lower or prefix + "limit" in lower:
                state.limit = _int(lower.get(prefix + "limit"), state.limit)
                state.remaining = _int(lower.get(prefix + "remaining"), state.remaining)
                reset = lower.get(prefix + "reset")
                if reset:
                    state.reset_at = _parse_reset(reset, self.clock()) or state.reset_at
                return

    def retry_delay(self, status: int, headers: Mapping[str, str], attempt: int) -> float | None:
        """Seconds to wait before trying again, or None to hand the response over."""
        if status not in RETRY_STATUSES or attempt >= self.max_retries:
            return None
        delay: float | None = None
        if status in (429, 503):
            lower = {key.lower(): value for key, value in headers.items()}
            delay = retry_after_seconds(lower.get("retry-after"), self.clock())
            if delay is None and status == 429 and self.state.reset_at is not None:
                delay = max(0.0, self.state.reset_at.timestamp() - self.clock())
            if delay is not None:
                self.state.retry_after = delay
                # The server said when to come back: that beats the spent budget's reset.
                self.state.remaining = None
        if delay is None:
            delay = self.base_delay * (2**attempt)
        if delay > self.max_wait:
            return None  # too long to wait inside a request: the caller reports RateLimited
        return delay


def _int(value: str | None, default: int | None) -> int | None:
    if value is None:
        return default
    try:
        return int(float(value))
    except ValueError:
        return default


class PolicyRequestsAdapter(GuardedRequestsAdapter):
    """requests adapter: SSRF rule (from netguard) + :class:`RatePolicy` on every request."""

    def __init__(self, settings: Settings, policy: RatePolicy, **options: Any) -> None:
        super().__init__(settings, **options)
        self.policy = policy

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        attempt = 0
        while True:
            self.policy.before_request()
            response = super().send(request, **kwargs)
            self.policy.observe(response.headers)
            delay = self.policy.retry_delay(response.status_code, response.headers, attempt)
            if delay is None:
                return response
            response.close()
            self.policy.sleep(delay)
            attempt += 1


class PolicyTransport(GuardedTransport):
    """httpx transport: SSRF rule (from netguard) + :class:`RatePolicy` on every request."""

    def __init__(self, settings: Settings, policy: RatePolicy, **options: Any) -> None:
        super().__init__(settings, **options)
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            self.policy.before_request()
            response = super().handle_request(request)
            self.policy.observe(response.headers)
            delay = self.policy.retry_delay(response.status_code, response.headers, attempt)
            if delay is None:
                return response
            response.close()
            self.policy.sleep(delay)
            attempt += 1


def requests_session(settings: Settings, policy: RatePolicy) -> requests.Session:
    """A requests session for a connector (Mastodon.py)."""
    return safe_requests_session(settings, PolicyRequestsAdapter(settings, policy))


def httpx_options(settings: Settings, policy: RatePolicy) -> dict[str, Any]:
    """Keyword arguments for an httpx client of a connector (the atproto SDK's Request)."""
    return {
        "transport": PolicyTransport(settings, policy),
        "timeout": httpx.Timeout(DEFAULT_TIMEOUT_SECONDS, connect=5.0),
        "headers": {"User-Agent": USER_AGENT},
        "max_redirects": 5,
    }
