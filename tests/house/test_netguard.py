"""The SSRF rule: user-given URLs never reach private, loopback or link-local addresses."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, make_settings, serving
from townsquare.errors import NetworkError, ValidationError
from townsquare.netguard import USER_AGENT, check_url, safe_http_client

REFUSED = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://localhost:8000/x",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://10.0.0.8/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://2130706433/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_addresses_are_refused(url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(ValidationError) as caught:
        check_url(url, settings)
    assert "TOWNSQUARE_ALLOW_PRIVATE_URLS" in caught.value.message


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "example.com", ""])
def test_non_web_urls_are_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not a web address"):
        check_url(url, make_settings(tmp_path))


def test_public_ip_literal_is_accepted(tmp_path: Path) -> None:
    assert check_url("https://93.184.215.14/x", make_settings(tmp_path)) == (
        "https://93.184.215.14/x"
    )


def test_unresolvable_host_is_a_network_error(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="cannot find the host"):
        check_url("https://no-such-host.invalid/", make_settings(tmp_path))


def test_the_instance_may_allow_private_addresses(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, allow_private_urls=True)
    assert check_url("http://127.0.0.1:9/", settings) == "http://127.0.0.1:9/"


class _Redirecting(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", self.target)
            self.end_headers()
            return
        body = self.headers.get("User-Agent", "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[str]:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Redirecting)
    with serving(server):
        yield f"http://127.0.0.1:{port}"


def test_client_applies_the_rule_to_every_request(loopback_server: str, tmp_path: Path) -> None:
    with (
        safe_http_client(make_settings(tmp_path)) as client,
        pytest.raises(ValidationError, match="private, loopback"),
    ):
        client.get(loopback_server + "/page")


def test_client_sends_our_user_agent_when_allowed(loopback_server: str, tmp_path: Path) -> None:
    with safe_http_client(make_settings(tmp_path, allow_private_urls=True)) as client:
        answer = client.get(loopback_server + "/page")
    assert answer.text == USER_AGENT


def test_a_redirect_to_a_private_address_is_refused(tmp_path: Path) -> None:
    # The first hop is public (a transport-level check happens before sending), the
    # redirect it answers points at loopback: the hop is checked before it is followed.
    import httpx

    def public_site(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://127.0.0.1:1/admin"})

    from townsquare.netguard import GuardedTransport

    transport = GuardedTransport(make_settings(tmp_path))
    transport.inner = httpx.MockTransport(public_site)  # type: ignore[assignment]
    with (
        httpx.Client(transport=transport, follow_redirects=True) as client,
        pytest.raises(ValidationError, match=r"127\.0\.0\.1"),
    ):
        client.get("https://93.184.215.14/start")
