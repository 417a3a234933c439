"""Posts not approved by their time do not go out: they expire, and their author and
approvers are told (e-mail when SMTP is configured)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.messages import Message
from townsquare.publish.approval import settings_of
from townsquare.publish.models import (
    PublishEvent,
    PublishPost,
    PublishVariant,
)
from townsquare.publish.records import AWAITING, S, refresh_post_status, transaction
from townsquare.workspaces.models import Membership, User
from townsquare.workspaces.roles import Role

logger = logging.getLogger(__name__)


@transaction
def expire_unapproved(
    session: Session, now: datetime | None = None, settings: Settings | None = None
) -> int:
    """Expire every variant still waiting for approval (or for changes) whose time has
    passed, in every workspace; tell the post's author and approvers by e-mail when SMTP is
    configured. Returns how many variants expired. Safe to run from several workers at
    once (each variant moves by a conditional update)."""
    moment = now or utcnow()
    candidates = list(
        session.execute(
            select(PublishVariant.id, PublishVariant.post_id).where(
                PublishVariant.status.in_([status.value for status in AWAITING]),
                PublishVariant.scheduled_at.is_not(None),
                PublishVariant.scheduled_at <= moment,
            )
        )
    )
    expired: dict[int, list[int]] = {}
    for variant_id, post_id in candidates:
        result = session.execute(
            update(PublishVariant)
            .where(
                PublishVariant.id == variant_id,
                PublishVariant.status.in_([status.value for status in AWAITING]),
            )
            .values(status=S.EXPIRED.value)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            expired.setdefault(post_id, []).append(variant_id)
    for post_id, variant_ids in expired.items():
        post = session.get(PublishPost, post_id)
        if post is None:
            continue
        session.refresh(post)
        for variant_id in variant_ids:
            session.add(
                PublishEvent(
                    post_id=post_id,
                    variant_id=variant_id,
                    user_id=None,
                    action="expired",
                    detail={"reason": "not approved by its time"},
                    at=moment,
                )
            )
        refresh_post_status(session, post)
    session.commit()
    if expired:
        _tell_expired(session, list(expired), settings)
    return sum(len(ids) for ids in expired.values())


def _tell_expired(session: Session, post_ids: list[int], settings: Settings | None) -> None:
    from townsquare.config import get_settings
    from townsquare.i18n import catalogs
    from townsquare.mail import mail_configured, send_mail

    settings = settings or get_settings()
    if not mail_configured(settings):
        return
    for post_id in post_ids:
        post = session.get(PublishPost, post_id)
        if post is None:
            continue
        recipients = _expiry_recipients(session, post)
        if not recipients:
            continue
        text = Message(
            "Post %(post_id)s was not approved by its time, so it did not go out. Open it to "
            "schedule it again.\n\n%(excerpt)s",
            post_id=post.id,
            excerpt=str((post.parts or [{}])[0].get("text") or "")[:280],
        )
        subject = Message("townsquare: post %(post_id)s expired", post_id=post.id)
        # In English and in French, as the house's other notices (no per-reader language).
        french = catalogs("fr").gettext
        try:
            send_mail(
                settings,
                to=recipients,
                subject=f"{subject} / {subject.localize(french)}",
                text=f"{text}\n\n---\n\n{text.localize(french)}",
            )
        except Exception as error:  # the expiry stands; the e-mail is a courtesy
            logger.warning("could not tell about expired post %s: %s", post.id, error)


def _expiry_recipients(session: Session, post: PublishPost) -> list[str]:
    settings_row = settings_of(session, post.workspace_id)
    roles = [Role.EDITOR.value, Role.ADMIN.value, Role.OWNER.value]
    if settings_row.viewers_can_approve:
        roles.append(Role.VIEWER.value)
    approvers = session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.workspace_id == post.workspace_id,
            Membership.role.in_(roles),
            User.is_active.is_(True),
        )
    )
    emails = list(dict.fromkeys(approvers))
    if post.author_id is not None:
        author = session.get(User, post.author_id)
        if author is not None and author.email not in emails:
            emails.insert(0, author.email)
    return emails
