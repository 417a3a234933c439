"""The CPU part of a poll, in worker processes: fetch, parse, language, sentiment, matching.

A poll of many feeds spends most of its CPU in Python (httpx, the feed's XML, the language
automaton, sentiment rules, the watches' matching), all under one GIL. With
:func:`prepare_chunk` a pool of processes does that work for chunks of sources and gives
back plain rows (picklable data, no session): the poll's own process only writes them, so
both cores work. The rows are exactly those the in-process path builds
(tests/listen/test_poll_workers.py compares both).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from townsquare.config import Settings
from townsquare.listening.fetching import FetchJob, ThreadClients, ssl_context, thread_clients
from townsquare.listening.index import WatchIndex
from townsquare.listening.language import detect_many
from townsquare.listening.text import Document
from townsquare.networks.items import FoundItem

# Kinds whose fetch needs nothing but the job (no channel credentials to store back).
POOL_KINDS = ("rss", "web", "hackernews", "reddit")
WORKER_THREADS = 32  # network waits inside one worker process


def strip_nul(text: str) -> str:
    # A feed may hold NUL characters; PostgreSQL cannot store them and they mean nothing.
    return text.replace("\x00", "")


def dedupe_key(item: FoundItem) -> str:
    if item.external_id:
        return f"{item.network}:{item.external_id}"[:600]
    return f"url:{(item.url or '').strip()}"[:600]


def by_key(items: list[FoundItem]) -> dict[str, FoundItem]:
    """The items by dedupe key (a key seen twice keeps its first place, its last item)."""
    return {dedupe_key(item): item for item in items}


def mention_columns(fresh: list[tuple[str, FoundItem]]) -> list[dict[str, Any]]:
    """The columns of new mentions but their workspace and source (plain dicts: thousands
    go in with one INSERT); the languages the items do not give are detected together."""
    from townsquare.listening.service import mention_sentiment

    cleaned = [(key, item, strip_nul(item.title), strip_nul(item.text)) for key, item in fresh]
    given = [(item.lang or "").split("-")[0].lower() for _key, item, _title, _text in cleaned]
    unknown = [number for number, lang in enumerate(given) if not lang]
    detected = detect_many([f"{cleaned[n][2]}\n{cleaned[n][3]}" for n in unknown])
    for number, lang in zip(unknown, detected, strict=True):
        given[number] = lang
    rows = []
    for (key, item, title, text), lang in zip(cleaned, given, strict=True):
        feeling = mention_sentiment(title, text, lang)
        rows.append(
            {
                "dedupe_key": key,
                "network": item.network,
                "external_id": (item.external_id or None) and item.external_id[:300],
                "url": (item.url or None) and item.url[:4000],
                "title": title[:1000] or None,
                "text": text,
                "author": (item.author or None) and strip_nul(item.author)[:300],
                "author_followers": item.author_followers,
                "published_at": item.published_at,
                "lang": lang[:16] or None,
                "sentiment": feeling and feeling.label,
                "sentiment_auto": feeling and feeling.label,
                "sentiment_score": feeling and feeling.score,
            }
        )
    return rows


def document(row: dict[str, Any]) -> Document:
    return Document(
        row["text"], title=row["title"] or "", url=row["url"] or "",
        author=row["author"] or "", lang=row["lang"] or "", network=row["network"],
    )  # fmt: skip


@dataclass
class Prepared:
    """One source's fetch, ready to store: its rows, each with the watches it matches."""

    source_id: int
    items: int = 0  # fetched
    # (row, matched watch ids, the item's author and URL as found, for the mute list)
    rows: list[tuple[dict[str, Any], frozenset[int], str | None, str | None]] = field(
        default_factory=list
    )
    state: dict[str, Any] | None = None
    error: str | None = None


@lru_cache(maxsize=8)
def _index(queries: tuple[tuple[int, str], ...]) -> WatchIndex:
    from townsquare.listening.query import parse

    return WatchIndex({watch_id: parse(query) for watch_id, query in queries})


def prepare(found: list[tuple[FetchJob, list[FoundItem]]], index: WatchIndex) -> list[Prepared]:
    """Rows and matches of every item the fetches found (the poll's process drops those
    already stored or muted). The languages and the matches of all of them are computed
    together: both cost far less a text in a batch of hundreds than in one of ten."""
    keyed = [list(by_key(items).items()) for _job, items in found]
    rows = mention_columns([pair for pairs in keyed for pair in pairs])
    matches = index.match_many([document(row) for row in rows]) if rows else []
    done, at = [], 0
    for (job, items), pairs in zip(found, keyed, strict=True):
        done.append(
            Prepared(
                job.source_id,
                items=len(items),
                rows=[
                    (rows[at + n], frozenset(matches[at + n]), item.author, item.url)
                    for n, (_key, item) in enumerate(pairs)
                ],
            )
        )
        at += len(pairs)
    return done


# A worker process's fetch threads and their HTTP clients, kept from one chunk to the next
# (their connections are reused).
_threads: ThreadPoolExecutor | None = None
_clients: tuple[Settings, ThreadClients] | None = None


def _worker_clients(settings: Settings) -> ThreadClients:
    global _clients
    if _clients is None or _clients[0] != settings:
        if _clients is not None:
            _clients[1].close()
        _clients = (settings, thread_clients(settings))
    return _clients[1]


def prepare_chunk(
    settings: Settings, jobs: list[FetchJob], queries: tuple[tuple[int, str], ...]
) -> list[Prepared]:
    """Fetch ``jobs`` (concurrently) and prepare what they found (in a worker process)."""
    global _threads
    index = _index(queries)
    if _threads is None:
        _threads = ThreadPoolExecutor(max_workers=WORKER_THREADS)
    clients = _worker_clients(settings)
    failed, found, states = [], [], []
    futures = {_threads.submit(clients.run, settings, job): job for job in jobs}
    for future in as_completed(futures):
        job, outcome = futures[future], future.result()
        if outcome.error is not None or outcome.result is None:
            failed.append(Prepared(job.source_id, error=str(outcome.error)))
            continue
        found.append((job, outcome.result.items))
        states.append(outcome.result.state)
    done = prepare(found, index)
    for prepared, state in zip(done, states, strict=True):
        prepared.state = state
    return failed + done


def _warm() -> None:
    """A worker's start-up: the language model, the lexicons, the word frequencies, the
    feed parser and the TLS context, once."""
    import feedparser  # noqa: F401  (rss.fetch imports it: its first call would pay)

    import townsquare.netguard  # noqa: F401
    from townsquare.listening.index import word_frequency
    from townsquare.listening.language import detect
    from townsquare.listening.service import mention_sentiment

    detect("bonjour")
    mention_sentiment("", "bon", "fr")
    mention_sentiment("", "good", "en")
    word_frequency("bonjour")
    ssl_context()


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def worker_count() -> int:
    return min(os.cpu_count() or 1, 4)


def process_pool() -> ProcessPoolExecutor:
    """The poller's worker processes (started once, kept for the next polls)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=worker_count(),
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm,
            )
            atexit.register(shutdown)
            # Start them now (their start-up overlaps whatever the caller does next).
            for _ in range(worker_count()):
                _pool.submit(_warm)
        return _pool


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


def start_workers() -> None:
    """Start the worker processes and wait until they are ready (a long-lived poller's
    start-up: the language model and lexicons loaded once per process)."""
    pool = process_pool()
    for future in [pool.submit(_warm) for _ in range(worker_count())]:
        future.result()
