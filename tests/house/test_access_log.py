"""``serve``'s access log (web/access_log.py) writes a request's line as its response ends,
not when the app returns: the app may go on after answering (a background task), and the
next request's line must not come first."""

from __future__ import annotations

import asyncio
import logging

import pytest

from townsquare.web.access_log import LOGGER_NAME, AccessLogMiddleware


async def _answer_then_keep_working(scope: object, receive: object, send: object) -> None:
    await send({"type": "http.response.start", "status": 201, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"done", "more_body": False})  # type: ignore[operator]
    await asyncio.sleep(0)  # still running: the client has its answer already


def test_the_line_is_written_when_the_response_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    seen_when_sent: list[list[str]] = []

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            seen_when_sent.append([r.getMessage() for r in caplog.records])

    scope = {"type": "http", "method": "POST", "path": "/w/acme/links", "query_string": b"x=1"}
    asyncio.run(AccessLogMiddleware(_answer_then_keep_working)(scope, None, send))  # type: ignore[arg-type]
    line = '- - "POST /w/acme/links?x=1 HTTP/1.1" 201'
    assert seen_when_sent == [[line]]
    assert [r.getMessage() for r in caplog.records] == [line]  # once


async def _fail_before_answering(scope: object, receive: object, send: object) -> None:
    raise RuntimeError("boom")


def test_a_request_that_fails_before_answering_is_logged_as_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    scope = {"type": "http", "method": "GET", "path": "/x"}
    with pytest.raises(RuntimeError):
        asyncio.run(AccessLogMiddleware(_fail_before_answering)(scope, None, None))  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records] == ['- - "GET /x HTTP/1.1" 500']
