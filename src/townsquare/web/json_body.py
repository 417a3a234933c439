"""JSON request bodies hold text, never half a character: the one check, before any route.

JSON may spell a character outside the Basic Multilingual Plane as a pair of ``\\uD83D\\uDE00``
escapes; one half alone (a *lone surrogate*, ``"\\ud800"``) decodes in Python to a ``str``
that no UTF-8 encoder accepts, so it used to travel through validation and fail deep
inside (the database driver, a URL parser, the JSON of an error) as a 500. This layer
reads the body of every JSON request as it streams in and, when the last part arrives,
refuses one with a lone surrogate (HTTP 422 through ``web/errors.py``, nothing written).
The check costs nothing unless the body contains a ``\\uD800``–``\\uDFFF`` escape at all.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A \uD800–\uDFFF escape anywhere (maybe an escaped backslash followed by text: decoding
# tells them apart).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class LoneSurrogate(HTTPException):
    """Raised from ``receive``: the route's error handler answers 422 (page or JSON)."""

    def __init__(self, escape: str, field: str = "") -> None:
        super().__init__(status_code=400, detail="a lone surrogate in the JSON body")
        self.escape = escape
        self.field = field  # where: "instance_url", "mastodon_instances.0" ("" at the top)


def lone_surrogate(body: bytes) -> tuple[str, str] | None:
    """``(escape, field)`` of the first lone surrogate of a JSON document — its ``\\uXXXX``
    escape and the dotted path of the value holding it — or None (also None when ``body`` is
    not JSON at all: the route's parser says what is wrong)."""
    if not _SURROGATE_ESCAPE.search(body):
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return _first_surrogate(document, ())


def _first_surrogate(value: Any, path: tuple[str, ...]) -> tuple[str, str] | None:
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return (f"\\u{ord(found.group()):04x}", ".".join(path)) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            found_in = _first_surrogate(key, path) or _first_surrogate(item, (*path, key))
            if found_in is not None:
                return found_in
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found_in = _first_surrogate(item, (*path, str(index)))
            if found_in is not None:
                return found_in
    return None


class JsonTextMiddleware:
    """Refuses a JSON request body holding a lone surrogate, once it has been read whole."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []

        async def checked_receive() -> Message:
            message: Message = await receive()
            if message["type"] == "http.request":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False):
                    found = lone_surrogate(b"".join(parts))
                    parts.clear()
                    if found is not None:
                        raise LoneSurrogate(*found)
            return message

        await self.app(scope, checked_receive, send)


def _is_json(scope: Scope) -> bool:
    """A JSON media type, or none at all (FastAPI then reads the body as JSON too)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True
