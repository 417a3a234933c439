"""Browser fixtures: Playwright driving Debian's chromium against the real app.

Every capability's browser tests use these:

    pytestmark = pytest.mark.browser

    def test_something(live_server, page, logged_in):
        page.goto(live_server.url + "/w/acme/links")

- ``browser_type_launch_args`` (overrides pytest-playwright's): headless Debian chromium at
  ``/usr/bin/chromium``. Playwright's own downloaded browsers are not used: the machine and
  CI install chromium with apt-get (``.ci/run``), and there is no other registry to fetch from.
- ``page`` (pytest-playwright's): a fresh browser context and page per test.
- ``live_server`` (tests/conftest.py): the real app on a loopback port, on SQLite and on
  PostgreSQL.
- ``owner``: the first user, created through the set-up page's service (not the page itself:
  only the house's browser test walks through set-up); ``logged_in`` logs that user in.

Without chromium the browser tests skip on a developer machine, with a reason saying how to
install it; with ``CI`` set they fail: a browser test that silently does not run in CI proves
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from townsquare.db import Database

CHROMIUM = Path(os.environ.get("TOWNSQUARE_CHROMIUM", "/usr/bin/chromium"))
OWNER_EMAIL = "owner@acme.test"
OWNER_PASSWORD = "correct horse battery"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/browser carries the ``browser`` marker (``-m "not browser"``)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) "
            "or point TOWNSQUARE_CHROMIUM at a chromium binary"
        )
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        # Containers often run as root with a small /dev/shm: chromium needs these there.
        "args": ["--no-sandbox", "--disable-dev-shm-usage"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # English unless a test asks otherwise, whatever the machine's locale is.
    return {**browser_context_args, "locale": "en-US"}


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real Argon2id at its lowest cost: production cost (~0.1-0.7 s a hash on this machine)
    times the dozens of hashes of these tests would make them the slowest of the suite."""
    from argon2 import PasswordHasher

    from townsquare.workspaces import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@dataclass
class Owner:
    email: str
    password: str
    workspace: str


@pytest.fixture
def owner(database: Database) -> Owner:
    """An owner (installation admin) with a workspace ``acme``."""
    from townsquare.workspaces import service

    with database.session() as session:
        user = service.create_user(
            session, email=OWNER_EMAIL, password=OWNER_PASSWORD, is_admin=True
        )
        service.create_workspace(session, "acme", name="Acme", owner=user)
    return Owner(OWNER_EMAIL, OWNER_PASSWORD, "acme")


def log_in(page: Any, base_url: str, email: str, password: str) -> None:
    """Log in through the real login form and wait until the app has answered."""
    page.goto(base_url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def logged_in(page: Any, live_server: Any, owner: Owner) -> Iterator[Owner]:
    """``page`` with ``owner`` logged in."""
    log_in(page, live_server.url, owner.email, owner.password)
    yield owner
