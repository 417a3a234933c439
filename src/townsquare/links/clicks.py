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

Who clicked (bot or human, device, OS, browser, referrer) is decided in
links/classify.py; a click's row, the batch writes and the journal's line format are in
links/click_rows.py. Their public names are importable from here as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from townsquare.db import Database
from townsquare.links.classify import (
    PREVIEW_BOTS,
    Classified,
    classify_user_agent,
    referrer_domain,
)
from townsquare.links.click_rows import (
    MAX_LINE_BYTES,
    Click,
    click_row,
    decode_click,
    encode_click,
    forget_journal_position,
    journal_position,
    write_clicks,
)
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

__all__ = [
    "MAX_LINE_BYTES",
    "PREVIEW_BOTS",
    "Classified",
    "Click",
    "ClickRecorder",
    "NaiveRecorder",
    "classify_user_agent",
    "clean_country",
    "click_row",
    "daily_salt",
    "decode_click",
    "encode_click",
    "forget_journal_position",
    "journal_position",
    "referrer_domain",
    "today",
    "visitor_hash",
    "write_clicks",
]


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
