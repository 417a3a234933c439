"""Publishing a claimed variant exactly once: its parts, the calls, and what each outcome means.

A variant taken by :func:`townsquare.publish.claims.claim` is published part by part:

1. Its parts are created the first time (one ``publish_parts`` row per part of
   ``content.effective_parts``), each with an ``idempotency_key`` made of the variant's id,
   the part's position and a random part, and for Bluesky an ``rkey`` (``new_tid()``), all
   committed before any call: every later attempt sends the same key and the same rkey.
2. A part already ``published`` is skipped (a thread resumed after a crash goes on at the
   next part); a part left ``sending`` or ``uncertain`` is first looked for on the network
   (``find_published`` since its ``sent_at``): found, it is published ("verified"); certainly
   absent, it is sent again with the same key; unknown, the variant stays ``uncertain`` and
   is checked again later, never sent blindly.
3. A ``pending`` part is marked ``sending`` and committed, *then* sent. Its outcome:
   a ref → ``published``; ``UNKNOWN`` (timeout, reset after sending) → ``uncertain``;
   ``RETRY`` (429, 503, nothing sent) → back to ``scheduled`` after ``retry_after`` or a
   backoff, until the variant's ``retry_deadline``, then ``failed``; ``REJECTED`` →
   ``failed`` with the network's reason (``error`` the English template, ``error_params``
   its values: ``Message(error, error_params)`` in the reader's language). A ``REJECTED``
   with ``reconnect`` (the network refused the credentials, a 401) also marks the channel
   ``needs_reconnection`` and tells its owners and admins; the channel's other variants
   then fail without a call ("reconnect it, then schedule the post again") until it is
   reconnected.

Every write after the claim first renews the lease (:func:`claims.hold`); a dispatcher that
lost it stops and leaves the variant to the new holder. Every transition writes a
``PublishEvent`` (the outbox webhooks read) and refreshes the post's status.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from townsquare.channels.connect import mark_needs_reconnection
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.service import channel_credentials
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.errors import TownsquareError
from townsquare.messages import Message
from townsquare.networks.base import (
    OutgoingMedia,
    OutgoingPost,
    PublishedRef,
    Publisher,
    PublishError,
    PublishOutcome,
)
from townsquare.networks.bluesky_publish import new_tid
from townsquare.networks.connectors import connector_for
from townsquare.networks.http import RatePolicy
from townsquare.publish import claims
from townsquare.publish.content import (
    effective_content_warning,
    effective_link_url,
    effective_parts,
    media_path,
)
from townsquare.publish.models import (
    PartStatus,
    PublishEvent,
    PublishMedia,
    PublishPart,
    PublishPost,
    PublishVariant,
    VariantStatus,
)
from townsquare.publish.service import refresh_post_status

logger = logging.getLogger(__name__)

# What one dispatch of a variant ended in, as ``publish due`` counts it.
PUBLISHED, FAILED, UNCERTAIN, SKIPPED = "published", "failed", "uncertain", "skipped"
BACKOFF_SECONDS = 30.0  # the first wait after a 429/503 that named no Retry-After
BACKOFF_MAX_SECONDS = 900.0
RECHECK_MAX_SECONDS = 60.0

Clock = Callable[[], datetime]


class _Refused(Exception):
    """The variant cannot be sent as it stands (before any call): it is failed."""

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


def idempotency_key(variant_id: int, position: int) -> str:
    """The key of one part, chosen once: the variant and position say what it is, the
    random part keeps it unique across databases (ids start again in a new one, and a
    Mastodon instance remembers a key for an hour)."""
    return f"ts-{variant_id}-{position}-{secrets.token_hex(8)}"


def backoff_seconds(attempts: int) -> float:
    """Wait before another try when the network named none: doubling from 30 s to 15 min,
    with ±20 % jitter so that a crowd of retries does not return at the same second."""
    base = min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)


def make_publisher(channel: Channel, settings: Settings, box: CredentialsBox) -> Any:
    """The channel's connector built from its stored credentials, as ``channels/`` builds
    them, with no retries of its own (the dispatcher decides what may be retried)."""
    if channel.status == "disabled":
        raise _Refused(
            Message(
                "channel %(handle)s is disabled: enable it, then schedule the post again",
                handle=channel.handle,
            )
        )
    if channel.status == "needs_reconnection":
        raise _Refused(
            Message(
                "channel %(handle)s needs reconnection (%(reason)s): reconnect it, then "
                "schedule the post again",
                handle=channel.handle,
                reason=channel.status_reason or "",
            )
        )
    try:
        credentials = channel_credentials(channel, box)
        if credentials is None:
            raise _Refused(
                Message(
                    "channel %(handle)s has no credentials: connect it, then schedule the "
                    "post again",
                    handle=channel.handle,
                )
            )
        policy = RatePolicy(max_retries=0, network=channel.network)
        connector = connector_for(channel.network, credentials, settings, policy=policy)
    except TownsquareError as error:
        raise _Refused(error.message) from None
    if not hasattr(connector, "publish"):
        connector.close()
        raise _Refused(
            Message(
                "%(network)s channels cannot be published to by townsquare: copy the text "
                "and post it yourself",
                network=channel.network,
            )
        )
    if hasattr(connector, "publish_settle_seconds"):
        connector.publish_settle_seconds = settings.publish_settle_seconds
    return connector


def _ref(part: PublishPart) -> PublishedRef:
    return PublishedRef(
        external_id=part.external_id or "",
        url=part.url,
        uri=part.uri,
        cid=part.cid,
        published_at=part.published_at,
    )


class VariantRun:
    """One dispatch of one claimed variant, in its own session (see the module doc)."""

    def __init__(
        self,
        session: Session,
        variant_id: int,
        *,
        owner: str,
        settings: Settings,
        box: CredentialsBox,
        clock: Clock = utcnow,
    ) -> None:
        self.session = session
        self.variant_id = variant_id
        self.owner = owner
        self.settings = settings
        self.box = box
        self.clock = clock
        self.lease = float(settings.publish_lease_seconds)
        self._held = False  # renewed by ``_parts`` in the transaction still open

    # --- the run -------------------------------------------------------------------------

    def run(self) -> str:
        row = self.session.execute(  # one query for the three (cascades keep them whole)
            select(PublishVariant, PublishPost, Channel)
            .join(PublishPost, PublishPost.id == PublishVariant.post_id)
            .join(Channel, Channel.id == PublishVariant.channel_id)
            .where(PublishVariant.id == self.variant_id)
        ).first()
        if row is None:
            return SKIPPED
        variant, post, channel = row
        if variant.lease_owner != self.owner:
            return SKIPPED
        if variant.status != VariantStatus.PUBLISHING.value:
            return SKIPPED
        self.variant, self.post, self.channel = variant, post, channel
        try:
            contents = self._contents()
            parts = self._parts(contents)
            if parts is None:
                return SKIPPED
            publisher = make_publisher(channel, self.settings, self.box)
        except _Refused as refused:
            return self._fail(refused.message)
        try:
            return self._send(publisher, parts, contents)
        finally:
            self._keep_credentials(publisher)
            publisher.close()

    def _send(
        self, publisher: Publisher, parts: list[PublishPart], contents: list[dict[str, Any]]
    ) -> str:
        previous: PublishedRef | None = None
        root: PublishedRef | None = None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part.status == PartStatus.PUBLISHED.value:
                previous = _ref(part)
                root = root or previous
                continue
            try:
                outgoing = self._outgoing(part, contents[index], previous, root)
            except _Refused as refused:
                return self._fail(refused.message, part)
            if part.status in (PartStatus.SENDING.value, PartStatus.UNCERTAIN.value):
                outcome = self._verify(publisher, part, outgoing, last)
                if isinstance(outcome, str):
                    return outcome
                if outcome is not None:
                    previous = outcome
                    root = root or previous
                    continue
            if not self._mark_sending(part):
                return SKIPPED
            try:
                ref = publisher.publish(outgoing)
            except PublishError as error:
                return self._failed_call(error, part)
            except Exception as error:  # a bug or a library surprise: the call may be out
                logger.exception("publishing variant %s part %s", self.variant_id, part.position)
                return self._uncertain(_unexpected(error), part)
            if not self._published(part, ref, last=last, verified=False):
                return SKIPPED
            previous = ref
            root = root or previous
        return PUBLISHED

    # --- content -------------------------------------------------------------------------

    def _contents(self) -> list[dict[str, Any]]:
        contents = effective_parts(self.post, self.variant)
        if not contents or not any(c["text"].strip() or c["media"] for c in contents):
            raise _Refused(Message("the post has nothing to send: write its text first"))
        return contents

    def _parts(self, contents: list[dict[str, Any]]) -> list[PublishPart] | None:
        """The variant's delivery rows, made (and committed) on its first dispatch."""
        parts = list(
            self.session.scalars(
                select(PublishPart)
                .where(PublishPart.variant_id == self.variant_id)
                .order_by(PublishPart.position)
            )
        )
        untouched = all(p.status == PartStatus.PENDING.value and not p.attempts for p in parts)
        if len(parts) == len(contents):
            return parts
        if parts and not untouched:
            raise _Refused(
                Message(
                    "the post was changed while it was being published (%(sent)s parts "
                    "made, %(now)s now): check what went out, then schedule it again",
                    sent=len(parts),
                    now=len(contents),
                )
            )
        if not self._hold():
            self._lost()
            return None
        if parts:  # edited since they were made, none ever sent: make them again
            self.session.execute(
                delete(PublishPart).where(PublishPart.variant_id == self.variant_id)
            )
        bluesky = self.channel.network == "bluesky"
        parts = [
            PublishPart(
                variant_id=self.variant_id,
                position=position,
                status=PartStatus.PENDING.value,
                idempotency_key=idempotency_key(self.variant_id, position),
                rkey=new_tid() if bluesky else None,
                attempts=0,
            )
            for position in range(len(contents))
        ]
        # Inserted with the first part's "sending" (one INSERT, not an INSERT then an
        # UPDATE), committed before any call.
        self.session.add_all(parts)
        self._held = True  # the lease was renewed in this transaction, not committed yet
        return parts

    def _outgoing(
        self,
        part: PublishPart,
        content: dict[str, Any],
        previous: PublishedRef | None,
        root: PublishedRef | None,
    ) -> OutgoingPost:
        return OutgoingPost(
            text=str(content["text"]),
            idempotency_key=part.idempotency_key,
            content_warning=effective_content_warning(self.post, self.variant),
            language=self.post.language,
            media=self._media(list(content["media"])),
            link_url=effective_link_url(self.post, self.variant) if part.position == 0 else None,
            rkey=part.rkey,
            reply_to=previous,
            thread_root=root,
        )

    def _media(self, ids: list[int]) -> tuple[OutgoingMedia, ...]:
        if not ids:
            return ()
        rows = {
            row.id: row
            for row in self.session.scalars(
                select(PublishMedia).where(
                    PublishMedia.id.in_(ids), PublishMedia.workspace_id == self.variant.workspace_id
                )
            )
        }
        items = []
        for media_id in ids:
            row = rows.get(media_id)
            path = media_path(self.settings.data_dir, row.sha256) if row else None
            if row is None or path is None or not path.exists():
                raise _Refused(
                    Message(
                        "attachment %(media)s of this post is missing from the data directory: "
                        "upload it again, then schedule the post again",
                        media=row.filename if row else media_id,
                    )
                )
            items.append(
                OutgoingMedia(path.read_bytes(), row.mime_type, row.filename, row.alt_text)
            )
        return tuple(items)

    # --- verification --------------------------------------------------------------------

    def _verify(
        self, publisher: Publisher, part: PublishPart, outgoing: OutgoingPost, last: bool
    ) -> PublishedRef | str | None:
        """Whether an earlier attempt of ``part`` created it: its ref, None when certainly
        absent (it will be sent again, same key), or the run's end (still unknown)."""
        sent_after = part.sent_at or self.clock()
        try:
            found = publisher.find_published(outgoing, sent_after)
        except PublishError as error:
            return self._uncertain(error.message, part)
        except Exception as error:
            logger.exception("verifying variant %s part %s", self.variant_id, part.position)
            return self._uncertain(_unexpected(error), part)
        if found is not None:
            return found if self._published(part, found, last=last, verified=True) else SKIPPED
        now = self.clock()
        deadline = self.variant.retry_deadline
        if deadline is not None and now > deadline:
            return self._fail(
                Message(
                    "part %(part)s was not published, and the retry deadline "
                    "(%(minutes)s min) has passed: check the channel, then schedule the post "
                    "again",
                    part=part.position + 1,
                    minutes=self.settings.publish_retry_minutes,
                ),
                part,
            )
        if not self._hold():
            return SKIPPED
        part.status = PartStatus.PENDING.value
        self._event("retried", part=part.position + 1, verified_absent=True)
        self.session.commit()
        return None

    # --- outcomes ------------------------------------------------------------------------

    def _hold(self) -> bool:
        return claims.hold(self.session, self.variant_id, self.owner, self.clock(), self.lease)

    def _lost(self) -> str:
        self.session.rollback()
        logger.warning("lost the lease on variant %s: left to its new holder", self.variant_id)
        return SKIPPED

    def _event(self, action: str, **detail: Any) -> None:
        self.session.add(
            PublishEvent(
                post_id=self.variant.post_id,
                variant_id=self.variant_id,
                action=action,
                detail={"channel": self.variant.channel_id, **detail},
                at=self.clock(),
            )
        )

    def _release(self, status: VariantStatus) -> None:
        self.variant.status = status.value
        self.variant.lease_owner = None
        self.variant.lease_until = None

    def _mark_sending(self, part: PublishPart) -> bool:
        held, self._held = self._held, False
        if not held and not self._hold():
            self._lost()
            return False
        part.status = PartStatus.SENDING.value
        part.sent_at = self.clock()
        part.attempts += 1
        self.session.commit()
        return True

    def _published(
        self, part: PublishPart, ref: PublishedRef, *, last: bool, verified: bool
    ) -> bool:
        now = self.clock()
        published_at = ref.published_at or now
        variant = self.variant
        values: dict[str, Any] = {}
        if part.position == 0:
            values.update(external_id=ref.external_id, url=ref.url, published_at=published_at)
        if last:
            values.update(
                status=VariantStatus.PUBLISHED.value,
                lease_owner=None,
                lease_until=None,
                published_at=values.get("published_at") or variant.published_at or published_at,
                next_attempt_at=None,
                error=None,
                error_params=None,
            )
        # The variant's writes and the lease's renewal in one conditional UPDATE.
        if not claims.hold(self.session, self.variant_id, self.owner, now, self.lease, also=values):
            self._lost()
            return False
        for name, value in values.items():
            set_committed_value(variant, name, value)  # written already: not again
        part.status = PartStatus.PUBLISHED.value
        part.external_id = ref.external_id
        part.uri, part.cid, part.url = ref.uri, ref.cid, ref.url
        part.published_at = published_at
        part.error = None
        if verified:
            self._event("verified", part=part.position + 1, external_id=ref.external_id)
        if last:
            self._event("published", external_id=variant.external_id, url=variant.url)
            refresh_post_status(self.session, self.post)
        self.session.commit()
        return True

    def _failed_call(self, error: PublishError, part: PublishPart) -> str:
        if error.outcome is PublishOutcome.UNKNOWN:
            return self._uncertain(error.message, part)
        if error.outcome is PublishOutcome.RETRY:
            return self._retry_later(error, part)
        outcome = self._fail(error.message, part)
        if error.reconnect:
            self._needs_reconnection(error.message)
        return outcome

    def _needs_reconnection(self, reason: Message) -> None:
        """The network refused the channel's credentials: the channel is marked as needing
        reconnection and its owners and admins are told, as a sync does; its other variants
        are then failed without a call (``make_publisher``) until it is reconnected."""
        try:
            self.session.refresh(self.channel)
            mark_needs_reconnection(self.session, self.channel, str(reason), self.settings)
        except Exception:  # never let bookkeeping hide the outcome
            self.session.rollback()
            logger.exception("marking channel %s as needing reconnection", self.channel.id)

    def _retry_later(self, error: PublishError, part: PublishPart) -> str:
        now = self.clock()
        wait = error.retry_after if error.retry_after is not None else None
        wait = wait if wait is not None else backoff_seconds(self.variant.attempts)
        next_at = now + timedelta(seconds=wait)
        deadline = self.variant.retry_deadline
        if deadline is not None and next_at > deadline:
            return self._fail(
                Message(
                    "still refused after %(minutes)s min of retries (the last answer: "
                    "%(reason)s): check the channel, then schedule the post again",
                    minutes=self.settings.publish_retry_minutes,
                    reason=str(error.message),
                ),
                part,
            )
        if not self._hold():
            return self._lost()
        part.status = PartStatus.PENDING.value  # nothing was created: same key next time
        self._release(VariantStatus.SCHEDULED)
        self.variant.next_attempt_at = next_at
        self._set_error(error.message)
        self._event(
            "retried",
            part=part.position + 1,
            reason=str(error.message),
            next_attempt_at=next_at.isoformat(),
        )
        refresh_post_status(self.session, self.post)
        self.session.commit()
        return SKIPPED

    def _uncertain(self, message: Message, part: PublishPart) -> str:
        if not self._hold():
            return self._lost()
        already = part.status == PartStatus.UNCERTAIN.value
        part.status = PartStatus.UNCERTAIN.value
        part.error = str(message)
        self._release(VariantStatus.UNCERTAIN)
        self.variant.next_attempt_at = self.clock() + timedelta(seconds=self._recheck_seconds())
        self._set_error(message)
        if not already:
            self._event("uncertain", part=part.position + 1, reason=str(message))
        refresh_post_status(self.session, self.post)
        self.session.commit()
        return UNCERTAIN

    def _recheck_seconds(self) -> float:
        return max(1.0, min(RECHECK_MAX_SECONDS, self.settings.publish_settle_seconds / 3))

    def _fail(self, message: Message, part: PublishPart | None = None) -> str:
        if not self._hold():
            return self._lost()
        if part is not None:
            part.status = PartStatus.FAILED.value
            part.error = str(message)
        self._release(VariantStatus.FAILED)
        self.variant.next_attempt_at = None
        self._set_error(message)
        detail: dict[str, Any] = {"reason": str(message)}
        if part is not None:
            detail["part"] = part.position + 1
        self._event("failed", **detail)
        refresh_post_status(self.session, self.post)
        self.session.commit()
        return FAILED

    def _set_error(self, message: Message) -> None:
        self.variant.error = message.id
        self.variant.error_params = message.json_params() or None

    def _keep_credentials(self, publisher: Any) -> None:
        """A connector that refreshed its session (Bluesky) gives the new one to store."""
        try:
            refreshed = publisher.updated_credentials()
        except Exception:  # never let bookkeeping hide the outcome
            logger.exception("reading refreshed credentials of channel %s", self.channel.id)
            return
        if refreshed:
            self.channel.credentials_encrypted = self.box.seal(refreshed)
            self.session.commit()


