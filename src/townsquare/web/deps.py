"""Request dependencies: the database session, who is calling, and their workspace access.

Pages and API routes declare what they need:

    @router.get("/w/{slug}/things")
    def things(access: PageAccess, session: DbSession) -> Response: ...

    @router.get("/api/v1/workspaces/{workspace}/things")
    def api_things(access: ApiAccess, session: DbSession) -> list[Thing]: ...

``PageAccess``/``ApiAccess`` answer 404 when the caller is not a member of the workspace,
so one client never learns another's workspace exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from townsquare.config import Settings
from townsquare.db import Database
from townsquare.errors import AuthenticationError, NotFound
from townsquare.web.i18n import choose_language
from townsquare.web.security import LANGUAGE_COOKIE, SESSION_COOKIE, verify_csrf
from townsquare.workspaces import sessions, tokens
from townsquare.workspaces.models import User, Workspace
from townsquare.workspaces.service import WorkspaceAccess, access_for


class LoginRequired(Exception):
    """A page needs a logged-in user; the app turns this into a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class SetupRequired(Exception):
    """No user exists yet; the app turns this into a redirect to /setup."""


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_session(request: Request) -> Iterator[Session]:
    with get_database(request).session() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]
AppSettings = Annotated[Settings, Depends(get_settings)]


def _set_language(request: Request, user: User | None) -> None:
    request.state.language = choose_language(
        user.language if user else None,
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def optional_user(request: Request, session: DbSession) -> User | None:
    """The logged-in user of a browser request, or None."""
    key = request.cookies.get(SESSION_COOKIE)
    user = sessions.user_for_session(session, key) if key else None
    request.state.user = user
    _set_language(request, user)
    return user


def require_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target, safe="/?=&"))
    return user


CurrentUser = Annotated[User, Depends(require_user)]
MaybeUser = Annotated[User | None, Depends(optional_user)]


def page_access(
    slug: str, request: Request, session: DbSession, user: CurrentUser
) -> WorkspaceAccess:
    access = access_for(session, user, slug)
    request.state.access = access
    return access


PageAccess = Annotated[WorkspaceAccess, Depends(page_access)]


class ApiIdentity:
    """Who calls the API: a user, possibly through a token restricted to one workspace."""

    def __init__(
        self,
        user: User,
        restricted_workspace_id: int | None,
        token_expires_at: datetime | None = None,
    ) -> None:
        self.user = user
        self.restricted_workspace_id = restricted_workspace_id
        self.token_expires_at = token_expires_at

    @property
    def scope(self) -> tokens.TokenScope:
        """What tokens created or managed through this identity may reach."""
        return tokens.TokenScope(self.restricted_workspace_id, self.token_expires_at)

    @property
    def restricted(self) -> bool:
        return self.restricted_workspace_id is not None


# Declares the bearer scheme in the OpenAPI document (the "Authorize" button of /api/docs);
# the header itself is read below, to answer every malformed case with a clear message.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from Settings → API tokens or `townsquare token create`: "
    "`Authorization: Bearer tsq_…`",
)


async def api_identity(
    request: Request,
    session: DbSession,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> ApiIdentity:
    """A bearer token, or the browser's session cookie (then unsafe methods need CSRF).

    Only a valid bearer token skips the CSRF check. Another scheme (a browser sends HTTP
    Basic by itself behind a proxy that asks for it) is no authentication here: the session
    cookie, with its CSRF check, decides.
    """
    header = request.headers.get("authorization", "")
    key = request.cookies.get(SESSION_COOKIE)
    scheme, _, credentials = header.partition(" ")
    if header and scheme.lower() != "bearer" and not key:
        raise AuthenticationError(
            "unsupported Authorization header: send 'Authorization: Bearer tsq_…'"
        )
    if scheme.lower() == "bearer":
        if not credentials.strip():
            raise AuthenticationError(
                "unsupported Authorization header: send 'Authorization: Bearer tsq_…'"
            )
        identity = tokens.authenticate_token(session, credentials.strip())
        request.state.user = identity.user
        _set_language(request, identity.user)
        return ApiIdentity(identity.user, identity.workspace_id, identity.expires_at)
    user = sessions.user_for_session(session, key) if key else None
    if user is None:
        raise AuthenticationError(
            "authentication required: send 'Authorization: Bearer <token>' with a token from "
            "Settings → API tokens"
        )
    await verify_csrf(request)
    request.state.user = user
    _set_language(request, user)
    return ApiIdentity(user, None)


CurrentApiIdentity = Annotated[ApiIdentity, Depends(api_identity)]


def api_access(
    workspace: str, request: Request, session: DbSession, identity: CurrentApiIdentity
) -> WorkspaceAccess:
    restricted = identity.restricted_workspace_id
    if restricted is not None:
        # Checked before membership, so the answer is the same whether the user has such a
        # workspace or not: a token does not reveal its owner's other workspaces.
        allowed = session.get(Workspace, restricted)
        if allowed is None or allowed.slug != workspace:
            raise NotFound(
                "no workspace '%(workspace)s' among this token's",
                params={"workspace": workspace},
                field="workspace",
            )
    access = access_for(session, identity.user, workspace)
    request.state.access = access
    return access


ApiAccess = Annotated[WorkspaceAccess, Depends(api_access)]


def public_base_url(request: Request) -> str:
    """Where people reach the web app: TOWNSQUARE_BASE_URL, else the URL of this request."""
    configured = get_settings(request).base_url
    return (configured or str(request.base_url)).rstrip("/")
