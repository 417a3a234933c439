"""The click journal: every click is on disk before its redirect is answered.

Why: a click that only lives in memory dies with the process (SIGKILL, OOM killer, a crash
of the machine's supervisor). So the request path appends one line per click to a file of
the data directory — a plain ``write`` (no fsync per click: the kernel keeps the data
across a crash of the process) — and the database writer consumes the file behind it:

- **One journal per process.** Each process (``serve``, every ``serve-links``) writes its
  own segment files ``DATA_DIR/click-journal/<random id>.clicks`` and holds an exclusive
  ``flock`` on each of them for as long as it lives; nobody else ever writes them. A segment
  is created under a hidden temporary name, locked, then renamed: it is never visible
  unlocked while its process is alive.
- **Position, durably and exactly once.** The writer stores, in the same database
  transaction as the clicks, how many bytes of the segment it has consumed (table
  ``link_click_journal``). A crash before the commit replays those clicks; after it, they
  are skipped: each click is stored once.
- **Replay.** At start-up and every few seconds, a process looks for segments whose lock it
  can take: their process is dead. It checks the file is still there under that name (it
  may just have been replayed and removed by another process), replays it from the stored
  position, then deletes the file and its position row. Segments written for another
  database (a header line names it by a hash) are left alone.
- **Durability.** A background thread ``fdatasync``\\ s the segments at most once a second
  (:data:`SYNC_INTERVAL`): a killed process loses no click; a power cut at most the last
  second's. A line torn by a power cut (no final newline, or not parseable) is skipped and
  counted.
- **Bounded.** A process's segments take at most ``max_bytes`` on disk
  (``TOWNSQUARE_LINKS_JOURNAL_MAX_MB``); segments are ``segment_bytes`` each and deleted as
  soon as they are consumed. When the journal is full the redirector waits for the writer,
  then drops the click (links/clicks.py). Memory stays bounded too: the writer reads at
  most one batch at a time from the file, nothing is queued in memory.

Line format (UTF-8, one click per line, fields separated by tabs — tabs and newlines in the
user agent or referrer are replaced by spaces): ``link_id, workspace_id, epoch seconds,
HEAD (0/1), visitor hash, country, user agent, referrer``. The first line of a segment is
``#townsquare-clicks 1 <database key>``.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

SUFFIX = ".clicks"
HEADER_PREFIX = b"#townsquare-clicks 1 "
SYNC_INTERVAL = 1.0  # seconds between two fdatasync of the journal, at most
MAX_SEGMENT_BYTES = 8 << 20
MIN_SEGMENT_BYTES = 64 << 10
READ_CHUNK = 1 << 20  # bytes read from a segment at once by the writer
# A temporary segment (created, not yet renamed) this old belongs to a dead process.
STALE_TEMPORARY = 60.0


def database_key(url: str) -> str:
    """A short, password-free name of the database a journal's clicks belong to."""
    from sqlalchemy.engine import make_url

    text = make_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(eq=False)
class Segment:
    """One journal file, locked by this process."""

    name: str
    path: Path
    fd: int
    size: int  # bytes in the file: appended by this process, or found when adopted
    consumed: int  # bytes the database has (its committed position)
    own: bool  # written by this process (False: adopted from a dead one)
    sealed: bool = False  # no more appends: rotated, or adopted
    synced: int = 0  # bytes known to be on disk
    open: bool = True  # False once its descriptor is closed (deleted or released)


@dataclass
class Batch:
    """Lines read from a segment: ``lines[i]`` ends at byte ``ends[i]``; ``end`` is where
    the next batch starts (after lines skipped as unreadable too)."""

    segment: Segment
    lines: list[bytes] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    end: int = 0
    skipped: int = 0


