"""Streaming of ``mastodon-tag`` sources: each new status is a mention as soon as it is posted.

A :class:`StreamListener` runs beside the other background loops, in ``townsquare serve``
(embedded worker) and in each ``townsquare worker``, unless ``TOWNSQUARE_LISTEN_STREAMING``
is false. Every few seconds it reads which (instance, hashtag) pairs the hashtag sources of
all workspaces follow — one stream per pair, shared by every source that needs it — and
takes the **lease** of each pair nobody holds (a row of ``listen_stream_leases``, taken and
renewed by a conditional update: two listeners never both hold one, see :func:`take_lease`).
For each lease it holds, a thread streams the hashtag (networks/mastodon_stream.py):

- once connected, one poll of the sources (``since_id``) catches up with what was said
  while nobody listened; then each status the stream brings goes through the poll's own
  ingestion (``sources.store_items``: dedupe by URI, language, sentiment, watches) and the
  instant alerts of the workspace are sent;
- a dropped connection is tried again after 2, 4, 8… seconds (at most 5 minutes), and the
  catch-up poll runs again on each reconnection;
- an instance without streaming (no streaming URL, health not OK, 404) is left to the
  polls, checked again every half hour.

While a source streams, its next poll is pushed back (the stream brings everything); its
health line (``notice``) says which mode it is in and why (listening/stream_state.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.service import channel_credentials
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.errors import TownsquareError
from townsquare.listening import sources, stream_state
from townsquare.listening.models import Source, StreamLease
from townsquare.messages import Message
from townsquare.netguard import safe_http_client
from townsquare.networks import mastodon_listen, mastodon_stream
from townsquare.networks.mastodon import normalize_instance_url
from townsquare.publish.claims import new_owner
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.models import Workspace

logger = logging.getLogger(__name__)

SCAN_SECONDS = 10.0  # how often the listener looks for new streams and renews its leases
LEASE_SECONDS = 60.0  # a lease not renewed for this long may be taken by another listener
RETRY_SECONDS = 2.0  # first wait before a reconnection; doubles up to MAX_RETRY_SECONDS
MAX_RETRY_SECONDS = 300.0
RECHECK_SECONDS = 1800.0  # an instance without streaming is asked again after this
MARK_SECONDS = 60.0  # how often a running stream renews its mode on its sources


@dataclass(frozen=True)
class StreamSpec:
    """One stream: an instance's hashtag, a token to open it with, the sources it feeds."""

    key: str
    instance_url: str
    tag: str
    token: str
    source_ids: tuple[int, ...]


def stream_specs(session: Session, box: CredentialsBox) -> dict[str, StreamSpec]:
    """The streams the hashtag sources of every workspace need, by key (instance#tag)."""
    rows = session.execute(
        select(Source.id, Source.target, Channel)
        .join(Channel, Channel.id == Source.channel_id)
        .where(Source.type == "mastodon-tag", Channel.network == "mastodon")
        .order_by(Source.id)
    ).all()
    found: dict[str, tuple[str, str, str, list[int]]] = {}
    opened: dict[int, dict[str, Any] | None] = {}
    for source_id, target, channel in rows:
        if channel.status == "needs_reconnection":
            continue
        if channel.id not in opened:
            try:
                opened[channel.id] = channel_credentials(channel, box)
            except TownsquareError:
                opened[channel.id] = None
        credentials = opened[channel.id]
        if not credentials or not credentials.get("access_token"):
            continue
        try:
            instance = normalize_instance_url(str(credentials.get("instance_url") or ""))
        except TownsquareError:
            continue
        key = f"{instance}#{target}"[:500]
        entry = found.setdefault(key, (instance, target, str(credentials["access_token"]), []))
        entry[3].append(int(source_id))
    return {
        key: StreamSpec(key, instance, tag, token, tuple(ids))
        for key, (instance, tag, token, ids) in found.items()
    }


# --- leases --------------------------------------------------------------------------------


def take_lease(session: Session, key: str, owner: str, now: datetime, seconds: float) -> bool:
    """Take or renew the lease of stream ``key`` for ``owner``; False when another holds it.

    The update only moves a lease its owner holds or that lapsed; a stream nobody ever
    held gets its row, and of two listeners inserting it at once one fails on the key.
    """
    until = now + timedelta(seconds=seconds)
    moved = session.execute(
        update(StreamLease)
        .where(
            StreamLease.key == key,
            or_(StreamLease.owner == owner, StreamLease.lease_until < now),
        )
        .values(owner=owner, lease_until=until)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) == 1:
        session.commit()
        return True
    if session.get(StreamLease, key) is not None:
        session.commit()
        return False
    try:
        with session.begin_nested():
            session.add(StreamLease(key=key, owner=owner, lease_until=until))
    except IntegrityError:
        session.commit()
        return False
    session.commit()
    return True


