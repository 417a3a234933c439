"""French and English: every string of every page is translated, and the language is chosen
as promised — the user's setting, else the cookie of the language picker, else the browser's
Accept-Language, else English.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from townsquare.config import Settings
from townsquare.db import Database
from townsquare.web.app import create_app
from townsquare.web.i18n import LOCALES_DIR, choose_language, translations

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "townsquare"
CATALOGS = sorted((LOCALES_DIR / "fr" / "LC_MESSAGES").glob("*.po"))
HOUSE_PYTHON = ("web", "workspaces", "channels")
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "silent": "false"}}
EXTRACTORS = {"jinja2": "jinja2.ext:babel_extract"}


def _extract(directory: Path, method_map: list[tuple[str, str]]) -> dict[str, str]:
    """msgid → 'file:line' for every `_()`/gettext/{% trans %} string found."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        directory,
        method_map=method_map,
        options_map=OPTIONS,
        callback=None,
        strip_comment_tags=True,
    ):
        msgids = message if isinstance(message, tuple) else (message,)
        for msgid in msgids:
            if msgid:
                found.setdefault(msgid, f"{directory.name}/{filename}:{lineno}")
    return found


def translatable_strings() -> dict[str, str]:
    """Strings of every capability's templates, and of the house's Python code."""
    # The Jinja2 extractor is named by its import path: Babel finds it by entry point only
    # when Jinja2 declares one, and a scan that silently finds nothing would prove nothing.
    strings: dict[str, str] = {}
    for templates in sorted(PACKAGE.glob("*/templates")):
        strings.update(_extract(templates.parent, [("templates/**.html", EXTRACTORS["jinja2"])]))
    for package in HOUSE_PYTHON:
        strings.update(_extract(PACKAGE / package, [("**.py", "python")]))
    return strings


def merged_french() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in CATALOGS:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="fr")
        for message in catalog:
            if message.id and isinstance(message.id, str) and not message.fuzzy:
                merged.setdefault(message.id, str(message.string or ""))
    return merged


def test_the_scan_finds_the_house_strings() -> None:
    strings = translatable_strings()
    # A scan that finds nothing would make the next test pass for nothing.
    for expected in ("Log in", "Add a channel", "Listen", "Create workspace", "API tokens"):
        assert expected in strings
    assert len(strings) > 100


def test_every_template_string_has_a_french_translation() -> None:
    french = merged_french()
    missing = sorted(
        f"{where}: {msgid!r}"
        for msgid, where in translatable_strings().items()
        if not french.get(msgid, "").strip()
    )
    assert not missing, (
        f"{len(missing)} strings have no French translation; add them to the .po of their "
        "area in src/townsquare/web/locales/fr/LC_MESSAGES/:\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("path", CATALOGS, ids=lambda path: path.name)
def test_catalog_is_valid(path: Path) -> None:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    problems = [
        f"{message.id!r}: {'; '.join(str(error) for error in errors)}"
        for message, errors in catalog.check()
    ]
    assert not problems, "\n".join(problems)
    # Placeholders such as %(email)s must survive translation.
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.string:
            for placeholder in ("%(email)s", "%(handle)s", "%(count)s", "%(name)s", "%(minutes)s"):
                assert (placeholder in message.id) == (placeholder in str(message.string)), (
                    message.id
                )


def test_merged_catalogs_translate() -> None:
    french = translations("fr")
    assert french.gettext("Log in") == "Se connecter"
    assert french.gettext("Settings") == "Paramètres"
    assert translations("en").gettext("Log in") == "Log in"


# --- choosing the language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "cookie", "accept", "expected"),
    [
        ("fr", "en", "en-US", "fr"),  # the user's setting wins
        (None, "fr", "en-US,en;q=0.9", "fr"),  # then the picker's cookie
        (None, None, "fr-CA,fr;q=0.9,en;q=0.5", "fr"),  # then the browser
        (None, None, "de-DE,en;q=0.5", "en"),
        (None, None, "de-DE", "en"),  # nothing we speak: English
        (None, None, None, "en"),
        (None, "xx", "fr", "fr"),  # an unknown cookie value is ignored
        ("en", None, "fr", "en"),
    ],
)
def test_choose_language(
    user: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert choose_language(user, cookie, accept) == expected


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real Argon2id at its lowest cost: production cost (~0.1-0.7 s a hash on this machine)
    times the dozens of hashes of these tests would make them the slowest of the suite."""
    from argon2 import PasswordHasher

    from townsquare.workspaces import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def client(db_settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db_settings, database=database), follow_redirects=False) as c:
        yield c


def _set_up(client: TestClient) -> None:
    client.get("/setup")
    response = client.post(
        "/setup",
        data={
            "csrf_token": client.cookies["ts_csrf"],
            "email": "owner@acme.test",
            "password": "correct horse battery",
            "password_confirm": "correct horse battery",
            "workspace_slug": "acme",
        },
    )
    assert response.status_code == 303


def test_browser_language_then_cookie(client: TestClient) -> None:
    page = client.get("/setup", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr"' in page.text and "Bienvenue dans townsquare" in page.text
    assert "Welcome" in client.get("/setup", headers={"Accept-Language": "en"}).text
    response = client.post(
        "/language",
        data={"csrf_token": client.cookies["ts_csrf"], "language": "fr", "next": "/setup"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/setup"
    assert client.cookies["ts_lang"] == "fr"
    page = client.get("/setup", headers={"Accept-Language": "en"})
    assert "Bienvenue dans townsquare" in page.text


def test_user_setting_follows_the_user_to_another_browser(client: TestClient) -> None:
    _set_up(client)
    response = client.post(
        "/language",
        data={"csrf_token": client.cookies["ts_csrf"], "language": "fr", "next": "/w/acme/"},
    )
    assert response.status_code == 303
    # Another browser, speaking English, with no cookie: once logged in, French.
    other = TestClient(client.app, follow_redirects=False)
    assert "Log in" in other.get("/login", headers={"Accept-Language": "en"}).text
    other.post(
        "/login",
        data={
            "csrf_token": other.cookies["ts_csrf"],
            "email": "owner@acme.test",
            "password": "correct horse battery",
        },
    )
    page = other.get("/w/acme/channels", headers={"Accept-Language": "en"}).text
    assert "Ajouter un canal" in page and ">Paramètres</a>" in page and ">Écoute</a>" in page


def test_unknown_language_falls_back_to_english(client: TestClient) -> None:
    client.get("/login")
    response = client.post(
        "/language", data={"csrf_token": client.cookies["ts_csrf"], "language": "klingon"}
    )
    assert response.status_code == 303
    assert client.cookies["ts_lang"] == "en"


def test_french_error_messages(client: TestClient) -> None:
    _set_up(client)
    client.post("/logout", data={"csrf_token": client.cookies["ts_csrf"]})
    response = client.post(
        "/login",
        data={
            "csrf_token": client.cookies["ts_csrf"],
            "email": "owner@acme.test",
            "password": "not the password",
        },
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 401
    assert "adresse e-mail ou mot de passe incorrect" in response.text
