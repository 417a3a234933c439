"""The redirector's slug → link cache: the redirect path never waits on the database twice.

Why a cache: a redirect must cost microseconds, and the link behind a slug changes rarely.
Each process keeps the links it has served in memory for ``ttl`` seconds (unknown slugs too,
for a shorter time, so a typo clicked a thousand times costs one query).

Invalidation — how stale can a redirect be?

- In one process (``townsquare serve`` with the redirector mounted by host name, or the
  tests), the links service calls :func:`invalidate` after every edit, disable or delete:
  the next request sees the change at once.
- Several ``townsquare serve-links`` processes against PostgreSQL do not share memory. When
  ``TOWNSQUARE_QUEUE_URL`` is ``redis://…``, :func:`invalidate` also publishes the slug on
  the Redis channel ``townsquare:links:invalidate`` and every redirector process drops it
  within milliseconds. Without Redis, a change reaches the other processes when their entry
  expires: **at most ``ttl`` + 1 seconds** (default 10 s, ``serve-links --cache-ttl``; the
  extra second is the grace during which an entry that has just expired still answers
  while one background query refreshes it, so a popular link never has its visitors
  queue behind the database — see ``Redirector.respond``). The same
  bound holds for ``max_clicks``, which each process counts from the database's
  ``human_clicks`` plus the clicks it wrote itself since it loaded the link: a limit can
  be passed by the human clicks of one write interval (50 ms) in one process, and by those
  of one TTL in the others.
- If the database is unreachable, an expired entry is served stale rather than failing the
  redirect (people keep reaching the target; edits wait for the database to come back).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from urllib.parse import quote

import sqlalchemy as sa

from townsquare.db import Database
from townsquare.links.models import Link

logger = logging.getLogger(__name__)

INVALIDATE_CHANNEL = "townsquare:links:invalidate"
DEFAULT_TTL = 10.0
NEGATIVE_TTL = 2.0
MAX_ENTRIES = 100_000

# Characters allowed as-is in a Location header; anything else (an IRI's non-ASCII letters)
# is percent-encoded so the header is always valid latin-1.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x20\x7f]")


@dataclass(slots=True)
class ResolvedLink:
    """What the redirector needs of a link, prepared once per load."""

    id: int
    workspace_id: int
    slug: str
    final_url: str
    location: bytes  # final_url ready for the Location header
    redirect_status: int
    is_enabled: bool
    expires_at: float | None  # epoch seconds
    max_clicks: int | None
    password_hash: str | None
    fallback_url: str | None
    # Human clicks in the database when loaded, plus those this process wrote since.
    human_clicks: int = 0
    loaded_at: float = field(default=0.0)

    def unavailable_reason(self, now: float) -> str | None:
        """Why the link must not redirect now (``disabled``, ``expired``, ``max_clicks``)."""
        if not self.is_enabled:
            return "disabled"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        if self.max_clicks is not None and self.human_clicks >= self.max_clicks:
            return "max_clicks"
        return None


def location_header(url: str) -> bytes:
    """``url`` as a Location header value (ASCII; non-ASCII characters percent-encoded)."""
    if url.isascii() and not _UNSAFE_IN_HEADER.search(url):
        return url.encode("ascii")
    # Spaces and control characters (a CR/LF would split the header) are escaped too.
    return quote(url, safe=_URL_SAFE).encode("ascii")


def load_link(database: Database, slug: str) -> ResolvedLink | None:
    """Read one link by its canonical slug (a blocking query: call it off the event loop)."""
    table = Link.__table__
    with database.engine.connect() as connection:
        row = connection.execute(
            sa.select(
                table.c.id,
                table.c.workspace_id,
                table.c.slug,
                table.c.final_url,
                table.c.redirect_status,
                table.c.is_enabled,
                table.c.expires_at,
                table.c.max_clicks,
                table.c.password_hash,
                table.c.fallback_url,
                table.c.human_clicks,
            ).where(table.c.slug == slug)
        ).first()
    if row is None:
        return None
    expires = row.expires_at.timestamp() if row.expires_at is not None else None
    return ResolvedLink(
        id=row.id,
        workspace_id=row.workspace_id,
        slug=row.slug,
        final_url=row.final_url,
        location=location_header(row.final_url),
        redirect_status=301 if row.redirect_status == 301 else 302,
        is_enabled=bool(row.is_enabled),
        expires_at=expires,
        max_clicks=row.max_clicks,
        password_hash=row.password_hash,
        fallback_url=row.fallback_url or None,
        human_clicks=int(row.human_clicks or 0),
        loaded_at=time.monotonic(),
    )


class LinkCache:
    """Slug → :class:`ResolvedLink` (or ``None`` for unknown slugs), with a TTL."""

    def __init__(
        self,
        database: Database,
        *,
        ttl: float = DEFAULT_TTL,
        negative_ttl: float = NEGATIVE_TTL,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.database = database
        self.ttl = ttl
        self.negative_ttl = min(negative_ttl, ttl)
        self.max_entries = max_entries
        # slug -> (expiry on the monotonic clock, link or None)
        self._entries: dict[str, tuple[float, ResolvedLink | None]] = {}
        self._by_id: dict[int, ResolvedLink] = {}
        # Writers (loader threads, invalidation) take the lock; readers never do.
        self._lock = threading.Lock()
        _caches.add(self)

    def get_fresh(self, slug: str) -> tuple[bool, ResolvedLink | None]:
        """``(True, link)`` when cached and fresh; ``(False, None)`` means call :meth:`load`.

        The hot path: a dict lookup and a clock read, no lock, no I/O.
        """
        entry = self._entries.get(slug)
        if entry is not None and entry[0] > time.monotonic():
            return True, entry[1]
        return False, None

    def peek(self, slug: str) -> tuple[float, ResolvedLink | None] | None:
        """The entry of ``slug`` — (expiry on the monotonic clock, link) — fresh or not."""
        return self._entries.get(slug)

    def load(self, slug: str) -> ResolvedLink | None:
        """Query the database for ``slug`` and cache the answer (blocking: run in a thread).

        A database failure serves the stale entry when there is one, else raises.
        """
        try:
            link = load_link(self.database, slug)
        except Exception:
            stale = self._entries.get(slug)
            if stale is not None and stale[1] is not None:
                logger.warning("database unavailable; serving cached link %r stale", slug)
                return stale[1]
            raise
        self._store(slug, link)
        return link

    def _store(self, slug: str, link: ResolvedLink | None) -> None:
        with self._lock:
            self._store_locked(slug, link)

    def _store_locked(self, slug: str, link: ResolvedLink | None) -> None:
        old = self._entries.get(slug)
        if old is not None and old[1] is not None:
            self._by_id.pop(old[1].id, None)
        while len(self._entries) >= self.max_entries:
            # Bounded: drop the oldest insertion (dicts keep insertion order).
            oldest = next(iter(self._entries))
            dropped = self._entries.pop(oldest, None)
            if dropped is not None and dropped[1] is not None:
                self._by_id.pop(dropped[1].id, None)
        ttl = self.ttl if link is not None else self.negative_ttl
        self._entries[slug] = (time.monotonic() + ttl, link)
        if link is not None:
            self._by_id[link.id] = link

    def invalidate(self, slug: str) -> None:
        """Forget ``slug`` in this cache: the next request reads the database."""
        with self._lock:
            entry = self._entries.pop(slug, None)
            if entry is not None and entry[1] is not None:
                self._by_id.pop(entry[1].id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_id.clear()

    def add_human_clicks(self, counts: dict[int, int]) -> None:
        """Called by the click writer after a batch: keeps ``max_clicks`` checks current."""
        for link_id, count in counts.items():
            link = self._by_id.get(link_id)
            if link is not None:
                link.human_clicks += count


# Every cache of this process, so the links service can invalidate without holding one.
_caches: weakref.WeakSet[LinkCache] = weakref.WeakSet()
_redis_url: str | None = None
_configured = False


def invalidate(slug: str) -> None:
    """Drop ``slug`` from every redirector cache: call after editing, disabling or deleting.

    Local caches forget it at once; with a Redis queue URL configured (see
    :func:`configure_invalidation`) other processes are told through Redis pub/sub.
    """
    slug = slug.lower()
    for cache in list(_caches):
        cache.invalidate(slug)
    if not _configured:
        # A process without a redirector (the CLI, `serve` without a links host) still tells
        # the serve-links processes: the queue URL comes from its settings.
        from townsquare.config import get_settings

        configure_invalidation(get_settings().queue_url)
    if _redis_url:
        try:
            import redis

            client = redis.Redis.from_url(_redis_url, socket_timeout=2)
            try:
                client.publish(INVALIDATE_CHANNEL, slug)
            finally:
                client.close()
        except Exception:
            # The edit itself succeeded; other processes catch up within their TTL.
            logger.warning("could not publish link invalidation for %r", slug, exc_info=True)


def configure_invalidation(queue_url: str | None) -> None:
    """Publish invalidations on Redis when the job queue is Redis (``serve``, CLI)."""
    global _redis_url, _configured
    _configured = True
    _redis_url = (
        queue_url if queue_url and queue_url.startswith(("redis://", "rediss://")) else None
    )


class RedisInvalidationListener:
    """Drops slugs published by other processes from ``cache`` (a daemon thread)."""

    def __init__(self, cache: LinkCache, redis_url: str) -> None:
        self.cache = cache
        self.redis_url = redis_url
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="links-cache-invalidation", daemon=True
        )
        self.subscribed = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import redis

        while not self._stop.is_set():
            try:
                client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(INVALIDATE_CHANNEL)
                # Anything may have changed while we were not listening.
                self.cache.clear()
                self.subscribed.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and message.get("type") == "message":
                        data = message["data"]
                        slug = data.decode() if isinstance(data, bytes) else str(data)
                        self.cache.invalidate(slug)
                pubsub.close()
                client.close()
            except Exception:
                self.subscribed.clear()
                logger.warning("link invalidation listener lost Redis; retrying", exc_info=True)
                self._stop.wait(2)
