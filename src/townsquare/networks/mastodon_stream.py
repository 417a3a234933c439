"""Stream a hashtag from a Mastodon instance (Server-Sent Events), as plain status data.

Where the streaming API is: the instance says so (``/api/v2/instance``
``configuration.urls.streaming``, else ``/api/v1/instance`` ``urls.streaming_api``), as a
``wss://`` URL that is reached over HTTPS (``ws://``: HTTP). It answers
``/api/v1/streaming/health`` with ``OK`` when it runs, and
``GET /api/v1/streaming/hashtag?tag=…`` with an event stream: ``event: update`` and the
status as JSON for each new public status with the hashtag, ``:thump`` comments to keep the
connection alive. An instance without streaming (no URL, health not ``OK``, 404 on the
stream) raises :class:`StreamingUnavailable` with the reason; a dropped or refused
connection raises NetworkError (the caller reconnects).

Everything goes through the project's HTTP client (:func:`townsquare.netguard.safe_http_client`:
SSRF rule, timeouts, User-Agent). No database here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from townsquare.errors import NetworkError, TownsquareError

# Real Mastodon sends a heartbeat comment every few seconds (15 at most): a minute of
# silence is a dead connection.
READ_TIMEOUT_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 10.0


class StreamingUnavailable(TownsquareError):
    """The instance offers no streaming API (the source keeps being polled)."""


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event: its name (``update``, ``delete``…) and its data."""

    name: str
    data: str


def http_url(url: str) -> str:
    """A streaming URL as the instance gives it (``wss://``, ``ws://``) in HTTP form."""
    text = url.strip().rstrip("/")
    if text.startswith("wss://"):
        return "https://" + text[len("wss://") :]
    if text.startswith("ws://"):
        return "http://" + text[len("ws://") :]
    return text


def sse_events(lines: Iterable[str]) -> Iterator[StreamEvent | None]:
    """The events of an SSE stream read line by line (the ``text/event-stream`` format);
    None for each comment line (a heartbeat: the connection is alive)."""
    name, data = "message", list[str]()
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield StreamEvent(name, "\n".join(data))
            name, data = "message", list[str]()
            continue
        if line.startswith(":"):
            yield None
            continue
        field, _sep, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


def _json(response: httpx.Response) -> Mapping[str, Any] | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer if isinstance(answer, Mapping) else None


def streaming_base(client: httpx.Client, instance_url: str) -> str:
    """The HTTP(S) base of the instance's streaming API; StreamingUnavailable when the
    instance announces none."""
    for path, keys in (
        ("/api/v2/instance", ("configuration", "urls", "streaming")),
        ("/api/v1/instance", ("urls", "streaming_api")),
    ):
        try:
            response = client.get(instance_url.rstrip("/") + path)
        except httpx.HTTPError as error:
            raise NetworkError(
                "%(instance)s could not be reached for its streaming API: %(detail)s",
                params={"instance": instance_url, "detail": str(error) or type(error).__name__},
            ) from None
        if response.status_code != 200:
            continue
        value: Any = _json(response)
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, str) and value.strip():
            return http_url(value)
    raise StreamingUnavailable(
        "the instance announces no streaming API (no streaming URL in /api/v2/instance)"
    )


def check_health(client: httpx.Client, base: str) -> None:
    """StreamingUnavailable unless ``/api/v1/streaming/health`` answers ``OK``."""
    try:
        response = client.get(base + "/api/v1/streaming/health")
    except httpx.HTTPError as error:
        raise NetworkError(
            "the streaming API %(url)s could not be reached: %(detail)s",
            params={"url": base, "detail": str(error) or type(error).__name__},
        ) from None
    if response.status_code >= 500:  # down for now (a proxy before it): tried again
        raise NetworkError(
            "the streaming API's health check answered %(status)s: it is tried again shortly",
            params={"status": response.status_code},
        )
    if response.status_code != 200 or response.text.strip() != "OK":
        raise StreamingUnavailable(
            "the streaming API's health check answered %(status)s instead of OK",
            params={"status": response.status_code},
        )


def stream_hashtag(
    client: httpx.Client,
    base: str,
    token: str,
    tag: str,
    on_open: Callable[[], None],
    on_status: Callable[[Mapping[str, Any]], None],
    keep_going: Callable[[], bool],
) -> None:
    """Stream the public statuses with ``tag`` until ``keep_going()`` is false (checked at
    each event and heartbeat), calling ``on_open()`` once connected (the catch-up poll goes
    there) and ``on_status(status)`` for each new status. Returns when asked to stop;
    NetworkError when the connection drops, StreamingUnavailable on 404."""
    url = base + "/api/v1/streaming/hashtag"
    timeout = httpx.Timeout(CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS)
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    try:
        with client.stream(
            "GET", url, params={"tag": tag}, headers=headers, timeout=timeout
        ) as response:
            if response.status_code == 404:
                raise StreamingUnavailable(
                    "the instance has its streaming API switched off (404 on %(url)s)",
                    params={"url": url},
                )
            if response.status_code != 200:
                raise NetworkError(
                    "the streaming API answered %(status)s: it is tried again shortly",
                    params={"status": response.status_code},
                )
            on_open()
            for event in sse_events(response.iter_lines()):
                if not keep_going():
                    return
                if event is None or event.name != "update":
                    continue
                status = _status(event.data)
                if status is not None:
                    on_status(status)
    except httpx.HTTPError as error:
        raise NetworkError(
            "the stream of #%(tag)s was cut: %(detail)s",
            params={"tag": tag, "detail": str(error) or type(error).__name__},
        ) from None
    if keep_going():
        raise NetworkError("the instance closed the stream of #%(tag)s", params={"tag": tag})


def _status(data: str) -> Mapping[str, Any] | None:
    try:
        status = json.loads(data)
    except ValueError:
        return None
    return status if isinstance(status, Mapping) and "id" in status else None
