"""Loopback HTTP servers that answer with the recorded payloads of tests/data/channels.

They stand in for what mastodon_mock and the Bluesky dev-env cannot produce (a real
Mastodon 4.6 instance's statuses and headers, a Bluesky session handed over by an entryway,
bsky.app's AppView answers, the PDS's expired and revoked tokens, its 429): the real
connectors talk to them over HTTP, through the same guarded sessions as in production.
Each server follows the API's rules (pagination by ``max_id``, bearer tokens, sessions) and
answers with the recorded bodies and headers; tests/data/channels/README.md says where each
payload comes from.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).resolve().parents[1] / "data" / "channels"


def recorded(name: str) -> dict[str, Any]:
    """One recorded payload: ``{"source", "status", "headers", "body"}``."""
    value: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return value


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        app = self.server.app
        with app.lock:
            app.requests.append(f"{method} {parts.path}")
            answer = app.route(method, parts.path, query, dict(self.headers), raw)
        body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        headers = {"content-type": "application/json; charset=utf-8", **answer.headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: ReplayApp


class ReplayApp:
    """Answers requests; subclasses route them. ``url`` is set once the server listens."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes
    ) -> Answer:
        raise NotImplementedError


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A TLS server context with a fresh self-signed certificate for 127.0.0.1 (one no
    client trusts: what a misconfigured instance presents)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@contextmanager
def serving(app: ReplayApp, tls: ssl.SSLContext | None = None) -> Iterator[ReplayApp]:
    """Serve ``app`` on a free loopback port for the ``with`` block (over TLS with
    ``tls``)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.app = app
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    app.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _replayed(payload: dict[str, Any]) -> Answer:
    headers = {k: v for k, v in payload.get("headers", {}).items() if k != "link"}
    return Answer(int(payload.get("status", 200)), payload["body"], headers)


# --- Mastodon 4.6.4, as recorded by Mastodon.py's test suite --------------------------------


class MastodonReplay(ReplayApp):
    """Two accounts of a real instance (``mastodonpy_test`` and ``admin``) with the
    statuses they posted in the recordings, paged newest first like the instance does.

    ``revoke_after``: the token stops working after that many statuses pages (a user who
    revoked townsquare's access in the middle of a sync). ``page_cap``: the most statuses
    a page holds whatever the client asks (Mastodon's own cap is 40).
    """

    TOKENS: ClassVar[dict[str, str]] = {
        "recorded-token-test": "verify_credentials.json",
        "recorded-token-admin": "verify_credentials_admin.json",
    }

    def __init__(self, revoke_after: int | None = None, page_cap: int = 40) -> None:
        super().__init__()
        self.page_cap = page_cap
        self.accounts = {token: recorded(f"mastodon/{name}") for token, name in self.TOKENS.items()}
        self.statuses: list[dict[str, Any]] = recorded("mastodon/statuses.json")["body"]
        self.page_headers = recorded("mastodon/account_statuses_page.json")["headers"]
        self.revoke_after = revoke_after
        self.pages = 0

    def credentials(self, who: str = "test") -> dict[str, str]:
        return {"instance_url": self.url, "access_token": f"recorded-token-{who}"}

    def route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes
    ) -> Answer:
        token = (headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if path == "/api/v2/instance":
            return _replayed(recorded("mastodon/instance_v2.json"))
        account = self.accounts.get(token)
        if account is None or (self.revoke_after is not None and self.pages >= self.revoke_after):
            return _replayed(recorded("mastodon/error_401.json"))
        me = account["body"]
        if path == "/api/v1/accounts/verify_credentials":
            return _replayed(account)
        prefix = "/api/v1/accounts/"
        if path.startswith(prefix) and path.endswith("/statuses"):
            account_id = path[len(prefix) : -len("/statuses")]
            if account_id != me["id"]:
                return _replayed(recorded("mastodon/error_404.json"))
            self.pages += 1
            return self._page(account_id, query)
        return _replayed(recorded("mastodon/error_404.json"))

    def _page(self, account_id: str, query: dict[str, str]) -> Answer:
        limit = min(int(query.get("limit") or 20), self.page_cap)
        own = [s for s in self.statuses if s["account"]["id"] == account_id]
        if "max_id" in query:
            own = [s for s in own if int(s["id"]) < int(query["max_id"])]
        page = own[:limit]
        headers = {k: v for k, v in self.page_headers.items() if k != "link"}
        if page:
            base = f"{self.url}/api/v1/accounts/{account_id}/statuses?limit={limit}"
            headers["link"] = (
                f'<{base}&max_id={page[-1]["id"]}>; rel="next", '
                f'<{base}&min_id={page[0]["id"]}>; rel="prev"'
            )
        return Answer(200, page, headers)


# --- Bluesky: an entryway handing the session to the account's PDS, bsky.app's answers -----


def jwt(subject: str, *, lifetime: float, scope: str = "com.atproto.access") -> str:
    """An unsigned-looking JWT the SDK can read the expiry of (it never verifies it)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "scope": scope,
        "sub": subject,
        "iat": now,
        "exp": int(now + lifetime),
        "jti": secrets.token_hex(8),  # each token its own, even within one second
    }
    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part(claims)}.c2lnbmF0dXJl"


