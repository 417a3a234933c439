"""Secure headers, the CSRF check and per-request identity (session cookie or API token)."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from townsquare.errors import PermissionDenied

SESSION_COOKIE = "ts_session"
CSRF_COOKIE = "ts_csrf"
LANGUAGE_COOKIE = "ts_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Vega-Lite charts compile expressions with Function(); 'unsafe-eval' is limited to that.
DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-eval'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
SECURE_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
    b"cross-origin-opener-policy": b"same-origin",
}


class SecureHeadersMiddleware:
    """Adds secure headers to every response that does not set its own.

    ``only_errors``: only to 5xx answers (the layer outside Starlette's error middleware,
    whose 500s pass no other middleware; see ``create_app``).
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False, only_errors: bool = False) -> None:
        self.app = app
        self.hsts = hsts
        self.only_errors = only_errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and (
                not self.only_errors or message["status"] >= 500
            ):
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURE_HEADERS.items():
                    if name not in present:
                        headers.append((name, value))
                # Pages may show secrets (a new API token) and private figures: browsers and
                # proxies must not keep copies. Static files and API answers set their own.
                if b"cache-control" not in present and any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                ):
                    headers.append((b"cache-control", b"no-store"))
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DEFAULT_CSP.encode()))
                if self.hsts and b"strict-transport-security" not in present:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request from a browser unless it carries the CSRF token.

    Double-submit: the token in the ``ts_csrf`` cookie must come back in the form field
    ``csrf_token`` or the ``X-CSRF-Token`` header (HTMX sends the header).

    No header exempts a request: pages authenticate by the session cookie only, and a
    browser adds an ``Authorization`` header by itself (HTTP Basic behind a proxy). The
    only exemption is the API's: a request authenticated by a valid bearer token, with no
    cookie session used, carries no ambient credentials; ``deps.api_identity`` then does
    not call this at all.
    """
    if request.method in SAFE_METHODS:
        return
    expected = request.cookies.get(CSRF_COOKIE, "")
    supplied = request.headers.get(CSRF_HEADER, "")
    if not supplied:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            supplied = value if isinstance(value, str) else ""
    if not expected or not supplied or not hmac.compare_digest(expected, supplied):
        raise PermissionDenied(
            "missing or invalid CSRF token: reload the page and submit the form again"
        )
