"""What the pages need from ``townsquare.proxies`` and ``townsquare.ratelimit``.

The app holds one :class:`~townsquare.proxies.ClientResolver` and one counter
(``app.state``), built from settings in ``create_app``; pages ask here for the client's key
and the login policy instead of reading ``request.client`` or headers themselves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from townsquare.config import Settings
from townsquare.proxies import ClientResolver
from townsquare.ratelimit import Counter
from townsquare.workspaces import sessions


def client_address(request: Request) -> str:
    resolver: ClientResolver = request.app.state.client_resolver
    return resolver.client_address(request.scope)


def client_key(request: Request) -> str:
    """A keyed hash of the client's address (trusted proxies considered)."""
    settings: Settings = request.app.state.settings
    return sessions.client_hash(client_address(request), settings.resolved_secret_key())


def rate_counter(request: Request) -> Counter:
    counter: Counter = request.app.state.rate_counter
    return counter


def login_policy(settings: Settings) -> sessions.LoginPolicy:
    return sessions.LoginPolicy(
        max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
        session_lifetime=timedelta(days=settings.session_days),
    )


class BodyTooLarge(HTTPException):
    """Raised from ``receive``: the route's error handler answers 413 (page or JSON)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


class BodyLimitMiddleware:
    """Refuses a request body past ``max_bytes`` while it streams, before it is stored.

    A declared Content-Length past the limit is refused at the first read, without reading
    anything; a chunked body as soon as the bytes received pass it. The refusal is raised
    inside the route that reads the body, so its handler answers (``web/errors.py``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > self.max_bytes:
                raise BodyTooLarge
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Any) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
