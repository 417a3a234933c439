"""Bad text and unknown hosts in API requests are bad input (422), never a 5xx (issue 7).

- A JSON string with half a character (a lone surrogate escape such as ``"\\ud800"``) used
  to travel through validation and fail deep inside as a 500: ``web/json_body.py`` refuses
  it for every route at once, nothing written.
- An address whose host does not exist (DNS: no such name) is a typo, not a network that
  failed: ``UnknownHost`` is answered 422 (and still a NetworkError for code that retries).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import Seed, make_settings, seed_workspace
from townsquare.db import Database
from townsquare.errors import NetworkError, UnknownHost
from townsquare.messages import Message
from townsquare.netguard import check_url
from townsquare.web.app import create_app
from townsquare.web.i18n import translator
from townsquare.web.json_body import lone_surrogate

BASE = "/api/v1/workspaces/acme"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Database, Seed]]:
    settings = make_settings(tmp_path)
    database = Database.from_settings(settings)
    database.upgrade()
    seed = seed_workspace(database)
    with TestClient(create_app(settings, database=database)) as client:
        client.headers["Authorization"] = f"Bearer {seed.token}"
        yield client, database, seed
    database.dispose()


def _rows(database: Database) -> tuple[int, int]:
    with database.session() as session:
        return (
            int(session.scalar(sa.text("SELECT count(*) FROM links")) or 0),
            int(session.scalar(sa.text("SELECT count(*) FROM channels")) or 0),
        )


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b'{"a": "x\\ud800"}', ("\\ud800", "a")),
        (b'{"a": ["ok", {"b": "\\uDC00"}]}', ("\\udc00", "a.1.b")),
        (b'{"\\ud83d": 1}', ("\\ud83d", "")),  # in a key too
        (b'{"a": "\\ud83d\\ude00"}', None),  # a whole pair is one character (an emoji)
        (b'{"a": "\\\\ud800"}', None),  # an escaped backslash then text, not an escape
        (b'{"a": "\\ud800', None),  # not JSON at all: the route's parser says so
        (b'{"a": "plain"}', None),
    ],
)
def test_lone_surrogates_are_found_and_only_them(
    body: bytes, found: tuple[str, str] | None
) -> None:
    assert lone_surrogate(body) == found


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/handles/instances", b'{"mastodon_instances": ["\\ud800.social"]}'),
        ("POST", "/links", b'{"target_url": "https://shop.example/\\udfff"}'),
        ("POST", "/links", b'{"target_url": "https://shop.example/", "title": "\\ud800"}'),
        ("POST", "/channels", b'{"network": "mastodon", "handle": "@a\\ud800@x.social"}'),
    ],
)
def test_a_lone_surrogate_in_any_json_body_is_a_422(
    api: tuple[TestClient, Database, Seed], method: str, path: str, body: bytes
) -> None:
    client, database, _seed = api
    for content_type in ("application/json", "application/merge-patch+json", None):
        headers = {"content-type": content_type} if content_type else {}
        response = client.request(method, BASE + path, content=body, headers=headers)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["type"] == "validation_error"
        assert "half of a character (a lone surrogate)" in error["message"]
        assert error["field"]  # the value that holds it
    assert _rows(database) == (0, 0)


def test_the_refusal_carries_its_message_id_for_a_french_reader(
    api: tuple[TestClient, Database, Seed],
) -> None:
    client, _database, _seed = api
    body = b'{"mastodon_instances": ["\\ud800"]}'
    error = client.put(BASE + "/handles/instances", content=body).json()["error"]
    message = Message(error["message_id"], error["params"])
    assert str(message) == error["message"]
    assert translator("fr")(message).startswith(
        "le corps de la requête contient \\ud800, une moitié de caractère"
    )


def test_an_unknown_host_is_bad_input_not_a_network_failure(tmp_path: Path) -> None:
    with pytest.raises(UnknownHost, match="cannot find the host") as raised:
        check_url("https://no-such-host.invalid/", make_settings(tmp_path))
    assert isinstance(raised.value, NetworkError)  # what retrying code catches


def test_oauth_on_a_channel_whose_instance_does_not_exist_is_a_422(
    api: tuple[TestClient, Database, Seed],
) -> None:
    """The contract test's case: OAuth started with a null body (the channel's own
    instance) on a channel whose host has no DNS name."""
    client, _database, _seed = api
    created = client.post(
        BASE + "/channels", json={"network": "mastodon", "handle": "@acme@mastodon.invalid"}
    )
    assert created.status_code == 201, created.text
    channel = created.json()["id"]
    for body in (b"null", b"{}"):
        response = client.post(
            f"{BASE}/channels/{channel}/oauth/start",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert "cannot find the host 'mastodon.invalid'" in response.json()["error"]["message"]
