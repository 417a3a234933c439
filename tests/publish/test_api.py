"""Publish's REST API over a real HTTP server, on SQLite and PostgreSQL: compose, adapt,
list, edit, submit, approve, request changes, schedule, cancel, media, queue slots,
recommended slots, settings; errors as the house writes them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import ServerThread, seed_workspace
from tests.publish.service_env import BLUESKY, MASTODON, PublishEnv, make_env
from townsquare.db import Database
from townsquare.workspaces import tokens
from townsquare.workspaces.users import get_user_by_email

BASE = "/api/v1/workspaces/acme"


@pytest.fixture
def env(database: Database, data_dir: Path) -> Iterator[PublishEnv]:
    yield make_env(database, data_dir)


@pytest.fixture
def server(env: PublishEnv) -> Iterator[ServerThread]:
    from townsquare.web.app import create_app

    with ServerThread(create_app(env.settings, database=env.database)) as running:
        yield running


def _client(env: PublishEnv, server: ServerThread, email: str | None = None) -> httpx.Client:
    if email is None:
        token = env.seed.token
    else:
        with env.database.session() as session:
            user = get_user_by_email(session, email)
            assert user is not None
            token = tokens.create_token(session, user, name="t", workspace=None).plaintext
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_compose_adapt_list_edit_reschedule_cancel(env: PublishEnv, server: ServerThread) -> None:
    client = _client(env, server)
    created = client.post(
        f"{BASE}/posts",
        json={
            "channel_ids": [env.mastodon_id, env.bluesky_id],
            "text": "Hello from the API",
            "content_warning": "test",
            "adaptations": {str(env.bluesky_id): {"text": "Hello Bluesky"}},
            "schedule": {"kind": "at", "at": "2099-06-01T09:00"},
        },
    )
    assert created.status_code == 201, created.text
    post = created.json()
    assert post["status"] == "scheduled"
    by_channel = {v["channel"]: v for v in post["variants"]}
    assert by_channel[BLUESKY]["parts"][0]["text"] == "Hello Bluesky"
    assert by_channel[BLUESKY]["adapted"] and not by_channel[MASTODON]["adapted"]
    assert by_channel[MASTODON]["length"] == 4 + 18 and by_channel[MASTODON]["limit"] == 500
    assert by_channel[MASTODON]["scheduled_local"] == "2099-06-01T09:00+02:00"
    post_url = f"{BASE}/posts/{post['id']}"

    assert [p["id"] for p in client.get(f"{BASE}/posts").json()] == [post["id"]]
    assert client.get(f"{BASE}/posts", params={"status": "draft"}).json() == []
    in_june = client.get(f"{BASE}/posts", params={"from": "2099-06-01", "to": "2099-06-01"})
    assert [p["id"] for p in in_june.json()] == [post["id"]]
    assert client.get(f"{BASE}/posts", params={"status": "sent"}).status_code == 422

    edited = client.patch(post_url, json={"text": "Edited original"})
    assert edited.status_code == 200, edited.text
    texts = {v["channel"]: v["parts"][0]["text"] for v in edited.json()["variants"]}
    assert texts == {MASTODON: "Edited original", BLUESKY: "Hello Bluesky"}
    follow = client.patch(post_url, json={"adaptations": {str(env.bluesky_id): None}})
    texts = {v["channel"]: v["parts"][0]["text"] for v in follow.json()["variants"]}
    assert texts[BLUESKY] == "Edited original"

    moved = client.post(
        f"{post_url}/schedule",
        json={"kind": "at", "at": "2099-06-02T10:00", "channel_ids": [env.mastodon_id]},
    )
    assert moved.status_code == 200, moved.text
    by_channel = {v["channel"]: v for v in moved.json()["variants"]}
    assert by_channel[MASTODON]["scheduled_at"].startswith("2099-06-02T08:00")
    assert by_channel[BLUESKY]["scheduled_at"].startswith("2099-06-01T13:00")

    cancelled = client.post(f"{post_url}/cancel", json={})
    assert cancelled.json()["status"] == "cancelled"
    history = [e["action"] for e in client.get(f"{post_url}/history").json()]
    assert history == [
        "created", "scheduled", "scheduled", "edited", "edited", "rescheduled",
        "cancelled", "cancelled",
    ]  # fmt: skip
    again = client.post(f"{post_url}/cancel", json={})
    assert again.status_code == 409 and again.json()["error"]["message"]


def test_over_the_limit_and_bad_input_are_422(env: PublishEnv, server: ServerThread) -> None:
    client = _client(env, server)
    over = client.post(
        f"{BASE}/posts",
        json={
            "channel_ids": [env.bluesky_id],
            "text": "x" * 301,
            "schedule": {"kind": "now"},
        },
    )
    assert over.status_code == 422
    error = over.json()["error"]
    assert "301" in error["message"] and "300" in error["message"]
    assert error["params"]["length"] == 301 and error["params"]["limit"] == 300
    assert client.get(f"{BASE}/posts").json() == []
    gap = client.post(
        f"{BASE}/posts",
        json={
            "channel_ids": [env.mastodon_id],
            "text": "x",
            "schedule": {"kind": "at", "at": "2026-10-25T02:30"},
        },
    )
    assert gap.status_code == 422
    assert "2026-10-25T02:30+02:00" in gap.json()["error"]["message"]
    assert "2026-10-25T02:30+01:00" in gap.json()["error"]["message"]
    missing = client.post(
        f"{BASE}/posts", json={"channel_ids": [env.mastodon_id], "schedule": {"kind": "now"}}
    )
    assert missing.status_code == 422
    assert client.post(f"{BASE}/posts", json={"channel_ids": []}).status_code == 422
    assert client.get(f"{BASE}/posts/424242").status_code == 404


def test_approval_over_the_api(env: PublishEnv, server: ServerThread) -> None:
    owner = _client(env, server)
    settings = owner.patch(f"{BASE}/publish-settings", json={"needs_approval": True})
    assert settings.json()["needs_approval"] is True
    contributor = _client(env, server, "contributor1@acme.test")
    editor = _client(env, server, "editor1@acme.test")
    viewer = _client(env, server, "viewer1@acme.test")
    assert contributor.patch(f"{BASE}/publish-settings", json={}).status_code == 403

    draft = contributor.post(
        f"{BASE}/posts", json={"channel_ids": [env.mastodon_id], "text": "For review"}
    ).json()
    assert draft["status"] == "draft"
    url = f"{BASE}/posts/{draft['id']}"
    submitted = contributor.post(f"{url}/submit", json={"kind": "at", "at": "2099-06-01T09:00"})
    assert submitted.json()["status"] == "pending_approval"
    assert contributor.post(f"{url}/approve", json={}).status_code == 403
    assert viewer.post(f"{url}/approve", json={}).status_code == 403
    refused = editor.post(f"{url}/request-changes", json={})
    assert refused.status_code == 422
    changes = editor.post(f"{url}/request-changes", json={"comment": "Add a picture"})
    assert changes.json()["status"] == "changes_requested"
    contributor.post(f"{url}/submit", json={"kind": "at", "at": "2099-06-01T09:00"})
    approved = editor.post(f"{url}/approve", json={"comment": "Good"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "scheduled"
    history = editor.get(f"{url}/history").json()
    assert [e["action"] for e in history] == [
        "created", "submitted", "changes_requested", "submitted", "approved", "scheduled",
    ]  # fmt: skip
    assert history[2]["comment"] == "Add a picture"

    own = editor.post(
        f"{BASE}/posts",
        json={
            "channel_ids": [env.mastodon_id],
            "text": "Mine",
            "schedule": {"kind": "at", "at": "2099-06-01T10:00"},
        },
    ).json()
    assert own["status"] == "pending_approval"
    self_approval = editor.post(f"{BASE}/posts/{own['id']}/approve", json={})
    assert self_approval.status_code == 403
    assert "another member must approve it" in self_approval.json()["error"]["message"]


def test_media_upload_and_alt_text(env: PublishEnv, server: ServerThread) -> None:
    client = _client(env, server)
    buffer = io.BytesIO()
    Image.new("RGB", (10, 5), (1, 2, 3)).save(buffer, "PNG")
    uploaded = client.post(
        f"{BASE}/media",
        files={"file": ("box.png", buffer.getvalue(), "image/png")},
        data={"alt_text": "A dark box", "channel_ids": [str(env.bluesky_id)]},
    )
    assert uploaded.status_code == 201, uploaded.text
    item = uploaded.json()
    assert (item["mime_type"], item["width"], item["height"]) == ("image/png", 10, 5)
    assert client.get(f"{BASE}/media/{item['id']}").json()["alt_text"] == "A dark box"
    patched = client.patch(f"{BASE}/media/{item['id']}", json={"alt_text": "Box"})
    assert patched.json()["alt_text"] == "Box"
    bad = client.post(f"{BASE}/media", files={"file": ("x.png", b"not an image", "image/png")})
    assert bad.status_code == 422
    post = client.post(
        f"{BASE}/posts",
        json={
            "channel_ids": [env.bluesky_id],
            "parts": [{"text": "With a picture", "media": [item["id"]]}],
        },
    )
    assert post.status_code == 201
    assert post.json()["variants"][0]["parts"][0]["media"] == [item["id"]]


def test_queue_and_recommended_slots(env: PublishEnv, server: ServerThread) -> None:
    client = _client(env, server)
    url = f"{BASE}/channels/{env.mastodon_id}/queue-slots"
    assert client.get(url).json()["slots"] == []
    put = client.put(url, json={"slots": ["wed 17:30", "mon 09:00"]})
    assert put.status_code == 200, put.text
    assert put.json() == {
        "channel_id": env.mastodon_id,
        "channel": MASTODON,
        "timezone": "Europe/Paris",
        "slots": ["mon 09:00", "wed 17:30"],
    }
    assert client.put(url, json={"slots": ["noon"]}).status_code == 422
    queued = client.post(
        f"{BASE}/posts",
        json={"channel_ids": [env.mastodon_id], "text": "q", "schedule": {"kind": "queue"}},
    ).json()
    assert queued["variants"][0]["from_queue"] is True
    recommended = client.get(f"{BASE}/channels/{env.mastodon_id}/recommended-slots")
    assert recommended.status_code == 200 and recommended.json()["recommended"] == []


def test_another_workspace_sees_nothing(
    env: PublishEnv, server: ServerThread, database: Database
) -> None:
    client = _client(env, server)
    post = client.post(
        f"{BASE}/posts", json={"channel_ids": [env.mastodon_id], "text": "acme only"}
    ).json()
    other = seed_workspace(database, slug="rival", email="owner@rival.test")
    rival = httpx.Client(base_url=server.url, headers=other.headers, timeout=30)
    assert rival.get(f"{BASE}/posts/{post['id']}").status_code == 404
    assert rival.get(f"/api/v1/workspaces/rival/posts/{post['id']}").status_code == 404
    created = rival.post(
        "/api/v1/workspaces/rival/posts", json={"channel_ids": [env.mastodon_id], "text": "x"}
    )
    assert created.status_code == 404
