"""Local servers answering like each platform: a name is taken when it is in ``taken``.

One Starlette app plays every platform under its own path prefix (``/github/users/NAME``,
``/bluesky/xrpc/…``, ``/instagram/NAME/``, …), answering as the real one does for a taken
and for a free name: GitHub's and Mastodon's JSON and 404s, Bluesky's 400 "Unable to
resolve handle", RDAP's 404, profile pages whose <title> names the account. X and LinkedIn
answer with their login walls, as they do to visitors without an account.
Mastodon instances are separate servers (an instance is a host), one knowing the name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.conftest import ServerThread, free_port, make_settings
from townsquare.config import Settings

TAKEN = {"acme", "acme_fr", "acmeofficiel"}
PROFILE = "<html><head><title>Acme Corp (@{name}) • {platform}</title></head><body></body></html>"


def platforms_app(taken: set[str]) -> Starlette:
    def is_taken(name: str) -> bool:
        return name.lower() in taken

    async def bluesky(request: Request) -> Response:
        handle = request.query_params.get("handle", "")
        name = handle.split(".")[0]
        if (handle.endswith(".bsky.social") and is_taken(name)) or handle == "acme.com":
            return JSONResponse({"did": f"did:plc:{name}0000000000000000"})
        return JSONResponse(
            {"error": "InvalidRequest", "message": "Unable to resolve handle"}, status_code=400
        )

    async def github(request: Request) -> Response:
        name = request.path_params["name"]
        if is_taken(name):
            return JSONResponse(
                {"login": name, "id": 1, "html_url": f"https://github.com/{name}", "type": "User"}
            )
        return JSONResponse(
            {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
            status_code=404,
        )

    async def rdap(request: Request) -> Response:
        domain = request.path_params["domain"]
        if is_taken(domain.split(".")[0]):
            return JSONResponse(
                {"objectClassName": "domain", "ldhName": domain, "status": ["active"]},
                media_type="application/rdap+json",
            )
        return JSONResponse({"errorCode": 404, "title": "Not Found"}, status_code=404)

    def profile(platform: str) -> object:
        async def answer(request: Request) -> Response:
            name = request.path_params["name"]
            if is_taken(name):
                return HTMLResponse(PROFILE.format(name=name, platform=platform))
            return HTMLResponse("<title>Page not found</title>", status_code=404)

        return answer

    async def x_profile(request: Request) -> Response:
        return RedirectResponse("/x/i/flow/login?redirect_after_login=%2F", status_code=302)

    async def x_login(request: Request) -> Response:
        return HTMLResponse("<title>Log in to X / X</title>")

    async def linkedin(request: Request) -> Response:
        return RedirectResponse("/linkedin/authwall?sessionRedirect=x", status_code=303)

    async def linkedin_wall(request: Request) -> Response:
        return HTMLResponse("<title>Sign Up | LinkedIn</title>")

    async def linkedin_open(request: Request) -> Response:
        if is_taken(request.path_params["name"]):
            return HTMLResponse("<title>Acme Corp | LinkedIn</title>")
        return HTMLResponse("<title>Page not found | LinkedIn</title>", status_code=404)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(3)
        return Response("late")

    return Starlette(
        routes=[
            Route("/bluesky/xrpc/com.atproto.identity.resolveHandle", bluesky),
            Route("/github/users/{name}", github),
            Route("/rdap-fr/domain/{domain}", rdap),
            Route("/rdap-com/domain/{domain}", rdap),
            Route("/instagram/{name}/", profile("Instagram photos and videos")),
            Route("/threads/@{name}", profile("Threads")),
            Route("/tiktok/@{name}", profile("TikTok")),
            Route("/facebook/{name}", profile("Facebook")),
            Route("/youtube/@{name}", profile("YouTube")),
            Route("/x/i/flow/login", x_login),
            Route("/x/{name}", x_profile),
            Route("/linkedin/company/{name}", linkedin),
            Route("/linkedin/authwall", linkedin_wall),
            # X and LinkedIn when they do show profiles to visitors without an account.
            Route("/x-open/{name}", profile("X")),
            Route("/linkedin-open/company/{name}", linkedin_open),
            Route("/slow/users/{name}", slow),
        ]
    )


def mastodon_app(taken: set[str]) -> Starlette:
    async def lookup(request: Request) -> Response:
        acct = request.query_params.get("acct", "")
        if acct.lower() in taken:
            return JSONResponse(
                {"id": "1", "username": acct, "acct": acct, "url": f"{request.base_url}@{acct}"}
            )
        return JSONResponse({"error": "Record not found"}, status_code=404)

    return Starlette(routes=[Route("/api/v1/accounts/lookup", lookup)])


@dataclass
class Platforms:
    url: str
    mastodon_taken: str  # an instance where the taken names exist
    mastodon_free: str  # an instance where they do not
    settings: Settings
    taken: set[str]

    @property
    def instances(self) -> list[str]:
        return [self.mastodon_taken, self.mastodon_free]

    def base_urls(self) -> dict[str, str]:
        return base_urls(self.url)


def base_urls(url: str) -> dict[str, str]:
    return {
        "bluesky": f"{url}/bluesky",
        "github": f"{url}/github",
        "rdap_fr": f"{url}/rdap-fr",
        "rdap_com": f"{url}/rdap-com",
        "instagram": f"{url}/instagram",
        "threads": f"{url}/threads",
        "x": f"{url}/x",
        "tiktok": f"{url}/tiktok",
        "facebook": f"{url}/facebook",
        "linkedin": f"{url}/linkedin",
        "youtube": f"{url}/youtube",
    }


@pytest.fixture(scope="module")
def platform_servers() -> Iterator[tuple[str, str, str, set[str]]]:
    taken = set(TAKEN)  # a test may take or free a name (then put it back)
    with (
        ServerThread(platforms_app(taken)) as platforms,
        ServerThread(mastodon_app(taken)) as taken_instance,
        ServerThread(mastodon_app(set())) as free_instance,
    ):
        yield platforms.url, taken_instance.url, free_instance.url, taken


@pytest.fixture
def platforms(
    platform_servers: tuple[str, str, str, set[str]], data_dir: Path
) -> Iterator[Platforms]:
    url, taken_instance, free_instance, taken = platform_servers
    settings = make_settings(
        data_dir,
        allow_private_urls=True,
        handles_base_urls=base_urls(url),
        handles_timeout=2.0,
    )
    yield Platforms(url, taken_instance, free_instance, settings, taken)
    taken.clear()
    taken.update(TAKEN)


def closed_port_url() -> str:
    """An address where nothing listens (a platform that cannot be asked)."""
    return f"http://127.0.0.1:{free_port()}"