def release_lease(session: Session, key: str, owner: str) -> None:
    session.execute(delete(StreamLease).where(StreamLease.key == key, StreamLease.owner == owner))
    session.commit()


def lease_owner(session: Session, key: str) -> str | None:
    """Who holds stream ``key`` (None: nobody yet, or it lapsed and nobody took it again)."""
    lease = session.get(StreamLease, key)
    return lease.owner if lease is not None and lease.lease_until >= utcnow() else None


# --- the sources' side ---------------------------------------------------------------------


def mark_sources(
    session: Session,
    source_ids: tuple[int, ...],
    mode: str,
    reason: Message | None,
    *,
    valid_seconds: float,
    poll_now: bool = False,
) -> None:
    """Write the stream's mode on its sources; while streaming their next poll is pushed
    back by their interval, and a stream that stops lets them be polled at once."""
    now = utcnow()
    part = stream_state.stream_part(mode, reason, now + timedelta(seconds=valid_seconds))
    for source in session.scalars(select(Source).where(Source.id.in_(source_ids))):
        source.state = {**(source.state or {}), stream_state.KEY: part}
        if mode == "streaming":
            source.next_poll_at = now + timedelta(minutes=source.every_minutes)
        elif poll_now:
            source.next_poll_at = now
    session.commit()


def _access(session: Session, workspace_id: int) -> WorkspaceAccess | None:
    workspace = session.get(Workspace, workspace_id)
    return WorkspaceAccess.operator(workspace) if workspace is not None else None


def catch_up(
    session: Session, settings: Settings, box: CredentialsBox, source_ids: tuple[int, ...]
) -> int:
    """One poll of each source (since the newest status seen): what was said while the
    stream was down; new mentions."""
    new = 0
    for source_id, workspace_id in session.execute(
        select(Source.id, Source.workspace_id).where(Source.id.in_(source_ids))
    ).all():
        access = _access(session, workspace_id)
        if access is not None:
            report = sources.poll(session, settings, access, source_id=source_id, box=box)
            new += report.mentions_new
    return new


def ingest_status(
    session: Session,
    settings: Settings,
    box: CredentialsBox,
    source_ids: tuple[int, ...],
    status: Mapping[str, Any],
) -> int:
    """A streamed status stored as a mention of each source (the poll's ingestion), the
    sources' ``since_id`` moved on, the instant alerts sent; how many new mentions."""
    from townsquare.listening.alerts import run_alerts

    item = mastodon_listen.status_item(status)
    number = mastodon_listen.id_number(status.get("id"))
    new_total = 0
    for source in list(session.scalars(select(Source).where(Source.id.in_(source_ids)))):
        access = _access(session, source.workspace_id)
        if access is None:
            continue
        new = sources.store_items(session, access, source, [item]) if item is not None else 0
        state = dict(source.state or {})
        if number > mastodon_listen.id_number(state.get("since_id") or 0):
            state["since_id"] = str(number)
            source.state = state
        source.mentions_total += new
        session.commit()
        if new:
            run_alerts(session, settings, box, access, modes=("instant",))
        new_total += new
    return new_total


# --- the threads ---------------------------------------------------------------------------


