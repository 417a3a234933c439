"""Asking each platform whether a handle exists: one small checker per platform.

The checkers never touch the database: :func:`check_all` takes plain data (the targets and
the base URL of each platform) and returns plain results. Every request goes through the
SSRF rule (``netguard.check_url``, on every redirect hop too) and runs concurrently with the others,
each with its own timeout; a platform that cannot be asked answers ``unknown`` with the
reason, never a guess.

How each answer is read (``interpret_*``, pure functions):

- Bluesky ``GET {base}/xrpc/com.atproto.identity.resolveHandle?handle=H``: 200 with a DID
  → taken; 400 "Unable to resolve handle" → available.
- Mastodon ``GET {instance}/api/v1/accounts/lookup?acct=NAME``: 200 → taken, 404 →
  available; 401/403 (lookups need an account there) → unknown.
- GitHub ``GET {base}/users/NAME``: 200 → taken, 404 → available; 403/429 (rate limit)
  → unknown.
- Domains by RDAP ``GET {base}/domain/NAME.TLD``: 200 → registered (taken), 404 → free.
- Closed platforms (Instagram, X, TikTok, Facebook, LinkedIn, YouTube, Threads) by their
  public profile page: 404/410 → available; 200 whose page title names the ``@handle``, or
  200 on YouTube or LinkedIn (which answer 404 for a free handle) → taken; a login wall, a
  challenge, a refusal or a page that does not name the handle → unknown.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from townsquare.config import Settings
from townsquare.errors import TownsquareError
from townsquare.handles import reasons as R
from townsquare.netguard import USER_AGENT, check_url

AVAILABLE = "available"
TAKEN = "taken"
INVALID = "invalid"
UNKNOWN = "unknown"
STATUSES = (AVAILABLE, TAKEN, INVALID, UNKNOWN)

DEFAULT_BASE_URLS: dict[str, str] = {
    "bluesky": "https://bsky.social",
    "github": "https://api.github.com",
    "rdap_fr": "https://rdap.nic.fr",
    "rdap_com": "https://rdap.verisign.com/com/v1",
    "instagram": "https://www.instagram.com",
    "threads": "https://www.threads.net",
    "x": "https://x.com",
    "tiktok": "https://www.tiktok.com",
    "facebook": "https://www.facebook.com",
    "linkedin": "https://www.linkedin.com",
    "youtube": "https://www.youtube.com",
}

# The public profile page of each closed platform ("{}" is the handle).
PROFILE_PATHS: dict[str, str] = {
    "instagram": "/{}/",
    "threads": "/@{}",
    "x": "/{}",
    "tiktok": "/@{}",
    "facebook": "/{}",
    "linkedin": "/company/{}",
    "youtube": "/@{}",
}
# Platforms whose profile page answers 404 for a free handle and 200 for a taken one,
# without needing to read the page (when they show it at all, not a login wall).
STATUS_TELLS = frozenset({"youtube", "linkedin"})
LOGIN_PATH = re.compile(r"login|signin|sign-in|authwall|checkpoint|challenge|consent|signup", re.I)
TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
MAX_CONCURRENCY = 16


@dataclass(frozen=True)
class Target:
    """One question: is ``handle`` (for name ``name``) free on ``network``?

    ``where`` is the Mastodon instance's URL, the Bluesky handle's domain or the TLD.
    """

    network: str
    name: str
    handle: str
    where: str = ""


@dataclass(frozen=True)
class Result:
    network: str
    handle: str
    status: str
    reason: str
    url: str

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def base_urls(settings: Settings) -> dict[str, str]:
    """The base URL of each platform: the defaults, overridden by TOWNSQUARE_HANDLES_BASE_URLS."""
    urls = dict(DEFAULT_BASE_URLS)
    urls.update({key: value.rstrip("/") for key, value in settings.handles_base_urls.items()})
    return urls


# --- reading the answers (pure) ----------------------------------------------------------


def _refusal(code: int, platform: str) -> tuple[str, str]:
    if code == 429:
        return UNKNOWN, R.RATE_LIMITED.format(platform=platform)
    if code in (401, 403, 999):
        return UNKNOWN, R.NEEDS_ACCOUNT.format(platform=platform, code=code)
    return UNKNOWN, R.DOES_NOT_TELL.format(platform=platform, code=code)


def interpret_bluesky(code: int, body: Any, handle: str) -> tuple[str, str]:
    if code == 200 and isinstance(body, dict) and body.get("did"):
        return TAKEN, R.BLUESKY_TAKEN.format(handle=handle, did=body["did"])
    if code == 400 and isinstance(body, dict):
        message = str(body.get("message", ""))
        if "resolve" in message.lower() or body.get("error") == "InvalidRequest":
            return AVAILABLE, R.BLUESKY_FREE.format(handle=handle)
    return _refusal(code, "Bluesky")


def interpret_mastodon(code: int, instance: str) -> tuple[str, str]:
    if code == 200:
        return TAKEN, R.MASTODON_TAKEN.format(instance=instance)
    if code == 404:
        return AVAILABLE, R.MASTODON_FREE.format(instance=instance)
    if code == 410:
        return TAKEN, R.MASTODON_GONE.format(instance=instance)
    return _refusal(code, instance)


def interpret_github(code: int) -> tuple[str, str]:
    if code == 200:
        return TAKEN, R.GITHUB_TAKEN
    if code == 404:
        return AVAILABLE, R.GITHUB_FREE
    return _refusal(code, "GitHub")


def interpret_rdap(code: int, domain: str) -> tuple[str, str]:
    if code == 200:
        return TAKEN, R.DOMAIN_TAKEN.format(domain=domain)
    if code == 404:
        return AVAILABLE, R.DOMAIN_FREE.format(domain=domain)
    return _refusal(code, "the registry")


def interpret_profile(
    network: str, code: int, final_url: str, html: str, handle: str
) -> tuple[str, str]:
    """A closed platform's profile page, read as cautiously as it deserves."""
    path = urlsplit(final_url).path + "?" + urlsplit(final_url).query
    if code in (404, 410):
        return AVAILABLE, R.PROFILE_MISSING.format(code=code)
    if code == 200 and LOGIN_PATH.search(path):
        return UNKNOWN, R.LOGIN_WALL
    if code == 200:
        if network in STATUS_TELLS:
            return TAKEN, R.PROFILE_EXISTS
        match = TITLE.search(html)
        title = match.group(1) if match else ""
        if re.search(rf"@{re.escape(handle)}(?![\w.])", title, re.I):
            return TAKEN, R.PROFILE_NAMES
        return UNKNOWN, R.PROFILE_SILENT
    return _refusal(code, network)