class ClickJournal:
    """The segments of one process, and those it adopted from dead ones."""

    def __init__(
        self,
        directory: Path,
        *,
        database_key: str,
        max_bytes: int,
        segment_bytes: int | None = None,
    ) -> None:
        self.directory = directory
        self.key = database_key.encode()
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(
            MIN_SEGMENT_BYTES, min(MAX_SEGMENT_BYTES, max_bytes // 4)
        )
        self.bytes_on_disk = 0  # this process's own segments, until deleted
        self.skipped = 0  # unreadable lines (torn by a power cut)
        self._lock = threading.Lock()  # appends and the segment lists
        self._fd_lock = threading.Lock()  # fdatasync against closing a segment
        self._active: Segment | None = None
        self._segments: list[Segment] = []  # own, oldest first
        self._adopted: list[Segment] = []
        self._known: set[str] = set()
        self._directory_dirty = False
        self._closed = False
        self._last_error_log = 0.0
        self._sync_thread: threading.Thread | None = None
        self._sync_wake = threading.Event()

    # request path ---------------------------------------------------------------------
    def append(self, line: bytes) -> bool:
        """Append one whole line; False when the journal is full (or the disk fails)."""
        size = len(line)
        with self._lock:
            if self._closed or self.bytes_on_disk + size > self.max_bytes:
                return False
            try:
                segment = self._active
                if segment is None or segment.size + size > self.segment_bytes:
                    segment = self._rotate()
                written = os.write(segment.fd, line)
            except OSError:
                now = time.monotonic()
                if now - self._last_error_log > 5:  # once per 5 s, not once per click
                    self._last_error_log = now
                    logger.exception("could not append to the click journal in %s", self.directory)
                return False
            segment.size += written
            self.bytes_on_disk += written
            if written != size:  # disk full: a torn line, skipped when read back
                logger.error("click journal: short write (%d of %d bytes)", written, size)
                return False
            return True

    def has_room(self, size: int) -> bool:
        return self.bytes_on_disk + size <= self.max_bytes

    def _rotate(self) -> Segment:
        if self._active is not None:
            self._active.sealed = True
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = uuid.uuid4().hex + SUFFIX
        temporary = self.directory / f".{name}.tmp"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            # Locked before its name is visible: no other process can take it for a dead
            # one's while we live.
            fcntl.flock(fd, fcntl.LOCK_EX)
            header = HEADER_PREFIX + self.key + b"\n"
            os.write(fd, header)
            temporary.rename(self.directory / name)
        except BaseException:
            os.close(fd)
            temporary.unlink(missing_ok=True)
            raise
        segment = Segment(name, self.directory / name, fd, len(header), len(header), own=True)
        self._segments.append(segment)
        self._known.add(name)
        self._active = segment
        self.bytes_on_disk += len(header)
        self._directory_dirty = True
        return segment

    # writer side ----------------------------------------------------------------------
    def next_batch(self, max_lines: int) -> Batch | None:
        """Up to ``max_lines`` unconsumed lines of the oldest segment that has some."""
        with self._lock:
            segments = [*self._adopted, *self._segments]
        for segment in segments:
            size = segment.size
            if segment.consumed < size:
                return self._read(segment, size, max_lines)
            if segment.sealed:
                # Nothing (left) to read: the caller deletes it.
                return Batch(segment, end=segment.consumed)
        return None

    def _read(self, segment: Segment, size: int, max_lines: int) -> Batch:
        start = segment.consumed
        data = os.pread(segment.fd, min(size - start, READ_CHUNK), start)
        batch = Batch(segment, end=start)
        offset = 0
        while len(batch.lines) < max_lines:
            newline = data.find(b"\n", offset)
            if newline < 0:
                break
            line = data[offset:newline]
            offset = newline + 1
            if line.startswith(b"#"):
                batch.end = start + offset
                continue
            batch.lines.append(line)
            batch.ends.append(start + offset)
            batch.end = start + offset
        if offset == 0 and not batch.lines and start + len(data) >= size and segment.sealed:
            # The rest of a sealed segment has no newline: a line torn by a power cut.
            batch.skipped += 1
            batch.end = size
            self.skipped += 1
            logger.warning("click journal %s: skipped a torn last line", segment.name)
        return batch

    def advance(self, segment: Segment, position: int) -> None:
        """The database has everything up to ``position`` of ``segment``."""
        segment.consumed = max(segment.consumed, position)

    def finished(self, segment: Segment) -> bool:
        return segment.sealed and segment.consumed >= segment.size

    def retire(self, segment: Segment) -> None:
        """Delete a consumed segment (its lock is held until the file is gone)."""
        try:
            segment.path.unlink(missing_ok=True)
        finally:
            self._forget(segment)

    def release(self, segment: Segment) -> None:
        """Stop using ``segment`` without deleting it (another process will replay it)."""
        self._forget(segment)

    def _forget(self, segment: Segment) -> None:
        with self._fd_lock:
            if segment.open:
                segment.open = False
                os.close(segment.fd)
        with self._lock:
            if segment in self._adopted:
                self._adopted.remove(segment)
            if segment in self._segments:
                self._segments.remove(segment)
                self.bytes_on_disk -= segment.size
            if segment is self._active:
                self._active = None
            self._known.discard(segment.name)

    @property
    def segments(self) -> list[Segment]:
        with self._lock:
            return [*self._adopted, *self._segments]

    # dead processes' journals -----------------------------------------------------------
    def adopt_orphans(self) -> list[Segment]:
        """Lock and take over every segment whose process is dead (see the module doc).

        The caller sets each one's ``consumed`` from the database before reading it.
        """
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        found: list[Segment] = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                if name.endswith(SUFFIX + ".tmp"):
                    self._remove_stale_temporary(Path(entry.path))
                continue
            if not name.endswith(SUFFIX) or name in self._known:
                continue
            segment = self._try_adopt(Path(entry.path))
            if segment is not None:
                found.append(segment)
        with self._lock:
            self._adopted.extend(found)
            self._known.update(segment.name for segment in found)
        return found

    def _try_adopt(self, path: Path) -> Segment | None:
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its process is alive and writing it
            os.close(fd)
            return None
        try:
            # Still that file under that name? Another process may have replayed and removed
            # it between our open and our lock: replaying it again would double its clicks.
            same = path.stat().st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        header = os.pread(fd, len(HEADER_PREFIX) + len(self.key) + 1, 0) if same else b""
        if not same or header != HEADER_PREFIX + self.key + b"\n":
            # Gone, or another database's journal (a data directory shared by processes
            # with different databases): not ours to replay.
            os.close(fd)
            return None
        size = os.fstat(fd).st_size
        return Segment(path.name, path, fd, size, 0, own=False, sealed=True, synced=size)

    def _remove_stale_temporary(self, path: Path) -> None:
        try:
            if time.time() - path.stat().st_mtime < STALE_TEMPORARY:
                return
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink(missing_ok=True)  # never renamed: holds a header and no click
        except BlockingIOError:
            pass
        finally:
            os.close(fd)

    # durability -----------------------------------------------------------------------
    def start_syncing(self) -> None:
        if self._sync_thread is None:
            self._sync_thread = threading.Thread(
                target=self._sync_loop, name="links-journal-sync", daemon=True
            )
            self._sync_thread.start()

    def sync(self) -> None:
        """fdatasync every segment with unsynced bytes (and the directory after a new one)."""
        with self._lock:
            dirty = [(s, s.size) for s in self._segments if s.synced < s.size]
            directory, self._directory_dirty = self._directory_dirty, False
        for segment, size in dirty:
            with self._fd_lock:
                if not segment.open:
                    continue  # consumed and deleted meanwhile
                os.fdatasync(segment.fd)
            segment.synced = size
        if directory:
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _sync_loop(self) -> None:
        while not self._closed:
            self._sync_wake.wait(SYNC_INTERVAL)
            try:
                self.sync()
            except Exception:
                logger.exception("click journal sync failed")

    def close(self) -> list[Segment]:
        """Stop appending; delete the segments fully consumed, release the others (left on
        disk for the next start to replay). Returns the deleted ones."""
        with self._lock:
            self._closed = True
            for segment in self._segments:
                segment.sealed = True
        self._sync_wake.set()
        if self._sync_thread is not None:
            self._sync_thread.join(10)
        self.sync()
        deleted = []
        for segment in self.segments:
            if self.finished(segment):
                self.retire(segment)
                deleted.append(segment)
            else:
                self.release(segment)
        return deleted

    @property
    def unconsumed_bytes(self) -> int:
        return sum(max(0, s.size - s.consumed) for s in self.segments)
