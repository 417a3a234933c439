"""What the pages need from ``townsquare.proxies`` and ``townsquare.ratelimit``.

The app holds one :class:`~townsquare.proxies.ClientResolver` and one counter
(``app.state``), built from settings in ``create_app``; pages ask here for the client's key
and the login policy instead of reading ``request.client`` or headers themselves.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request

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
