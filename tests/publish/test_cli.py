"""``townsquare post …`` and ``townsquare queue …`` through the real entry point (``main``):
JSON shapes, exit codes (2 for a post over its limit, with the count and the limit)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.publish.service_env import BLUESKY, MASTODON, PublishEnv, make_env
from townsquare.db import Database
from townsquare.publish import service
from townsquare.workspaces.service import create_user, get_user_by_email


class Cli:
    def __init__(
        self,
        env: PublishEnv,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        self.env = env
        monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(env.settings.data_dir))
        monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", env.database.url)
        monkeypatch.setenv("TOWNSQUARE_SECRET_KEY", "test-secret-key")
        monkeypatch.setenv("TOWNSQUARE_BASE_URL", "http://127.0.0.1:8000")
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def run(self, *args: str) -> tuple[int, str, str]:
        from townsquare.cli.main import main
        from townsquare.config import get_settings

        get_settings.cache_clear()
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "argv", ["townsquare", *args])
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        code = 0
        try:
            main()
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        finally:
            get_settings.cache_clear()
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self.run(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(
    database: Database,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Cli]:
    yield Cli(make_env(database, data_dir), monkeypatch, capsys)


W = ("--workspace", "acme")


def test_create_json_shape_with_an_adaptation(cli: Cli) -> None:
    data = cli.json(
        "post", "create", *W,
        "--channel", MASTODON, "--channel", BLUESKY,
        "--text", "Hello everyone 👋🏽",
        "--text-for", f"{BLUESKY}=Hello Bluesky",
        "--cw", "greetings",
        "--at", "2099-06-01T09:00",
    )  # fmt: skip
    assert set(data) == {"id", "status", "variants"}
    assert data["status"] == "scheduled"
    by_channel = {v["channel"]: v for v in data["variants"]}
    assert set(by_channel) == {MASTODON, BLUESKY}
    for variant in data["variants"]:
        assert {"channel", "status", "scheduled_at", "length", "limit"} <= set(variant)
    # Mastodon counts the warning (9) and the text (16 graphemes).
    assert by_channel[MASTODON]["length"] == 9 + 16 and by_channel[MASTODON]["limit"] == 500
    assert by_channel[MASTODON]["scheduled_at"] == "2099-06-01T07:00:00+00:00"  # Paris, CEST
    assert by_channel[BLUESKY]["length"] == 13 and by_channel[BLUESKY]["limit"] == 300
    assert by_channel[BLUESKY]["scheduled_at"] == "2099-06-01T13:00:00+00:00"  # New York, EDT

    shown = cli.json("post", "show", str(data["id"]), *W)
    for variant in shown["variants"]:
        assert {"status", "external_id", "url", "attempts", "error"} <= set(variant)
    assert [event["action"] for event in shown["history"]] == ["created", "scheduled", "scheduled"]


def test_over_the_limit_exits_2_with_the_count_and_the_limit(cli: Cli) -> None:
    code, out, err = cli.run(
        "post", "create", *W, "--channel", BLUESKY, "--text", "x" * 301, "--now", "--json"
    )
    assert code == 2 and out == ""
    assert "301" in err and "300" in err
    assert cli.json("post", "list", *W) == []


def test_bad_input_exits_2(cli: Cli) -> None:
    code, _out, err = cli.run(
        "post", "create", *W, "--channel", BLUESKY, "--text", "x", "--now", "--queue"
    )
    assert code == 2 and "--at, --queue and --now" in err
    code, _out, err = cli.run(
        "post", "create", *W, "--channel", MASTODON, "--text", "x", "--at", "2026-03-29T02:30"
    )
    assert code == 2 and "2026-03-29T01:30+01:00" in err and "2026-03-29T03:30+02:00" in err
    code, _out, err = cli.run("post", "create", *W, "--channel", "@nobody", "--text", "x")
    assert code == 3 and "no channel '@nobody'" in err


def test_images_with_alt_text(cli: Cli, tmp_path: Path) -> None:
    picture = tmp_path / "box.png"
    Image.new("RGB", (4, 4), (0, 90, 200)).save(picture)
    data = cli.json(
        "post", "create", *W, "--channel", BLUESKY, "--text", "A picture",
        "--image", str(picture), "--alt", "A blue square", "--draft",
    )  # fmt: skip
    assert data["status"] == "draft"
    shown = cli.json("post", "show", str(data["id"]), *W)
    assert len(shown["parts"][0]["media"]) == 1
    code, _out, err = cli.run(
        "post", "create", *W, "--channel", BLUESKY, "--text", "x", "--image", str(tmp_path)
    )
    assert code == 2 and "cannot read the image" in err


def test_list_approve_reject_cancel(cli: Cli) -> None:
    code, _out, err = cli.run(
        "post", "create", *W, "--channel", MASTODON, "--text", "draft one", "--draft"
    )
    assert code == 0, err
    scheduled = cli.json(
        "post", "create", *W, "--channel", MASTODON, "--text", "later", "--at", "2099-06-01T09:00"
    )
    listed = cli.json("post", "list", *W, "--status", "scheduled")
    assert [row["id"] for row in listed] == [scheduled["id"]]
    in_june = cli.json("post", "list", *W, "--from", "2099-06-01", "--to", "2099-06-01")
    assert [row["id"] for row in in_june] == [scheduled["id"]]
    assert cli.json("post", "list", *W, "--from", "2099-06-02") == []
    code, _out, err = cli.run("post", "list", *W, "--status", "sent")
    assert code == 2 and "unknown status" in err

    code, _out, err = cli.run("post", "approve", str(scheduled["id"]), *W)
    assert code == 4 and "not waiting for approval" in err
    cancelled = cli.json("post", "cancel", str(scheduled["id"]), *W)
    assert cancelled["status"] == "cancelled"
    code, _out, err = cli.run("post", "cancel", str(scheduled["id"]), *W)
    assert code == 4
    code, _out, err = cli.run("post", "show", "999", *W)
    assert code == 3 and "no post 999" in err


def _submitted(cli: Cli) -> int:
    """A contributor's post, submitted for approval (through the service, as the web does)."""
    with cli.env.database.session() as session:
        post = service.create_post(
            session,
            cli.env.as_role(session, "contributor"),
            cli.env.settings,
            channel_ids=[cli.env.mastodon_id],
            parts="to review",
            when=service.When("at", "2099-06-01T09:00"),
        )
        return post.id


