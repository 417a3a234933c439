"""The click journal: no click lost when the redirector dies, none counted twice.

The journal itself is tested on files (links/journal.py); the promise is tested with the
real ``townsquare serve-links`` process: clicks under load, SIGKILL, restart (or another
process sharing the data directory), then every answered redirect is a stored click.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import free_port
from tests.links.conftest import LinksEnv
from townsquare.db import Database
from townsquare.links import service
from townsquare.links.clicks import (
    Click,
    ClickRecorder,
    decode_click,
    encode_click,
    journal_position,
)
from townsquare.links.journal import ClickJournal
from townsquare.links.models import Link, LinkClick

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


def _link(env: LinksEnv, slug: str) -> Link:
    with env.database.session() as session:
        return service.create_link(
            session, env.access(session), env.settings, target_url="https://example.com/", slug=slug
        )


def _click(link: Link, agent: str = CHROME) -> Click:
    return Click(link.id, link.workspace_id, time.time(), agent, "", None, "0" * 64, False)


def _count(database: Database, link: Link | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(LinkClick)
    if link is not None:
        query = query.where(LinkClick.link_id == link.id)
    with database.session() as session:
        return int(session.scalar(query) or 0)


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.clicks")) if directory.exists() else []


# --- the line format and the journal alone -------------------------------------------------


def test_a_click_survives_its_line_with_tabs_and_newlines_flattened() -> None:
    click = Click(7, 3, 1_700_000_000.123456, "Agent\twith\ttabs", "https://r/\n", "FR", "ab", True)
    line = encode_click(click)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    back = decode_click(line[:-1])
    assert back == click._replace(user_agent="Agent with tabs", referrer="https://r/ ")
    assert decode_click(encode_click(click._replace(country=None))[:-1]).country is None
    with pytest.raises(ValueError):
        decode_click(b"7\t3\tnot a time")


def test_the_journal_is_bounded_on_disk_and_rotates(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path, database_key="k", max_bytes=4096, segment_bytes=1024)
    line = b"x" * 99 + b"\n"
    accepted = sum(journal.append(line) for _ in range(100))
    # 4 KB in 1 KB segments (each with its header line): never more than the bound.
    assert 30 <= accepted < 41
    assert journal.bytes_on_disk <= 4096
    assert sum(path.stat().st_size for path in _files(tmp_path)) == journal.bytes_on_disk
    assert len(_files(tmp_path)) >= 4
    assert oct(_files(tmp_path)[0].stat().st_mode & 0o777) == "0o600"
    # Consumed segments are deleted: room again.
    while (batch := journal.next_batch(1000)) is not None:
        journal.advance(batch.segment, batch.end)
        if journal.finished(batch.segment):
            journal.retire(batch.segment)
        if not batch.lines:
            break
    assert journal.has_room(1000)
    assert journal.append(line)
    journal.close()


def test_a_live_journal_is_never_adopted_and_a_dead_one_once(tmp_path: Path) -> None:
    alive = ClickJournal(tmp_path, database_key="k", max_bytes=1 << 20)
    assert alive.append(b"1\t1\t1.0\t0\th\t\tua\t\n")
    other = ClickJournal(tmp_path, database_key="k", max_bytes=1 << 20)
    assert other.adopt_orphans() == []  # locked by its (living) writer
    stranger = ClickJournal(tmp_path, database_key="another database", max_bytes=1 << 20)
    for segment in alive.segments:  # the process "dies": its lock goes, its file stays
        alive.release(segment)
    assert stranger.adopt_orphans() == []  # not the same database: not its clicks
    adopted = other.adopt_orphans()
    assert [segment.name for segment in adopted] == [path.name for path in _files(tmp_path)]
    third = ClickJournal(tmp_path, database_key="k", max_bytes=1 << 20)
    assert third.adopt_orphans() == []  # taken over by `other`
    batch = other.next_batch(10)
    assert batch is not None and batch.lines == [b"1\t1\t1.0\t0\th\t\tua\t"]
    other.advance(batch.segment, batch.end)
    other.retire(batch.segment)
    assert _files(tmp_path) == []


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path, database_key="k", max_bytes=1 << 20)
    journal.append(b"a\n")
    journal.append(b"b\n")
    (segment,) = journal.segments
    os.write(segment.fd, b"half a li")  # a power cut in the middle of a write
    journal.release(segment)
    heir = ClickJournal(tmp_path, database_key="k", max_bytes=1 << 20)
    (adopted,) = heir.adopt_orphans()
    first = heir.next_batch(10)
    assert first is not None and first.lines == [b"a", b"b"]
    heir.advance(adopted, first.end)
    torn = heir.next_batch(10)
    assert torn is not None and torn.lines == [] and torn.skipped == 1
    assert torn.end == adopted.size
    heir.close()


def test_replay_starts_at_the_stored_position_exactly_once(links_env: LinksEnv) -> None:
    """A process dies after writing some clicks: the next one writes only the others."""
    link = _link(links_env, "once")
    directory = links_env.settings.data_dir / "click-journal"
    first = ClickRecorder(links_env.database, journal_dir=directory, interval=3600)
    # What record() appends, without its writer thread: this test plays the writer.
    for _ in range(3):
        assert first.journal.append(encode_click(_click(link)))
    first.flush()  # 3 clicks and the position, in one transaction
    for _ in range(4):
        assert first.journal.append(encode_click(_click(link)))
    (segment,) = first.journal.segments
    assert journal_position(links_env.database, segment.name) == segment.consumed
    # Killed: the last 4 are only in the journal; the dead process's lock is gone.
    first.journal.close()
    assert _files(directory) == [segment.path]
    assert _count(links_env.database, link) == 3

    second = ClickRecorder(links_env.database, journal_dir=directory, interval=3600)
    assert second.adopt() == 1
    second.flush()
    assert (second.replayed, _count(links_env.database, link)) == (4, 7)
    assert _files(directory) == []  # replayed: deleted, with its position
    assert journal_position(links_env.database, segment.name) is None
    with links_env.database.session() as session:
        assert session.scalar(sa.select(Link.human_clicks).where(Link.id == link.id)) == 7
    second.close()
    third = ClickRecorder(links_env.database, journal_dir=directory, interval=3600)
    assert third.adopt() == 0
    third.close()
    assert _count(links_env.database, link) == 7


# --- the real process, killed -------------------------------------------------------------


@dataclass
class Load:
    """Clients clicking ``url`` from threads until stopped; counts the redirects received."""

    url: str
    threads: int = 4
    received: int = 0
    failed: int = 0  # requests without an answer (the server was killed under them)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._click, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def _click(self) -> None:
        with httpx.Client(headers={"user-agent": CHROME}, timeout=5) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(self.url)
                except httpx.TransportError:
                    with self._lock:
                        self.failed += 1
                    if self._stop.wait(0.05):
                        return
                    continue
                assert response.status_code == 302
                with self._lock:
                    self.received += 1

    def wait_for(self, received: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.received < received:
            assert time.monotonic() < deadline, f"only {self.received} redirects received"
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(10)


@contextmanager
def serve_links(env: LinksEnv, data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    variables = {
        **os.environ,
        "TOWNSQUARE_DATA_DIR": str(data_dir),
        "TOWNSQUARE_DATABASE_URL": env.database.url,
        "TOWNSQUARE_SECRET_KEY": "test-secret-key",
        "TOWNSQUARE_QUEUE_URL": "",
        "TOWNSQUARE_LOG_LEVEL": "INFO",
    }
    command = [str(Path(sys.executable).parent / "townsquare"), "serve-links", "--port", str(port)]
    process = subprocess.Popen(
        command, env=variables, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"serve-links did not start:\n{output}")
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _wait_for_clicks(database: Database, link: Link, expected: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (count := _count(database, link)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def test_sigkill_under_load_then_restart_loses_no_click(
    links_env: LinksEnv, data_dir: Path
) -> None:
    link = _link(links_env, "killed")
    with serve_links(links_env, data_dir) as (url, process):
        with Load(url + "/killed") as load:
            load.wait_for(400)
            process.kill()  # SIGKILL, in the middle of the load
            process.wait(10)
            time.sleep(0.2)  # the clients see the refused connections
        received, in_flight = load.received, load.failed
    # Some clicks were still in the journal only; the restarted process replays them.
    assert _files(data_dir / "click-journal"), "the killed process left no journal"
    with serve_links(links_env, data_dir):
        recorded = _wait_for_clicks(links_env.database, link, received)
    # Every redirect received is a stored click; at most the requests the kill cut off (the
    # click journaled, the answer never sent) are stored without their answer arriving.
    assert received <= recorded <= received + in_flight, (received, recorded, in_flight)
    assert _files(data_dir / "click-journal") == []  # replayed, then stopped cleanly
    time.sleep(0.1)
    assert _count(links_env.database, link) == recorded  # nothing replayed twice


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_living_process_replays_the_journal_of_a_killed_neighbour(
    links_env: LinksEnv, data_dir: Path
) -> None:
    """serve-links processes sharing a data directory: the survivor takes over."""
    link = _link(links_env, "neighbour")
    with (
        serve_links(links_env, data_dir) as (_, survivor),
        serve_links(links_env, data_dir) as (
            url,
            victim,
        ),
    ):
        with Load(url + "/neighbour", threads=2) as load:
            load.wait_for(300)
            victim.kill()
            victim.wait(10)
            time.sleep(0.2)
        received, in_flight = load.received, load.failed
        # Within the survivor's next look for stopped journals (every 5 s).
        recorded = _wait_for_clicks(links_env.database, link, received, timeout=30)
        assert received <= recorded <= received + in_flight, (received, recorded, in_flight)
        assert survivor.poll() is None


def test_a_journal_that_cannot_be_written_refuses_the_click(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the journal directory should be")
    journal = ClickJournal(blocked, database_key="k", max_bytes=1 << 20)
    assert journal.append(b"line\n") is False  # the caller counts it dropped, and says so
    assert journal.bytes_on_disk == 0
    journal.close()
