"""Streaming of mastodon-tag sources against the real mastodon_mock (its SSE hashtag stream),
on SQLite and PostgreSQL: a status is a mention within seconds without a poll; a dropped
stream catches up once on reconnection; two listeners never hold the same stream; an
instance without streaming is polled, and the source's notice says so."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.networks_servers import MASTODON_ACCOUNTS, MastodonServer, mastodon_seed
from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.listening import service, sources, stream_state, streaming
from townsquare.listening.models import Mention, Source
from townsquare.networks.mastodon_stream import StreamEvent, http_url, sse_events
from townsquare.web.i18n import translator
from townsquare.workspaces.service import WorkspaceAccess, create_workspace, get_workspace

FAST = {"scan_seconds": 0.1, "lease_seconds": 2.0, "retry_seconds": 0.2}


def _until(check: Callable[[], Any], seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {check}")


class Relay:
    """A TCP relay on loopback in front of the instance, whose connections the test cuts
    (a dropped stream) and which refuses new ones while paused (the instance unreachable)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.split("://", 1)[1].split(":")
        self.upstream = (host, int(port))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.paused = threading.Event()
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.server.accept()
            except OSError:
                return
            if self.paused.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.upstream)
            with self.lock:
                self.open += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self.lock:
            for end in self.open:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            self.open.clear()

    def close(self) -> None:
        self.server.close()
        self.cut()


@pytest.fixture
def world(database: Database, data_dir: Path) -> Iterator[tuple[Database, Settings]]:
    settings = make_settings(data_dir, database.url, allow_private_urls=True)
    with database.session() as session:
        create_workspace(session, "acme", name="Acme")
        service.create_watch(session, _access(session), name="Acme", query="#acme", kind="brand")
    yield database, settings


def _access(session: Session) -> WorkspaceAccess:
    return WorkspaceAccess.operator(get_workspace(session, "acme"))


def _tag_source(database: Database, settings: Settings, instance_url: str, token: str) -> int:
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        channel, _account = connect.connect_channel(
            session, _access(session), settings, box, network="mastodon",
            handle=f"@brand@{instance_url.split('://', 1)[1]}",
            credentials={"instance_url": instance_url, "access_token": token},
        )  # fmt: skip
        source = sources.add_source(
            session, _access(session), settings, type="mastodon-tag", target="#acme",
            channel_id=channel.id,
        )  # fmt: skip
        return source.id