def test_submitted_post_approved_or_rejected_from_the_cli(cli: Cli) -> None:
    first, second = _submitted(cli), _submitted(cli)
    assert cli.json("post", "show", str(first), *W)["status"] == "pending_approval"
    approved = cli.json("post", "approve", str(first), *W, "--comment", "fine")
    assert approved["status"] == "scheduled"
    rejected = cli.json("post", "reject", str(second), *W, "--comment", "Add the date")
    assert rejected["status"] == "changes_requested"
    history = cli.json("post", "show", str(second), *W)["history"]
    assert history[-1]["action"] == "changes_requested"
    assert history[-1]["comment"] == "Add the date"
    code, _out, err = cli.run("post", "reject", str(second), *W)
    assert code == 4 and "not waiting for approval" in err
    draft = cli.json("post", "create", *W, "--channel", MASTODON, "--text", "mine", "--draft")
    scheduled = cli.json("post", "schedule", str(draft["id"]), *W, "--at", "2099-06-01T09:00")
    assert scheduled["status"] == "scheduled"  # the operator schedules directly


def test_queue_slots_and_queueing(cli: Cli) -> None:
    empty = cli.json("queue", "slots", *W, "--channel", MASTODON)
    assert empty == {"channel": MASTODON, "timezone": "Europe/Paris", "slots": []}
    data = cli.json("queue", "slots", *W, "--channel", MASTODON, "--set", "wed 17:30, mon 09:00")
    assert data["slots"] == ["mon 09:00", "wed 17:30"]
    code, _out, err = cli.run("queue", "slots", *W, "--channel", MASTODON, "--set", "noon")
    assert code == 2 and "invalid queue slot" in err
    queued = cli.json("post", "create", *W, "--channel", MASTODON, "--text", "q", "--queue")
    assert queued["variants"][0]["status"] == "scheduled"
    local = queued["variants"][0]["scheduled_local"]
    assert local.endswith(("T09:00+01:00", "T09:00+02:00", "T17:30+01:00", "T17:30+02:00"))
    recommended = cli.json("queue", "recommended", *W, "--channel", MASTODON)
    assert recommended["recommended"] == []


