"""Sources of mentions: adding them, polling them, storing what they find.

A poll fetches every due source concurrently (network time overlaps), then stores the
items one source at a time: each new item becomes a mention once per workspace (by the
network's id, else by its URL), with its language, and is matched against every watch of
the workspace. A source that fails waits longer before the next try (doubling, at most a
day) and says why on its health line; the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.service import channel_credentials
from townsquare.config import Settings
from townsquare.errors import AuthenticationError, NotFound, TownsquareError, ValidationError
from townsquare.listening.fetching import FetchJob, FetchOutcome, thread_clients
from townsquare.listening.index import WatchIndex
from townsquare.listening.marks import Mutes, load_mutes
from townsquare.listening.models import SOURCE_TYPES, Mention, MentionWatch, Source
from townsquare.listening.prepare import (
    POOL_KINDS,
    Prepared,
    by_key,
    document,
    mention_columns,
    prepare_chunk,
    process_pool,
    worker_count,
)
from townsquare.listening.service import list_watches, workspace_index
from townsquare.listening.stream_state import carry_over, notice
from townsquare.netguard import check_url
from townsquare.networks import bluesky_listen, mastodon_listen, web
from townsquare.networks.items import FoundItem
from townsquare.workspaces import audit
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

URL_SOURCES = ("rss", "web")
MASTODON_SOURCES = ("mastodon-tag", "mastodon-search")
CHANNEL_NETWORK = {
    "mastodon-tag": "mastodon",
    "mastodon-search": "mastodon",
    "bluesky-search": "bluesky",
}
MAX_BACKOFF = timedelta(days=1)
FETCH_THREADS = 64  # network waits, not CPU: a poll of 1,000 feeds keeps 64 in flight
COMMIT_SECONDS = 0.25  # while polling, stored sources are committed together at most this often
POOL_MIN_SOURCES = 100  # fewer: fetched and prepared in this process (no workers to start)
POOL_CHUNK = 50  # sources a worker process fetches and prepares at a time


def _clean_target(kind: str, target: str, settings: Settings) -> str:
    clean = validation.non_empty(target, field="target", max_length=2000)
    if kind in URL_SOURCES:
        check_url(clean, settings, field="target")
    elif kind == "mastodon-tag":
        clean = mastodon_listen.clean_tag(clean)
    elif kind == "bluesky-search":
        bluesky_listen.split_query(clean)  # refuses a query with nothing to look for
    return clean


def _source_channel(
    session: Session, access: WorkspaceAccess, kind: str, channel_id: int | None
) -> Channel | None:
    """The connected channel a Mastodon or Bluesky source searches through (checked)."""
    network = CHANNEL_NETWORK.get(kind)
    if channel_id is None:
        if kind in MASTODON_SOURCES:
            raise ValidationError(
                "%(type)s sources search the instance of a connected Mastodon channel: give "
                "--channel with its handle (connect one first with `townsquare channel add`)",
                params={"type": kind},
                field="channel",
            )
        return None
    channel = session.get(Channel, channel_id)
    if channel is None or channel.workspace_id != access.workspace_id:
        raise NotFound(
            "no channel with id %(channel_id)s in this workspace",
            params={"channel_id": channel_id},
            field="channel",
        )
    if network is None or channel.network != network:
        raise ValidationError(
            "%(type)s sources cannot use the %(network)s channel %(handle)s: give a %(needed)s "
            "channel",
            params={
                "type": kind,
                "network": channel.network,
                "handle": channel.handle,
                "needed": network or "Mastodon or Bluesky",
            },
            field="channel",
        )
    if channel.credentials_encrypted is None:
        raise ValidationError(
            "channel %(handle)s is not connected (no credentials): connect it first",
            params={"handle": channel.handle},
            field="channel",
        )
    return channel


def add_source(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    type: str,
    target: str,
    every_minutes: int = 15,
    selector: str | None = None,
    channel_id: int | None = None,
) -> Source:
    """A new source (editor or higher); URLs pass the SSRF rule before anything is stored.

    Mastodon sources need a connected Mastodon channel (its instance and token); a
    Bluesky search may name a connected Bluesky channel, else it asks the public AppView.
    """
    access.require(Role.EDITOR, "add sources")
    kind = (type or "").strip().lower()
    if kind not in SOURCE_TYPES:
        raise ValidationError(
            "unknown source type %(value)r: choose one of %(choices)s",
            params={"value": type, "choices": SOURCE_TYPES},
            field="type",
        )
    clean_target = _clean_target(kind, target, settings)
    if not 1 <= every_minutes <= 7 * 24 * 60:
        raise ValidationError(
            "every must be between 1 minute and a week (10,080 minutes)", field="every"
        )
    state: dict[str, Any] = {}
    if selector:
        if kind != "web":
            raise ValidationError("a CSS selector only applies to web sources", field="selector")
        web.page_lines("<p></p>", selector)  # refuses a selector that cannot be read
        state["selector"] = selector
    if channel_id is not None and kind not in CHANNEL_NETWORK:
        raise ValidationError(
            "a channel only applies to mastodon-tag, mastodon-search and bluesky-search sources",
            field="channel",
        )
    channel = _source_channel(session, access, kind, channel_id)
    source = Source(
        workspace_id=access.workspace_id,
        type=kind,
        target=clean_target,
        every_minutes=every_minutes,
        channel_id=channel.id if channel is not None else None,
        state=state,
        next_poll_at=None,
    )
    session.add(source)
    audit.record(
        session,
        "source.added",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{kind}:{clean_target}"[:200],
    )
    session.commit()
    return source


def list_sources(session: Session, access: WorkspaceAccess) -> list[Source]:
    query = select(Source).where(Source.workspace_id == access.workspace_id).order_by(Source.id)
    return list(session.scalars(query))


def get_source(session: Session, access: WorkspaceAccess, source_id: int) -> Source:
    source = session.scalar(
        select(Source).where(Source.id == source_id, Source.workspace_id == access.workspace_id)
    )
    if source is None:
        raise NotFound(
            "no source with id %(source_id)s in this workspace",
            params={"source_id": source_id},
            field="source",
        )
    return source


def delete_source(session: Session, access: WorkspaceAccess, source_id: int) -> None:
    access.require(Role.EDITOR, "remove sources")
    source = get_source(session, access, source_id)
    audit.record(
        session,
        "source.removed",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{source.type}:{source.target}"[:200],
    )
    session.delete(source)
    session.commit()


def channel_handles(session: Session, sources: list[Source]) -> dict[int, str]:
    """The handles of the channels the sources read through, by channel id."""
    ids = {source.channel_id for source in sources if source.channel_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(Channel.id, Channel.handle).where(Channel.id.in_(ids)))
    return dict(rows.all())


def sources_json(session: Session, sources: list[Source]) -> list[dict[str, object]]:
    handles = channel_handles(session, sources)
    return [source_json(source, handles) for source in sources]


def source_json(source: Source, handles: dict[int, str]) -> dict[str, object]:
    """A source and its health line; ``handles`` from :func:`channel_handles`."""
    return {
        "id": source.id,
        "type": source.type,
        "target": source.target,
        "every": source.every_minutes,
        "last_polled_at": source.last_polled_at,
        "next_poll_at": source.next_poll_at,
        "items_last_poll": source.items_last_poll,
        "mentions_total": source.mentions_total,
        "error_count": source.error_count,
        "last_error": source.last_error,
        "channel_id": source.channel_id,
        "channel": handles.get(source.channel_id) if source.channel_id is not None else None,
        "notice": (source.state or {}).get("notice") or _stream_notice(source),
    }


def _stream_notice(source: Source) -> str | None:
    """A hashtag source's mode (streaming, or polling and why: listening/streaming.py)."""
    if source.type != "mastodon-tag":
        return None
    return notice(source.state, source.target, source.every_minutes)


