"""Who may do what in which workspace: the security boundary between clients.

Every scoped service call starts from a :class:`WorkspaceAccess`, obtained with
:func:`access_for`, which answers NotFound (never PermissionDenied) to non-members.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.errors import NotFound, PermissionDenied
from townsquare.messages import Message
from townsquare.workspaces.models import Membership, User, Workspace
from townsquare.workspaces.roles import Role


@dataclass(frozen=True)
class WorkspaceAccess:
    """A user's access to one workspace: what every scoped service call starts from."""

    workspace: Workspace
    user: User | None  # None for the command line, which acts with the operator's rights
    role: Role

    @property
    def workspace_id(self) -> int:
        return self.workspace.id

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @classmethod
    def operator(cls, workspace: Workspace) -> WorkspaceAccess:
        """Full access for the command line (whoever runs it can read the database anyway)."""
        return cls(workspace=workspace, user=None, role=Role.OWNER)

    def require(self, role: Role, action: str = "do this") -> None:
        if not self.role.at_least(role):
            raise PermissionDenied(
                "your role in workspace '%(slug)s' is %(role)s; to %(action)s you need "
                "%(required)s or higher: ask an owner or admin",
                params={
                    "slug": self.workspace.slug,
                    "role": Message(self.role.value),
                    # The action is itself a msgid ("add members"), translated with the rest.
                    "action": Message(action),
                    "required": Message(role.value),
                },
            )


def get_workspace(session: Session, slug: str) -> Workspace:
    """The workspace named ``slug`` (unscoped: for administrators and the CLI)."""
    workspace = session.scalar(select(Workspace).where(Workspace.slug == slug.strip()))
    if workspace is None:
        raise NotFound(
            "no workspace '%(slug)s': list them with `townsquare workspace list`",
            params={"slug": slug},
            field="workspace",
        )
    return workspace


def access_for(session: Session, user: User, slug: str) -> WorkspaceAccess:
    """The user's access to workspace ``slug``.

    Raises NotFound (never PermissionDenied) when the user is not a member, so that the
    existence of other clients' workspaces is not revealed.
    """
    row = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Workspace.slug == slug, Membership.user_id == user.id)
    ).first()
    if row is None:
        raise NotFound(
            "no workspace '%(slug)s' among yours", params={"slug": slug}, field="workspace"
        )
    workspace, role = row
    return WorkspaceAccess(workspace=workspace, user=user, role=Role(role))
