"""Web pages of workspaces, members, account settings and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from townsquare.errors import TownsquareError
from townsquare.validation import DbId
from townsquare.web import flash
from townsquare.web.deps import CurrentUser, DbSession, PageAccess, public_base_url
from townsquare.web.errors import status_for
from townsquare.web.i18n import translations
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces import audit, invitations, service, tokens
from townsquare.workspaces.roles import ROLE_ORDER

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/workspaces")
def workspaces_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return render(
        request,
        "workspaces/list.html",
        {"memberships": service.workspaces_of(session, user), "error": None, "form": {}},
    )


@router.post("/workspaces")
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
    return flash.redirect(f"/w/{workspace.slug}/", "workspace.created", name=workspace.name)


@router.get("/w/{slug}/")
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


@router.get("/w/{slug}/members")
def members_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    return _members(request, session, access)


def _members(
    request: Request,
    session: DbSession,
    access: service.WorkspaceAccess,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
    invited: invitations.IssuedInvitation | None = None,
) -> Response:
    from babel.dates import format_date

    from townsquare.workspaces.roles import Role

    manager = access.role.at_least(Role.ADMIN)
    language = getattr(request.state, "language", "en")
    return render(
        request,
        "workspaces/members.html",
        {
            "members": service.list_members(session, access),
            "invitations": invitations.list_invitations(session, access) if manager else [],
            "invited": invited,
            "format_day": lambda day: format_date(day, format="medium", locale=language),
            "roles": ROLE_ORDER,
            "error": error,
            "form": form or {},
        },
        status_code=status_for(error) if error else 200,
    )


@router.post("/w/{slug}/members")
def members_add(
    request: Request,
    session: DbSession,
    access: PageAccess,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
) -> Response:
    language = request.state.language
    try:
        outcome = invitations.add_member_or_invite(
            session,
            access,
            email=email,
            role=role,
            password=password or None,
            display_name=display_name or None,
            settings=request.app.state.settings,
            base_url=public_base_url(request),
            gettext=translations(language).gettext,
            language=language,
        )
    except TownsquareError as error:
        return _members(
            request,
            session,
            access,
            error,
            {"email": email, "role": role, "display_name": display_name},
        )
    if isinstance(outcome, invitations.IssuedInvitation):
        # The link is shown this once (it is stored as a hash): no redirect that would lose it.
        return _members(request, session, access, invited=outcome)
    return flash.redirect(
        f"/w/{access.workspace.slug}/members", "member.added", email=email.strip().lower()
    )


@router.post("/w/{slug}/invitations/{invitation_id}/revoke")
def invitations_revoke(
    request: Request, session: DbSession, access: PageAccess, invitation_id: DbId
) -> Response:
    try:
        invitations.revoke_invitation(session, access, invitation_id)
    except TownsquareError as error:
        return _members(request, session, access, error)
    return RedirectResponse(f"/w/{access.workspace.slug}/members", status_code=303)


@router.post("/w/{slug}/members/{user_id}/remove")
def members_remove(
    request: Request, session: DbSession, access: PageAccess, user_id: DbId
) -> Response:
    emails = {member.user_id: member.email for member in service.list_members(session, access)}
    try:
        service.remove_member(session, access, user_id=user_id)
    except TownsquareError as error:
        return _members(request, session, access, error)
    return flash.redirect(
        f"/w/{access.workspace.slug}/members", "member.removed", email=emails.get(user_id, "")
    )


@router.post("/w/{slug}/members/{user_id}/role")
def members_role(
    request: Request,
    session: DbSession,
    access: PageAccess,
    user_id: DbId,
    role: Annotated[str, Form()] = "viewer",
) -> Response:
    try:
        member = service.set_member_role(session, access, user_id=user_id, role=role)
    except TownsquareError as error:
        return _members(request, session, access, error)
    return flash.redirect(f"/w/{access.workspace.slug}/members", "member.role", email=member.email)


@router.get("/w/{slug}/settings")
def workspace_settings_page(request: Request, access: PageAccess) -> Response:
    return render(request, "workspaces/settings.html", {"error": None, "saved": False})


@router.post("/w/{slug}/settings")
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


@router.get("/settings/account")
def account_page(request: Request, user: CurrentUser) -> Response:
    return render(
        request,
        "workspaces/account.html",
        {"error": None, "saved": request.query_params.get("saved") == "1"},
    )


@router.post("/settings/account/password")
def account_password(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    from townsquare.errors import ValidationError
    from townsquare.web import limits
    from townsquare.web.pages import _open_session

    try:
        if new != confirm:
            raise ValidationError("the two new passwords differ", field="confirm")
        service.change_password(
            session,
            user,
            current=current,
            new=new,
            client=limits.client_key(request),
            policy=limits.login_policy(request.app.state.settings),
            counter=limits.rate_counter(request),
        )
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


@router.get("/settings/tokens")
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


@router.post("/settings/tokens")
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


@router.post("/settings/tokens/{token_id}/revoke")
def tokens_revoke(
    request: Request, session: DbSession, user: CurrentUser, token_id: DbId
) -> Response:
    tokens.revoke_token(session, user, token_id)
    return RedirectResponse("/settings/tokens", status_code=303)
