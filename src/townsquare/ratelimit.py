"""Atomic attempt counters: logins, the current password of a password change, link passwords.

An attempt is counted BEFORE anything costly or secret is evaluated (a password hash), in one
atomic statement, so that parallel attempts cannot all read "4 so far" and all go ahead:

- on the database, one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per key (SQLite ≥ 3.35
  and PostgreSQL), so the count each attempt sees is its own;
- on Redis (when ``TOWNSQUARE_QUEUE_URL`` is ``redis://``), ``INCR`` + ``EXPIRE NX`` in one
  ``MULTI`` transaction.

Windows are fixed: the first attempt of a key opens a window of ``window`` seconds; at most
``limit`` attempts of that key are let through until it closes. A successful attempt gives
its counts back (:meth:`Attempt.succeeded`), so that only failures use up the allowance.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Engine

from townsquare.errors import RateLimited

KEY_PREFIX = "townsquare:ratelimit:"


class Counter(Protocol):
    def hit(self, key: str, window: float, now: float) -> tuple[int, float]:
        """Count one attempt of ``key``; returns (attempts in the window, window end)."""

    def undo(self, key: str) -> None:
        """Give one attempt of ``key`` back (the attempt succeeded)."""

    def reset(self, key: str) -> None:
        """Forget ``key``."""

    def prune(self, now: float) -> int:
        """Delete the windows that have ended; returns how many."""


def digest(*parts: str) -> str:
    """A key part that does not store who tried (e-mail, address) in clear."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


_UPSERT = text(
    "INSERT INTO rate_limits (key, hits, expires_at) VALUES (:key, 1, :expires_at) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN rate_limits.expires_at <= :now THEN 1 ELSE rate_limits.hits + 1 END, "
    "expires_at = CASE WHEN rate_limits.expires_at <= :now THEN :expires_at "
    "ELSE rate_limits.expires_at END "
    "RETURNING hits, expires_at"
)


class DatabaseCounter:
    """Counters in the ``rate_limits`` table, each update a single atomic statement."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def hit(self, key: str, window: float, now: float) -> tuple[int, float]:
        # Its own short transaction: committed before the caller computes a hash, so the
        # database's write lock is never held during one.
        with self.engine.begin() as connection:
            hits, expires_at = connection.execute(
                _UPSERT, {"key": key, "now": now, "expires_at": now + window}
            ).one()
        return int(hits), float(expires_at)

    def undo(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                text("UPDATE rate_limits SET hits = hits - 1 WHERE key = :key AND hits > 0"),
                {"key": key},
            )

    def reset(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(text("DELETE FROM rate_limits WHERE key = :key"), {"key": key})

    def prune(self, now: float) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                text("DELETE FROM rate_limits WHERE expires_at <= :now"), {"now": now}
            )
        return int(result.rowcount or 0)


# DECR only while the key lives: after it expired, DECR would create a key without a TTL.
_UNDO_SCRIPT = (
    "if redis.call('exists', KEYS[1]) == 1 and tonumber(redis.call('get', KEYS[1])) > 0 "
    "then return redis.call('decr', KEYS[1]) end return 0"
)


class RedisCounter:
    """Counters in Redis: ``INCR`` and ``EXPIRE NX`` in one transaction."""

    def __init__(self, url: str) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url)

    def hit(self, key: str, window: float, now: float) -> tuple[int, float]:
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(KEY_PREFIX + key)
        pipe.pexpire(KEY_PREFIX + key, max(1, int(window * 1000)), nx=True)
        pipe.pttl(KEY_PREFIX + key)
        hits, _set, ttl_ms = pipe.execute()
        return int(hits), now + max(int(ttl_ms), 0) / 1000

    def undo(self, key: str) -> None:
        self.client.eval(_UNDO_SCRIPT, 1, KEY_PREFIX + key)

    def reset(self, key: str) -> None:
        self.client.delete(KEY_PREFIX + key)

    def prune(self, now: float) -> int:
        return 0  # Redis expires the keys itself


_redis_counters: dict[str, RedisCounter] = {}
_redis_lock = threading.Lock()


def counter_for(settings: Any, engine: Engine) -> Counter:
    """Redis when the queue is on Redis (shared by every process), else the database."""
    url = settings.queue_url
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        with _redis_lock:
            if url not in _redis_counters:
                _redis_counters[url] = RedisCounter(url)
            return _redis_counters[url]
    return DatabaseCounter(engine)


@dataclass
class Attempt:
    """One attempt let through; ``succeeded()`` gives its counts back."""

    counter: Counter
    keys: list[str] = field(default_factory=list)

    def succeeded(self, *, reset: Sequence[str] = ()) -> None:
        for key in self.keys:
            if key in reset:
                self.counter.reset(key)
            else:
                self.counter.undo(key)


def attempt(
    counter: Counter,
    keys: Sequence[str],
    *,
    limit: int,
    window: float,
    message: str,
    now: float | None = None,
) -> Attempt:
    """Count one attempt against every key; RateLimited if any is past ``limit``.

    ``message`` is a template (townsquare.messages) that may contain ``%(minutes)s``
    (minutes until the attempt may be retried).
    """
    now = time.time() if now is None else now
    counted = Attempt(counter)
    for key in keys:
        hits, expires_at = counter.hit(key, window, now)
        if hits > limit:
            retry_after = max(1, int(expires_at - now) + 1)
            raise RateLimited(
                message, params={"minutes": retry_after // 60 + 1}, retry_after=retry_after
            )
        counted.keys.append(key)
    return counted
