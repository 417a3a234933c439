"""The redirector: a lean ASGI app answering ``GET /{slug}`` (and HEAD) with a redirect.

It is raw ASGI on purpose, not FastAPI: the redirect path is a dict lookup (links/cache.py),
a journal append (links/clicks.py, links/journal.py) and two ``send`` calls — no routing
table, no request object, no middleware stack, no synchronous database write. It runs:

- alone: ``townsquare serve-links`` (cli/serve_links.py), any number against PostgreSQL;
- inside ``townsquare serve`` when ``TOWNSQUARE_LINKS_HOST`` is set: requests whose Host is
  that name are handed to it by :class:`LinksHostDispatch` before the web app sees them.

Answers: 302 (301 when the link says so) to the link's final URL; a password form for
protected links (POST the password → 303); 404 page for unknown slugs; 410 page — or a
302 to the link's fallback URL — when the link is disabled, expired or has reached its
maximum number of human clicks; ``/`` and ``/healthz`` answer minimally. Any unexpected
failure gives a 503 page, never a stack trace or a 500.

Slugs are matched case-insensitively (they are stored lower case, see links/models.py)
and only those made of ``A–Z a–z 0–9 - _`` (1–64 characters) reach the cache, so probes
such as ``/favicon.ico`` or ``/wp-login.php`` cost no database query.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread

from townsquare import ratelimit
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.errors import RateLimited, TownsquareError
from townsquare.links import urls
from townsquare.links.cache import (
    DEFAULT_TTL,
    LinkCache,
    RedisInvalidationListener,
    ResolvedLink,
    configure_invalidation,
    location_header,
)
from townsquare.links.clicks import (
    Click,
    ClickRecorder,
    NaiveRecorder,
    clean_country,
    visitor_hash,
)
from townsquare.proxies import ClientResolver
from townsquare.ratelimit import counter_for

logger = logging.getLogger(__name__)

SLUG_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_FORM_BYTES = 8192
# How long past its TTL an entry may still answer while its refresh runs (see cache.py).
STALE_GRACE = 1.0
MAX_HEADER_KEPT = 512  # bytes of User-Agent and Referer kept per click
PASSWORD_MAX_FAILURES = 10  # wrong passwords of one link from one visitor address
PASSWORD_LINK_MAX_FAILURES = 50  # wrong passwords per link (all visitors)
PASSWORD_WINDOW = 15 * 60.0

Scope = dict[str, Any]
Receive = Any
Send = Any

_PAGE_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        # form-action covers the redirect after the password form: any http(s) target.
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
]
_REDIRECT_CACHE = (b"cache-control", b"private, no-cache")
_HEALTH_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]


class Redirector:
    """The ASGI app. ``naive_clicks`` writes each click synchronously (benchmark baseline)."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        cache_ttl: float = DEFAULT_TTL,
        naive_clicks: bool = False,
        max_buffer: int | None = None,
        batch_size: int | None = None,
        flush_interval: float | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.secret_key = settings.resolved_secret_key()
        # Forwarded headers (X-Forwarded-For, the country) only from trusted proxies.
        self.clients = ClientResolver.from_settings(settings)
        self.attempts = counter_for(settings, database.engine)
        self.cache = LinkCache(database, ttl=cache_ttl)
        options: dict[str, Any] = {}
        if max_buffer is not None:
            options["max_buffer"] = max_buffer
        if batch_size is not None:
            options["batch_size"] = batch_size
        if flush_interval is not None:
            options["interval"] = flush_interval
        recorder_class = NaiveRecorder if naive_clicks else ClickRecorder
        self.recorder: ClickRecorder = recorder_class(
            database,
            journal_dir=settings.data_dir / "click-journal",
            journal_max_bytes=settings.links_journal_max_mb << 20,
            on_written=self.cache.add_human_clicks,
            **options,
        )
        configure_invalidation(settings.queue_url)
        self.listener: RedisInvalidationListener | None = None
        if settings.queue_url and settings.queue_url.startswith(("redis://", "rediss://")):
            self.listener = RedisInvalidationListener(self.cache, settings.queue_url)
        from townsquare.links.service import redirector_origins

        # Where this redirector answers (configured names, the address it is bound to):
        # a link whose destination is one of them would loop (see _loops).
        try:
            self.origins = redirector_origins(settings)
        except TownsquareError as exc:  # a malformed LINKS_HOST: links can't be saved either
            logger.warning("loop check without configured hosts: %s", exc)
            self.origins = []
        self._targets: dict[bytes, tuple[str, int] | None] = {}
        self._hosts: dict[tuple[bytes, str], tuple[str, int | None]] = {}
        self._started = False
        self._closed = False
        self._loading: dict[str, asyncio.Future[ResolvedLink | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the click writer and the invalidation listener (idempotent)."""
        if self._started:
            return
        self._started = True
        self.recorder.start()
        if self.listener is not None:
            self.listener.start()

    async def shutdown(self) -> None:
        """Write every journaled click; the lifespan shutdown (SIGTERM) awaits this."""
        if self._closed:
            return
        self._closed = True
        await anyio.to_thread.run_sync(self.recorder.close)
        if self.listener is not None:
            await anyio.to_thread.run_sync(self.listener.stop)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if not self._started:
                self.start()
            try:
                status, headers, body = await self.respond(scope, receive)
            except Exception:
                logger.exception("redirector failed on %s", scope.get("path"))
                status, headers, body = self.page(
                    scope, 503, "Short links are unavailable", _UNAVAILABLE_TEXT
                )
                headers = [*headers, (b"retry-after", b"30")]
            if scope["method"] == "HEAD":
                body = b""
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # the request -------------------------------------------------------------------------
    async def respond(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        method = scope["method"]
        slug = scope["path"][1:]
        if slug.endswith("/"):
            slug = slug.rstrip("/")
        if method not in ("GET", "HEAD", "POST"):
            status, headers, body = self.page(scope, 405, "Method not allowed", _METHOD_TEXT)
            return status, [*headers, (b"allow", b"GET, HEAD")], body
        if not slug:
            return self.page(scope, 200, "Short links", _HOME_TEXT)
        if slug == "healthz":
            return 200, _HEALTH_HEADERS, b"ok\n"
        if not SLUG_PATTERN.fullmatch(slug):
            return self.page(scope, 404, "Link not found", _NOT_FOUND_TEXT)
        slug = slug.lower()

        entry = self.cache.peek(slug)
        expired_for = time.monotonic() - entry[0] if entry is not None else 0.0
        if entry is None or expired_for >= STALE_GRACE:
            link = await self._load(slug)
        else:
            link = entry[1]
            if expired_for >= 0 and slug not in self._loading:
                # Just expired: answer from the old entry and refresh it in the background, so
                # a popular link never makes its visitors queue behind the database.
                task = asyncio.get_running_loop().create_task(self._refresh(slug))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if link is None:
            return self.page(scope, 404, "Link not found", _NOT_FOUND_TEXT)

        now = time.time()
        reason = link.unavailable_reason(now)
        if reason is not None:
            if link.fallback_url:
                fallback = location_header(link.fallback_url)
                if self._loops(scope, fallback):
                    return self.page(scope, 508, "Link loops", _LOOP_TEXT)
                return 302, [(b"location", fallback), _ZERO], b""
            return self.page(scope, 410, "Link unavailable", _GONE_TEXT[reason])
        if self._loops(scope, link.location):
            # Refused before any click is counted: following it would come straight back.
            return self.page(scope, 508, "Link loops", _LOOP_TEXT)

        if link.password_hash:
            if method == "POST":
                return await self._unlock(scope, receive, link, now)
            return self._password_form(scope, 200, None)
        if method == "POST":
            status, headers, body = self.page(scope, 405, "Method not allowed", _METHOD_TEXT)
            return status, [*headers, (b"allow", b"GET, HEAD")], body

        if not self.recorder.has_room():
            await self.recorder.wait_for_room()
        self._record(scope, link, now, method == "HEAD")
        return link.redirect_status, [(b"location", link.location), _ZERO, _REDIRECT_CACHE], b""

    def _loops(self, scope: Scope, location: bytes) -> bool:
        """Whether redirecting to ``location`` would bring the visitor back here.

        Checked on every redirect, whatever was checked when the link was saved (links made
        before a rule existed, another spelling of this host, a port only known now): the
        destination's canonical host and port (links/urls.py) against the Host the request
        came with, the address its connection arrived on, and every configured or bound
        origin. Only destinations that are a short-link path (``/{slug}``) count: a link to
        one of the web app's own pages at the same address does not loop.
        """
        if location in self._targets:
            target = self._targets[location]
        else:
            target = _short_link_target(location)
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[location] = target
        if target is None:
            return False
        host, port = target
        scheme = scope.get("scheme", "http")
        for name, value in scope["headers"]:
            if name == b"host":
                own_host, own_port = self._request_host(value, scheme)
                if host == own_host and (port == own_port or own_port is None):
                    return True
                break
        server = scope.get("server")
        if server and server[1] == port:
            own = urls.canonical_host(str(server[0]))
            if host == own or (urls.is_loopback(own) and urls.is_loopback(host)):
                return True
        return any(origin.matches(host, port) for origin in self.origins)

    def _request_host(self, value: bytes, scheme: str) -> tuple[str, int | None]:
        """Canonical host and port of a Host header (None: no port given, so whichever
        port a proxy in front received it on: 80 or 443 both count)."""
        known = self._hosts.get((value, scheme))
        if known is None:
            text = value.decode("latin-1").strip()
            port: int | None = None
            if text.startswith("["):
                address, _, rest = text[1:].partition("]")
                host, port_text = f"[{address}]", rest.removeprefix(":")
            else:
                host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "")
            if port_text.isdigit():
                port = int(port_text)
            known = (urls.canonical_host(host), port)
            if len(self._hosts) > 1_000:
                self._hosts.clear()
            self._hosts[(value, scheme)] = known
        return known

    async def _load(self, slug: str) -> ResolvedLink | None:
        """Read ``slug`` in a worker thread; concurrent misses share one query."""
        pending = self._loading.get(slug)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[ResolvedLink | None] = asyncio.get_running_loop().create_future()
        self._loading[slug] = future
        try:
            link = await anyio.to_thread.run_sync(self.cache.load, slug)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must log it
            raise
        finally:
            self._loading.pop(slug, None)
        future.set_result(link)
        return link

    async def _refresh(self, slug: str) -> None:
        try:
            await self._load(slug)
        except Exception:
            logger.warning("could not refresh link %r; serving the cached one", slug)

    def _record(self, scope: Scope, link: ResolvedLink, now: float, is_head: bool) -> None:
        user_agent, referrer, country = self._headers(scope)
        address = self.clients.client_address(scope)
        self.recorder.record(
            Click(
                link.id,
                link.workspace_id,
                now,
                user_agent,
                referrer,
                country,
                visitor_hash(self.secret_key, now, address, user_agent),
                is_head,
            )
        )

    def _headers(self, scope: Scope) -> tuple[str, str, str | None]:
        user_agent = referrer = b""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value
            elif name == b"referer":
                referrer = value
        country = self.clients.country(scope)
        # Truncated: a click's journal line stays small (see clicks.py).
        return (
            user_agent[:MAX_HEADER_KEPT].decode("latin-1"),
            referrer[:MAX_HEADER_KEPT].decode("latin-1"),
            clean_country(country) if country is not None else None,
        )

    # password-protected links ------------------------------------------------------------
    async def _unlock(
        self, scope: Scope, receive: Receive, link: ResolvedLink, now: float
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_FORM_BYTES:
                return self.page(scope, 413, "Form too large", _TOO_LARGE_TEXT)
            if not message.get("more_body", False):
                break
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        password = (fields.get("password") or [""])[0]
        if not password:
            return self._password_form(scope, 400, _EMPTY_PASSWORD_TEXT)
        address = ratelimit.digest(self.secret_key, self.clients.client_address(scope))
        try:
            # Counted per link and per address BEFORE the hash is computed, atomically.
            counted = await anyio.to_thread.run_sync(
                lambda: ratelimit.attempt(
                    self.attempts,
                    [f"link-client:{link.id}:{address}"],
                    limit=PASSWORD_MAX_FAILURES,
                    window=PASSWORD_WINDOW,
                    message=_THROTTLED_TEXT,
                )
            )
            counted.keys += (
                await anyio.to_thread.run_sync(
                    lambda: ratelimit.attempt(
                        self.attempts,
                        [f"link:{link.id}"],
                        limit=PASSWORD_LINK_MAX_FAILURES,
                        window=PASSWORD_WINDOW,
                        message=_THROTTLED_TEXT,
                    )
                )
            ).keys
        except RateLimited:
            return self._password_form(scope, 429, _THROTTLED_TEXT)
        from townsquare.workspaces.passwords import verify_password

        assert link.password_hash is not None
        ok = await anyio.to_thread.run_sync(verify_password, link.password_hash, password)
        if not ok:
            return self._password_form(scope, 403, _WRONG_PASSWORD_TEXT)
        await anyio.to_thread.run_sync(counted.succeeded)
        if not self.recorder.has_room():
            await self.recorder.wait_for_room()
        self._record(scope, link, now, False)
        return 303, [(b"location", link.location), _ZERO, (b"cache-control", b"no-store")], b""

    def _password_form(
        self, scope: Scope, status: int, error: str | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        _ = self._gettext(scope)
        parts = [f"<p>{html.escape(_(_PROTECTED_TEXT))}</p>"]
        if error:
            parts.append(f'<p class="error" role="alert">{html.escape(_(error))}</p>')
        parts.append(
            '<form method="post">'
            f'<label for="password">{html.escape(_("Password"))}</label> '
            '<input id="password" name="password" type="password" required autofocus '
            'autocomplete="off"> '
            f'<button type="submit">{html.escape(_("Open the link"))}</button></form>'
        )
        return self._html(scope, status, _("Protected link"), "".join(parts))

    # pages -------------------------------------------------------------------------------
    def _gettext(self, scope: Scope) -> Any:
        from townsquare.web.i18n import choose_language, translations

        accept = None
        for name, value in scope["headers"]:
            if name == b"accept-language":
                accept = value.decode("latin-1")
                break
        try:
            language = choose_language(None, None, accept)
        except Exception:
            language = "en"
        return translations(language).gettext

    def page(
        self, scope: Scope, status: int, title: str, text: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        _ = self._gettext(scope)
        return self._html(scope, status, _(title), f"<p>{html.escape(_(text))}</p>")

    def _html(
        self, scope: Scope, status: int, title: str, content: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        body = _PAGE.format(title=html.escape(title), content=content).encode()
        headers = [*_PAGE_HEADERS, (b"content-length", str(len(body)).encode())]
        return status, headers, body


_ZERO = (b"content-length", b"0")


def _short_link_target(location: bytes) -> tuple[str, int] | None:
    """(canonical host, port) of a redirect destination whose path is a short-link path
    (``/{slug}``), else None: only those can arrive back at a redirector."""
    try:
        parts = urlsplit(location.decode("latin-1"))
        port = parts.port or urls.DEFAULT_PORTS.get(parts.scheme.lower(), 80)
    except ValueError:
        return None
    path = parts.path.rstrip("/")
    if not path.startswith("/") or not SLUG_PATTERN.fullmatch(path, 1):
        return None
    return urls.canonical_host(parts.hostname or ""), port


# English source strings; French in web/locales/fr/LC_MESSAGES/redirector.po.
_HOME_TEXT = "This address serves short links. Open a short link to be taken to its page."
_NOT_FOUND_TEXT = (
    "This short link does not exist. Check the address for typing mistakes, "
    "or ask whoever shared it for a new link."
)
_GONE_TEXT = {
    "disabled": "This short link has been disabled by its owner.",
    "expired": "This short link has expired.",
    "max_clicks": "This short link has reached its maximum number of visits.",
}
_UNAVAILABLE_TEXT = "Short links are temporarily unavailable. Please try again in a minute."
_METHOD_TEXT = "Short links only answer GET and HEAD requests."
_TOO_LARGE_TEXT = "The form sent is too large."
_PROTECTED_TEXT = "This link is protected by a password. Enter it to continue."
_WRONG_PASSWORD_TEXT = "Wrong password. Check it and try again."  # noqa: S105
_EMPTY_PASSWORD_TEXT = "Enter the password to continue."  # noqa: S105
_THROTTLED_TEXT = "Too many wrong passwords. Wait 15 minutes, then try again."
_LOOP_TEXT = (
    "This short link leads back to the short-link service itself, which would go round in "
    "circles. Its owner must change its destination."
)

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;
color:#222}}h1{{font-size:1.4rem}}.error{{color:#b00020;font-weight:600}}input,button{{font:inherit;
padding:.3rem .5rem}}</style></head>
<body><main><h1>{title}</h1>{content}</main></body></html>
"""


# --- inside ``townsquare serve`` ------------------------------------------------------------


class LinksHostDispatch:
    """ASGI middleware: requests for the links host name go to the redirector.

    Outermost in the web app's stack, so short links skip sessions, CSRF and templates.
    ``links_host`` is compared without port unless it names one.
    """

    def __init__(self, app: Any, *, links_host: str, redirector: Redirector) -> None:
        self.app = app
        self.redirector = redirector
        host = links_host.strip().lower()
        for prefix in ("https://", "http://"):
            host = host.removeprefix(prefix)
        host = host.rstrip("/")
        self.with_port = ":" in host
        self.host = host.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"host":
                    host = value.lower()
                    if not self.with_port:
                        host = host.split(b":", 1)[0]
                    if host == self.host:
                        await self.redirector(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)


def mount_on_host(app: Any, settings: Settings, database: Database) -> Redirector:
    """Serve short links from ``settings.links_host`` inside the web app (``create_app``).

    Clicks still journaled when the app stops are written by the app's shutdown hooks.
    """
    assert settings.links_host
    redirector = Redirector(settings, database)
    app.add_middleware(LinksHostDispatch, links_host=settings.links_host, redirector=redirector)
    app.state.shutdown_hooks.append(redirector.shutdown)
    app.state.links_redirector = redirector
    return redirector


class LinksPathDispatch:
    """ASGI middleware: ``/{slug}`` paths no route of the app answers go to the redirector.

    Outermost in the web app's stack, like :class:`LinksHostDispatch`: a short link inside
    ``serve`` costs what it costs in ``serve-links`` — no session, CSRF, language or
    template middleware, no routing table walk (measured 23× slower before, issue #7).
    The app's routes still win: a path that any route matches (in any method) is the app's,
    so ``/login`` or ``/setup`` never reach the redirector. That answer is per path and
    cached (bounded), since the routes do not change once the app serves.
    """

    MAX_CACHED = 10_000

    def __init__(
        self,
        app: Any,
        *,
        routes: Any,
        redirector: Redirector,
        decisions: dict[str, bool] | None = None,
    ) -> None:
        self.app = app
        self.routes = routes  # the app's router.routes, read at the first request
        self.redirector = redirector
        self._is_link: dict[str, bool] = {} if decisions is None else decisions

    def _belongs_to_link(self, scope: Scope, path: str) -> bool:
        decided = self._is_link.get(path)
        if decided is None:
            from starlette.routing import Match

            probe = {**scope, "method": "GET"}
            decided = not any(
                getattr(route, "name", None) != "short_link"
                and route.matches(probe)[0] != Match.NONE
                for route in self.routes
            )
            if len(self._is_link) >= self.MAX_CACHED:
                self._is_link.clear()
            self._is_link[path] = decided
        return decided

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD", "POST"):
            path = scope["path"]
            if (
                len(path) > 1
                and SLUG_PATTERN.fullmatch(path, 1)
                and self._belongs_to_link(scope, path)
            ):
                await self.redirector(scope, receive, send)
                return
        await self.app(scope, receive, send)


def mount_on_paths(app: Any, settings: Settings, database: Database) -> Redirector:
    """Serve short links at ``/{slug}`` of the web app itself (``create_app``).

    The laptop default, when no ``links_host`` is set: short URLs are the web app's own
    address followed by the slug (links/service.py ``short_base_url``). Requests for a
    single-segment path that no page or API route answers are handed to the redirector by
    :class:`LinksPathDispatch` before the app's middleware; the ``/{slug}`` route added
    after every other route stays as the place of short links in the routing table (and
    the fallback should a request get past the dispatcher). Slugs can never be a reserved
    word (links/slugs.py), so no short link can shadow a page.
    """
    from starlette.routing import Route

    redirector = Redirector(settings, database)
    app.router.routes.append(
        Route("/{slug}", endpoint=redirector, methods=["GET", "HEAD", "POST"], name="short_link")
    )
    decisions: dict[str, bool] = {}
    app.add_middleware(
        LinksPathDispatch, routes=app.router.routes, redirector=redirector, decisions=decisions
    )
    app.state.links_decisions = decisions  # path -> answered by the redirector (front_door)
    app.state.shutdown_hooks.append(redirector.shutdown)
    app.state.links_redirector = redirector
    return redirector


def front_door(app: Any, *, others: Any = None) -> Any:
    """The ASGI app ``serve`` runs: short links are dispatched in front of the whole web app,
    before even its outermost (error-handling) layer, so a redirect inside ``serve`` costs
    what it costs in ``serve-links``. Everything else, lifespan included, goes to ``others``
    (by default ``app`` itself; ``serve`` gives the app behind its access log, so that no
    redirect pays for a log record). (The same dispatch also sits inside the app's stack,
    for any other server given the app itself.)"""
    redirector = getattr(app.state, "links_redirector", None)
    rest = app if others is None else others
    if redirector is None:
        return rest
    links_host = redirector.settings.links_host
    if links_host:
        return LinksHostDispatch(rest, links_host=links_host, redirector=redirector)
    return LinksPathDispatch(
        rest,
        routes=app.router.routes,
        redirector=redirector,
        decisions=app.state.links_decisions,
    )
