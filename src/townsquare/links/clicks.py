"""Click recording: the request path only appends to a bounded buffer; a thread writes.

Why: a synchronous INSERT per redirect would cap the redirector at the database's commit
rate and make every visitor wait for it; a buffer in memory loses its clicks when the
process is killed. Instead:

- ``ClickRecorder.record`` (on the request path) appends one line to the process's click
  journal (links/journal.py): a plain ``write`` to a file of the data directory, before the
  redirect is answered, so a killed process loses no click. The raw IP address never
  reaches the journal: the request path reduces it to ``visitor_hash`` = SHA-256(daily
  salt, address, user agent) at once, the salt being derived from the secret key and the
  UTC date (:func:`daily_salt`), so unique visitors are counted per day and addresses
  cannot be read back from the table.
- When the journal is full (more clicks than the database takes, for long enough to fill
  ``TOWNSQUARE_LINKS_JOURNAL_MAX_MB``), the redirector first holds the request a moment
  (:meth:`ClickRecorder.wait_for_room`, up to ``FULL_BUFFER_WAIT`` seconds, awaiting, so
  the event loop and the writer keep going): a sustained rate above what the database
  writes slows redirects down to that rate instead of losing clicks. Only when no room
  comes in time (the database down for long) is the click dropped, counted in ``dropped``
  and logged. Memory stays bounded: nothing is queued in memory, the writer reads one
  batch at a time from the journal.
- A writer thread wakes every ``interval`` seconds or when ``batch_size`` clicks are
  waiting, reads them back from the journal, classifies them (device class, OS, browser via
  ua-parser — cached by user agent string —, bot or human, referrer domain) and writes each
  batch in one transaction: the ``link_clicks`` rows, ``links.human_clicks += n`` and the
  journal's position (``link_click_journal``), so a click is written exactly once even
  when the process dies between two batches.
- At start-up (and every ``ADOPT_INTERVAL`` seconds) the writer replays the journals of
  stopped processes sharing the data directory, from their stored position.
- ``close()`` (lifespan shutdown, i.e. SIGTERM) writes everything still journaled and
  deletes the journal.

Bot or human. A click is a bot's when the user agent declares one: ua-parser's "Spider"
device (Googlebot, bingbot, …) or a known link-preview fetcher (Slackbot,
facebookexternalhit, Twitterbot, LinkedInBot, Discordbot, TelegramBot, WhatsApp, Skype,
iMessage/Applebot, Pinterest, Embedly, …), an empty user agent, or a HEAD request (browsers
never navigate with HEAD; link checkers do). Command-line clients (curl, wget, HTTP
libraries) are counted as humans: they do not call themselves bots and are most often a
person checking a link by hand. Headless browsers likewise count as humans. Bot clicks are
kept (``is_bot``, ``bot_name``) but never count toward ``human_clicks`` or ``max_clicks``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from townsquare.db import Database
from townsquare.links.journal import Batch, ClickJournal, Segment, database_key

logger = logging.getLogger(__name__)

DEFAULT_JOURNAL_BYTES = 512 << 20  # TOWNSQUARE_LINKS_JOURNAL_MAX_MB's default
# How often the writer looks for the journals of stopped processes to replay.
ADOPT_INTERVAL = 5.0  # seconds
# Small, frequent batches: each one holds the GIL for a short while only.
DEFAULT_BATCH_SIZE = 1_000
DEFAULT_INTERVAL = 0.05  # seconds
# How long a redirect may wait for room in a full journal before its click is dropped.
FULL_BUFFER_WAIT = 2.0


class Click(NamedTuple):
    """One buffered click, as the request path leaves it (no IP address)."""

    link_id: int
    workspace_id: int
    at: float  # epoch seconds
    user_agent: str
    referrer: str
    country: str | None
    visitor_hash: str
    is_head: bool


class Classified(NamedTuple):
    is_bot: bool
    bot_name: str | None
    device_class: str
    os: str | None
    browser: str | None


# --- the request-path helpers -------------------------------------------------------------

_salts: dict[tuple[str, int], bytes] = {}


def daily_salt(secret_key: str, day: int) -> bytes:
    """The salt of UTC day number ``day``: HMAC(secret key, day); two days never match."""
    salt = _salts.get((secret_key, day))
    if salt is None:
        salt = hmac.new(
            secret_key.encode(), f"links-visitor:{day}".encode(), hashlib.sha256
        ).digest()
        if len(_salts) > 4:
            _salts.clear()
        _salts[(secret_key, day)] = salt
    return salt


def visitor_hash(secret_key: str, at: float, client_address: str, user_agent: str) -> str:
    """A daily pseudonym for (address, user agent): counts unique visitors, keeps no IP."""
    salt = daily_salt(secret_key, int(at // 86400))
    digest = hashlib.sha256(salt)
    digest.update(client_address.encode())
    digest.update(b"\0")
    digest.update(user_agent.encode("utf-8", "replace"))
    return digest.hexdigest()


_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def clean_country(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 code from the trusted proxy header, or None (XX, T1, junk)."""
    if not value or not _COUNTRY.match(value):
        return None
    value = value.upper()
    return None if value in ("XX", "ZZ") else value


