"""Webhooks: a workspace's URLs told when a post is published, fails or needs approval.

Delivery reads the outbox, ``publish_events`` (the rows every transition of Publish writes):
action ``published`` → ``post.published``, ``failed`` → ``post.failed``, ``submitted`` →
``post.needs_approval``. Nobody calls this module when a post changes; the worker loop calls
:func:`deliver_pending` each pass, which

1. gives each enabled endpoint the events after its ``last_event_id`` (one
   ``publish_webhook_deliveries`` row per endpoint and event, unique: two workers never
   make two), then
2. sends every delivery that is due, under a short lease, and records the answer: a 2xx is
   delivered; anything else (an error status, a timeout, a refused connection) is retried
   after ``BASE_DELAY * 2**(attempts-1)`` (30 s, 1 min, 2 min, … at most 6 h) until
   ``MAX_ATTEMPTS``, then failed. Redirects are not followed (a 3xx is a failure).

Each request is a JSON ``POST`` with these headers (documented in docs/publish.md)::

    Content-Type: application/json
    Townsquare-Event: post.published
    Townsquare-Delivery: 42              (the delivery's id: the same on every retry)
    Townsquare-Signature: t=1764688800,v1=5257a869e7…

``v1`` is the hex HMAC-SHA256, keyed with the endpoint's secret, of ``"{t}.{body}"``:
the receiver recomputes it over the raw body, compares in constant time and refuses a
``t`` too far from its clock (replays). :func:`verify_signature` is that check.

URLs pass the SSRF rule (``netguard``) when added and on every request. The secret
(``whsec_…``) is shown once when the endpoint is added; it is stored sealed with the
credentials key, since signing needs it back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare import netguard
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import NotFound, TownsquareError, ValidationError
from townsquare.publish.models import PublishEvent, PublishPost, PublishVariant
from townsquare.publish.web_models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from townsquare.validation import DbId, parse_id
from townsquare.workspaces import audit
from townsquare.workspaces.models import Workspace
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

# The outbox's action → the event a webhook subscribes to.
EVENT_FOR_ACTION = {
    "published": "post.published",
    "failed": "post.failed",
    "submitted": "post.needs_approval",
}
EVENTS = tuple(EVENT_FOR_ACTION.values())
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SIGNATURE_HEADER = "Townsquare-Signature"
MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
LEASE = timedelta(seconds=60)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
TOLERANCE_SECONDS = 300  # what verify_signature accepts between t and the receiver's clock
BATCH = 200
MAX_ENDPOINTS = 20  # per workspace

SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass
class IssuedWebhook:
    """A new endpoint and its secret, shown this once."""

    endpoint: WebhookEndpoint
    secret: str


@dataclass
class DeliveryRun:
    """What one :func:`deliver_pending` pass did (counts of deliveries)."""

    queued: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def as_json(self) -> dict[str, int]:
        return {
            "queued": self.queued,
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
        }


# --- signing -------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Townsquare-Signature`` header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: the header's ``v1`` is the HMAC of ``"{t}.{body}"`` with the
    secret, and ``t`` is within ``tolerance`` seconds of ``now``."""
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (1-based)."""
    delay = BASE_DELAY * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_DELAY)


# --- endpoints -----------------------------------------------------------------------------


def _box(settings: Settings) -> CredentialsBox:
    return CredentialsBox(settings.resolved_credentials_key())


def parse_events(values: Iterable[str]) -> list[str]:
    """The events asked for, each one of EVENTS; at least one."""
    chosen: list[str] = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        if value not in EVENTS:
            raise ValidationError(
                "unknown webhook event %(value)r: choose among %(choices)s",
                params={"value": value, "choices": ", ".join(EVENTS)},
                field="events",
            )
        if value not in chosen:
            chosen.append(value)
    if not chosen:
        raise ValidationError(
            "choose at least one event for the webhook (%(choices)s)",
            params={"choices": ", ".join(EVENTS)},
            field="events",
        )
    return chosen


def create_webhook(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    url: str,
    events: Iterable[str] = EVENTS,
) -> IssuedWebhook:
    """Add an endpoint (admin); it receives the events that happen from now on."""
    access.require(Role.ADMIN, "manage webhooks")
    url = url.strip()
    if not url:
        raise ValidationError("the webhook needs the address to send to: https://…", field="url")
    if len(url) > 2000:
        raise ValidationError("the webhook's address is longer than 2000 characters", field="url")
    chosen = parse_events(events)
    netguard.check_url(url, settings, field="url")
    count = len(list_webhooks(session, access))
    if count >= MAX_ENDPOINTS:
        raise ValidationError(
            "a workspace has at most %(limit)s webhooks: delete one first",
            params={"limit": MAX_ENDPOINTS},
            field="url",
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    last = session.scalar(select(PublishEvent.id).order_by(PublishEvent.id.desc()).limit(1))
    endpoint = WebhookEndpoint(
        workspace_id=access.workspace_id,
        url=url,
        events=chosen,
        sealed_secret=_box(settings).seal({"secret": secret}),
        is_enabled=True,
        last_event_id=last or 0,
        created_by=access.user_id,
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session,
        "publish.webhook.create",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(endpoint.id),
        details={"url": url, "events": chosen},
    )
    session.commit()
    return IssuedWebhook(endpoint, secret)


def list_webhooks(session: Session, access: WorkspaceAccess) -> list[WebhookEndpoint]:
    access.require(Role.ADMIN, "manage webhooks")
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.workspace_id == access.workspace_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def get_webhook(
    session: Session, access: WorkspaceAccess, webhook_id: DbId | str
) -> WebhookEndpoint:
    access.require(Role.ADMIN, "manage webhooks")
    number = parse_id(str(webhook_id), field="webhook", what="webhook")
    endpoint = session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == number, WebhookEndpoint.workspace_id == access.workspace_id
        )
    )
    if endpoint is None:
        raise NotFound(
            "no webhook %(id)s in this workspace", params={"id": number}, field="webhook"
        )
    return endpoint


def set_enabled(
    session: Session, access: WorkspaceAccess, webhook_id: DbId | str, enabled: bool
) -> WebhookEndpoint:
    """Pause or resume an endpoint; resuming skips what happened meanwhile."""
    endpoint = get_webhook(session, access, webhook_id)
    if enabled and not endpoint.is_enabled:
        last = session.scalar(select(PublishEvent.id).order_by(PublishEvent.id.desc()).limit(1))
        endpoint.last_event_id = last or 0
    endpoint.is_enabled = enabled
    audit.record(
        session,
        "publish.webhook.enable" if enabled else "publish.webhook.disable",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(endpoint.id),
    )
    session.commit()
    return endpoint


def delete_webhook(session: Session, access: WorkspaceAccess, webhook_id: DbId | str) -> None:
    endpoint = get_webhook(session, access, webhook_id)
    audit.record(
        session,
        "publish.webhook.delete",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(endpoint.id),
        details={"url": endpoint.url},
    )
    session.delete(endpoint)
    session.commit()


def recent_deliveries(
    session: Session, access: WorkspaceAccess, webhook_id: DbId | str, limit: int = 50
) -> list[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    endpoint = get_webhook(session, access, webhook_id)
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


# --- the outbox → deliveries -----------------------------------------------------------------


def _channel_json(channel: Channel | None) -> dict[str, Any] | None:
    if channel is None:
        return None
    return {
        "id": channel.id,
        "name": channel.display_name,
        "network": channel.network,
        "handle": channel.handle,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def event_payload(session: Session, event: PublishEvent, workspace: Workspace) -> dict[str, Any]:
    """The JSON body of one event (stable keys: receivers' scripts read them)."""
    post = session.get(PublishPost, event.post_id)
    variants: list[tuple[PublishVariant, Channel | None]] = []
    if event.variant_id is not None:
        variant = session.get(PublishVariant, event.variant_id)
        if variant is not None:
            variants.append((variant, session.get(Channel, variant.channel_id)))
    else:
        for variant, channel in session.execute(
            select(PublishVariant, Channel)
            .join(Channel, Channel.id == PublishVariant.channel_id)
            .where(PublishVariant.post_id == event.post_id)
            .order_by(PublishVariant.id)
        ):
            variants.append((variant, channel))
    text = ""
    if post is not None and post.parts:
        text = str(post.parts[0].get("text") or "")
    return {
        "id": f"evt_{event.id}",
        "type": EVENT_FOR_ACTION[event.action],
        "created_at": _iso(event.at),
        "workspace": workspace.slug,
        "data": {
            "post_id": event.post_id,
            "post_status": post.status if post is not None else None,
            "text": text,
            "comment": event.comment,
            "variants": [
                {
                    "id": variant.id,
                    "channel": _channel_json(channel),
                    "status": variant.status,
                    "scheduled_at": _iso(variant.scheduled_at),
                    "published_at": _iso(variant.published_at),
                    "external_id": variant.external_id,
                    "url": variant.url,
                    "error": variant.error,
                }
                for variant, channel in variants
            ],
        },
    }


def enqueue_events(session: Session, now: datetime) -> int:
    """Give every enabled endpoint its new events (deliveries due at ``now``); how many."""
    made = 0
    endpoints = list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.is_enabled)))
    for endpoint in endpoints:
        workspace = session.get(Workspace, endpoint.workspace_id)
        if workspace is None:
            continue
        events = list(
            session.scalars(
                select(PublishEvent)
                .join(PublishPost, PublishPost.id == PublishEvent.post_id)
                .where(
                    PublishPost.workspace_id == endpoint.workspace_id,
                    PublishEvent.id > endpoint.last_event_id,
                    PublishEvent.action.in_(tuple(EVENT_FOR_ACTION)),
                )
                .order_by(PublishEvent.id)
                .limit(BATCH)
            )
        )
        if not events:
            continue
        previous = endpoint.last_event_id
        wanted = [event for event in events if EVENT_FOR_ACTION[event.action] in endpoint.events]
        try:
            made += _enqueue(session, endpoint, workspace, wanted, events[-1].id, previous, now)
        except IntegrityError:
            # Another worker made these deliveries first.
            session.rollback()
    return made