# --- asking (I/O) ------------------------------------------------------------------------


class ConcurrentGuardedTransport(httpx.AsyncBaseTransport):
    """The SSRF rule of ``netguard`` on every request (so every redirect hop), with the host
    name resolved in a worker thread: ``netguard.AsyncGuardedTransport`` resolves on the
    event loop, which would ask the platforms one after the other."""

    def __init__(self, settings: Settings, resolver: ThreadPoolExecutor) -> None:
        self.settings = settings
        self.resolver = resolver
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.resolver, check_url, str(request.url), self.settings)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _client(settings: Settings, timeout: float, resolver: ThreadPoolExecutor) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=ConcurrentGuardedTransport(settings, resolver),
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json, */*"},
    )


def _unknown(target: Target, url: str, reason: str) -> Result:
    return Result(target.network, target.handle, UNKNOWN, reason, url)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def _ask(client: httpx.AsyncClient, target: Target, urls: Mapping[str, str]) -> Result:
    network = target.network
    name = quote(target.name, safe="")
    if network == "bluesky":
        asked = f"{urls['bluesky']}/xrpc/com.atproto.identity.resolveHandle"
        shown = f"https://bsky.app/profile/{target.handle}"
        response = await client.get(asked, params={"handle": target.handle.lower()})
        status, reason = interpret_bluesky(response.status_code, _json(response), target.handle)
        return Result(network, target.handle, status, reason, shown)
    if network == "mastodon":
        instance = target.where.rstrip("/")
        shown = f"{instance}/@{name}"
        response = await client.get(f"{instance}/api/v1/accounts/lookup", params={"acct": name})
        host = urlsplit(instance).netloc
        status, reason = interpret_mastodon(response.status_code, host)
        return Result(network, target.handle, status, reason, shown)
    if network == "github":
        response = await client.get(f"{urls['github']}/users/{name}")
        status, reason = interpret_github(response.status_code)
        body = _json(response)
        shown = f"https://github.com/{name}"
        if status == TAKEN and isinstance(body, dict) and isinstance(body.get("html_url"), str):
            shown = body["html_url"]
        return Result(network, target.handle, status, reason, shown)
    if network == "domain":
        asked = f"{urls['rdap_' + target.where]}/domain/{target.handle.lower()}"
        response = await client.get(asked)
        status, reason = interpret_rdap(response.status_code, target.handle)
        return Result(network, target.handle, status, reason, asked)
    asked = urls[network] + PROFILE_PATHS[network].format(name)
    response = await client.get(asked)
    status, reason = interpret_profile(
        network, response.status_code, str(response.url), response.text, target.name
    )
    return Result(network, target.handle, status, reason, asked)


def _where(target: Target, urls: Mapping[str, str]) -> str:
    if target.network == "mastodon":
        return target.where
    if target.network == "domain":
        return urls.get("rdap_" + target.where, "")
    return urls.get(target.network, "")


async def _ask_safely(
    client: httpx.AsyncClient,
    target: Target,
    urls: Mapping[str, str],
    limit: asyncio.Semaphore,
    timeout: float,
) -> Result:
    where = _where(target, urls)
    async with limit:
        try:
            # The whole question, host name lookup included, within the timeout.
            return await asyncio.wait_for(_ask(client, target, urls), timeout)
        except (httpx.TimeoutException, TimeoutError):
            return _unknown(target, where, R.TIMEOUT.format(seconds=f"{timeout:g}"))
        except httpx.TooManyRedirects:
            return _unknown(target, where, R.REDIRECT_LOOP)
        except httpx.HTTPError as error:
            host = urlsplit(where).netloc or where
            return _unknown(
                target, where, R.UNREACHABLE.format(host=host, error=type(error).__name__)
            )
        except TownsquareError as error:  # the SSRF rule, a host that does not resolve
            return _unknown(target, where, error.message)


async def check_all_async(
    targets: Sequence[Target], settings: Settings, urls: Mapping[str, str] | None = None
) -> list[Result]:
    """Ask every target concurrently; results in the order of ``targets``."""
    urls = urls or base_urls(settings)
    timeout = settings.handles_timeout
    limit = asyncio.Semaphore(MAX_CONCURRENCY)
    # One resolver thread per concurrent request: every host name is looked up at once. A
    # lookup that outlives the timeout is left to finish on its own (not waited for).
    resolver = ThreadPoolExecutor(max_workers=MAX_CONCURRENCY)
    try:
        async with _client(settings, timeout, resolver) as client:
            return list(
                await asyncio.gather(
                    *(_ask_safely(client, target, urls, limit, timeout) for target in targets)
                )
            )
    finally:
        resolver.shutdown(wait=False, cancel_futures=True)


def check_all(
    targets: Sequence[Target], settings: Settings, urls: Mapping[str, str] | None = None
) -> list[Result]:
    """:func:`check_all_async` for synchronous callers (the CLI, the web app's threads)."""
    if not targets:
        return []
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(check_all_async(targets, settings, urls))
    # Called from inside an event loop (an async caller that did not await the async
    # version): run the checks on a loop of their own in another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, check_all_async(targets, settings, urls)).result()
