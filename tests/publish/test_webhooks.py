"""Webhooks against a real HTTP server on loopback: what is sent, how it is signed, retried
with backoff after a 500, given up after the last attempt, never made twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import make_settings, serving
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.errors import ValidationError
from townsquare.publish import webhooks
from townsquare.publish.models import PublishEvent, PublishPost, PublishVariant
from townsquare.publish.web_models import DeliveryStatus, WebhookDelivery
from townsquare.workspaces import service
from townsquare.workspaces.access import WorkspaceAccess, get_workspace

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@dataclass
class Receiver:
    """A loopback server answering each POST with the next status of ``script`` (then 200)."""

    script: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.received.append((dict(self.headers.items()), body))
                status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with serving(server):
        yield state


@pytest.fixture
def loopback_settings(data_dir: Path, database: Database) -> Settings:
    return make_settings(data_dir, database.url, allow_private_urls=True)


@pytest.fixture
def access(database: Database) -> WorkspaceAccess:
    from townsquare.channels.service import add_channel

    with database.session() as session:
        owner = service.create_user(session, email="o@acme.test", password="correct horse b")
        service.create_workspace(session, "acme", name="Acme", owner=owner)
        workspace = get_workspace(session, "acme")
        operator = WorkspaceAccess.operator(workspace)
        add_channel(session, operator, network="mastodon", handle="@a@m.example", timezone="UTC")
        session.expunge_all()
    return operator


def _event(database: Database, action: str, *, comment: str | None = None) -> int:
    """A post with one Mastodon variant and an outbox row, as the service and dispatcher
    write them."""
    from townsquare.channels.models import Channel

    with database.session() as session:
        workspace = get_workspace(session, "acme")
        channel = session.scalars(select(Channel).where(Channel.workspace_id == workspace.id)).one()
        post = PublishPost(workspace_id=workspace.id, parts=[{"text": "Bonjour 🇫🇷"}])
        session.add(post)
        session.flush()
        variant = PublishVariant(
            post_id=post.id,
            workspace_id=workspace.id,
            channel_id=channel.id,
            status="published" if action == "published" else "failed",
            url="https://m.example/@a/1" if action == "published" else None,
            external_id="1" if action == "published" else None,
            error="the network refused it" if action == "failed" else None,
            published_at=NOW if action == "published" else None,
        )
        session.add(variant)
        session.flush()
        event = PublishEvent(
            post_id=post.id,
            variant_id=None if action == "submitted" else variant.id,
            action=action,
            comment=comment,
            at=NOW,
        )
        session.add(event)
        session.commit()
        return event.id


def test_signed_delivery_of_each_event(
    database: Database, loopback_settings: Settings, access: WorkspaceAccess, receiver: Receiver
) -> None:
    _event(database, "published")  # before the endpoint exists: not sent
    with database.session() as session:
        issued = webhooks.create_webhook(
            session, access, loopback_settings, url=receiver.url, events=webhooks.EVENTS
        )
    assert issued.secret.startswith("whsec_")
    published = _event(database, "published")
    _event(database, "failed")
    _event(database, "submitted", comment="please check")
    _event(database, "scheduled")  # not a webhook event
    run = webhooks.deliver_pending(database.session, NOW, settings=loopback_settings)
    assert run.as_json() == {"queued": 3, "delivered": 3, "retrying": 0, "failed": 0}
    types = [headers["Townsquare-Event"] for headers, _ in receiver.received]
    assert types == ["post.published", "post.failed", "post.needs_approval"]
    headers, body = receiver.received[0]
    payload = json.loads(body)
    assert payload["id"] == f"evt_{published}"
    assert payload["workspace"] == "acme"
    variant = payload["data"]["variants"][0]
    assert variant["url"] == "https://m.example/@a/1" and variant["status"] == "published"
    assert variant["channel"]["network"] == "mastodon"
    assert payload["data"]["text"] == "Bonjour 🇫🇷"
    assert json.loads(receiver.received[2][1])["data"]["comment"] == "please check"
    # The signature: HMAC-SHA256 over "{t}.{body}" with the secret.
    signature = headers["Townsquare-Signature"]
    assert webhooks.verify_signature(issued.secret, signature, body)
    assert not webhooks.verify_signature("whsec_wrong", signature, body)
    assert not webhooks.verify_signature(issued.secret, signature, body + b" ")
    stamp = int(signature.split(",")[0].removeprefix("t="))
    assert not webhooks.verify_signature(issued.secret, signature, body, now=stamp + 3600)
    # A second pass sends nothing again.
    again = webhooks.deliver_pending(database.session, NOW, settings=loopback_settings)
    assert again.as_json() == {"queued": 0, "delivered": 0, "retrying": 0, "failed": 0}
    assert len(receiver.received) == 3


def test_a_500_is_retried_with_backoff_then_delivered(
    database: Database, loopback_settings: Settings, access: WorkspaceAccess, receiver: Receiver
) -> None:
    with database.session() as session:
        webhooks.create_webhook(
            session, access, loopback_settings, url=receiver.url, events=["post.failed"]
        )
    _event(database, "published")  # not subscribed
    _event(database, "failed")
    receiver.script = [500]
    first = webhooks.deliver_pending(database.session, NOW, settings=loopback_settings)
    assert first.as_json() == {"queued": 1, "delivered": 0, "retrying": 1, "failed": 0}
    with database.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.attempts == 1 and delivery.last_status_code == 500
        assert delivery.next_attempt_at == NOW + webhooks.BASE_DELAY
        assert "HTTP 500" in (delivery.last_error or "")
    # Not due yet: nothing sent.
    early = webhooks.deliver_pending(
        database.session, NOW + timedelta(seconds=10), settings=loopback_settings
    )
    assert early.delivered == early.retrying == 0 and len(receiver.received) == 1
    later = webhooks.deliver_pending(
        database.session, NOW + timedelta(seconds=31), settings=loopback_settings
    )
    assert later.delivered == 1
    with database.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
    first_id = receiver.received[0][0]["Townsquare-Delivery"]
    assert receiver.received[1][0]["Townsquare-Delivery"] == first_id
    assert receiver.received[0][1] == receiver.received[1][1]


def test_retries_stop_after_the_last_attempt(
    database: Database, loopback_settings: Settings, access: WorkspaceAccess, receiver: Receiver
) -> None:
    with database.session() as session:
        webhooks.create_webhook(session, access, loopback_settings, url=receiver.url)
    _event(database, "published")
    receiver.script = [500] * 50
    moment = NOW
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        run = webhooks.deliver_pending(database.session, moment, settings=loopback_settings)
        expected_failed = 1 if attempt == webhooks.MAX_ATTEMPTS else 0
        assert (run.retrying, run.failed) == (1 - expected_failed, expected_failed)
        moment += webhooks.backoff(attempt)
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS
    after = webhooks.deliver_pending(
        database.session, moment + timedelta(days=2), settings=loopback_settings
    )
    assert after.as_json() == {"queued": 0, "delivered": 0, "retrying": 0, "failed": 0}
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS
    with database.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.attempts == webhooks.MAX_ATTEMPTS
    assert webhooks.backoff(1) == timedelta(seconds=30)
    assert webhooks.backoff(3) == timedelta(minutes=2)
    assert webhooks.backoff(30) == webhooks.MAX_DELAY


def test_a_refused_connection_is_retried(
    database: Database, loopback_settings: Settings, access: WorkspaceAccess
) -> None:
    from tests.conftest import free_port

    with database.session() as session:
        webhooks.create_webhook(
            session, access, loopback_settings, url=f"http://127.0.0.1:{free_port()}/x"
        )
    _event(database, "failed")
    run = webhooks.deliver_pending(database.session, NOW, settings=loopback_settings)
    assert run.retrying == 1
    with database.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.last_status_code is None and "Connect" in (delivery.last_error or "")


def test_two_passes_at_once_make_each_delivery_once(
    database: Database, loopback_settings: Settings, access: WorkspaceAccess, receiver: Receiver
) -> None:
    with database.session() as session:
        webhooks.create_webhook(session, access, loopback_settings, url=receiver.url)
    for _ in range(10):
        _event(database, "published")
    runs: list[webhooks.DeliveryRun] = []

    def one_pass() -> None:
        runs.append(webhooks.deliver_pending(database.session, NOW, settings=loopback_settings))

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    webhooks.deliver_pending(database.session, NOW, settings=loopback_settings)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 10
    ids = [json.loads(body)["id"] for _, body in receiver.received]
    assert len(ids) == 10 and len(set(ids)) == 10


def test_addresses_and_events_are_checked(
    database: Database, settings: Settings, access: WorkspaceAccess
) -> None:
    with database.session() as session:
        with pytest.raises(ValidationError, match="private, loopback"):
            webhooks.create_webhook(session, access, settings, url="http://127.0.0.1:9/hook")
        with pytest.raises(ValidationError, match="not a web address"):
            webhooks.create_webhook(session, access, settings, url="ftp://example.com/x")
        with pytest.raises(ValidationError, match="unknown webhook event"):
            webhooks.create_webhook(
                session, access, settings, url="https://93.184.215.14/x", events=["post.deleted"]
            )
        with pytest.raises(ValidationError, match="at least one event"):
            webhooks.create_webhook(
                session, access, settings, url="https://93.184.215.14/x", events=[]
            )
        assert webhooks.list_webhooks(session, access) == []


def test_the_background_loop_delivers(
    database: Database, loopback_settings: Settings, access: WorkspaceAccess, receiver: Receiver
) -> None:
    from townsquare.publish.webhook_worker import WebhookWorker

    with database.session() as session:
        webhooks.create_webhook(session, access, loopback_settings, url=receiver.url)
    event_id = _event(database, "published")
    worker = WebhookWorker(database, loopback_settings, poll_seconds=0.05).start()
    try:
        with database.session() as session:
            for _ in range(400):
                session.expire_all()
                delivery = session.scalars(select(WebhookDelivery)).first()
                if delivery is not None and delivery.status == DeliveryStatus.DELIVERED:
                    break
                threading.Event().wait(0.05)
            else:
                pytest.fail("the loop did not deliver within 20 s")
    finally:
        worker.stop()
    assert json.loads(receiver.received[0][1])["id"] == f"evt_{event_id}"