def _enqueue(
    session: Session,
    endpoint: WebhookEndpoint,
    workspace: Workspace,
    wanted: list[PublishEvent],
    last_id: int,
    previous: int,
    now: datetime,
) -> int:
    with session.no_autoflush:
        for event in wanted:
            session.add(
                WebhookDelivery(
                    webhook_id=endpoint.id,
                    event_id=event.id,
                    event_type=EVENT_FOR_ACTION[event.action],
                    payload=event_payload(session, event, workspace),
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    # Moving the endpoint's place only if nobody moved it meanwhile: another worker that got
    # here first made these deliveries, and ours are rolled back.
    moved = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.last_event_id == previous)
        .values(last_event_id=last_id)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return 0
    session.commit()
    return len(wanted)


# --- sending ---------------------------------------------------------------------------------


def _claim(session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of due deliveries this worker now holds under a lease."""
    candidates = list(
        session.scalars(
            select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.webhook_id)
            .where(
                WebhookEndpoint.is_enabled,
                WebhookDelivery.status == DeliveryStatus.PENDING,
                or_(
                    WebhookDelivery.next_attempt_at.is_(None),
                    WebhookDelivery.next_attempt_at <= now,
                ),
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )
    claimed = []
    for delivery_id in candidates:
        result = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == DeliveryStatus.PENDING,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            )
            .values(lease_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(delivery_id)
    session.commit()
    return claimed


def _send(
    client: httpx.Client, url: str, secret: str, delivery: WebhookDelivery
) -> tuple[int | None, str | None]:
    """(status code, error) of one attempt; error None means delivered."""
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "Townsquare-Event": delivery.event_type,
        "Townsquare-Delivery": str(delivery.id),
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
    }
    try:
        response = client.post(url, content=body, headers=headers)
    except TownsquareError as error:  # the SSRF rule refused the address now
        return None, str(error)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def deliver_pending(
    session_factory: SessionFactory,
    now: datetime | None = None,
    *,
    settings: Settings | None = None,
    limit: int = 100,
    client: httpx.Client | None = None,
) -> DeliveryRun:
    """One pass of the webhook worker: turn new outbox events into deliveries, then send
    each due delivery once. ``now`` decides what is due (tests move it forward instead of
    waiting for the backoff)."""
    settings = settings or Settings()
    moment = now or utcnow()
    run = DeliveryRun()
    with session_factory() as session:
        run.queued = enqueue_events(session, moment)
        claimed = _claim(session, moment, limit)
    if not claimed:
        return run
    own_client = client is None
    http = client or netguard.safe_http_client(settings, timeout=TIMEOUT, follow_redirects=False)
    box = _box(settings)
    try:
        for delivery_id in claimed:
            with session_factory() as session:
                delivery = session.get(WebhookDelivery, delivery_id)
                endpoint = session.get(WebhookEndpoint, delivery.webhook_id) if delivery else None
                if delivery is None or endpoint is None:
                    continue
                secret = str(box.open(endpoint.sealed_secret)["secret"])
                status_code, error = _send(http, endpoint.url, secret, delivery)
                delivery.attempts += 1
                delivery.last_status_code = status_code
                delivery.lease_until = None
                if error is None:
                    delivery.status = DeliveryStatus.DELIVERED
                    delivery.delivered_at = utcnow()
                    delivery.last_error = None
                    run.delivered += 1
                elif delivery.attempts >= MAX_ATTEMPTS:
                    delivery.status = DeliveryStatus.FAILED
                    delivery.last_error = error
                    delivery.next_attempt_at = None
                    run.failed += 1
                else:
                    delivery.last_error = error
                    delivery.next_attempt_at = moment + backoff(delivery.attempts)
                    run.retrying += 1
                session.commit()
    finally:
        if own_client:
            http.close()
    return run