# --- classification (writer thread) -------------------------------------------------------

# Link-preview fetchers and crawlers ua-parser may not flag as "Spider". Checked as a
# case-insensitive substring of the user agent; the first match names the bot.
PREVIEW_BOTS = (
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "slackbot",
    "slack-imgproxy",
    "twitterbot",
    "linkedinbot",
    "discordbot",
    "telegrambot",
    "whatsapp",
    "skypeuripreview",
    "applebot",
    "pinterestbot",
    "pinterest/",
    "redditbot",
    "embedly",
    "iframely",
    "mastodon",
    "bluesky",
    "googlebot",
    "google-inspectiontool",
    "adsbot-google",
    "bingbot",
    "bingpreview",
    "yandexbot",
    "duckduckbot",
    "baiduspider",
    "petalbot",
    "ahrefsbot",
    "semrushbot",
    "vkshare",
    "viber",
    "snapchat",
    "outbrain",
    "quora link preview",
    "bitlybot",
    "tumblr",
    "flipboard",
    "mattermost",
    "rocket.chat",
    "zoominfobot",
    "gptbot",
    "chatgpt-user",
    "claudebot",
    "perplexitybot",
)
_PREVIEW_PATTERN = re.compile("|".join(re.escape(name) for name in PREVIEW_BOTS), re.IGNORECASE)
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "ChromeOS", "Fedora", "FreeBSD",
     "Debian", "OpenBSD", "NetBSD", "Arch Linux", "Linux Mint"}
)  # fmt: skip


@lru_cache(maxsize=8192)
def classify_user_agent(user_agent: str) -> Classified:
    """Device class, OS, browser and bot-ness of a user agent (cached: UAs repeat a lot)."""
    if not user_agent.strip():
        return Classified(True, "no user agent", "bot", None, None)
    from ua_parser import parse

    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    os_name = result.os.family if result.os else None
    device = result.device
    preview = _PREVIEW_PATTERN.search(user_agent)
    if (device is not None and device.family == "Spider") or preview:
        name = browser or (preview.group(0) if preview else None)
        if preview and (not name or name == "Other"):
            name = preview.group(0)
        return Classified(True, (name or "bot")[:100], "bot", os_name, browser)
    lowered = user_agent.lower()
    device_family = (device.family if device else "") or ""
    brand = (device.brand if device else "") or ""
    if (
        device_family in ("iPad", "Kindle")
        or "tablet" in brand.lower()
        or "tablet" in lowered
        or (os_name == "Android" and "mobile" not in lowered)
    ):
        device_class = "tablet"
    elif "mobi" in lowered or os_name in ("iOS", "Android") or device_family == "iPhone":
        device_class = "mobile"
    elif os_name in _DESKTOP_OS or (os_name and os_name.startswith("Windows")):
        device_class = "desktop"
    else:
        device_class = "other"
    return Classified(False, None, device_class, os_name, browser)


