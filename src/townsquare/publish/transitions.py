"""What every transition of a post shares: who may change it (its author or an editor),
the variants it names, forgetting a variant's parts before it changes (Conflict once one
has been sent), and the end of each transition (status, audit row, one commit)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.errors import Conflict, NotFound
from townsquare.publish.models import PartStatus, PublishPart, PublishPost, PublishVariant
from townsquare.publish.records import S, refresh_post_status, variants_of
from townsquare.workspaces import audit
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.roles import Role


def finish(
    session: Session, access: WorkspaceAccess, post: PublishPost, *, audit_action: str = ""
) -> PublishPost:
    """The end of every transition: the post's status from its variants, the workspace's
    audit row (``audit_action``, for the changes the audit log keeps), one commit."""
    refresh_post_status(session, post)
    if audit_action:
        audit.record(
            session,
            audit_action,
            workspace_id=access.workspace_id,
            user_id=access.user_id,
            target=str(post.id),
        )
    session.commit()
    return post


def delete_pending_parts(session: Session, variant: PublishVariant) -> None:
    """Forget the variant's parts before it changes (only while none left ``pending``):
    Conflict once one is being or has been sent."""
    statuses = list(
        session.scalars(select(PublishPart.status).where(PublishPart.variant_id == variant.id))
    )
    if any(status != PartStatus.PENDING.value for status in statuses) or variant.status in (
        S.PUBLISHING.value,
        S.PUBLISHED.value,
        S.UNCERTAIN.value,
        S.FAILED.value,
    ):
        raise Conflict(
            "the post for channel %(channel_id)s is already being published (or was): it can no "
            "longer be changed",
            params={"channel_id": variant.channel_id},
            field="post",
        )
    if statuses:
        session.execute(delete(PublishPart).where(PublishPart.variant_id == variant.id))


def selected_variants(
    session: Session, post: PublishPost, channel_ids: Iterable[int] | None
) -> list[tuple[PublishVariant, Channel]]:
    variants = variants_of(session, post)
    if channel_ids is None:
        return variants
    wanted = {int(value) for value in channel_ids}
    chosen = [(variant, channel) for variant, channel in variants if channel.id in wanted]
    missing = wanted - {channel.id for _variant, channel in chosen}
    if missing:
        raise NotFound(
            "post %(post_id)s is not for channel %(channel_id)s",
            params={"post_id": post.id, "channel_id": sorted(missing)[0]},
            field="channel",
        )
    return chosen


def require_author_or_editor(access: WorkspaceAccess, post: PublishPost, action: str) -> None:
    access.require(Role.CONTRIBUTOR, action)
    if not access.role.at_least(Role.EDITOR) and post.author_id != access.user_id:
        access.require(Role.EDITOR, action)