# --- polling -------------------------------------------------------------------------------


@dataclass
class PollReport:
    sources_polled: int = 0
    items_fetched: int = 0
    mentions_new: int = 0
    alerts_sent: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "sources_polled": self.sources_polled,
            "items_fetched": self.items_fetched,
            "mentions_new": self.mentions_new,
            "alerts_sent": self.alerts_sent,
            "errors": self.errors,
        }


def _backoff(source: Source) -> timedelta:
    delay = timedelta(minutes=source.every_minutes) * (2 ** min(source.error_count, 10))
    return min(delay, MAX_BACKOFF)


def _claim(session: Session, sources: list[Source], now: datetime) -> list[Source]:
    """Take the sources for this poll: those another poller did not take first.

    One UPDATE … RETURNING per polling interval (not one per source): the next poll time
    moves forward only where it was still due, atomically.
    """
    by_interval: dict[int, list[int]] = {}
    for source in sources:
        by_interval.setdefault(source.every_minutes, []).append(source.id)
    taken: set[int] = set()
    for minutes, ids in by_interval.items():
        claimed = session.execute(
            update(Source)
            .where(
                Source.id.in_(ids),
                or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now),
            )
            .values(next_poll_at=now + timedelta(minutes=minutes))
            .returning(Source.id)
            .execution_options(synchronize_session=False)
        )
        taken.update(int(row[0]) for row in claimed)
    session.commit()
    return [source for source in sources if source.id in taken]


