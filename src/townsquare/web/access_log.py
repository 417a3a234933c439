"""``serve``'s access log: one line per request of the web app, none per short link.

uvicorn's own access log is off in ``serve`` (``access_log=False``): it builds a log record
for every response, short links included, before any filter can drop it — at the default
INFO level that cost more than the redirect itself (≈ 70 µs of a ≈ 110 µs redirect,
measured under wrk, issue #7). Instead this layer sits behind the short-link dispatch
(``links.redirector.front_door``), so only the app's requests reach it, and it writes
nothing at all unless ``townsquare.access`` is enabled for INFO.

Lines carry no client address (townsquare never keeps a visitor's IP address, not even in a
log): the record's arguments are uvicorn's (client, method, path, HTTP version, status) with
``-`` for the client, so uvicorn's ``AccessFormatter`` formats them as before.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER_NAME = "townsquare.access"
logger = logging.getLogger(LOGGER_NAME)


class AccessLogMiddleware:
    """Logs ``"METHOD /path?query HTTP/x" status`` at INFO as a response ends.

    The line is written before the last part of the body is sent, so lines come in the order
    the responses reached the client: the app may still be running after that (a middleware
    finishing, a background task), and a line written only once it returned could follow the
    next request's.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        status: list[int] = []
        logged = False

        async def send_logged(message: Message) -> None:
            nonlocal logged
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                logged = True
                _log(scope, status[0] if status else 500)
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            if not logged:
                # A request that failed before answering is logged as the 500 it becomes.
                _log(scope, status[0] if status else 500)


def _log(scope: Scope, status: int) -> None:
    path = scope.get("root_path", "") + scope["path"]
    query: Any = scope.get("query_string", b"")
    if query:
        path += "?" + query.decode("latin-1")
    logger.info(
        '%s - "%s %s HTTP/%s" %d',
        "-",
        scope["method"],
        path,
        scope.get("http_version", "1.1"),
        status,
    )
