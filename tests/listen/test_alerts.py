"""Alerts through apprise to a real SMTP server (aiosmtpd) and a local webhook receiver."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import SmtpServer, free_port, make_settings
from townsquare.channels.crypto import CredentialsBox
from townsquare.db import Database
from townsquare.errors import ValidationError
from townsquare.listening import alerts, service, sources
from townsquare.listening.models import Source
from townsquare.networks.items import FoundItem
from townsquare.workspaces.service import WorkspaceAccess, create_workspace, get_workspace

BOX = CredentialsBox(Fernet.generate_key().decode())


class Receiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bodies: list[dict[str, object]] = []
        received = self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def world(database: Database, data_dir: Path) -> Iterator[tuple[object, object, WorkspaceAccess]]:
    settings = make_settings(data_dir, database.url, allow_private_urls=True)
    with database.session() as session:
        create_workspace(session, "acme", name="Acme", timezone="Europe/Paris")
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        service.create_watch(session, access, name="Acme", query="acme")
        yield session, settings, access


def _mentions(session: object, access: WorkspaceAccess, texts: list[str], when: datetime) -> int:
    source = Source(workspace_id=access.workspace_id, type="rss", target="https://x.test/")
    session.add(source)  # type: ignore[attr-defined]
    session.commit()  # type: ignore[attr-defined]
    items = [
        FoundItem(
            "rss", f"{when.timestamp()}-{n}", f"https://x.test/{n}", text, text, None, None, when
        )
        for n, text in enumerate(texts)
    ]
    return sources.store_items(session, access, source, items)  # type: ignore[arg-type]


def test_instant_alerts_reach_email_and_webhook_grouped(
    world: tuple[object, object, WorkspaceAccess], smtp_server: SmtpServer, receiver: Receiver
) -> None:
    session, settings, access = world
    watch = service.get_watch(session, access, "Acme")  # type: ignore[arg-type]
    mail_url = f"mailto://127.0.0.1:{smtp_server.port}?from=alerts@acme.test&to=cm@acme.test"
    for url in (mail_url, f"json://127.0.0.1:{receiver.port}/hook"):
        alerts.add_alert(session, access, settings, BOX, watch=watch, url=url)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    _mentions(session, access, ["Acme ouvre à Lyon", "Acme recrute", "rien à voir"], now)
    assert alerts.run_alerts(session, settings, BOX, access, now=now) == 2  # type: ignore[arg-type]
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "2 new mention(s) for Acme"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "Acme ouvre à Lyon" in body.get_content()
    assert "rien à voir" not in body.get_content()
    (hook,) = receiver.bodies
    assert hook["title"] == "2 new mention(s) for Acme" and "Acme recrute" in str(hook["message"])
    # New mentions within the grouping window wait; after it, one message with them.
    _mentions(session, access, ["Acme encore"], now + timedelta(minutes=1))
    assert alerts.run_alerts(session, settings, BOX, access, now=now + timedelta(minutes=5)) == 0  # type: ignore[arg-type]
    assert alerts.run_alerts(session, settings, BOX, access, now=now + timedelta(minutes=16)) == 2  # type: ignore[arg-type]
    assert len(receiver.bodies) == 2 and "Acme encore" in str(receiver.bodies[1]["message"])
    assert alerts.run_alerts(session, settings, BOX, access, now=now + timedelta(minutes=40)) == 0  # type: ignore[arg-type]


def test_a_failing_destination_is_retried_and_never_blocks_the_others(
    world: tuple[object, object, WorkspaceAccess], receiver: Receiver
) -> None:
    session, settings, access = world
    watch = service.get_watch(session, access, "Acme")  # type: ignore[arg-type]
    dead_port = free_port()
    broken = alerts.add_alert(
        session, access, settings, BOX, watch=watch, url=f"json://127.0.0.1:{dead_port}/x"
    )  # type: ignore[arg-type]
    alerts.add_alert(
        session, access, settings, BOX, watch=watch, url=f"json://127.0.0.1:{receiver.port}/ok"
    )  # type: ignore[arg-type]
    now = datetime.now(UTC)
    _mentions(session, access, ["Acme"], now)
    assert alerts.run_alerts(session, settings, BOX, access, now=now) == 1  # type: ignore[arg-type]
    assert len(receiver.bodies) == 1
    session.refresh(broken)  # type: ignore[attr-defined]
    assert broken.failures == 1 and broken.last_error and "could not be sent" in broken.last_error
    assert broken.next_attempt_at == now + timedelta(minutes=4)
    # Before its next try nothing is attempted; then the missed mention is sent.
    assert alerts.run_alerts(session, settings, BOX, access, now=now + timedelta(minutes=1)) == 0  # type: ignore[arg-type]
    revived = Receiver(dead_port)  # the destination is back
    try:
        later = now + timedelta(minutes=5)
        sent = alerts.run_alerts(session, settings, BOX, access, now=later)  # type: ignore[arg-type]
        assert sent == 1
        assert len(revived.bodies) == 1 and "Acme" in str(revived.bodies[0]["message"])
    finally:
        revived.close()
    session.refresh(broken)  # type: ignore[attr-defined]
    assert broken.failures == 0 and broken.last_error is None


def test_digest_at_its_local_time_once_a_day(
    world: tuple[object, object, WorkspaceAccess], receiver: Receiver
) -> None:
    session, settings, access = world
    watch = service.get_watch(session, access, "Acme")  # type: ignore[arg-type]
    alerts.add_alert(
        session,
        access,
        settings,
        BOX,
        watch=watch,
        url=f"json://127.0.0.1:{receiver.port}/d",
        mode="digest",
        at="8:30",
    )  # type: ignore[arg-type]
    morning = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    _mentions(session, access, ["Acme hier", "Acme ce matin"], morning - timedelta(hours=3))
    assert alerts.run_alerts(session, settings, BOX, access, now=morning) == 0  # type: ignore[arg-type]
    assert (
        alerts.run_alerts(session, settings, BOX, access, now=morning + timedelta(minutes=31)) == 1
    )  # type: ignore[arg-type]
    assert receiver.bodies[0]["title"] == "Digest for Acme: 2 new mention(s)"
    _mentions(session, access, ["Acme midi"], morning + timedelta(hours=4))
    assert alerts.run_alerts(session, settings, BOX, access, now=morning + timedelta(hours=5)) == 0  # type: ignore[arg-type]
    next_day = morning + timedelta(days=1, minutes=31)
    assert alerts.run_alerts(session, settings, BOX, access, now=next_day) == 1  # type: ignore[arg-type]
    assert "Acme midi" in str(receiver.bodies[1]["message"])


def test_spike_alert(world: tuple[object, object, WorkspaceAccess], receiver: Receiver) -> None:
    session, settings, access = world
    watch = service.get_watch(session, access, "Acme")  # type: ignore[arg-type]
    alerts.add_alert(
        session,
        access,
        settings,
        BOX,
        watch=watch,
        url=f"json://127.0.0.1:{receiver.port}/s",
        mode="spike",
    )  # type: ignore[arg-type]
    now = datetime.now(UTC).replace(minute=40, second=0, microsecond=0)
    _mentions(session, access, [f"Acme {n}" for n in range(7)], now - timedelta(minutes=20))
    assert alerts.run_alerts(session, settings, BOX, access, now=now) == 1  # type: ignore[arg-type]
    assert receiver.bodies[0]["title"] == "Spike on Acme: 7 mentions in an hour"
    assert alerts.run_alerts(session, settings, BOX, access, now=now + timedelta(minutes=5)) == 0  # type: ignore[arg-type]


def test_bad_alerts_are_refused(
    world: tuple[object, object, WorkspaceAccess], database: Database, data_dir: Path
) -> None:
    session, settings, access = world
    watch = service.get_watch(session, access, "Acme")  # type: ignore[arg-type]
    strict = make_settings(data_dir, database.url)
    for url, chosen, mode, at, words in [
        ("nonsense://x", settings, "instant", None, "not a destination apprise knows"),
        ("json://127.0.0.1:9/x", strict, "instant", None, "private, loopback"),
        ("json://10.0.0.5/x", strict, "instant", None, "private, loopback"),
        ("json://93.184.215.14/x", settings, "sometimes", None, "unknown mode"),
        ("json://93.184.215.14/x", settings, "instant", "08:00", "only applies to digests"),
        ("json://93.184.215.14/x", settings, "digest", "25:00", "not a time"),
    ]:
        with pytest.raises(ValidationError, match=words):
            alerts.add_alert(session, access, chosen, BOX, watch=watch, url=url, mode=mode, at=at)  # type: ignore[arg-type]
    assert alerts.list_alerts(session, access) == []  # type: ignore[arg-type]


def test_secrets_of_the_url_are_stored_encrypted_and_never_shown(
    world: tuple[object, object, WorkspaceAccess],
) -> None:
    session, settings, access = world
    watch = service.get_watch(session, access, "Acme")  # type: ignore[arg-type]
    url = "mailtos://me:s3cret-pass@93.184.215.14?to=cm@acme.test"
    alert = alerts.add_alert(session, access, settings, BOX, watch=watch, url=url)  # type: ignore[arg-type]
    assert b"s3cret" not in alert.url_encrypted
    shown = json.dumps(alerts.alert_json(alert), default=str)
    assert "s3cret" not in shown and "me:" not in shown
    assert BOX.open(alert.url_encrypted)["url"] == url
