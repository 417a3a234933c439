"""A workspace's publish settings and who may approve what (see publish/service.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import PermissionDenied
from townsquare.publish.core_models import PublishSettings
from townsquare.publish.models import (
    PublishPost,
)
from townsquare.publish.records import transaction
from townsquare.workspaces import audit
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.roles import Role


def settings_of(session: Session, workspace_id: int) -> PublishSettings:
    """The workspace's publish settings (the defaults, unsaved, when never changed)."""
    row = session.get(PublishSettings, workspace_id)
    if row is None:
        return PublishSettings(
            workspace_id=workspace_id,
            needs_approval=False,
            forbid_self_approval=True,
            viewers_can_approve=False,
            shorten_links=False,
        )
    return row


def get_settings(session: Session, access: WorkspaceAccess) -> PublishSettings:
    return settings_of(session, access.workspace_id)


@transaction
def update_settings(
    session: Session,
    access: WorkspaceAccess,
    *,
    needs_approval: bool | None = None,
    forbid_self_approval: bool | None = None,
    viewers_can_approve: bool | None = None,
    shorten_links: bool | None = None,
) -> PublishSettings:
    """Change the workspace's publish settings (admin or owner); None leaves one as it is."""
    access.require(Role.ADMIN, "change the publish settings")
    row = session.get(PublishSettings, access.workspace_id)
    if row is None:
        row = settings_of(session, access.workspace_id)
        session.add(row)
    changes: dict[str, bool] = {}
    for name, value in (
        ("needs_approval", needs_approval),
        ("forbid_self_approval", forbid_self_approval),
        ("viewers_can_approve", viewers_can_approve),
        ("shorten_links", shorten_links),
    ):
        if value is not None:
            setattr(row, name, bool(value))
            changes[name] = bool(value)
    row.updated_at = utcnow()
    audit.record(
        session,
        "publish.settings_changed",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        details=changes,
    )
    session.commit()
    return row


def can_approve(publish_settings: PublishSettings, access: WorkspaceAccess) -> bool:
    """Whether the caller's role may approve or request changes (whoever wrote the post)."""
    if access.role.at_least(Role.EDITOR):
        return True
    return bool(publish_settings.viewers_can_approve) and access.role is Role.VIEWER


def require_approver(
    publish_settings: PublishSettings, access: WorkspaceAccess, post: PublishPost, action: str
) -> None:
    if not can_approve(publish_settings, access):
        access.require(Role.EDITOR, action)
    if (
        publish_settings.forbid_self_approval
        and access.user_id is not None
        and post.author_id == access.user_id
    ):
        raise PermissionDenied(
            "you wrote post %(post_id)s: another member must approve it (the workspace "
            "forbids approving one's own posts)",
            params={"post_id": post.id},
            field="post",
        )


def approval_needed(publish_settings: PublishSettings, access: WorkspaceAccess) -> bool:
    return bool(publish_settings.needs_approval) or not access.role.at_least(Role.EDITOR)


def self_approves(
    publish_settings: PublishSettings, access: WorkspaceAccess, post: PublishPost
) -> bool:
    """Whether the caller's own submission counts as approved (an approver, allowed to
    approve their own posts, or the operator's command line)."""
    if not publish_settings.needs_approval:
        return access.role.at_least(Role.EDITOR)
    if access.user_id is None:
        return True
    return can_approve(publish_settings, access) and not publish_settings.forbid_self_approval


def may_keep_approval(
    publish_settings: PublishSettings, access: WorkspaceAccess, post: PublishPost
) -> bool:
    if access.user_id is None:
        return True
    if not can_approve(publish_settings, access):
        return False
    return not (publish_settings.forbid_self_approval and post.author_id == access.user_id)
