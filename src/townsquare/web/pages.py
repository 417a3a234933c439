"""Pages of the shell: home, set-up, log in/out, language, API docs, sections to come."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import text

from townsquare import validation
from townsquare.errors import Conflict, TownsquareError, ValidationError
from townsquare.web import limits
from townsquare.web.deps import (
    AppSettings,
    DbSession,
    MaybeUser,
    PageAccess,
    get_database,
)
from townsquare.web.errors import status_for
from townsquare.web.i18n import LANGUAGES
from townsquare.web.security import LANGUAGE_COOKIE, SESSION_COOKIE, verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces import service, sessions

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

# Sections of the product shown in the navigation before they are built.
UPCOMING_SECTIONS: dict[str, str] = {}


def _safe_next(next_url: str | None) -> str:
    # Only local paths: an attacker's link must not bounce a fresh login elsewhere.
    if next_url and next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    return "/"


@router.get("/healthz")
def healthz(request: Request) -> dict[str, str]:
    with get_database(request).session() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/")
def home(request: Request, session: DbSession, user: MaybeUser) -> Response:
    if service.needs_setup(session):
        return RedirectResponse("/setup", status_code=303)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    memberships = service.workspaces_of(session, user)
    if len(memberships) == 1:
        return RedirectResponse(f"/w/{memberships[0][0].slug}/", status_code=303)
    return RedirectResponse("/workspaces", status_code=303)


@router.get("/setup")
def setup_form(request: Request, session: DbSession, user: MaybeUser) -> Response:
    if not service.needs_setup(session):
        return RedirectResponse("/login", status_code=303)
    return render(request, "setup.html", {"form": {}, "error": None})


@router.post("/setup")
def setup_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: MaybeUser,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_confirm: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    workspace_slug: Annotated[str, Form()] = "",
    workspace_name: Annotated[str, Form()] = "",
) -> Response:
    if not service.needs_setup(session):
        return RedirectResponse("/login", status_code=303)
    form = {
        "email": email,
        "display_name": display_name,
        "workspace_slug": workspace_slug,
        "workspace_name": workspace_name,
    }
    try:
        if password != password_confirm:
            raise ValidationError(
                "the two passwords differ: type the same one twice", field="password_confirm"
            )
        # Check the optional workspace before the user is written: a refused slug must not
        # leave an owner behind and the set-up page gone (nothing half-written).
        if workspace_slug.strip():
            slug = validation.workspace_slug(workspace_slug)
            if workspace_name:
                validation.non_empty(workspace_name, field="name")
            if slug in {workspace.slug for workspace in service.list_workspaces(session)}:
                raise Conflict(
                    "workspace slug '%(slug)s' is already taken: choose another slug",
                    params={"slug": slug},
                    field="workspace_slug",
                )
        owner = service.create_user(
            session,
            email=email,
            password=password,
            display_name=display_name,
            is_admin=True,
            language=request.state.language,
        )
        if workspace_slug.strip():
            service.create_workspace(
                session, workspace_slug, name=workspace_name or None, owner=owner
            )
    except TownsquareError as error:
        return render(
            request, "setup.html", {"form": form, "error": error}, status_code=status_for(error)
        )
    return _open_session(request, session, settings, email, password)


def _open_session(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    email: str,
    password: str,
    next_url: str = "/",
) -> Response:
    _, key = sessions.login(
        session,
        email=email,
        password=password,
        client=limits.client_key(request),
        policy=limits.login_policy(settings),
        counter=limits.rate_counter(request),
    )
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        key,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_days * 86400,
    )
    return response


@router.get("/login")
def login_form(
    request: Request, session: DbSession, user: MaybeUser, next: str | None = None
) -> Response:
    if service.needs_setup(session):
        return RedirectResponse("/setup", status_code=303)
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": next or "", "email": "", "error": None})


@router.post("/login")
def login_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: MaybeUser,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    try:
        return _open_session(request, session, settings, email, password, next)
    except TownsquareError as error:
        status = status_for(error)
        headers = {"Retry-After": str(error.retry_after)} if hasattr(error, "retry_after") else None
        return render(
            request,
            "login.html",
            {"next": next, "email": email, "error": error},
            status_code=status,
            headers=headers,
        )


@router.post("/logout")
def logout(request: Request, session: DbSession) -> Response:
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        sessions.logout(session, key)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/language")
def set_language(
    request: Request,
    session: DbSession,
    user: MaybeUser,
    language: Annotated[str, Form()] = "en",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if language not in LANGUAGES:
        language = "en"
    if user is not None:
        service.set_language(session, user, language)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, samesite="lax", max_age=365 * 86400)
    return response


@router.get("/api/docs")
def api_docs() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="townsquare API",
        swagger_js_url="/static/vendor/swagger-ui-bundle-5.35.0.js",
        swagger_css_url="/static/vendor/swagger-ui-5.35.0.css",
        swagger_favicon_url="/static/favicon.svg",
    )
    # Swagger UI starts from an inline script: allow it on this page only.
    page.headers["content-security-policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    return page


def _upcoming_page(section: str) -> object:
    def page(request: Request, access: PageAccess) -> Response:
        return render(
            request,
            "upcoming.html",
            {"section": section, "section_label": UPCOMING_SECTIONS[section]},
        )

    return page


for _section in UPCOMING_SECTIONS:
    router.add_api_route(
        f"/w/{{slug}}/{_section}",
        _upcoming_page(_section),  # type: ignore[arg-type]
        methods=["GET"],
        name=f"upcoming_{_section}",
    )
