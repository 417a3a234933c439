"""Pages and REST API of workspaces, members, account settings and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from townsquare.errors import PermissionDenied, TownsquareError
from townsquare.web.deps import ApiAccess, CurrentApiIdentity, CurrentUser, DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces import audit, service, tokens
from townsquare.workspaces.roles import ROLE_ORDER, Role
from townsquare.workspaces.schemas import (
    AuditEventOut,
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

pages = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
api = APIRouter(tags=["workspaces"])


# --- pages -------------------------------------------------------------------------------


@pages.get("/workspaces")
def workspaces_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return render(
        request,
        "workspaces/list.html",
        {"memberships": service.workspaces_of(session, user), "error": None, "form": {}},
    )


@pages.post("/workspaces")
def workspaces_create(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    slug: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "UTC",
) -> Response:
    try:
        workspace = service.create_workspace(
            session, slug, name=name or None, timezone=timezone or "UTC", owner=user
        )
    except TownsquareError as error:
        return render(
            request,
            "workspaces/list.html",
            {
                "memberships": service.workspaces_of(session, user),
                "error": error,
                "form": {"slug": slug, "name": name, "timezone": timezone},
            },
            status_code=status_for(error),
        )
    return RedirectResponse(f"/w/{workspace.slug}/", status_code=303)


@pages.get("/w/{slug}/")
def workspace_home(request: Request, session: DbSession, access: PageAccess) -> Response:
    from townsquare.channels.service import list_channels

    return render(
        request,
        "workspaces/home.html",
        {
            "channels": list_channels(session, access),
            "events": audit.recent(session, access.workspace_id, limit=10),
        },
    )


@pages.get("/w/{slug}/members")
def members_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    return _members(request, session, access)


def _members(
    request: Request,
    session: DbSession,
    access: service.WorkspaceAccess,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "workspaces/members.html",
        {
            "members": service.list_members(session, access),
            "roles": ROLE_ORDER,
            "error": error,
            "form": form or {},
        },
        status_code=status_for(error) if error else 200,
    )


@pages.post("/w/{slug}/members")
def members_add(
    request: Request,
    session: DbSession,
    access: PageAccess,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
) -> Response:
    try:
        _add_member(session, access, email, role, password or None, display_name or None)
    except TownsquareError as error:
        return _members(
            request,
            session,
            access,
            error,
            {"email": email, "role": role, "display_name": display_name},
        )
    return RedirectResponse(f"/w/{access.workspace.slug}/members", status_code=303)


@pages.post("/w/{slug}/members/{user_id}/remove")
def members_remove(
    request: Request, session: DbSession, access: PageAccess, user_id: int
) -> Response:
    try:
        service.remove_member(session, access, user_id=user_id)
    except TownsquareError as error:
        return _members(request, session, access, error)
    return RedirectResponse(f"/w/{access.workspace.slug}/members", status_code=303)


@pages.post("/w/{slug}/members/{user_id}/role")
def members_role(
    request: Request,
    session: DbSession,
    access: PageAccess,
    user_id: int,
    role: Annotated[str, Form()] = "viewer",
) -> Response:
    try:
        service.set_member_role(session, access, user_id=user_id, role=role)
    except TownsquareError as error:
        return _members(request, session, access, error)
    return RedirectResponse(f"/w/{access.workspace.slug}/members", status_code=303)


@pages.get("/w/{slug}/settings")
def workspace_settings_page(request: Request, access: PageAccess) -> Response:
    return render(request, "workspaces/settings.html", {"error": None, "saved": False})


@pages.post("/w/{slug}/settings")
def workspace_settings_save(
    request: Request,
    session: DbSession,
    access: PageAccess,
    name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    try:
        service.update_workspace(session, access, name=name, timezone=timezone)
    except TownsquareError as error:
        return render(
            request,
            "workspaces/settings.html",
            {"error": error, "saved": False},
            status_code=status_for(error),
        )
    return RedirectResponse(f"/w/{access.workspace.slug}/settings?saved=1", status_code=303)


@pages.get("/settings/account")
def account_page(request: Request, user: CurrentUser) -> Response:
    return render(
        request,
        "workspaces/account.html",
        {"error": None, "saved": request.query_params.get("saved") == "1"},
    )


@pages.post("/settings/account/password")
def account_password(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    from townsquare.errors import ValidationError
    from townsquare.web.pages import _open_session

    try:
        if new != confirm:
            raise ValidationError("the two new passwords differ", field="confirm")
        service.change_password(session, user, current=current, new=new)
    except TownsquareError as error:
        return render(
            request,
            "workspaces/account.html",
            {"error": error, "saved": False},
            status_code=status_for(error),
        )
    # Changing the password ends every session, this one included: open a fresh one.
    return _open_session(
        request, session, request.app.state.settings, user.email, new, "/settings/account?saved=1"
    )


@pages.get("/settings/tokens")
def tokens_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _tokens(request, session, user)


def _tokens(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    created: tokens.IssuedToken | None = None,
    error: TownsquareError | None = None,
) -> Response:
    return render(
        request,
        "workspaces/tokens.html",
        {
            "tokens": tokens.list_tokens(session, user),
            "created": created,
            "error": error,
            "memberships": service.workspaces_of(session, user),
        },
        status_code=status_for(error) if error else 200,
    )


@pages.post("/settings/tokens")
def tokens_create(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    name: Annotated[str, Form()] = "",
    expires_in_days: Annotated[str, Form()] = "90",
    workspace: Annotated[str, Form()] = "",
) -> Response:
    from townsquare.errors import ValidationError

    try:
        days = int(expires_in_days) if expires_in_days.strip() else None
    except ValueError:
        return _tokens(
            request,
            session,
            user,
            error=ValidationError(
                "expires_in_days must be a whole number of days", field="expires_in_days"
            ),
        )
    try:
        issued = tokens.create_token(
            session, user, name=name, expires_in_days=days, workspace=workspace or None
        )
    except TownsquareError as error:
        return _tokens(request, session, user, error=error)
    return _tokens(request, session, user, created=issued)


@pages.post("/settings/tokens/{token_id}/revoke")
def tokens_revoke(
    request: Request, session: DbSession, user: CurrentUser, token_id: int
) -> Response:
    tokens.revoke_token(session, user, token_id)
    return RedirectResponse("/settings/tokens", status_code=303)


# --- REST API ----------------------------------------------------------------------------


def _add_member(
    session: DbSession,
    access: service.WorkspaceAccess,
    email: str,
    role: str,
    password: str | None,
    display_name: str | None,
) -> service.Member:
    """Add an existing user, or create them first when a password is given."""
    access.require(Role.ADMIN, "add members")
    if password and service.get_user_by_email(session, email) is None:
        user = service.create_user(
            session,
            email=email,
            password=password,
            display_name=display_name,
            workspace=access.workspace.slug,
            role=role,
            actor=access.user,
        )
        return service.Member(user.id, user.email, user.display_name, Role.parse(role))
    return service.add_member(session, access, email=email, role=role)


@api.get("/me", response_model=UserOut)
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


@api.get("/workspaces", response_model=list[WorkspaceOut])
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


@api.post("/workspaces", response_model=WorkspaceOut, status_code=201)
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


@api.get("/workspaces/{workspace}", response_model=WorkspaceOut)
def api_workspace(access: ApiAccess) -> WorkspaceOut:
    return WorkspaceOut.model_validate(access.workspace).model_copy(
        update={"role": access.role.value}
    )


@api.patch("/workspaces/{workspace}", response_model=WorkspaceOut)
def api_update_workspace(
    body: WorkspaceUpdate, session: DbSession, access: ApiAccess
) -> WorkspaceOut:
    workspace = service.update_workspace(session, access, name=body.name, timezone=body.timezone)
    return WorkspaceOut.model_validate(workspace).model_copy(update={"role": access.role.value})


@api.delete("/workspaces/{workspace}", status_code=204)
def api_delete_workspace(
    session: DbSession,
    access: ApiAccess,
    confirm: Annotated[str, Query(description="The workspace's slug, to confirm")] = "",
) -> Response:
    """Delete the workspace and all its data (owners only): `?confirm=<slug>`."""
    service.delete_workspace(session, access, confirm=confirm)
    return Response(status_code=204)


@api.get("/workspaces/{workspace}/members", response_model=list[MemberOut])
def api_members(session: DbSession, access: ApiAccess) -> list[MemberOut]:
    return [
        MemberOut(user_id=m.user_id, email=m.email, display_name=m.display_name, role=m.role.value)
        for m in service.list_members(session, access)
    ]


@api.post("/workspaces/{workspace}/members", response_model=MemberOut, status_code=201)
def api_add_member(body: MemberCreate, session: DbSession, access: ApiAccess) -> MemberOut:
    member = _add_member(session, access, body.email, body.role, body.password, body.display_name)
    return MemberOut(
        user_id=member.user_id,
        email=member.email,
        display_name=member.display_name,
        role=member.role.value,
    )


@api.patch("/workspaces/{workspace}/members/{user_id}", response_model=MemberOut)
def api_update_member(
    user_id: int, body: MemberUpdate, session: DbSession, access: ApiAccess
) -> MemberOut:
    member = service.set_member_role(session, access, user_id=user_id, role=body.role)
    return MemberOut(
        user_id=member.user_id,
        email=member.email,
        display_name=member.display_name,
        role=member.role.value,
    )


@api.delete("/workspaces/{workspace}/members/{user_id}", status_code=204)
def api_remove_member(user_id: int, session: DbSession, access: ApiAccess) -> Response:
    service.remove_member(session, access, user_id=user_id)
    return Response(status_code=204)


@api.get("/workspaces/{workspace}/audit", response_model=list[AuditEventOut])
def api_audit(session: DbSession, access: ApiAccess, limit: int = 100) -> list[AuditEventOut]:
    access.require(Role.ADMIN, "read the audit log")
    return [
        AuditEventOut.model_validate(event)
        for event in audit.recent(session, access.workspace_id, min(max(limit, 1), 1000))
    ]


@api.get("/tokens", response_model=list[TokenOut])
def api_tokens(session: DbSession, identity: CurrentApiIdentity) -> list[TokenOut]:
    return [
        TokenOut.model_validate(t)
        for t in tokens.list_tokens(session, identity.user, identity.scope)
    ]


@api.post("/tokens", response_model=TokenCreated, status_code=201)
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


@api.delete("/tokens/{token_id}", status_code=204)
def api_revoke_token(token_id: int, session: DbSession, identity: CurrentApiIdentity) -> Response:
    tokens.revoke_token(session, identity.user, token_id, identity.scope)
    return Response(status_code=204)
