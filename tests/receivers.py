"""A webhook receiver for the alert tests: Python's own http.server on a loopback address,
recording every request (method, path, headers, JSON body) and answering a chosen status
(and `Location`, for a redirect) after an optional delay."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Seen:
    """What the receiver got: every request, and the JSON bodies alone."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.bodies: list[Any] = []


@contextmanager
def receiver(
    ip: str, status: int = 200, *, delay: float = 0.0, location: str = ""
) -> Iterator[tuple[str, Seen]]:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length", "0") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            seen.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": body,
                }
            )
            if body is not None:
                seen.bodies.append(body)
            time.sleep(delay)
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = _answer
        do_GET = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((ip, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{ip}:{server.server_address[1]}/hook", seen
    finally:
        server.shutdown()
        server.server_close()