def _texts(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(m.text for m in session.scalars(select(Mention)))


def _source(database: Database, source_id: int) -> dict[str, Any]:
    with database.session() as session:
        return sources.sources_json(session, [session.get_one(Source, source_id)])[0]


def _listener(database: Database, settings: Settings) -> streaming.StreamListener:
    return streaming.StreamListener(database, settings, **FAST).start()


def _connected(listener: streaming.StreamListener) -> streaming._Stream:
    def check() -> Any:
        return next((s for s in list(listener.streams.values()) if s.connected.is_set()), None)

    return _until(check)  # type: ignore[no-any-return]


@pytest.fixture
def watched_mock() -> Iterator[tuple[MastodonServer, Any]]:
    """mastodon_mock, and its app's event bus: who is subscribed to which stream."""
    from mastodon_mock.streaming import get_bus
    from mastodon_mock.testing import MockServer

    with MockServer(seed=mastodon_seed()) as mock:
        server = MastodonServer(url=mock.base_url, tokens=dict(MASTODON_ACCOUNTS))
        yield server, get_bus(mock._server.config.app)


def _subscribers(bus: Any, channel: str = "hashtag:acme") -> int:
    return sum(1 for subscriber in tuple(bus._subscribers) if subscriber.channel == channel)


def test_a_status_is_a_mention_at_once_without_a_poll(
    world: tuple[Database, Settings], mastodon_server: MastodonServer
) -> None:
    database, settings = world
    mastodon_server.post("said before anyone listened #acme", "fan1")
    source_id = _tag_source(database, settings, mastodon_server.url, mastodon_server.token())
    listener = _listener(database, settings)
    try:
        _connected(listener)
        # The catch-up poll on connection found what was said before.
        assert _texts(database) == ["said before anyone listened #acme"]
        before = _source(database, source_id)
        assert before["notice"].startswith("streaming: each new status with #acme")
        french = translator("fr")(before["notice"])
        assert french.startswith("diffusion en direct"), french

        mastodon_server.post("Je déteste le nouveau manteau #acme, quelle horreur", "fan2")
        _until(lambda: len(_texts(database)) == 2)
        after = _source(database, source_id)
        assert after["last_polled_at"] == before["last_polled_at"]  # no poll: the stream
        assert after["mentions_total"] == 2
        with database.session() as session:
            found = service.list_mentions(session, _access(session))
        coat, watches = next((m, w) for m, w in found if "manteau" in m.text)
        assert (coat.author, coat.lang, coat.sentiment, watches) == (
            "@fan2", "fr", "negative", ["Acme"],
        )  # fmt: skip
        # The poll job leaves a streamed source alone: its next poll is pushed back.
        assert after["next_poll_at"] > after["last_polled_at"]
    finally:
        listener.stop()


def test_serve_streams_with_its_embedded_worker(
    world: tuple[Database, Settings], mastodon_server: MastodonServer
) -> None:
    from fastapi.testclient import TestClient

    from townsquare.web.app import create_app

    database, settings = world
    _tag_source(database, settings, mastodon_server.url, mastodon_server.token())
    app = create_app(settings, database=database, run_worker=True)
    with TestClient(app):
        listener = app.state.stream_listener
        assert isinstance(listener, streaming.StreamListener)
        _connected(listener)
        mastodon_server.post("heard by serve #acme", "fan1")
        _until(lambda: _texts(database) == ["heard by serve #acme"])
    assert not listener.streams  # stopped with the server
    without = create_app(
        make_settings(settings.data_dir, database.url, listen_streaming=False),
        database=database, run_worker=True,
    )  # fmt: skip
    with TestClient(without):
        assert without.state.stream_listener is None


def test_a_dropped_stream_catches_up_once_on_reconnection(
    world: tuple[Database, Settings], mastodon_server: MastodonServer
) -> None:
    database, settings = world
    relay = Relay(mastodon_server.url)
    source_id = _tag_source(database, settings, relay.url, mastodon_server.token())
    listener = _listener(database, settings)
    try:
        first = _connected(listener)
        mastodon_server.post("first, streamed #acme", "fan1")
        _until(lambda: _texts(database) == ["first, streamed #acme"])

        relay.paused.set()  # the instance is unreachable: the stream drops, reconnecting fails
        relay.cut()
        _until(lambda: not first.connected.is_set())
        mastodon_server.post("said while the stream was down #acme", "fan2")
        _until(lambda: "reconnecting" in (_source(database, source_id)["notice"] or ""))
        assert _texts(database) == ["first, streamed #acme"]

        relay.paused.clear()  # back: reconnection, and the catch-up poll
        _until(lambda: len(_texts(database)) == 2)
        _connected(listener)
        mastodon_server.post("after the reconnection #acme", "fan3")
        _until(lambda: len(_texts(database)) == 3)
        time.sleep(0.5)  # anything that would come twice has had its chance
        assert _texts(database) == [
            "after the reconnection #acme",
            "first, streamed #acme",
            "said while the stream was down #acme",
        ]
        assert _source(database, source_id)["notice"].startswith("streaming")
    finally:
        listener.stop()
        relay.close()


def test_two_listeners_never_hold_the_same_stream(
    world: tuple[Database, Settings], watched_mock: tuple[MastodonServer, Any]
) -> None:
    database, settings = world
    mastodon_server, bus = watched_mock
    _tag_source(database, settings, mastodon_server.url, mastodon_server.token())
    other = Database(database.url)  # a second process's own engine and sessions
    one, two = _listener(database, settings), _listener(other, settings)
    try:
        stream = _until(lambda: [s for lst in (one, two) for s in lst.streams.values()])[0]
        _until(stream.connected.is_set)
        for _ in range(20):  # many scans of both: the lease never has two holders
            holders = [lst for lst in (one, two) if lst.streams]
            assert len(holders) == 1 and _subscribers(bus) == 1  # one stream open
            time.sleep(0.05)
        holder, waiting = (one, two) if one.streams else (two, one)
        with database.session() as session:
            assert streaming.lease_owner(session, stream.spec.key) == holder.owner

        holder.stop()  # its lease is given back: the other one takes the stream over
        _connected(waiting)
        mastodon_server.post("heard by the second listener #acme", "fan1")
        _until(lambda: _texts(database) == ["heard by the second listener #acme"])
        with database.session() as session:
            assert streaming.lease_owner(session, stream.spec.key) == waiting.owner
            assert session.scalar(select(func.count()).select_from(Mention)) == 1
    finally:
        one.stop()
        two.stop()
        other.dispose()


def test_two_worker_processes_open_one_stream_and_hand_it_over(
    world: tuple[Database, Settings], watched_mock: tuple[MastodonServer, Any], tmp_path: Path
) -> None:
    from tests.house.test_cli_serve import running, townsquare_env

    database, settings = world
    server, bus = watched_mock
    _tag_source(database, settings, server.url, server.token())
    env = townsquare_env(settings.data_dir, database.url, TOWNSQUARE_ALLOW_PRIVATE_URLS="true")
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    with (
        running(["worker", "--threads", "1"], env, logs[0]) as first,
        running(["worker", "--threads", "1"], env, logs[1]) as second,
    ):
        key = f"{server.url}#acme"

        def owner_pid() -> int | None:
            with database.session() as session:
                owner = streaming.lease_owner(session, key)
            return int(owner.split(":")[1]) if owner else None

        holder_pid = _until(owner_pid, 60)
        _until(lambda: _subscribers(bus) == 1, 60)
        server.post("streamed by one worker #acme", "fan1")
        _until(lambda: "streamed by one worker #acme" in _texts(database), 60)
        for _ in range(10):  # both workers scan meanwhile: still one stream, one holder
            assert _subscribers(bus) == 1 and owner_pid() == holder_pid
            time.sleep(0.3)
        holder, other = (first, second) if holder_pid == first.pid else (second, first)
        assert holder_pid == holder.pid
        holder.terminate()  # SIGTERM: it gives its lease back, the other takes the stream
        holder.wait(30)
        _until(lambda: owner_pid() == other.pid, 60)
        _until(lambda: _subscribers(bus) == 1, 60)
        server.post("streamed by the other worker #acme", "fan2")
        _until(lambda: "streamed by the other worker #acme" in _texts(database), 60)
    assert _texts(database) == [
        "streamed by one worker #acme", "streamed by the other worker #acme",
    ]  # fmt: skip


def test_an_instance_without_streaming_is_polled_and_says_so(
    world: tuple[Database, Settings],
) -> None:
    from mastodon_mock.config import DatabaseConfig, MastodonMockConfig, StreamingConfig
    from mastodon_mock.testing import MockServer

    database, settings = world
    config = MastodonMockConfig(
        database=DatabaseConfig(path=":memory:"),
        seed=mastodon_seed(),
        streaming=StreamingConfig(enabled=False),
    )
    with MockServer(config=config) as mock:
        server = MastodonServer(url=mock.base_url, tokens=dict(MASTODON_ACCOUNTS))
        source_id = _tag_source(database, settings, server.url, server.token())
        listener = _listener(database, settings)
        try:
            notice = _until(lambda: _source(database, source_id)["notice"])
            assert notice == (
                "polling every 15 minutes, not streaming: the instance announces no streaming "
                "API (no streaming URL in /api/v2/instance)"
            )
            french = translator("fr")(notice)
            assert french.startswith("relève toutes les 15 minutes, sans diffusion en direct"), (
                french
            )
            assert "flux" in french.split(":", 1)[1], french  # the reason is French too
            _until(lambda: not listener.streams)  # nothing held: the polls go on
            server.post("polled, not streamed #acme", "fan1")
            with database.session() as session:
                report = sources.poll(session, settings, _access(session))
            assert report.mentions_new == 1
            # The poll keeps the stream's part of the state, so the notice stays.
            assert _source(database, source_id)["notice"] == notice
        finally:
            listener.stop()

    # Streaming turned off: no listener at all (TOWNSQUARE_LISTEN_STREAMING=false).
    off = make_settings(settings.data_dir, database.url, listen_streaming=False)
    assert streaming.start_stream_listener(database, off) is None


# --- pure parts ----------------------------------------------------------------------------


def test_a_stream_refused_with_404_is_polled_and_a_sick_health_check_retried(
    world: tuple[Database, Settings], mastodon_server: MastodonServer
) -> None:
    database, settings = world
    source_id = _tag_source(database, settings, mastodon_server.url, mastodon_server.token())
    mastodon_server.fault("/api/v1/streaming/health", status=503, count=1)
    mastodon_server.fault("/api/v1/streaming/hashtag", status=404)
    # A second between the tries: time enough to see the first state.
    listener = streaming.StreamListener(database, settings, **{**FAST, "retry_seconds": 1.5})
    listener.start()
    try:
        # First the 503 of the health check: reconnecting (and polled meanwhile) …
        _until(lambda: "reconnecting" in (_source(database, source_id)["notice"] or ""))
        # … then the stream's 404: polling, for good, and nothing held.
        _until(lambda: "switched off" in (_source(database, source_id)["notice"] or ""))
        notice = _source(database, source_id)["notice"]
        assert notice.startswith("polling every 15 minutes, not streaming: the instance has")
        assert "désactivé son API de flux" in translator("fr")(notice)
        _until(lambda: not listener.streams)
    finally:
        listener.stop()


def test_server_sent_events_are_read_line_by_line() -> None:
    lines = [":connected", "", "event: update", 'data: {"id": "1"}', "", ":thump", "",
             "event: delete", "data: 1", "", "data: a", "data: b", ""]  # fmt: skip
    assert list(sse_events(lines)) == [
        None,
        StreamEvent("update", '{"id": "1"}'),
        None,
        StreamEvent("delete", "1"),
        StreamEvent("message", "a\nb"),
    ]
    assert http_url("wss://social.example/") == "https://social.example"
    assert http_url("ws://127.0.0.1:8080") == "http://127.0.0.1:8080"


def test_the_stream_part_of_the_state_lapses_and_survives_polls() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    part = stream_state.stream_part("streaming", None, now + timedelta(minutes=3))
    state = stream_state.carry_over({"since_id": "1", "stream": part}, {"since_id": "2"})
    assert state == {"since_id": "2", "stream": part}
    assert stream_state.mode(state, now) == "streaming"
    assert stream_state.mode(state, now + timedelta(minutes=4)) is None  # no listener renewed
    assert stream_state.notice(state, "acme", 15, now + timedelta(minutes=4)) is None
