"""The application factory: one FastAPI app assembling every capability's routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from townsquare import __version__
from townsquare.config import Settings, get_settings
from townsquare.db import Database
from townsquare.errors import TownsquareError
from townsquare.proxies import ClientResolver
from townsquare.ratelimit import counter_for
from townsquare.web import errors as web_errors
from townsquare.web.deps import LoginRequired, SetupRequired
from townsquare.web.i18n import choose_language
from townsquare.web.json_body import JsonTextMiddleware
from townsquare.web.limits import BodyLimitMiddleware
from townsquare.web.security import (
    CSRF_COOKIE,
    LANGUAGE_COOKIE,
    SecureHeadersMiddleware,
    new_csrf_token,
)

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    run_worker: bool = False,
) -> FastAPI:
    """Build the web app. ``run_worker`` also consumes jobs in this process (``serve``)."""
    settings = settings or get_settings()
    database = database or Database.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from townsquare.jobs.queue import configure, start_embedded_consumer

        configure(settings, database)
        consumer = start_embedded_consumer(settings.worker_threads) if run_worker else None
        publisher = notifier = listener = None
        if run_worker:  # scheduled posts go out from here too (publish/worker.py)
            from townsquare.publish.webhook_worker import start_webhook_worker
            from townsquare.publish.worker import start_publish_worker

            publisher = start_publish_worker(database, settings)
            # Webhooks of published, failed and submitted posts (publish/webhooks.py).
            notifier = start_webhook_worker(database, settings)
            # Hashtag sources streamed where the instance can (listening/streaming.py).
            from townsquare.listening.streaming import start_stream_listener

            listener = start_stream_listener(database, settings)
        app.state.stream_listener = listener
        try:
            yield
        finally:
            for hook in app.state.shutdown_hooks:
                await hook()
            if publisher is not None:
                publisher.stop()
            if notifier is not None:
                notifier.stop()
            if listener is not None:
                listener.stop()
            if consumer is not None:
                consumer.stop(graceful=True)

    app = FastAPI(
        title="townsquare",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.database = database
    app.state.shutdown_hooks = []
    # The one place forwarded headers are believed, and the one attempt counter.
    app.state.client_resolver = ClientResolver.from_settings(settings)
    app.state.rate_counter = counter_for(settings, database.engine)

    app.add_exception_handler(TownsquareError, web_errors.townsquare_error_handler)
    app.add_exception_handler(RequestValidationError, web_errors.request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, web_errors.http_exception_handler)
    app.add_exception_handler(DataError, web_errors.database_data_error_handler)
    app.add_exception_handler(OverflowError, web_errors.overflow_error_handler)
    app.add_exception_handler(LoginRequired, _login_redirect)
    app.add_exception_handler(SetupRequired, _setup_redirect)

    # Request bodies (uploads) are bounded while they stream in: a 413 as soon as one passes
    # TOWNSQUARE_MAX_UPLOAD_MB (the slack is for a form's other fields and boundaries).
    # Added first, so it is the innermost layer: the route that reads the body sees the
    # refusal itself (not wrapped by the middleware below), and its handler answers.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes + 64 * 1024)
    # JSON bodies with half a character (a lone surrogate escape) are refused as they are
    # read: a 422, never a 500 from deep inside (web/json_body.py).
    app.add_middleware(JsonTextMiddleware)

    @app.middleware("http")
    async def language_and_csrf(request: Request, call_next: Any) -> Response:
        # Cheap per-request state for templates; identity is resolved by dependencies.
        request.state.user = None
        request.state.access = None
        request.state.language = choose_language(
            None, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
        )
        token = request.cookies.get(CSRF_COOKIE)
        request.state.csrf_token = token or new_csrf_token()
        response: Response = await call_next(request)
        if not token and not request.url.path.startswith(("/static/", "/api/")):
            response.set_cookie(
                CSRF_COOKIE,
                request.state.csrf_token,
                httponly=True,
                samesite="lax",
                secure=settings.secure_cookies,
            )
        return response

    app.add_middleware(SecureHeadersMiddleware, hsts=settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _secure_headers_on_server_errors(app, hsts=settings.secure_cookies)

    from townsquare.web.routes import include_routes

    include_routes(app)
    from townsquare.web import openapi

    openapi.install(app)
    if settings.links_host:
        # Short links on their own host name: dispatched before any of the web app's layers.
        from townsquare.links.redirector import mount_on_host

        mount_on_host(app, settings, database)
    else:
        # No host of their own: short links answer at /{slug} after every other route.
        from townsquare.links.redirector import mount_on_paths

        mount_on_paths(app, settings, database)
    return app


def _secure_headers_on_server_errors(app: FastAPI, *, hsts: bool) -> None:
    """A 500 carries the same secure headers as every page.

    Starlette's ServerErrorMiddleware is always the outermost layer and sends its 500
    itself, past every middleware added to the app: one more layer outside it adds the
    headers to 5xx answers only (the others already have them).
    """
    build_stack = app.build_middleware_stack

    def build_middleware_stack() -> Any:
        return SecureHeadersMiddleware(build_stack(), hsts=hsts, only_errors=True)

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]


async def _login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)


async def _setup_redirect(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/setup", status_code=303)