def test_create_credits_the_author_or_the_command_line(cli: Cli) -> None:
    at = ("--at", "2099-06-01T09:00")
    by_editor = cli.json(
        "post", "create", *W, "--channel", MASTODON, "--text", "By an editor", *at,
        "--author", "Editor1@acme.test",
    )  # fmt: skip
    assert set(by_editor) == {"id", "status", "variants"}  # the same keys as without it
    shown = cli.json("post", "show", str(by_editor["id"]), *W)
    with cli.env.database.session() as session:
        editor = get_user_by_email(session, "editor1@acme.test")
        assert editor is not None
        assert shown["author_id"] == editor.id
    created = shown["history"][0]
    assert created["action"] == "created" and created["user_id"] == editor.id
    assert "via" not in created["detail"]

    anonymous = cli.json("post", "create", *W, "--channel", MASTODON, "--text", "Hi", *at)
    shown = cli.json("post", "show", str(anonymous["id"]), *W)
    assert shown["author_id"] is None
    created = shown["history"][0]
    assert created["user_id"] is None and created["detail"]["via"] == "cli"

    with cli.env.database.session() as session:  # a user, but of no workspace
        create_user(session, email="outsider@acme.test", password="correct horse battery")
    posts = len(cli.json("post", "list", *W))
    for stranger in ("nobody@acme.test", "outsider@acme.test"):
        code, out, err = cli.run(
            "post", "create", *W, "--channel", MASTODON, "--text", "x", *at, "--author", stranger
        )
        assert code == 2 and out == ""
        assert f"no member of workspace 'acme' has the e-mail '{stranger}'" in err
        assert "--author" in err
    assert len(cli.json("post", "list", *W)) == posts  # nothing written


def test_the_authors_role_decides_as_on_the_web(cli: Cli, tmp_path: Path) -> None:
    from townsquare.publish import approval
    from townsquare.publish.models import PublishMedia
    from townsquare.workspaces.access import WorkspaceAccess, get_workspace

    at = ("--at", "2099-06-01T09:00")
    create = ("post", "create", *W, "--channel", MASTODON, "--text", "Hello", *at)
    # Posts need no approval: a contributor's still waits for one, an editor's is scheduled.
    by_contributor = cli.json(*create, "--author", "contributor1@acme.test")
    assert by_contributor["status"] == "pending_approval"
    assert by_contributor["variants"][0]["status"] == "pending_approval"
    assert cli.json(*create, "--author", "editor1@acme.test")["status"] == "scheduled"

    with cli.env.database.session() as session:
        operator = WorkspaceAccess.operator(get_workspace(session, "acme"))
        approval.update_settings(session, operator, needs_approval=True, forbid_self_approval=False)
    # Posts need approval and an approver may approve their own: a contributor may not.
    assert cli.json(*create, "--author", "contributor1@acme.test")["status"] == "pending_approval"
    assert cli.json(*create, "--author", "editor1@acme.test")["status"] == "scheduled"
    assert cli.json(*create)["status"] == "scheduled"  # the command line: the operator

    picture = tmp_path / "box.png"
    Image.new("RGB", (4, 4), (0, 90, 200)).save(picture)
    posts = len(cli.json("post", "list", *W))
    code, out, err = cli.run(
        *create, "--image", str(picture), "--alt", "a box", "--author", "Viewer1@acme.test"
    )
    assert code == 6 and out == ""
    assert "your role in workspace 'acme' is viewer; to compose posts you need contributor" in err
    assert len(cli.json("post", "list", *W)) == posts  # nothing written, not even the image
    with cli.env.database.session() as session:
        assert session.query(PublishMedia).count() == 0