@lru_cache(maxsize=8192)
def referrer_domain(referrer: str) -> str | None:
    """The host name of a Referer header, lower case, no port, path or query."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.lower().rstrip(".")[:255] or None


_COLUMNS = (
    "link_id",
    "workspace_id",
    "clicked_at",
    "click_date",
    "is_bot",
    "bot_name",
    "referrer_domain",
    "device_class",
    "os",
    "browser",
    "country",
    "visitor_hash",
)


def _statements(mark: str) -> tuple[str, str, str]:
    # Built from the constant column list and a placeholder only: no value is interpolated.
    columns, marks = ", ".join(_COLUMNS), ", ".join([mark] * len(_COLUMNS))
    return (
        f"INSERT INTO link_clicks ({columns}) VALUES ({marks})",  # noqa: S608
        f"UPDATE links SET human_clicks = human_clicks + {mark} WHERE id = {mark}",  # noqa: S608
        # SQLite (3.24+) and PostgreSQL spell the upsert the same way.
        f"INSERT INTO link_click_journal (name, position) VALUES ({mark}, {mark}) "  # noqa: S608
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
    )


_SQL = {"qmark": _statements("?"), "format": _statements("%s")}
# Rows per multi-row INSERT on SQLite: 12 values each, under its limit of bound values per
# statement (32,766 since SQLite 3.32, 999 before).
_SQLITE_ROWS_PER_INSERT = 250 if sqlite3.sqlite_version_info >= (3, 32) else 80


@lru_cache(maxsize=8)
def _sqlite_insert(count: int) -> str:
    row = "(" + ", ".join(["?"] * len(_COLUMNS)) + ")"
    # Built from the constant column list and placeholders only: no value is interpolated.
    return f"INSERT INTO link_clicks ({', '.join(_COLUMNS)}) VALUES " + ", ".join(  # noqa: S608
        [row] * count
    )


_COPY = f"COPY link_clicks ({', '.join(_COLUMNS)}) FROM STDIN"


_sqlite_seconds: dict[int, tuple[str, str]] = {}


@lru_cache(maxsize=8192)
def _kind(user_agent: str, is_head: bool) -> tuple[bool, str | None, str, str | None, str | None]:
    kind = classify_user_agent(user_agent[:1000])
    is_bot, bot_name, device_class = kind.is_bot, kind.bot_name, kind.device_class
    if is_head and not is_bot:
        is_bot, bot_name, device_class = True, "HEAD request", "bot"
    return (
        is_bot,
        bot_name,
        device_class,
        kind.os[:60] if kind.os else None,
        kind.browser[:60] if kind.browser else None,
    )


def click_row(click: Click, *, sqlite: bool) -> tuple[tuple[object, ...], bool]:
    """The ``link_clicks`` row of a buffered click (in the driver's own types), and whether
    it is human.

    Rows go to the DB-API driver's ``executemany`` directly, not through SQLAlchemy's
    per-row bind processing: the writer shares the GIL with the event loop, and every
    microsecond it spends in Python is one the redirects wait for. On SQLite the values are
    what SQLAlchemy itself would store (naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``, 0/1).
    """
    is_bot, bot_name, device_class, os_name, browser = _kind(click.user_agent, click.is_head)
    if sqlite:
        second = int(click.at)
        stamp = _sqlite_seconds.get(second)
        if stamp is None:
            moment = datetime.fromtimestamp(second, UTC)
            stamp = (f"{moment:%Y-%m-%d %H:%M:%S}", moment.date().isoformat())
            if len(_sqlite_seconds) > 1000:
                _sqlite_seconds.clear()
            _sqlite_seconds[second] = stamp
        at: object = f"{stamp[0]}.{int((click.at - second) * 1_000_000):06d}"
        when: object = stamp[1]
        bot: object = 1 if is_bot else 0
    else:
        clicked_at = datetime.fromtimestamp(click.at, UTC)
        at, when, bot = clicked_at, clicked_at.date(), is_bot
    row = (
        click.link_id,
        click.workspace_id,
        at,
        when,
        bot,
        bot_name,
        referrer_domain(click.referrer[:2000]) if click.referrer else None,
        device_class,
        os_name,
        browser,
        click.country,
        click.visitor_hash,
    )
    return row, not is_bot


def write_clicks(
    database: Database, clicks: list[Click], *, position: tuple[str, int] | None = None
) -> dict[int, int]:
    """Classify and write ``clicks`` in one transaction; returns human clicks per link.

    ``position`` (journal segment name, bytes consumed) is stored in the same transaction,
    so the clicks and the journal's position are committed together or not at all.
    """
    sqlite = database.dialect == "sqlite"
    rows: list[tuple[object, ...]] = []
    human: dict[int, int] = {}
    for click in clicks:
        row, is_human = click_row(click, sqlite=sqlite)
        rows.append(row)
        if is_human:
            human[click.link_id] = human.get(click.link_id, 0) + 1
    if not rows and position is None:
        return human
    _, update, upsert = _SQL["qmark" if sqlite else "format"]
    with database.engine.begin() as connection:
        if not rows:
            pass
        elif database.dialect == "postgresql":
            # COPY: psycopg formats each row in C, far less GIL time than executemany's
            # per-row Python (measured with py-spy under wrk; see benchmarks/bench_links.py).
            cursor = connection.connection.cursor()
            try:
                with cursor.copy(_COPY) as copy:
                    for row in rows:
                        copy.write_row(row)
            finally:
                cursor.close()
        else:
            # Multi-row INSERTs: about 40% less time per row than executemany's one
            # statement per row (measured; the writer shares the GIL with the redirects).
            for start in range(0, len(rows), _SQLITE_ROWS_PER_INSERT):
                part = rows[start : start + _SQLITE_ROWS_PER_INSERT]
                connection.exec_driver_sql(
                    _sqlite_insert(len(part)), tuple(chain.from_iterable(part))
                )
        if human:
            connection.exec_driver_sql(update, [(n, link_id) for link_id, n in human.items()])
        if position is not None:
            connection.exec_driver_sql(upsert, position)
    return human


def journal_position(database: Database, name: str) -> int | None:
    """Bytes of journal segment ``name`` already written to the database (None: none)."""
    mark = "?" if database.dialect == "sqlite" else "%s"
    with database.engine.connect() as connection:
        value = connection.exec_driver_sql(
            f"SELECT position FROM link_click_journal WHERE name = {mark}",  # noqa: S608
            (name,),
        ).scalar()
    return None if value is None else int(value)


def forget_journal_position(database: Database, name: str) -> None:
    """Delete a segment's position once the segment file itself is deleted."""
    mark = "?" if database.dialect == "sqlite" else "%s"
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            f"DELETE FROM link_click_journal WHERE name = {mark}",  # noqa: S608
            (name,),
        )


