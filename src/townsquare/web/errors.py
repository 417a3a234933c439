"""HTTP statuses for townsquare's errors, in one place, and the handlers that render them."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from townsquare import errors
from townsquare.messages import Message
from townsquare.web.json_body import LoneSurrogate

logger = logging.getLogger(__name__)

STATUS_CODES: dict[type[errors.TownsquareError], int] = {
    errors.TooLarge: 413,
    errors.UnknownHost: 422,
    errors.ValidationError: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.AuthenticationError: 401,
    errors.PermissionDenied: 403,
    errors.RateLimited: 429,
    errors.NetworkError: 502,
}

ERROR_TYPES: dict[type[errors.TownsquareError], str] = {
    errors.TooLarge: "too_large",
    errors.UnknownHost: "validation_error",
    errors.ValidationError: "validation_error",
    errors.NotFound: "not_found",
    errors.Conflict: "conflict",
    errors.AuthenticationError: "authentication_error",
    errors.PermissionDenied: "permission_denied",
    errors.RateLimited: "rate_limited",
    errors.NetworkError: "network_error",
}


HTTP_ERROR_TYPES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def status_for(error: errors.TownsquareError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_CODES:
            return STATUS_CODES[kind]
    return 400


def error_body(error: errors.TownsquareError) -> dict[str, Any]:
    kind = next(
        (ERROR_TYPES[k] for k in type(error).__mro__ if k in ERROR_TYPES),
        "error",
    )
    # Always the same keys, so that clients can read any error the same way. The message is
    # English; message_id (its gettext template) and params let a client translate it.
    problems = error.problems if isinstance(error, errors.ValidationError) else []
    body: dict[str, Any] = {
        "type": kind,
        "message": str(error.message),
        "field": error.field or None,
        "problems": [_problem_json(item) for item in problems],
        "message_id": error.message.id,
        "params": error.message.json_params(),
    }
    return {"error": body}


def _problem_json(item: dict[str, object]) -> dict[str, object]:
    text = item.get("message")
    message = text if isinstance(text, Message) else Message(str(text or ""))
    values = {
        key: str(value) if isinstance(value, Message) else value for key, value in item.items()
    }
    return {**values, "message_id": message.id, "params": message.json_params()}


def http_error_body(kind: str, message: Message) -> dict[str, Any]:
    """The error object of a routing error (no such route, method not allowed)."""
    return {
        "error": {
            "type": kind,
            "message": str(message),
            "field": None,
            "problems": [],
            "message_id": message.id,
            "params": message.json_params(),
        }
    }


def wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith("/api/")
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


async def townsquare_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.TownsquareError)
    status = status_for(exc)
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.AuthenticationError) and request.url.path.startswith("/api/"):
        headers["WWW-Authenticate"] = 'Bearer realm="townsquare"'
    if wants_json(request):
        return JSONResponse(error_body(exc), status_code=status, headers=headers)
    return error_page(request, status, exc.message, headers=headers, problems=_problems(exc))


def _problems(error: errors.TownsquareError) -> list[dict[str, object]]:
    return list(error.problems) if isinstance(error, errors.ValidationError) else []


async def request_validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems: list[dict[str, object]] = []
    for item in exc.errors():
        if item.get("type") == "json_invalid":
            reason = (item.get("ctx") or {}).get("error", "")
            problems.append(
                errors.problem(
                    "", "the request body is not valid JSON (%(reason)s)", reason=str(reason)
                )
            )
            continue
        location = [
            str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")
        ]
        problems.append({"field": ".".join(location), "message": validation_message(item)})
    first = problems[0] if problems else {"field": "", "message": "invalid request"}
    field, text = str(first["field"]), first["message"]
    if field:
        error = errors.ValidationError(
            "%(field)s: %(problem)s",
            params={"field": field, "problem": text},
            field=field,
            problems=problems,
        )
    else:
        error = errors.ValidationError(
            text if isinstance(text, Message) else str(text), problems=problems
        )
    return await townsquare_error_handler(request, error)


# pydantic's words for the common kinds of bad value, as templates with pydantic's own
# context names, so that the web can show them in French (pydantic writes English only)
# and the API keeps exactly the English it always answered.
VALIDATION_TEMPLATES = {
    "missing": Message("Field required"),
    "int_type": Message("Input should be a valid integer"),
    "int_parsing": Message("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": Message(
        "Input should be a valid integer, got a number with a fractional part"
    ),
    "float_type": Message("Input should be a valid number"),
    "float_parsing": Message("Input should be a valid number, unable to parse string as a number"),
    "bool_type": Message("Input should be a valid boolean"),
    "bool_parsing": Message("Input should be a valid boolean, unable to interpret input"),
    "string_type": Message("Input should be a valid string"),
    "list_type": Message("Input should be a valid list"),
    "dict_type": Message("Input should be a valid dictionary"),
    "model_attributes_type": Message(
        "Input should be a valid dictionary or object to extract fields from"
    ),
    "greater_than_equal": Message("Input should be greater than or equal to %(ge)s"),
    "greater_than": Message("Input should be greater than %(gt)s"),
    "less_than_equal": Message("Input should be less than or equal to %(le)s"),
    "less_than": Message("Input should be less than %(lt)s"),
    "string_too_long": Message("String should have at most %(max_length)s characters"),
    "string_too_short": Message("String should have at least %(min_length)s characters"),
    "literal_error": Message("Input should be %(expected)s"),
    "enum": Message("Input should be %(expected)s"),
}


def validation_message(item: Mapping[str, Any]) -> Message:
    """pydantic's complaint about one value as a translatable message: its template when the
    kind is a common one (and fills to pydantic's very words), else the words as they are."""
    text = str(item.get("msg") or "invalid value")
    template = VALIDATION_TEMPLATES.get(str(item.get("type")))
    if template is not None:
        ctx = item.get("ctx") or {}
        names = {part.split(")")[0] for part in template.id.split("%(")[1:]}
        try:
            message = Message(template.id, {name: ctx[name] for name in names})
        except (KeyError, TypeError, ValueError):
            return Message(text)
        if message == text:
            return message
    return Message(text)


async def database_data_error_handler(request: Request, exc: Exception) -> Response:
    """A value the database refused (a NUL character in text, a number out of range).

    Services validate what they know of; this is the safety net for the rest. The
    transaction was rolled back, so nothing was written: it is bad input, not a crash.
    """
    from sqlalchemy.exc import DataError

    assert isinstance(exc, DataError)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "invalid value"
    error = errors.ValidationError(
        "a value cannot be stored (%(reason)s): check the input, e.g. for NUL characters",
        params={"reason": reason},
    )
    return await townsquare_error_handler(request, error)


async def overflow_error_handler(request: Request, exc: Exception) -> Response:
    """A number or date past what Python, the driver or the database can hold.

    Ids are bounded where they are parsed (``validation.DbId``) and dates where they are
    read; this is the safety net for the rest: bad input (422), not a crash.
    """
    error = errors.ValidationError(
        "a number or date is out of range (ids go up to 2⁶³-1, dates up to year 9999): "
        "check the input"
    )
    return await townsquare_error_handler(request, error)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = Message(str(exc.detail))
    if exc.status_code == 413:
        # The app's body limit (TOWNSQUARE_MAX_UPLOAD_MB), hit while the body streamed in.
        from townsquare.analytics.uploads import too_large_message

        message = Message(too_large_message(request.app.state.settings))
    if isinstance(exc, LoneSurrogate):
        error = errors.ValidationError(
            "the request body holds %(escape)s, half of a character (a lone surrogate): "
            "JSON strings must be whole Unicode text",
            params={"escape": exc.escape},
            field=exc.field or None,
        )
        return await townsquare_error_handler(request, error)
    if exc.status_code == 400:
        # FastAPI answers 400 for a body it cannot decode (bytes that are not UTF-8), 422 for
        # JSON that does not parse: both are a malformed body, answered 422 like all bad input.
        error = errors.ValidationError(
            "the request body cannot be read (%(reason)s): send UTF-8 JSON",
            params={"reason": str(message)},
        )
        return await townsquare_error_handler(request, error)
    if wants_json(request):
        if exc.status_code == 404:
            message = Message(
                "no route %(path)s: see /api/docs for the API's routes", path=request.url.path
            )
        elif exc.status_code == 405:
            message = Message(
                "%(method)s is not allowed on %(path)s: see /api/docs",
                method=request.method,
                path=request.url.path,
            )
        kind = HTTP_ERROR_TYPES.get(exc.status_code, "http_error")
        return JSONResponse(
            http_error_body(kind, message),
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )
    if exc.status_code == 404 and str(exc.detail) == "Not Found":
        # Starlette's own words for a page that does not exist: say it for a human.
        message = Message("there is no page at %(path)s: check the address", path=request.url.path)
    elif exc.status_code == 405:
        message = Message("this page cannot be opened that way: go back and use its form")
    return error_page(request, exc.status_code, message, headers=dict(exc.headers or {}))


def error_page(
    request: Request,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    problems: list[dict[str, object]] | None = None,
) -> Response:
    from townsquare.web.templating import render

    context = {"status": status, "message": message, "problems": problems or []}
    if getattr(request.state, "user", None) is None:
        # No route answered (a mistyped address), so no dependency loaded who is signed in:
        # the error page still shows their header, in their language.
        try:
            _load_signed_in_from_cookie(request)
        except Exception:
            logger.debug("error page: no signed-in user from the cookie", exc_info=True)
    try:
        return render(request, "error.html", context, status_code=status, headers=headers)
    except Exception:
        # The error rolled back the request's database session, which expires the signed-in
        # user and workspace loaded by the dependencies: the page header cannot read them.
        logger.debug("error page: reloading the signed-in user", exc_info=True)
    try:
        _reload_signed_in(request)
        return render(request, "error.html", context, status_code=status, headers=headers)
    except Exception:
        logger.debug("error page without the signed-in user", exc_info=True)
    request.state.user = None
    request.state.access = None
    try:
        return render(request, "error.html", context, status_code=status, headers=headers)
    except Exception:  # the error page itself must never fail
        logger.exception("could not render the error page")
        return HTMLResponse(
            f"<h1>{status}</h1><p>{html.escape(message)}</p>", status_code=status, headers=headers
        )


def _reload_signed_in(request: Request) -> None:
    """Load the request's user and workspace again, in a session of their own, from the
    primary keys their expired instances still know (no database access needed for that)."""
    from sqlalchemy import inspect

    from townsquare.workspaces.access import WorkspaceAccess
    from townsquare.workspaces.models import User, Workspace

    user = getattr(request.state, "user", None)
    access = getattr(request.state, "access", None)
    request.state.user = None
    request.state.access = None
    user_key = inspect(user).identity if user is not None else None
    if user_key is None:
        return
    with request.app.state.database.session() as session:
        fresh_user = session.get(User, user_key)
        request.state.user = fresh_user
        if fresh_user is not None and isinstance(access, WorkspaceAccess):
            workspace_key = inspect(access.workspace).identity
            workspace = session.get(Workspace, workspace_key) if workspace_key else None
            if workspace is not None:
                request.state.access = WorkspaceAccess(workspace, fresh_user, access.role)


def _load_signed_in_from_cookie(request: Request) -> None:
    from townsquare.web.deps import _set_language
    from townsquare.web.security import SESSION_COOKIE
    from townsquare.workspaces import sessions

    key = request.cookies.get(SESSION_COOKIE)
    if not key:
        return
    with request.app.state.database.session() as session:
        user = sessions.user_for_session(session, key)
        if user is not None:
            session.expunge(user)
    request.state.user = user
    _set_language(request, user)
