"""A loopback HTTP proxy that loses answers: the request reaches the real server and takes
effect there, but the client gets its answer late (``delay``) or not at all (``drop``: the
connection is closed once the server has answered). What a timeout or a reset *after
sending* looks like from the client, against mastodon_mock or the Bluesky PDS (both read
the whole request before acting, so a client that gives up early would cancel the effect
on them: this proxy lets the effect happen, as a real instance behind nginx does).

Only requests whose path starts with one of ``lossy_paths`` (and method is POST) are lost;
everything else passes straight through.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx


@dataclass
class LossyProxy:
    upstream: str
    lossy_paths: tuple[str, ...] = ()
    mode: str = "drop"  # "drop": close without answering; "delay": answer after `delay` s;
    # "fail": answer `fail_status` with `fail_headers` without forwarding (nothing happens)
    delay: float = 2.0
    fail_status: int = 500
    fail_headers: dict[str, str] = field(default_factory=dict)
    url: str = ""
    lost: int = 0  # answers lost so far
    _server: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> LossyProxy:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.settimeout(0.2)
        self._server = server
        self.url = f"http://127.0.0.1:{server.getsockname()[1]}"
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._server is not None:
            self._server.close()

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, httpx.Client(base_url=self.upstream, timeout=30) as upstream:
            connection.settimeout(30)
            buffer = b""
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers = [tuple(line.split(": ", 1)) for line in lines[1:] if ": " in line]
                length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                while len(buffer) < length:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                forwarded = {
                    k: v
                    for k, v in headers
                    if k.lower() not in ("host", "content-length", "connection")
                }
                lossy = method == "POST" and target.startswith(self.lossy_paths)
                if lossy and self.mode == "fail":
                    self.lost += 1
                    error = b'{"error": "InternalServerError", "message": "injected failure"}'
                    extra = "".join(f"{k}: {v}\r\n" for k, v in self.fail_headers.items())
                    connection.sendall(
                        (
                            f"HTTP/1.1 {self.fail_status} Injected\r\n{extra}"
                            "Content-Type: application/json\r\n"
                            f"Content-Length: {len(error)}\r\n\r\n"
                        ).encode("latin-1")
                        + error
                    )
                    continue
                answer = upstream.request(method, target, headers=forwarded, content=body)
                if lossy:
                    self.lost += 1
                    if self.mode == "drop":
                        with contextlib.suppress(OSError):
                            connection.shutdown(socket.SHUT_RDWR)
                        return
                    time.sleep(self.delay)
                payload = answer.content
                out = [f"HTTP/1.1 {answer.status_code} {answer.reason_phrase}"]
                for key, value in answer.headers.items():
                    if key.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        out.append(f"{key}: {value}")
                out.append(f"Content-Length: {len(payload)}")
                try:
                    connection.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + payload)
                except OSError:
                    return


@contextlib.contextmanager
def lossy_proxy(
    upstream: str,
    *paths: str,
    mode: str = "drop",
    delay: float = 2.0,
    fail_status: int = 500,
    fail_headers: dict[str, str] | None = None,
) -> Iterator[LossyProxy]:
    proxy = LossyProxy(
        upstream,
        tuple(paths),
        mode=mode,
        delay=delay,
        fail_status=fail_status,
        fail_headers=fail_headers or {},
    ).start()
    try:
        yield proxy
    finally:
        proxy.close()
