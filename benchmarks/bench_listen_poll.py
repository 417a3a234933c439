"""Listen's poller: many RSS feeds served on loopback, a first pass and a pass with no change.

    python benchmarks/bench_listen_poll.py            # 100 feeds (make bench)
    python benchmarks/bench_listen_poll.py --full     # 1,000 feeds (issue #11)
    python benchmarks/bench_listen_poll.py --feeds 300 --latency 0 --postgres

1. Starts one HTTP/1.1 server in its own process (keep-alive, a thread per connection)
   serving ``/feed/N.xml``: RSS 2.0 feeds of ``--entries`` items each (French and English
   texts, some naming the watched brands), with an ``ETag`` and a ``Last-Modified``; a
   conditional GET that matches answers 304. Each answer waits ``--latency`` ms first: on
   loopback a request costs nothing, a real feed's host is tens of milliseconds away (the
   default 50 ms is a round trip within a continent), and hiding that time is what a
   poller is for.
2. Migrates a database (SQLite in a temporary data directory, or a fresh PostgreSQL
   database with ``--postgres``), adds a workspace with brand and competitor watches and
   one ``rss`` source per feed.
3. Times ``sources.poll`` over every source: the first pass (every item becomes a mention:
   language detected, matched against the watches, stored) and a second pass in which
   nothing changed (every feed answers 304). The poll's worker processes
   (``listening/prepare.py``) are started before the clock starts, as a long-lived worker
   has them; their CPU time is printed beside the poll's process's (``--in-process``:
   ``poll(processes=False)``, no workers).
4. Times the sequential loop the issue compares with: ``feedparser.parse(url)`` one feed
   after the other, then again with each feed's ETag and Last-Modified (feedparser fetches
   them itself; nothing is stored), on ``--baseline`` feeds (all of them by default with
   ``--full``), extrapolated to the whole set when fewer.

Goals (issue #11): 1,000 feeds in < 30 s for the first pass and < 5 s when nothing changed,
≥ 20× the sequential feedparser loop. Printed side by side.
"""

from __future__ import annotations

import argparse
import http.server
import multiprocessing
import os
import random
import socket
import tempfile
import time
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import Any

GOAL_FIRST = 30.0
GOAL_UNCHANGED = 5.0
GOAL_RATIO = 20.0
FULL_FEEDS = 1000

WORDS_FR = [
    "le",
    "nouveau",
    "manteau",
    "est",
    "chaud",
    "et",
    "léger",
    "nous",
    "avons",
    "testé",
    "la",
    "boutique",
    "de",
    "Lyon",
    "pendant",
    "une",
    "semaine",
    "les",
    "prix",
    "restent",
    "élevés",
    "mais",
    "la",
    "qualité",
    "suit",
    "très",
    "bon",
    "accueil",
]
WORDS_EN = [
    "the",
    "new",
    "coat",
    "is",
    "warm",
    "and",
    "light",
    "we",
    "tried",
    "the",
    "shop",
    "in",
    "London",
    "for",
    "a",
    "week",
    "prices",
    "are",
    "high",
    "but",
    "quality",
    "follows",
    "friendly",
    "staff",
    "and",
    "fast",
    "delivery",
]
BRANDS = ("Acme", "Rivalco", "Zephyr")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def feed_xml(number: int, entries: int) -> bytes:
    """RSS 2.0 with ``entries`` items; about one in five names a brand (seeded by number)."""
    rng = random.Random(number)
    items = []
    for n in range(entries):
        words = list(rng.choice((WORDS_FR, WORDS_EN)))
        rng.shuffle(words)
        text = " ".join(words[: rng.randint(12, 30)])
        if rng.random() < 0.2:
            text = f"{rng.choice(BRANDS)} {text}"
        day = 1 + (number + n) % 28
        items.append(
            f"<item><title>{text[:60]}</title><link>https://blog{number}.example/{n}</link>"
            f"<guid>https://blog{number}.example/{n}</guid>"
            f"<pubDate>{day:02d} Nov 2026 08:{n % 60:02d}:00 +0100</pubDate>"
            f"<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Blog {number}</title><link>https://blog{number}.example/</link>"
        f"<description>Feed {number}</description>{''.join(items)}</channel></rss>"
    ).encode()


