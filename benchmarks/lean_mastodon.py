"""A minimal Mastodon-API server for bench_publish: as cheap per request as it can be, so
that the dispatcher, not the server, is what the bench measures.

It answers what the dispatcher and Mastodon.py call for a text post, over HTTP/1.1 with
keep-alive, in one asyncio process on loopback:

- ``POST /api/v1/statuses`` (form or JSON body), honouring ``Idempotency-Key``: the same
  key from the same token answers the status it created the first time;
- ``GET /api/v1/accounts/verify_credentials``, ``GET /api/v1/accounts/<id>/statuses``
  (``limit``, ``max_id``: the verification lookups), ``GET /api/v2/instance`` and
  ``/api/v1/instance``;
- ``GET /_lean/counts?prefix=<p>``: statuses whose text starts with ``p`` and how many of
  them repeat a text already posted (the bench's duplicates, counted on the server).

Tokens are ``token<n>`` (account ``brand<n>``, id ``n + 1``), as bench_sync seeds
mastodon_mock. Nothing is stored on disk.

    .venv/bin/python benchmarks/lean_mastodon.py --port 8123
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

INSTANCE = {
    "domain": "lean.test",
    "title": "lean",
    "version": "4.3.0",
    "configuration": {
        "statuses": {
            "max_characters": 500,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {"image_size_limit": 16777216, "supported_mime_types": []},
    },
}


class Store:
    """Accounts, statuses and idempotency keys, all in memory."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.statuses: dict[int, list[dict[str, Any]]] = {}  # account id → newest last
        self.by_key: dict[tuple[str, str], dict[str, Any]] = {}
        self.texts: dict[str, int] = {}  # text → times posted (duplicates when > 1)
        self.next_id = 1

    @staticmethod
    def account_id(token: str) -> int | None:
        if not token.startswith("token") or not token[5:].isdigit():
            return None
        return int(token[5:]) + 1

    def account(self, account_id: int) -> dict[str, Any]:
        name = f"brand{account_id - 1}"
        return {
            "id": str(account_id),
            "username": name,
            "acct": name,
            "display_name": name,
            "url": f"{self.base_url}/@{name}",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(self.statuses.get(account_id, ())),
            "created_at": "2024-01-01T00:00:00.000Z",
        }

    def post(self, account_id: int, form: dict[str, Any], key: str | None) -> dict[str, Any]:
        token_key = (str(account_id), key) if key else None
        if token_key is not None and token_key in self.by_key:
            return self.by_key[token_key]
        text = str(form.get("status") or "")
        status_id = self.next_id
        self.next_id += 1
        name = f"brand{account_id - 1}"
        status: dict[str, Any] = {
            "id": str(status_id),
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "url": f"{self.base_url}/@{name}/{status_id}",
            "uri": f"{self.base_url}/users/{name}/statuses/{status_id}",
            "content": f"<p>{text}</p>",
            "text": text,
            "spoiler_text": str(form.get("spoiler_text") or ""),
            "in_reply_to_id": form.get("in_reply_to_id") or None,
            "visibility": "public",
            "language": form.get("language") or None,
            "media_attachments": [],
            "account": {"id": str(account_id), "username": name, "acct": name},
        }
        self.statuses.setdefault(account_id, []).append(status)
        self.texts[text] = self.texts.get(text, 0) + 1
        if token_key is not None:
            self.by_key[token_key] = status
        return status

    def page(self, account_id: int, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        limit = min(40, int((query.get("limit") or ["20"])[0]))
        newest_first = list(reversed(self.statuses.get(account_id, [])))
        if query.get("max_id"):
            max_id = int(query["max_id"][0])
            newest_first = [s for s in newest_first if int(s["id"]) < max_id]
        return newest_first[:limit]

    def counts(self, prefix: str) -> dict[str, int]:
        total = duplicates = 0
        for text, times in self.texts.items():
            if text.startswith(prefix):
                total += times
                duplicates += times - 1
        return {"total": total, "duplicates": duplicates}


def _form(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if "json" in headers.get("content-type", ""):
        data = json.loads(body)
        return data if isinstance(data, dict) else {}
    return {key: values[-1] for key, values in parse_qs(body.decode()).items()}


class LeanProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection: requests parsed from the buffer, answered in order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, target, _version = head[0].split(" ", 2)
            status, payload = self.answer(method, target, headers, body)
            self.send(status, payload)

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        parts = urlsplit(target)
        path, query = parts.path.rstrip("/"), parse_qs(parts.query)
        store = self.store
        if path in ("/api/v2/instance", "/api/v1/instance"):
            return 200, INSTANCE
        if path == "/_lean/counts":
            return 200, store.counts((query.get("prefix") or [""])[0])
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        account_id = store.account_id(token)
        if account_id is None:
            return 401, {"error": "The access token is invalid"}
        if method == "POST" and path == "/api/v1/statuses":
            form = _form(headers, body)
            return 200, store.post(account_id, form, headers.get("idempotency-key"))
        if path == "/api/v1/accounts/verify_credentials":
            return 200, store.account(account_id)
        if path.startswith("/api/v1/accounts/") and path.endswith("/statuses"):
            wanted = path.split("/")[4]
            return 200, store.page(int(wanted) if wanted.isdigit() else 0, query)
        return 404, {"error": "Record not found"}

    def send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}[status]
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n"
        )
        assert self.transport is not None
        self.transport.write(head.encode() + data)


async def serve(host: str, port: int) -> None:
    store = Store(f"http://{host}:{port}")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: LeanProtocol(store), host, port, backlog=1024)
    print(f"lean Mastodon API on http://{host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