def _unexpected(error: BaseException) -> Message:
    return Message(
        "publishing ended unexpectedly (%(reason)s): townsquare checks whether it was "
        "published before trying again",
        reason=f"{type(error).__name__}: {error}"[:300],
    )


def publish_variant(
    database: Database,
    settings: Settings,
    variant_id: int,
    *,
    owner: str,
    box: CredentialsBox | None = None,
    clock: Clock = utcnow,
) -> str:
    """Dispatch one variant ``owner`` has claimed; what it ended in (``PUBLISHED``,
    ``FAILED``, ``UNCERTAIN`` or ``SKIPPED``: left for later or to another holder)."""
    box = box or CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        # What this run wrote stays as written after each commit instead of being read
        # back: every write is made under the lease (``claims.hold``, checked in SQL), so
        # nobody else changed these rows meanwhile; one read less per commit.
        session.expire_on_commit = False
        return VariantRun(
            session, variant_id, owner=owner, settings=settings, box=box, clock=clock
        ).run()


def claim_for(
    database: Database,
    settings: Settings,
    *,
    owner: str,
    limit: int,
    clock: Clock = utcnow,
    due_before: datetime | None = None,
) -> list[int]:
    """Claim up to ``limit`` variants for ``owner`` with the settings' lease."""
    with database.session() as session:
        return claims.claim(
            session,
            owner=owner,
            now=clock(),
            limit=limit,
            lease_seconds=settings.publish_lease_seconds,
            retry_minutes=settings.publish_retry_minutes,
            due_before=due_before,
        )
