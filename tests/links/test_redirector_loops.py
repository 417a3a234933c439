"""Loops are refused when a link is saved and again when it is followed (issue #7, item 7)."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ServerThread, make_settings
from tests.links.conftest import LinksEnv
from townsquare.errors import ValidationError
from townsquare.links import service
from townsquare.links.models import Link, LinkClick
from townsquare.links.redirector import Redirector

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"


def _stored(env: LinksEnv, slug: str, target: str) -> None:
    """A link written without today's checks (made before them, or by hand in the table)."""
    with env.database.session() as session:
        workspace_id = session.scalar(sa.text("SELECT id FROM workspaces LIMIT 1"))
        session.add(Link(workspace_id=workspace_id, slug=slug, target_url=target, final_url=target))
        session.commit()


def _clicks(env: LinksEnv) -> int:
    with env.database.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(LinkClick)) or 0)


def test_the_real_port_of_serve_is_refused_in_every_spelling(links_env: LinksEnv) -> None:
    # What `serve --port 8821` puts in the settings it runs with (cli/serve.py).
    settings = make_settings(links_env.settings.data_dir, links_env.database.url, port=8821)
    for host in ("127.0.0.1", "localhost", "127.1", "[::1]", "0x7f000001", "2130706433"):
        with links_env.database.session() as session, pytest.raises(ValidationError) as caught:
            service.create_link(
                session,
                links_env.access(session),
                settings,
                target_url=f"http://{host}:8821/x",
            )
        assert "loop" in caught.value.message
        assert caught.value.field == "target_url"


def test_a_redirect_back_to_the_redirector_is_refused_when_followed(
    links_env: LinksEnv,
) -> None:
    redirector = Redirector(links_env.settings, links_env.database, flush_interval=0.05)
    with ServerThread(redirector) as server:
        port = server.port
        # A two-link loop through two other spellings of the address the server is on, and
        # a link to its own slug through the Host it is asked under.
        _stored(links_env, "ping", f"http://localhost:{port}/pong")
        _stored(links_env, "pong", f"http://127.1:{port}/ping")
        _stored(links_env, "self", "http://go.example.com/self")
        _stored(links_env, "page", f"http://127.0.0.1:{port}/w/demo/links")  # not a slug path
        headers = {"user-agent": CHROME}
        with httpx.Client(follow_redirects=True, headers=headers, max_redirects=30) as client:
            looping = client.get(server.url + "/ping")
            assert looping.status_code == 508
            assert "leads back to the short-link service" in looping.text
            assert looping.history == []  # refused at once, not after a lap
            renamed = client.get(server.url + "/self", headers={"host": "go.example.com"})
            assert renamed.status_code == 508
            french = client.get(server.url + "/pong", headers={"accept-language": "fr"})
            assert "renvoie au service de liens courts" in french.text
        with httpx.Client(follow_redirects=False, headers=headers) as client:
            page = client.get(server.url + "/page")
            assert page.status_code == 302  # a page of the app at the same address: no loop
        redirector.recorder.flush()
    assert _clicks(links_env) == 1  # only /page: a refused loop counts nothing
