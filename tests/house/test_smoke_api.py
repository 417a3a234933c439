"""The REST API end to end over a real HTTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.conftest import Seed, ServerThread


def test_workspace_channel_round_trip(live_server: ServerThread, seed: Seed) -> None:
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        me = client.get("/api/v1/me").json()
        assert me["email"] == seed.owner_email
        assert [w["slug"] for w in me["workspaces"]] == ["acme"]
        created = client.post(
            "/api/v1/workspaces/acme/channels",
            json={
                "network": "mastodon",
                "handle": "@acme@example.social",
                "timezone": "Europe/Paris",
                "credentials": {"access_token": "s3cret"},
                "check": False,  # a connected network checks the account first otherwise
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["has_credentials"] is True
        assert "credentials" not in body and "s3cret" not in created.text
        listed = client.get("/api/v1/workspaces/acme/channels").json()
        assert [c["handle"] for c in listed] == ["@acme@example.social"]