def store_items(
    session: Session,
    access: WorkspaceAccess,
    source: Source,
    items: list[FoundItem],
    index: WatchIndex | None = None,
    mutes: Mutes | None = None,
) -> int:
    """Store the items not seen before as mentions, matched against the watches; how many.

    The new mentions go in together (one flush); when another poller stored one of them a
    moment ago (a unique key conflict), they go in one by one and that one is skipped.
    """
    if not items:
        return 0
    keys = by_key(items)
    existing = _existing(session, access, list(keys))
    if mutes is None:
        mutes = load_mutes(session, access)
    fresh = [
        (key, item)
        for key, item in keys.items()
        if key not in existing and not mutes.blocks(item.author, item.url)
    ]
    if not fresh:
        return 0
    if index is None:
        index, _names = workspace_index(session, access)
    rows = mention_columns(fresh)
    found = index.match_many([document(row) for row in rows])
    return _insert(session, access, source, list(zip(rows, found, strict=True)))


def store_prepared(
    session: Session, access: WorkspaceAccess, source: Source, prepared: Prepared, mutes: Mutes
) -> int:
    """:func:`store_items` for the rows a worker process prepared (the same mentions)."""
    if not prepared.rows:
        return 0
    existing = _existing(session, access, [row["dedupe_key"] for row, *_rest in prepared.rows])
    fresh = [
        (row, matched)
        for row, matched, author, url in prepared.rows
        if row["dedupe_key"] not in existing and not mutes.blocks(author, url)
    ]
    return _insert(session, access, source, fresh) if fresh else 0


def store_prepared_many(
    session: Session,
    access: WorkspaceAccess,
    done: Sequence[tuple[Source, Prepared]],
    mutes: Mutes,
) -> list[int]:
    """:func:`store_prepared` for several sources with one SELECT and one INSERT (how many
    new mentions each): a key already taken by a source before it in ``done`` counts as
    stored, as when they go in one after the other. On a conflict (another poller stored
    one of them a moment ago), nothing of this write stays and the sources go in one by one.
    """
    keys = [row["dedupe_key"] for _source, prepared in done for row, *_rest in prepared.rows]
    taken = _existing(session, access, keys) if keys else set()
    fresh: list[tuple[dict[str, Any], AbstractSet[int]]] = []
    counts = []
    for source, prepared in done:
        new = 0
        for row, matched, author, url in prepared.rows:
            key = row["dedupe_key"]
            if key in taken or mutes.blocks(author, url):
                continue
            taken.add(key)
            new += 1
            fresh.append(
                ({"workspace_id": access.workspace_id, "source_id": source.id, **row}, matched)
            )
        counts.append(new)
    if not fresh or _insert_together(session, fresh):
        return counts
    return [store_prepared(session, access, source, prepared, mutes) for source, prepared in done]


def _existing(session: Session, access: WorkspaceAccess, keys: list[str]) -> set[str]:
    return set(
        session.scalars(
            select(Mention.dedupe_key).where(
                Mention.workspace_id == access.workspace_id, Mention.dedupe_key.in_(keys)
            )
        )
    )


def _insert(
    session: Session,
    access: WorkspaceAccess,
    source: Source,
    fresh: Sequence[tuple[dict[str, Any], AbstractSet[int]]],
) -> int:
    """The new mentions (their columns and the watches each matches) stored; how many."""
    rows = [
        ({"workspace_id": access.workspace_id, "source_id": source.id, **row}, matched)
        for row, matched in fresh
    ]
    if _insert_together(session, rows):
        return len(rows)
    # Another poller stored some of them: one by one, skipping those.
    new = 0
    for row, matched in rows:
        mention = Mention(**row)
        try:
            with session.begin_nested():
                session.add(mention)
                session.flush()
                _link_watches(session, [(mention.id, matched)])
        except IntegrityError:
            continue
        new += 1
    return new


