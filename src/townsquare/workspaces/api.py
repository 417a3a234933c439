"""REST API of workspaces, members, the audit log and API tokens (under ``/api/v1``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from townsquare.errors import PermissionDenied
from townsquare.validation import DbId
from townsquare.web.deps import (
    ApiAccess,
    AppSettings,
    CurrentApiIdentity,
    DbSession,
    public_base_url,
)
from townsquare.web.i18n import translations
from townsquare.workspaces import audit, invitations, service, tokens
from townsquare.workspaces.invitation_models import Invitation
from townsquare.workspaces.roles import Role
from townsquare.workspaces.schemas import (
    AuditEventOut,
    InvitationCreated,
    InvitationOut,
    MemberCreate,
    MemberOut,
    MemberUpdate,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserOut,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspaceUpdate,
)

router = APIRouter(tags=["workspaces"])


@router.get("/me", response_model=UserOut)
def api_me(session: DbSession, identity: CurrentApiIdentity) -> UserOut:
    user = identity.user
    memberships = service.workspaces_of(session, user)
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        is_admin=user.is_admin,
        language=user.language,
        workspaces=[
            WorkspaceOut(
                id=ws.id,
                slug=ws.slug,
                name=ws.name,
                timezone=ws.timezone,
                created_at=ws.created_at,
                role=role.value,
            )
            for ws, role in memberships
            if identity.restricted_workspace_id in (None, ws.id)
        ],
    )


@router.get("/workspaces", response_model=list[WorkspaceOut])
def api_workspaces(session: DbSession, identity: CurrentApiIdentity) -> list[WorkspaceOut]:
    return [
        WorkspaceOut(
            id=ws.id,
            slug=ws.slug,
            name=ws.name,
            timezone=ws.timezone,
            created_at=ws.created_at,
            role=role.value,
        )
        for ws, role in service.workspaces_of(session, identity.user)
        if identity.restricted_workspace_id in (None, ws.id)
    ]


@router.post("/workspaces", response_model=WorkspaceOut, status_code=201)
def api_create_workspace(
    body: WorkspaceCreate, session: DbSession, identity: CurrentApiIdentity
) -> WorkspaceOut:
    if identity.restricted:
        # A token scoped to one client must not reach beyond it, not even into a new one.
        raise PermissionDenied(
            "this API token is restricted to one workspace and cannot create workspaces: "
            "use a token without a workspace restriction"
        )
    workspace = service.create_workspace(
        session, body.slug, name=body.name, timezone=body.timezone, owner=identity.user
    )
    return WorkspaceOut.model_validate(workspace).model_copy(update={"role": "owner"})


@router.get("/workspaces/{workspace}", response_model=WorkspaceOut)
def api_workspace(access: ApiAccess) -> WorkspaceOut:
    return WorkspaceOut.model_validate(access.workspace).model_copy(
        update={"role": access.role.value}
    )


@router.patch("/workspaces/{workspace}", response_model=WorkspaceOut)
def api_update_workspace(
    body: WorkspaceUpdate, session: DbSession, access: ApiAccess
) -> WorkspaceOut:
    workspace = service.update_workspace(session, access, name=body.name, timezone=body.timezone)
    return WorkspaceOut.model_validate(workspace).model_copy(update={"role": access.role.value})


@router.delete("/workspaces/{workspace}", status_code=204)
def api_delete_workspace(
    session: DbSession,
    access: ApiAccess,
    confirm: Annotated[str, Query(description="The workspace's slug, to confirm")] = "",
) -> Response:
    """Delete the workspace and all its data (owners only): `?confirm=<slug>`."""
    service.delete_workspace(session, access, confirm=confirm)
    return Response(status_code=204)


@router.get("/workspaces/{workspace}/members", response_model=list[MemberOut])
def api_members(session: DbSession, access: ApiAccess) -> list[MemberOut]:
    return [
        MemberOut(user_id=m.user_id, email=m.email, display_name=m.display_name, role=m.role.value)
        for m in service.list_members(session, access)
    ]


@router.post(
    "/workspaces/{workspace}/members",
    response_model=MemberOut,
    status_code=201,
    responses={
        202: {
            "model": InvitationCreated,
            "description": "Invited: the address is not a member of a workspace you "
            "administer, so an invitation link was made (and e-mailed when SMTP is set). "
            "The answer is the same whether or not the address has an account.",
        }
    },
)
def api_add_member(
    body: MemberCreate,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    access: ApiAccess,
) -> MemberOut | JSONResponse:
    """Add a colleague (201), or invite anyone else (202)."""
    language = getattr(request.state, "language", "en")
    outcome = invitations.add_member_or_invite(
        session,
        access,
        email=body.email,
        role=body.role,
        password=body.password,
        display_name=body.display_name,
        settings=settings,
        base_url=public_base_url(request),
        gettext=translations(language).gettext,
        language=language,
    )
    if isinstance(outcome, invitations.IssuedInvitation):
        created = InvitationCreated(
            **invitation_out(outcome.invitation).model_dump(),
            url=outcome.url,
            emailed=outcome.emailed,
        )
        return JSONResponse(created.model_dump(mode="json"), status_code=202)
    return MemberOut(
        user_id=outcome.user_id,
        email=outcome.email,
        display_name=outcome.display_name,
        role=outcome.role.value,
    )


def invitation_out(invitation: Invitation) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        status=invitations.status_of(invitation).value,
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
        invited_by_user_id=invitation.invited_by_id,
    )


@router.get("/workspaces/{workspace}/invitations", response_model=list[InvitationOut])
def api_invitations(
    session: DbSession,
    access: ApiAccess,
    include_closed: Annotated[
        bool, Query(description="Also accepted, revoked and expired invitations")
    ] = False,
) -> list[InvitationOut]:
    """The workspace's invitations, newest first (admins)."""
    return [
        invitation_out(invitation)
        for invitation in invitations.list_invitations(
            session, access, include_closed=include_closed
        )
    ]


