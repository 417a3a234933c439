"""The page an invited person opens: ``/invitations/{token}`` (choose a password or accept)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from townsquare.errors import TownsquareError, ValidationError
from townsquare.web.deps import AppSettings, DbSession, MaybeUser
from townsquare.web.errors import status_for
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces import invitations
from townsquare.workspaces.invitation_models import Invitation

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _page(
    request: Request,
    token: str,
    invitation: Invitation | None,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "workspaces/invitation.html",
        {
            "token": token,
            "invitation": invitation,
            "workspace_name": invitation.workspace.name if invitation else "",
            "error": error,
            "form": form or {},
        },
        status_code=status_for(error) if error else 200,
    )


@router.get("/invitations/{token}")
def invitation_page(request: Request, token: str, session: DbSession, user: MaybeUser) -> Response:
    try:
        invitation = invitations.find_pending(session, token)
    except TownsquareError as error:
        return _page(request, token, None, error)
    return _page(request, token, invitation)


@router.post("/invitations/{token}")
def invitation_accept(
    request: Request,
    token: str,
    session: DbSession,
    settings: AppSettings,
    user: MaybeUser,
    password: Annotated[str, Form()] = "",
    password_confirm: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
) -> Response:
    from townsquare.web.pages import _open_session

    try:
        invitation = invitations.find_pending(session, token)
    except TownsquareError as error:
        return _page(request, token, None, error)
    slug, email = invitation.workspace.slug, invitation.email
    try:
        if user is not None:
            invitations.accept_as(session, token, user)
            return RedirectResponse(f"/w/{slug}/", status_code=303)
        if password != password_confirm:
            raise ValidationError(
                "the two passwords differ: type the same one twice", field="password_confirm"
            )
        invitations.accept_with_new_account(
            session,
            token,
            password=password,
            display_name=display_name,
            language=request.state.language,
        )
    except TownsquareError as error:
        session.rollback()
        return _page(
            request,
            token,
            invitations.find_pending_or_none(session, token),
            error,
            {"display_name": display_name},
        )
    return _open_session(request, session, settings, email, password, f"/w/{slug}/")