def serve(port: int, entries: int, latency: float, ready: object) -> None:
    """The feeds' server (runs in its own process: it must not share the poller's GIL)."""
    modified = formatdate(time.time() - 3600, usegmt=True)
    cache: dict[int, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The answer goes out in one write, headers and body, as web servers send it:
        # unbuffered, the body waited for the ACK of the headers, which a keep-alive
        # client delays up to 40 ms (Nagle + delayed ACK), on every request but a
        # connection's first (feedparser's loop opens one per feed: it never waited).
        wbufsize = 64 * 1024

        def do_GET(self) -> None:
            if latency:
                time.sleep(latency)
            try:
                number = int(self.path.split("/")[-1].split(".")[0])
            except ValueError:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"f{number}-v1"'
            if self.headers.get("If-None-Match") == etag or (
                self.headers.get("If-Modified-Since") == modified
            ):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = cache.get(number) or cache.setdefault(number, feed_xml(number, entries))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", port), Handler)
    ready.set()  # type: ignore[attr-defined]
    server.serve_forever()


def baseline(urls: list[str]) -> tuple[float, float]:
    """Seconds for the sequential feedparser loop: a first pass, then with ETag/Last-Modified."""
    import feedparser

    started = time.perf_counter()
    seen = [feedparser.parse(url) for url in urls]
    first = time.perf_counter() - started
    started = time.perf_counter()
    for url, parsed in zip(urls, seen, strict=True):
        again = feedparser.parse(url, etag=parsed.get("etag"), modified=parsed.get("modified"))
        assert again.get("status") == 304, again.get("status")
    return first, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help=f"{FULL_FEEDS} feeds")
    parser.add_argument("--feeds", type=int)
    parser.add_argument("--entries", type=int, default=10, help="items per feed")
    parser.add_argument("--latency", type=float, default=50.0, help="ms before each answer")
    parser.add_argument("--baseline", type=int, help="feeds for the sequential loop")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument(
        "--in-process", action="store_true", help="no worker processes (poll(processes=False))"
    )
    args = parser.parse_args()
    feeds = args.feeds or (FULL_FEEDS if args.full else 100)
    sample = min(args.baseline or (feeds if args.full else min(feeds, 50)), feeds)
    latency = args.latency / 1000

    port = _free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(port, args.entries, latency, ready), daemon=True
    )
    server.start()
    ready.wait(10)
    base = f"http://127.0.0.1:{port}"
    urls = [f"{base}/feed/{n}.xml" for n in range(feeds)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first, unchanged, stats = _townsquare(
                Path(tmp), urls, postgres=args.postgres, processes=not args.in_process
            )
        seq_first, seq_unchanged = baseline(urls[:sample])
    finally:
        server.terminate()
        server.join(5)
    scale = feeds / sample
    seq_first, seq_unchanged = seq_first * scale, seq_unchanged * scale
    extrapolated = f" (measured on {sample}, ×{scale:g})" if sample < feeds else ""
    print(
        f"{feeds} feeds × {args.entries} items, {args.latency:g} ms per answer, "
        f"{'PostgreSQL' if args.postgres else 'SQLite'}, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"                       townsquare   feedparser loop{extrapolated}   ratio")
    for label, ours, theirs, goal in (
        ("first pass", first, seq_first, GOAL_FIRST * feeds / FULL_FEEDS),
        ("nothing changed", unchanged, seq_unchanged, GOAL_UNCHANGED * feeds / FULL_FEEDS),
    ):
        ratio = theirs / ours if ours else float("inf")
        met = "met" if ours < goal and ratio >= GOAL_RATIO else "MISSED"
        print(
            f"{label:<18} {ours:10.2f} s {theirs:14.2f} s {ratio:12.1f}×   "
            f"goal < {goal:g} s and ≥ {GOAL_RATIO:g}×: {met}"
        )
    first_total = stats["first_cpu"] + stats["first_workers"]
    print(
        f"CPU time of the poller's process (all its threads): first pass "
        f"{stats['first_cpu']:.2f} s, nothing changed {stats['unchanged_cpu']:.2f} s; "
        f"of its worker processes: {stats['first_workers']:.2f} s and "
        f"{stats['unchanged_workers']:.2f} s (on a loaded machine the wall clock also counts "
        "waiting for a core)"
    )
    busiest = max(stats["first_cpu"], stats["first_workers"] / prepare_workers())
    print(
        f"first pass by CPU: loop {seq_first:.2f} s ÷ poller's CPU {first_total:.2f} s = "
        f"{seq_first / first_total:.1f}× (all processes on one core); "
        f"÷ busiest process {busiest:.2f} s = {seq_first / busiest:.1f}× (a core each)"
    )
    print(
        f"first pass: {stats['items']} items, {stats['mentions']} new mentions, "
        f"{stats['matched']} matched a watch; second pass: {stats['items_again']} items; "
        f"start-up (language model, word frequencies) {stats['warm_up']:.1f} s, not counted"
    )


def _townsquare(
    root: Path, urls: list[str], *, postgres: bool, processes: bool
) -> tuple[float, float, dict[str, Any]]:
    from sqlalchemy import func, select

    from townsquare.config import Settings
    from townsquare.db import Database
    from townsquare.listening import service, sources
    from townsquare.listening.models import MentionWatch, Source
    from townsquare.workspaces import service as workspaces
    from townsquare.workspaces.access import WorkspaceAccess

    url = None
    admin_url = os.environ.get(
        "TOWNSQUARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"bench_poll_{uuid.uuid4().hex[:8]}"
    if postgres:
        url = _create_database(admin_url, name)
    settings = Settings(
        data_dir=root / "data", allow_private_urls=True, database_url=url, _env_file=None
    )
    database = Database.from_settings(settings)
    database.upgrade()
    try:
        with database.session() as session:
            owner = workspaces.create_user(session, email="b@bench.test", password="x" * 12)
            workspace = workspaces.create_workspace(session, "bench", name="B", owner=owner)
            access = WorkspaceAccess.operator(workspace)
            service.create_watch(session, access, name="Acme", query="acme OR #acme")
            service.create_watch(
                session, access, name="Rivalco", query="rivalco", kind="competitor"
            )
            service.create_watch(
                session, access, name="Zephyr", query="zephyr -emploi", kind="competitor"
            )
            service.create_watch(
                session,
                access,
                name="Coats",
                query='"boutique de Lyon" OR "shop in London"',
                kind="topic",
            )
            session.add_all(
                Source(workspace_id=workspace.id, type="rss", target=u, every_minutes=15, state={})
                for u in urls
            )
            session.commit()
            # Process start-up, paid once by a worker, not by each poll: the language
            # model and the word frequencies the index ranks its anchors by.
            from townsquare.listening import prepare
            from townsquare.listening.language import detect

            warm = time.perf_counter()
            detect("bonjour")
            service.mention_sentiment("", "bon", "fr")
            service.mention_sentiment("", "good", "en")
            service.workspace_index(session, access)
            if processes:
                prepare.start_workers()  # the worker processes, once (as a worker would)
            stats_warm = time.perf_counter() - warm
            profiler = None
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            started, cpu_started = time.perf_counter(), time.process_time()
            children = _children_cpu()
            report = sources.poll(session, settings, access, processes=processes)
            first = time.perf_counter() - started
            first_cpu = time.process_time() - cpu_started
            first_workers = _children_cpu() - children
            if profiler is not None:
                import pstats

                profiler.disable()
                pstats.Stats(profiler).sort_stats(
                    os.environ.get("BENCH_PROFILE_SORT", "cumulative")
                ).print_stats(40)
            assert not report.errors, report.errors[:3]
            started, cpu_started = time.perf_counter(), time.process_time()
            children = _children_cpu()
            again = sources.poll(session, settings, access, processes=processes)
            unchanged = time.perf_counter() - started
            unchanged_cpu = time.process_time() - cpu_started
            unchanged_workers = _children_cpu() - children
            assert not again.errors, again.errors[:3]
            matched = session.scalar(select(func.count()).select_from(MentionWatch))
            stats = {
                "items": report.items_fetched,
                "mentions": report.mentions_new,
                "matched": matched,
                "items_again": again.items_fetched,
                "warm_up": stats_warm,
                "first_cpu": first_cpu,
                "unchanged_cpu": unchanged_cpu,
                "first_workers": first_workers,
                "unchanged_workers": unchanged_workers,
            }
    finally:
        prepare.shutdown()
        database.engine.dispose()
        if postgres:
            _drop_database(admin_url, name)
    return first, unchanged, stats


def prepare_workers() -> int:
    from townsquare.listening import prepare

    return prepare.worker_count()


def _children_cpu() -> float:
    """CPU seconds of the poller's worker processes (read from /proc: they live on)."""
    from townsquare.listening import prepare

    pool = prepare._pool
    total = 0.0
    for process in (pool._processes or {}).values() if pool is not None else ():
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _create_database(admin_url: str, name: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _drop_database(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


if __name__ == "__main__":
    main()