class BlueskyReplay(ReplayApp):
    """An account (the one of atproto's recordings, ``test.marshal.dev``) on a PDS.

    Logging in at the entryway (``entryway`` set: another BlueskyReplay that only creates
    sessions) returns a DID document naming this PDS, as bsky.social does. Knobs:
    ``access_lifetime`` (seconds; negative: the token handed out is already expired),
    ``revoked`` (the refresh token was revoked), ``expire_feed`` (the PDS answers the
    feed with ExpiredToken whatever the token says), ``rate_limited``.
    """

    PASSWORD = "abcd-efgh-ijkl-mnop"

    def __init__(self, pds: BlueskyReplay | None = None) -> None:
        super().__init__()
        profile = recorded("bluesky/profile.json")
        self.profile: dict[str, Any] = profile["body"]
        self.did: str = self.profile["did"]
        self.handle: str = self.profile["handle"]
        self.feed = recorded("bluesky/author_feed.json")
        self.errors = recorded("bluesky/errors.json")
        self.pds = pds  # set on an entryway: where sessions send the client
        self.access_lifetime = 7200.0
        self.revoked = False
        self.expire_feed = False
        self.rate_limited = False
        self.refreshes = 0

    def credentials(self, password: str | None = None) -> dict[str, str]:
        return {
            "identifier": self.handle,
            "app_password": password or self.PASSWORD,
            "service_url": self.url,
        }

    def _error(self, name: str) -> Answer:
        payload = dict(self.errors[name])
        headers = {
            k: v.replace("{reset}", str(int(time.time()) + 3600))
            for k, v in payload.get("headers", {}).items()
        }
        return Answer(int(payload["status"]), payload["body"], headers)

    def _session(self) -> dict[str, Any]:
        document = recorded("bluesky/did_doc.json")["body"]
        pds_url = (self.pds or self).url
        for service in document["service"]:
            if service["id"].endswith("#atproto_pds"):
                service["serviceEndpoint"] = pds_url
        return {
            "did": self.did,
            "handle": self.handle,
            "didDoc": document,
            "accessJwt": jwt(self.did, lifetime=self.access_lifetime),
            "refreshJwt": jwt(self.did, lifetime=90 * 86400, scope="com.atproto.refresh"),
            "email": "test@marshal.dev",
            "emailConfirmed": True,
            "active": True,
        }

    def route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes
    ) -> Answer:
        name = path.removeprefix("/xrpc/")
        if name == "com.atproto.server.createSession":
            data = json.loads(raw or b"{}")
            if data.get("identifier") not in (self.handle, self.did) or (
                data.get("password") != self.PASSWORD
            ):
                return self._error("wrong_password")
            return Answer(200, self._session())
        if self.rate_limited:
            return self._error("rate_limited")
        if name == "com.atproto.server.refreshSession":
            if self.revoked:
                return self._error("revoked_refresh_token")
            self.refreshes += 1
            return Answer(200, self._session())
        if name == "com.atproto.server.deleteSession":
            return Answer(200, b"")
        if name == "app.bsky.actor.getProfile":
            return Answer(200, self.profile)
        if name == "app.bsky.feed.getAuthorFeed":
            if self.expire_feed:
                return self._error("expired_access_token")
            return _replayed(self.feed)
        return Answer(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})