def _insert_together(
    session: Session, rows: Sequence[tuple[dict[str, Any], AbstractSet[int]]]
) -> bool:
    """Whole mention rows (with the watches each matches) stored in one statement; False,
    with nothing of it kept, when one of them is already stored (another poller)."""
    try:
        with session.begin_nested():
            # Core INSERT … RETURNING (one statement, no unit of work): a poll stores
            # thousands of mentions and the ORM's bookkeeping was most of that time.
            ids = session.scalars(
                insert(Mention).returning(Mention.id, sort_by_parameter_order=True),
                [row for row, _matched in rows],
            ).all()
            _link_watches(
                session, [(i, matched) for i, (_row, matched) in zip(ids, rows, strict=True)]
            )
        return True
    except IntegrityError:
        return False


def _link_watches(session: Session, mentions: list[tuple[int, AbstractSet[int]]]) -> None:
    """The watches each new mention (its id) matches, stored."""
    links = [
        {"mention_id": mention_id, "watch_id": watch_id}
        for mention_id, matched in mentions
        for watch_id in matched
    ]
    if links:
        session.execute(insert(MentionWatch), links)


def _jobs(
    session: Session, sources: list[Source], box: CredentialsBox | None, settings: Settings
) -> list[FetchJob]:
    """What each source's fetch needs, read from the database before the threads start."""
    jobs = []
    opened: dict[int, tuple[dict[str, Any] | None, TownsquareError | None]] = {}
    for source in sources:
        job = FetchJob(source.id, source.type, source.target, dict(source.state or {}))
        if source.type in CHANNEL_NETWORK and source.channel_id is not None:
            if source.channel_id not in opened:
                opened[source.channel_id] = _open_channel(session, source, box, settings)
            job.credentials, job.problem = opened[source.channel_id]
        elif source.type in MASTODON_SOURCES:
            job.problem = ValidationError(
                "the channel of this source was removed: add the source again with --channel",
                field="channel",
            )
        jobs.append(job)
    return jobs


def _open_channel(
    session: Session, source: Source, box: CredentialsBox | None, settings: Settings
) -> tuple[dict[str, Any] | None, TownsquareError | None]:
    channel = session.get(Channel, source.channel_id)
    if channel is None or channel.workspace_id != source.workspace_id:
        return None, ValidationError(
            "the channel of this source was removed: add the source again with --channel",
            field="channel",
        )
    if channel.status == "needs_reconnection":
        return None, AuthenticationError(
            "channel %(handle)s needs reconnection (%(reason)s): give it new credentials",
            params={"handle": channel.handle, "reason": channel.status_reason or ""},
            field="channel",
        )
    box = box or CredentialsBox(settings.resolved_credentials_key())
    credentials = channel_credentials(channel, box)
    if credentials is None:
        return None, ValidationError(
            "channel %(handle)s is not connected (no credentials): connect it first",
            params={"handle": channel.handle},
            field="channel",
        )
    return credentials, None


