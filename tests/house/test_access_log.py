"""``serve``'s access log (web/access_log.py) writes a request's line as its response ends,
not when the app returns: the app may go on after answering (a background task), and the
next request's line must not come first."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from townsquare.web.access_log import LOGGER_NAME, AccessLogMiddleware


class _Lines(logging.Handler):
    """The access log's lines, caught on its own logger (another test of the same process
    may have turned its propagation off, as ``serve`` does)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def log() -> Iterator[_Lines]:
    logger = logging.getLogger(LOGGER_NAME)
    handler, level, disabled = _Lines(), logger.level, logger.disabled
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False  # a dictConfig elsewhere in the process may have disabled it
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on a loop of its own in a thread: the test's own thread may already hold a loop
    left running by another test of the same worker."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as error:  # handed back to the test's thread
            failure.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


async def _answer_then_keep_working(scope: object, receive: object, send: object) -> None:
    await send({"type": "http.response.start", "status": 201, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"done", "more_body": False})  # type: ignore[operator]
    await asyncio.sleep(0)  # still running: the client has its answer already


def test_the_line_is_written_when_the_response_ends(log: _Lines) -> None:
    seen_when_sent: list[list[str]] = []

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            seen_when_sent.append(list(log.lines))

    scope = {"type": "http", "method": "POST", "path": "/w/acme/links", "query_string": b"x=1"}
    _run(AccessLogMiddleware(_answer_then_keep_working)(scope, None, send))  # type: ignore[arg-type]
    line = '- - "POST /w/acme/links?x=1 HTTP/1.1" 201'
    assert seen_when_sent == [[line]]
    assert log.lines == [line]  # once


async def _fail_before_answering(scope: object, receive: object, send: object) -> None:
    raise RuntimeError("boom")


def test_a_request_that_fails_before_answering_is_logged_as_500(log: _Lines) -> None:
    scope = {"type": "http", "method": "GET", "path": "/x"}
    with pytest.raises(RuntimeError):
        _run(AccessLogMiddleware(_fail_before_answering)(scope, None, None))  # type: ignore[arg-type]
    assert log.lines == ['- - "GET /x HTTP/1.1" 500']
