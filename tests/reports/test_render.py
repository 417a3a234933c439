"""Rendering refuses to fetch anything: an uploaded SVG logo that points at an address
(here a real HTTP server on loopback) must not make the server request it (SSRF)."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator

import pytest

from townsquare.reports import render


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()


def test_pdf_fetches_nothing(listener: tuple[int, list[str]]) -> None:
    port, hits = listener
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="10" height="10"><image xlink:href="http://127.0.0.1:{port}/from-svg" '
        'width="10" height="10"/></svg>'
    )
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    html = (
        f'<p>logo</p><img src="{uri}"><img src="http://127.0.0.1:{port}/direct">'
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/style.css">'
    )
    content = render.pdf(html)
    assert content.startswith(b"%PDF")
    assert hits == []
    # The same document with WeasyPrint's default fetcher would have asked the server:
    from weasyprint import HTML

    HTML(string=html).write_pdf()
    assert hits, "the check proves nothing if nothing would have been fetched"