def poll(
    session: Session,
    settings: Settings,
    access: WorkspaceAccess,
    *,
    source_id: int | None = None,
    due_only: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    box: CredentialsBox | None = None,
    processes: bool | None = None,
) -> PollReport:
    """Poll the workspace's sources (one, or those due), fetching them concurrently.

    ``processes``: whether feeds, pages, Hacker News and Reddit are fetched and prepared
    in worker processes (:mod:`listening.prepare`); by default when at least
    ``POOL_MIN_SOURCES`` of them are polled on a machine with more than one core.

    ``box`` opens the credentials of connected channels (Mastodon and Bluesky sources; by
    default the settings' key); when given, the instant alerts of the workspace are also
    sent right after, and counted in the report.
    """
    access.require(Role.EDITOR, "poll sources")
    started = now()
    if source_id is not None:
        sources = [get_source(session, access, source_id)]
    else:
        sources = list_sources(session, access)
        if due_only:
            sources = [s for s in sources if s.next_poll_at is None or s.next_poll_at <= started]
    claimed = _claim(session, sources, started) if due_only else sources
    jobs = _jobs(session, claimed, box, settings)
    session.commit()  # no transaction stays open while the network is asked
    report = PollReport()
    by_id = {source.id: source for source in claimed}
    index: WatchIndex | None = None
    mutes = load_mutes(session, access)  # once a poll, not once a source
    pooled = [job for job in jobs if job.kind in POOL_KINDS and job.problem is None]
    if processes is None:
        processes = len(pooled) >= POOL_MIN_SOURCES and worker_count() > 1
    if not processes:
        pooled = []
    pooled_ids = {job.source_id for job in pooled}
    threaded = [job for job in jobs if job.source_id not in pooled_ids]
    queries = tuple((watch.id, watch.query) for watch in list_watches(session, access))
    session.commit()
    threads = min(FETCH_THREADS, max(len(threaded), 1))
    with thread_clients(settings) as clients, ThreadPoolExecutor(max_workers=threads) as pool:
        futures: dict[Future[Any], int | None] = {
            pool.submit(clients.run, settings, job): job.source_id for job in threaded
        }
        if pooled:
            # The CPU part (fetch, parse, language, sentiment, matching) in worker
            # processes, a chunk of sources at a time; this process only writes.
            workers = process_pool()
            size = max(4, min(POOL_CHUNK, -(-len(pooled) // (worker_count() * 4))))
            for first in range(0, len(pooled), size):
                chunk = pooled[first : first + size]
                futures[workers.submit(prepare_chunk, settings, chunk, queries)] = None
        # Each source is stored as soon as its answer is in, while the others still fetch.
        committed = time.monotonic()
        for future in as_completed(futures):
            source_id = futures[future]
            if source_id is None:
                _record_chunk(session, access, report, by_id, future.result(), mutes, now)
            else:
                source, outcome = by_id[source_id], future.result()
                index = _record(
                    session, access, report, source, outcome, index, mutes, box, settings, now
                )
            # A source's mentions and its state go in together, in one transaction with
            # those stored just before it: a commit (an fsync) at most every quarter second.
            if time.monotonic() - committed >= COMMIT_SECONDS:
                session.commit()
                committed = time.monotonic()
    session.commit()
    if box is not None and report.mentions_new:
        from townsquare.listening.alerts import run_alerts

        report.alerts_sent = run_alerts(session, settings, box, access, modes=("instant",))
    return report


def _record(
    session: Session,
    access: WorkspaceAccess,
    report: PollReport,
    source: Source,
    outcome: FetchOutcome,
    index: WatchIndex | None,
    mutes: Mutes,
    box: CredentialsBox | None,
    settings: Settings,
    now: Callable[[], datetime],
) -> WatchIndex | None:
    """What one source's fetch brought: its mentions stored, its health line updated."""
    report.sources_polled += 1
    finished = now()
    if outcome.error is not None or outcome.result is None:
        _failed(report, source, str(outcome.error), finished)
        return index
    result = outcome.result
    new = 0
    if result.items:
        if index is None:
            index, _names = workspace_index(session, access)
        new = store_items(session, access, source, result.items, index, mutes)
    _succeeded(report, source, result.state, len(result.items), new, finished)
    if outcome.credentials is not None and source.channel_id is not None:
        _store_credentials(session, source.channel_id, outcome.credentials, box, settings)
    return index


def _record_chunk(
    session: Session,
    access: WorkspaceAccess,
    report: PollReport,
    by_id: dict[int, Source],
    chunk: list[Prepared],
    mutes: Mutes,
    now: Callable[[], datetime],
) -> None:
    """:func:`_record` for the sources a worker process fetched and prepared together:
    their mentions go in with one INSERT (each source's mentions and state in the same
    transaction)."""
    fetched = []
    for prepared in chunk:
        source = by_id[prepared.source_id]
        report.sources_polled += 1
        if prepared.error is not None or prepared.state is None:
            _failed(report, source, str(prepared.error), now())
        else:
            fetched.append((source, prepared))
    counts = store_prepared_many(session, access, fetched, mutes)
    finished = now()
    for (source, prepared), new in zip(fetched, counts, strict=True):
        assert prepared.state is not None
        _succeeded(report, source, prepared.state, prepared.items, new, finished)


def _failed(report: PollReport, source: Source, error: str, finished: datetime) -> None:
    source.last_polled_at = finished
    source.error_count += 1
    source.last_error = error[:1000]
    source.next_poll_at = finished + _backoff(source)
    report.errors.append({"source": source.id, "error": error})


def _succeeded(
    report: PollReport,
    source: Source,
    state: dict[str, Any],
    items: int,
    new: int,
    finished: datetime,
) -> None:
    source.last_polled_at = finished
    report.items_fetched += items
    report.mentions_new += new
    source.state = carry_over(source.state, state)  # keeps the stream's mode
    source.error_count = 0
    source.last_error = None
    source.items_last_poll = items
    source.mentions_total += new
    source.next_poll_at = finished + timedelta(minutes=source.every_minutes)


def _store_credentials(
    session: Session,
    channel_id: int,
    credentials: dict[str, Any],
    box: CredentialsBox | None,
    settings: Settings,
) -> None:
    channel = session.get(Channel, channel_id)
    if channel is not None:
        box = box or CredentialsBox(settings.resolved_credentials_key())
        channel.credentials_encrypted = box.seal(credentials)