class _Stream:
    """The thread of one held stream: connect, catch up, ingest, reconnect with backoff."""

    def __init__(self, listener: StreamListener, spec: StreamSpec) -> None:
        self.listener, self.spec = listener, spec
        self.connected = threading.Event()  # set while the stream is open (tests wait on it)
        self.unavailable: Message | None = None
        self._stop = threading.Event()
        self._marked = 0.0
        self._thread = threading.Thread(
            target=self._run, name=f"listen-stream-{spec.tag}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def keep_going(self) -> bool:
        if self._stop.is_set():
            return False
        if time.monotonic() - self._marked >= MARK_SECONDS:
            self._mark("streaming", None)
        return True

    def _mark(self, mode: str, reason: Message | None, *, poll_now: bool = False) -> None:
        self._marked = time.monotonic()
        listener = self.listener
        valid = max(3 * MARK_SECONDS, 3 * listener.lease_seconds)
        if mode == "polling":  # not asked again before the recheck
            valid += listener.recheck_seconds
        with listener.database.session() as session:
            mark_sources(
                session, self.spec.source_ids, mode, reason, valid_seconds=valid,
                poll_now=poll_now,
            )  # fmt: skip

    def _opened(self) -> None:
        self._mark("streaming", None)
        listener = self.listener
        with listener.database.session() as session:
            caught = catch_up(session, listener.settings, listener.box, self.spec.source_ids)
        if caught:
            logger.info("listen stream %s: %d mentions caught up", self.spec.key, caught)
        listener.delay[self.spec.key] = listener.retry_seconds
        self.connected.set()

    def _status(self, status: Mapping[str, Any]) -> None:
        listener = self.listener
        with listener.database.session() as session:
            ingest_status(session, listener.settings, listener.box, self.spec.source_ids, status)

    def _run(self) -> None:
        listener, spec = self.listener, self.spec
        while not self._stop.is_set():
            try:
                with safe_http_client(listener.settings) as client:
                    base = mastodon_stream.streaming_base(client, spec.instance_url)
                    mastodon_stream.check_health(client, base)
                    mastodon_stream.stream_hashtag(
                        client, base, spec.token, spec.tag,
                        on_open=self._opened, on_status=self._status, keep_going=self.keep_going,
                    )  # fmt: skip
                return  # asked to stop
            except mastodon_stream.StreamingUnavailable as error:
                self.connected.clear()
                self.unavailable = error.message
                self._mark("polling", error.message, poll_now=True)
                return
            except TownsquareError as error:
                self.connected.clear()
                logger.info("listen stream %s: %s", spec.key, error)
                self._mark("reconnecting", error.message, poll_now=True)
            except Exception:  # a bug must not end streaming for good: log, wait, retry
                self.connected.clear()
                logger.exception("listen stream %s failed", spec.key)
            wait = listener.delay.get(spec.key, listener.retry_seconds)
            listener.delay[spec.key] = min(wait * 2, MAX_RETRY_SECONDS)
            self._stop.wait(wait)


class StreamListener:
    """The streams this process holds, found and renewed every ``scan_seconds``."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        scan_seconds: float = SCAN_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self.database, self.settings = database, settings
        self.scan_seconds, self.lease_seconds = scan_seconds, lease_seconds
        self.retry_seconds, self.recheck_seconds = retry_seconds, recheck_seconds
        self.owner = new_owner()
        self.box = CredentialsBox(settings.resolved_credentials_key())
        self.streams: dict[str, _Stream] = {}
        self.delay: dict[str, float] = {}  # the next reconnection's wait, by stream
        self._unavailable_until: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="listen-streams", daemon=True)

    def start(self) -> StreamListener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every stream and give their leases back (another listener takes them)."""
        self._stop.set()
        self._thread.join(timeout)
        for stream in self.streams.values():
            stream.stop()
        for stream in self.streams.values():
            stream.join(timeout)
        with self.database.session() as session:
            for key, stream in self.streams.items():
                # A stream still reading (a heartbeat not yet come) keeps its lease until it
                # lapses, so that no other listener streams alongside it meanwhile.
                if not stream.alive():
                    release_lease(session, key, self.owner)
        self.streams.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:  # the next scan tries again
                logger.exception("listen streams: scan failed")
            self._stop.wait(self.scan_seconds)

    def scan(self) -> None:
        """Start the streams that are needed and free, renew the leases of those running,
        stop those no source follows any more or whose lease another listener took."""
        with self.database.session() as session:
            specs = stream_specs(session, self.box)
            for key, stream in list(self.streams.items()):
                if stream.unavailable is not None and not stream.alive():
                    self._unavailable_until[key] = time.monotonic() + self.recheck_seconds
                keep = key in specs and stream.alive() and not self._stop.is_set()
                if keep and take_lease(session, key, self.owner, utcnow(), self.lease_seconds):
                    stream.spec = specs[key]  # sources added or removed since
                    continue
                stream.stop()
                del self.streams[key]
                if key not in specs or not stream.alive():
                    release_lease(session, key, self.owner)
            for key, spec in specs.items():
                if key in self.streams or self._stop.is_set():
                    continue
                if self._unavailable_until.get(key, 0.0) > time.monotonic():
                    continue
                if take_lease(session, key, self.owner, utcnow(), self.lease_seconds):
                    stream = _Stream(self, spec)
                    self.streams[key] = stream
                    stream.start()


def start_stream_listener(database: Database, settings: Settings) -> StreamListener | None:
    """The listener of ``serve`` and ``worker``; None when streaming is turned off."""
    if not settings.listen_streaming:
        return None
    return StreamListener(database, settings).start()