# --- the journal's line format (links/journal.py) ----------------------------------------

_SEPARATORS = str.maketrans("\t\n\r", "   ")
# The longest line a click can take: two headers of MAX_HEADER_KEPT latin-1 characters
# (up to 2 UTF-8 bytes each), a 64-character hash and the numbers.
MAX_LINE_BYTES = 2 * 2 * 512 + 200


def encode_click(click: Click) -> bytes:
    """One journal line (see links/journal.py for the format)."""
    agent, referrer = click.user_agent, click.referrer
    if "\t" in agent or "\n" in agent or "\r" in agent:
        agent = agent.translate(_SEPARATORS)
    if "\t" in referrer or "\n" in referrer or "\r" in referrer:
        referrer = referrer.translate(_SEPARATORS)
    return (
        f"{click.link_id}\t{click.workspace_id}\t{click.at:.6f}\t{1 if click.is_head else 0}\t"
        f"{click.visitor_hash}\t{click.country or ''}\t{agent}\t{referrer}\n"
    ).encode("utf-8", "replace")


def decode_click(line: bytes) -> Click:
    """The click of a journal line (without its newline); ValueError when it is not one."""
    link_id, workspace_id, at, head, visitor, country, agent, referrer = line.decode(
        "utf-8", "replace"
    ).split("\t", 7)
    return Click(
        int(link_id),
        int(workspace_id),
        float(at),
        agent,
        referrer,
        country or None,
        visitor,
        head == "1",
    )


# --- the recorder -------------------------------------------------------------------------


