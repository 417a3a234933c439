"""Channels: credentials encrypted at rest with the data directory's Fernet key, never shown."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.conftest import Seed, ServerThread
from townsquare.channels import service
from townsquare.channels.crypto import CredentialsBox
from townsquare.db import Database
from townsquare.errors import NotFound, TownsquareError, ValidationError
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

SECRET = "s3cret-access-token-marker"


def _raw(database: Database, channel_id: int) -> bytes:
    with database.engine.connect() as connection:
        value = connection.execute(
            sa.text("SELECT credentials_encrypted FROM channels WHERE id = :id"), {"id": channel_id}
        ).scalar()
    return bytes(value)


def test_credentials_are_encrypted_at_rest(
    live_server: ServerThread, seed: Seed, database: Database, data_dir: Path
) -> None:
    key_file = data_dir / "credentials.key"
    assert not key_file.exists()
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        created = client.post(
            "/api/v1/workspaces/acme/channels",
            json={
                "network": "mastodon",
                "handle": "@acme@example.social",
                "credentials": {"access_token": SECRET, "instance": "example.social"},
                "check": False,  # a connected network checks the account first otherwise
            },
        )
        assert created.status_code == 201, created.text
        channel = created.json()
        assert channel["has_credentials"] is True
        shown = client.get(f"/api/v1/workspaces/acme/channels/{channel['id']}").text
        listed = client.get("/api/v1/workspaces/acme/channels").text
    for text in (created.text, shown, listed):
        assert SECRET not in text and '"credentials"' not in text

    # The key was generated into the data directory on first use, for its owner only.
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    raw = _raw(database, channel["id"])
    assert SECRET.encode() not in raw and b"access_token" not in raw
    opened = json.loads(Fernet(key_file.read_bytes().strip()).decrypt(raw))
    assert opened == {"access_token": SECRET, "instance": "example.social"}

    # New credentials replace the old ones, encrypted afresh; the channel is active again.
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        path = f"/api/v1/workspaces/acme/channels/{channel['id']}"
        assert client.patch(path, json={"status": "needs_reconnection"}).status_code == 200
        updated = client.patch(path, json={"credentials": {"access_token": "second"}})
        assert updated.status_code == 200 and updated.json()["status"] == "active"
    again = _raw(database, channel["id"])
    assert again != raw and b"second" not in again
    box = CredentialsBox(key_file.read_text().strip())
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        stored = service.get_channel(session, access, channel["id"])
        assert service.channel_credentials(stored, box) == {"access_token": "second"}


def test_channel_without_credentials_stores_nothing(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        created = client.post(
            "/api/v1/workspaces/acme/channels",
            json={"network": "rss", "handle": "https://acme.test/feed.xml"},
        )
    assert created.status_code == 201 and created.json()["has_credentials"] is False
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT credentials_encrypted FROM channels")).all() == [
            (None,)
        ]


def test_bad_channel_updates_change_nothing(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        channel = client.post(
            "/api/v1/workspaces/acme/channels",
            json={"network": "bluesky", "handle": "acme.bsky.social", "timezone": "Europe/Paris"},
        ).json()
        path = f"/api/v1/workspaces/acme/channels/{channel['id']}"
        status = client.patch(path, json={"status": "sleeping"})
        zone = client.patch(path, json={"timezone": "Paris", "display_name": "Renamed"})
        spaces = client.post(
            "/api/v1/workspaces/acme/channels", json={"network": "bluesky", "handle": "a b"}
        )
        duplicate = client.post(
            "/api/v1/workspaces/acme/channels",
            json={"network": "Bluesky", "handle": "acme.bsky.social"},
        )
        after = client.get(path).json()
    assert status.status_code == 422 and status.json()["error"]["field"] == "status"
    assert zone.status_code == 422 and "Europe/Paris" in zone.json()["error"]["message"]
    assert spaces.status_code == 422 and spaces.json()["error"]["field"] == "handle"
    assert duplicate.status_code == 409
    assert after == channel  # neither the status, the name nor the zone changed


def test_wrong_or_invalid_key_is_explained() -> None:
    sealed = CredentialsBox(Fernet.generate_key().decode()).seal({"token": "x"})
    with pytest.raises(TownsquareError, match="credentials key changed"):
        CredentialsBox(Fernet.generate_key().decode()).open(sealed)
    with pytest.raises(TownsquareError, match="TOWNSQUARE_CREDENTIALS_KEY is not a valid"):
        CredentialsBox("not a key")


def test_channel_by_handle(database: Database, seed: Seed) -> None:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        service.add_channel(session, access, network="mastodon", handle="acme")
        service.add_channel(session, access, network="bluesky", handle="acme")
        with pytest.raises(ValidationError, match="mastodon:acme"):
            service.get_channel_by_handle(session, access, "acme")
        assert service.get_channel_by_handle(session, access, "bluesky:acme").network == "bluesky"
        with pytest.raises(NotFound, match="townsquare channel list --workspace acme"):
            service.get_channel_by_handle(session, access, "nobody")