@router.delete("/workspaces/{workspace}/invitations/{invitation_id}", status_code=204)
def api_revoke_invitation(invitation_id: DbId, session: DbSession, access: ApiAccess) -> Response:
    """Revoke a pending invitation: its link stops working (admins)."""
    invitations.revoke_invitation(session, access, invitation_id)
    return Response(status_code=204)


@router.patch("/workspaces/{workspace}/members/{user_id}", response_model=MemberOut)
def api_update_member(
    user_id: DbId, body: MemberUpdate, session: DbSession, access: ApiAccess
) -> MemberOut:
    member = service.set_member_role(session, access, user_id=user_id, role=body.role)
    return MemberOut(
        user_id=member.user_id,
        email=member.email,
        display_name=member.display_name,
        role=member.role.value,
    )


@router.delete("/workspaces/{workspace}/members/{user_id}", status_code=204)
def api_remove_member(user_id: DbId, session: DbSession, access: ApiAccess) -> Response:
    service.remove_member(session, access, user_id=user_id)
    return Response(status_code=204)


@router.get("/workspaces/{workspace}/audit", response_model=list[AuditEventOut])
def api_audit(session: DbSession, access: ApiAccess, limit: int = 100) -> list[AuditEventOut]:
    access.require(Role.ADMIN, "read the audit log")
    return [
        AuditEventOut.model_validate(event)
        for event in audit.recent(session, access.workspace_id, min(max(limit, 1), 1000))
    ]


@router.get("/tokens", response_model=list[TokenOut])
def api_tokens(session: DbSession, identity: CurrentApiIdentity) -> list[TokenOut]:
    return [
        TokenOut.model_validate(t)
        for t in tokens.list_tokens(session, identity.user, identity.scope)
    ]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def api_create_token(
    body: TokenCreate, session: DbSession, identity: CurrentApiIdentity
) -> TokenCreated:
    issued = tokens.create_token(
        session,
        identity.user,
        name=body.name,
        expires_in_days=body.expires_in_days,
        workspace=body.workspace,
        scope=identity.scope,
    )
    return TokenCreated(
        **TokenOut.model_validate(issued.token).model_dump(), token=issued.plaintext
    )


@router.delete("/tokens/{token_id}", status_code=204)
def api_revoke_token(token_id: DbId, session: DbSession, identity: CurrentApiIdentity) -> Response:
    tokens.revoke_token(session, identity.user, token_id, identity.scope)
    return Response(status_code=204)