class ClickRecorder:
    """Journal + batch writer thread. One per redirector app (see the module doc)."""

    def __init__(
        self,
        database: Database,
        *,
        journal_dir: Path,
        journal_max_bytes: int = DEFAULT_JOURNAL_BYTES,
        max_buffer: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        interval: float = DEFAULT_INTERVAL,
        on_written: Callable[[dict[int, int]], None] | None = None,
    ) -> None:
        self.database = database
        self.journal = ClickJournal(
            journal_dir, database_key=database_key(database.url), max_bytes=journal_max_bytes
        )
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.interval = interval
        self.on_written = on_written
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._attempts = 0
        self._consumed = 0  # this process's clicks written or given up on
        self._last_adoption = 0.0
        self.accepted = 0
        self.dropped = 0
        self.written = 0
        self.replayed = 0  # written from a dead process's journal
        self.failed = 0
        self._last_drop_log = 0.0

    # request path ---------------------------------------------------------------------
    def record(self, click: Click) -> bool:
        """Journal ``click``; False (and counted in ``dropped``) when the journal is full."""
        if (
            self._stopping
            or (self.max_buffer is not None and self.accepted - self._consumed >= self.max_buffer)
            or not self.journal.append(encode_click(click))
        ):
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log > 5:
                self._last_drop_log = now
                logger.warning(
                    "click journal full (%d clicks, %d bytes waiting): %d clicks dropped so far",
                    self.pending,
                    self.journal.bytes_on_disk,
                    self.dropped,
                )
            return False
        self.accepted += 1
        if self._thread is None:
            self.start()
        elif self.accepted - self._consumed == self.batch_size:
            self._wake.set()
        return True

    def has_room(self) -> bool:
        return (
            self.max_buffer is None or self.accepted - self._consumed < self.max_buffer
        ) and self.journal.has_room(MAX_LINE_BYTES)

    async def wait_for_room(self, timeout: float = FULL_BUFFER_WAIT) -> bool:
        """Wait (without blocking the event loop) until the journal has room; False if it
        still has none after ``timeout`` seconds. See the module doc: backpressure first,
        dropping only when the database cannot catch up at all."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while not self.has_room() and not self._stopping:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.002)
        return True

    @property
    def pending(self) -> int:
        """This process's clicks in the journal, not yet in the database."""
        return self.accepted - self._consumed

    # lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            self.journal.start_syncing()
            self._thread = threading.Thread(
                target=self._run, name="links-click-writer", daemon=True
            )
            self._thread.start()

    def close(self, timeout: float = 60.0) -> None:
        """Stop accepting clicks and write every journaled one (lifespan shutdown, SIGTERM).

        Segments fully written are deleted; what the database would not take stays in the
        journal, replayed at the next start.
        """
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush(final=True)
        for segment in self.journal.close():
            self._forget(segment.name)
        left = self.pending
        logger.info(
            "click recorder closed: %d written, %d dropped (journal full), %d failed%s",
            self.written,
            self.dropped,
            self.failed,
            f", {left} left in the journal for the next start" if left else "",
        )

    def adopt(self) -> int:
        """Take over the journals of dead processes; returns how many segments."""
        adopted = 0
        for segment in self.journal.adopt_orphans():
            try:
                position = journal_position(self.database, segment.name)
            except Exception:
                logger.exception("cannot read the position of journal %s yet", segment.name)
                self.journal.release(segment)
                continue
            segment.consumed = position or 0
            adopted += 1
            logger.info(
                "replaying click journal %s of a stopped process (%d bytes left)",
                segment.name,
                max(0, segment.size - segment.consumed),
            )
        return adopted

    def flush(self, *, final: bool = False) -> None:
        """Write everything journaled now (the writer thread's loop, tests, shutdown).

        A batch that fails stays in the journal and is tried again next time (the database
        may be briefly away). From the third failure on it is also tried click by click: if
        some clicks go in, the ones that still fail are bad rows (say, of a workspace
        deleted since) and are skipped and counted in ``failed`` instead of blocking every
        later click; if none go in, the database is down and the batch waits. At shutdown
        it is tried a few times over some seconds, then left in the journal.
        """
        with self._write_lock:
            while True:
                batch = self.journal.next_batch(self.batch_size)
                if batch is None:
                    return
                segment = batch.segment
                if not batch.lines and not batch.skipped and batch.end == segment.consumed:
                    self._retire(segment)  # sealed and fully consumed
                    continue
                clicks, unreadable = self._decode(batch)
                readable = [click for click in clicks if click is not None]
                try:
                    human = write_clicks(
                        self.database, readable, position=(segment.name, batch.end)
                    )
                except Exception:
                    self._attempts += 1
                    logger.exception(
                        "could not write %d clicks (attempt %d)", len(clicks), self._attempts
                    )
                    if self._attempts >= 3 and self._write_one_by_one(batch, clicks):
                        self._attempts = 0
                        continue
                    if not final or self._attempts >= 6:
                        return
                    time.sleep(min(0.2 * 2**self._attempts, 3))
                    continue
                self._attempts = 0
                self.journal.advance(segment, batch.end)
                self._written(segment.own, len(batch.lines), len(readable), human)
                self.failed += unreadable
                if self.journal.finished(segment):
                    self._retire(segment)

    def _decode(self, batch: Batch) -> tuple[list[Click | None], int]:
        clicks: list[Click | None] = []
        unreadable = 0
        for line in batch.lines:
            try:
                clicks.append(decode_click(line))
            except ValueError:
                clicks.append(None)
                unreadable += 1
        if unreadable:
            logger.error("click journal %s: %d unreadable lines", batch.segment.name, unreadable)
        return clicks, unreadable

    def _write_one_by_one(self, batch: Batch, clicks: list[Click | None]) -> bool:
        """Write ``batch`` click by click; False (nothing written) when none could be."""
        segment = batch.segment
        bad = done = 0
        for click, end in zip(clicks, batch.ends, strict=True):
            try:
                human = write_clicks(
                    self.database,
                    [click] if click is not None else [],
                    position=(segment.name, end),
                )
            except Exception:
                bad += 1
                if done == 0 and bad >= 5:
                    # Five failures and no success: the database is failing, not the rows;
                    # nothing was written, so the whole batch stays in the journal.
                    return False
                continue
            done += 1
            self.journal.advance(segment, end)
            self._written(segment.own, 1 + bad, 1 if click is not None else 0, human)
            self.failed += bad
            bad = 0
        if done == 0:
            return False
        if bad:  # the last clicks are the bad ones: step over them too
            try:
                write_clicks(self.database, [], position=(segment.name, batch.end))
            except Exception:
                return True  # tried again with the next batch
            self.journal.advance(segment, batch.end)
            self._written(segment.own, bad, 0, {})
            self.failed += bad
            logger.error("skipped %d clicks the database refuses (bad rows)", bad)
        if self.journal.finished(segment):
            self._retire(segment)
        return True

    def _written(self, own: bool, lines: int, count: int, human: dict[int, int]) -> None:
        if own:
            self._consumed += lines
        else:
            self.replayed += count
        self.written += count
        if human and self.on_written is not None:
            self.on_written(human)

    def _retire(self, segment: Segment) -> None:
        self.journal.retire(segment)
        self._forget(segment.name)

    def _forget(self, name: str) -> None:
        try:
            forget_journal_position(self.database, name)
        except Exception:  # a stale row of a deleted segment is harmless
            logger.warning("could not delete the position of journal %s", name)

    def _run(self) -> None:
        # Load ua-parser's rules now (about 0.1 s), off the event loop and before a batch.
        classify_user_agent("Mozilla/5.0")
        while not self._stopping:
            now = time.monotonic()
            adopted = 0
            if now - self._last_adoption >= ADOPT_INTERVAL:
                self._last_adoption = now
                try:
                    adopted = self.adopt()
                except Exception:
                    logger.exception("could not look for journals to replay")
            if not adopted:
                self._wake.wait(self.interval)
                self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the writer die: clicks would pile up
                logger.exception("click writer error")
        self.flush(final=True)


class NaiveRecorder(ClickRecorder):
    """One synchronous INSERT per click, on the request path: the benchmark's baseline only."""

    def record(self, click: Click) -> bool:
        human = write_clicks(self.database, [click])
        self.accepted += 1
        self._consumed += 1
        self.written += 1
        if human and self.on_written is not None:
            self.on_written(human)
        return True


def today() -> date:
    return datetime.now(UTC).date()
