"""Small, bounded network helpers shared by the service checks.

Every read has a byte limit and every wait a deadline: a tarpit or a stream of garbage must
end the check as an error in time, never hang and never look like a protected service.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field

from auditor.probes.deadline import Deadline

MAX_READ = 64 * 1024


class ServiceError(Exception):
    """The service did not answer as the protocol says (timeout, garbage, closed)."""


def connect(ip: str, port: int, deadline: Deadline, tls: bool = False) -> socket.socket:
    try:
        sock = socket.create_connection((ip, port), timeout=deadline.remaining())
    except TimeoutError:
        raise ServiceError(f"no answer within {deadline.seconds:g}s") from None
    except OSError as exc:
        raise ServiceError(f"cannot connect: {exc.strerror or exc}") from None
    if not tls:
        return sock
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we probe what it serves; we do not trust it
    try:
        sock.settimeout(deadline.remaining())
        return context.wrap_socket(sock)
    except (OSError, ssl.SSLError) as exc:
        sock.close()
        raise ServiceError(f"TLS handshake failed: {exc}") from None


def recv_until(
    sock: socket.socket, done: bytes | None, deadline: Deadline, limit: int = MAX_READ
) -> bytes:
    """Read until `done` appears, the peer closes, or `limit` bytes; never past the deadline."""
    data = bytearray()
    while len(data) < limit:
        if done is not None and done in data:
            break
        try:
            sock.settimeout(deadline.remaining())
            chunk = sock.recv(min(16384, limit - len(data)))
        except TimeoutError:
            raise ServiceError(f"no complete answer within {deadline.seconds:g}s") from None
        except OSError as exc:
            raise ServiceError(f"connection failed: {exc.strerror or exc}") from None
        if not chunk:
            break
        data += chunk
    return bytes(data)


def exchange(ip: str, port: int, request: bytes, done: bytes | None, deadline: Deadline) -> bytes:
    with connect(ip, port, deadline) as sock:
        try:
            sock.sendall(request)
        except OSError as exc:
            raise ServiceError(f"send failed: {exc.strerror or exc}") from None
        return recv_until(sock, done, deadline)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def http_get(ip: str, port: int, path: str, deadline: Deadline, tls: bool = False) -> HttpResponse:
    """One HTTP/1.0 GET (no keep-alive, no chunking), body capped at 64 KiB."""
    request = (
        f"GET {path} HTTP/1.0\r\nHost: {ip}:{port}\r\nUser-Agent: server-auditor\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode()
    with connect(ip, port, deadline, tls) as sock:
        try:
            sock.sendall(request)
        except OSError as exc:
            raise ServiceError(f"send failed: {exc.strerror or exc}") from None
        raw = recv_until(sock, None, deadline)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ServiceError(f"not an HTTP answer: {lines[0][:60]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return HttpResponse(int(parts[1]), headers, body)


def printable(data: bytes, limit: int = 80) -> str:
    text = data.decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() else "." for c in text)[:limit]
