"""Small, bounded network helpers shared by the service checks.

Every read has a byte limit and every wait a deadline: a tarpit or a stream of garbage must
end the check as an error in time, never hang and never look like a protected service.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import socket
import ssl
from dataclasses import dataclass, field

from auditor.probes.deadline import Deadline
from auditor.untrusted import MAX_JSON_DEPTH, json_too_deep

MAX_READ = 64 * 1024
_STATUS_LINE = re.compile(r"^HTTP/[0-9]\.[0-9] ([0-9]{3})(?: |$)")
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*([0-9]{1,9})[ \t]*$")


class ServiceError(Exception):
    """The service did not answer as the protocol says (timeout, garbage, closed)."""


class NotThisService(ServiceError):
    """The port answered, but not as the service a check is for (a web app on Jenkins's
    8080). Where only the port number called for the check, the port is checked as what it
    was identified as instead; where the change record declared the service, it is an error."""


def connect(ip: str, port: int, deadline: Deadline, tls: bool = False) -> socket.socket:
    try:
        left = deadline.remaining()
    except TimeoutError as exc:  # the probe's deadline ran out before this step began
        raise ServiceError(str(exc)) from None
    try:
        sock = socket.create_connection((ip, port), timeout=left)
    except TimeoutError:
        raise ServiceError(f"no answer within {deadline.seconds:g}s") from None
    except OSError as exc:
        raise ServiceError(f"cannot connect: {exc.strerror or exc}") from None
    if not tls:
        return sock
    context = probing_context()
    try:
        sock.settimeout(deadline.remaining())
        return context.wrap_socket(sock)
    except (OSError, ssl.SSLError) as exc:
        sock.close()
        raise ServiceError(f"TLS handshake failed: {exc}") from None


def permissive_context(ciphers: str = "ALL:@SECLEVEL=0", trust: bool = False) -> ssl.SSLContext:
    """A TLS client context that takes every version and `ciphers` at security level 0,
    so a server with a 1024-bit key or only TLS 1.0 is still read (the tls probe judges
    it). Without `trust` nothing is verified; with it the chain must verify against the
    system store (OpenSSL's default paths: SSL_CERT_FILE, SSL_CERT_DIR). The name is never
    checked here: a rule judges it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers(ciphers)
    context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0)
    if trust:
        context.load_default_certs()
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@functools.cache
def probing_context() -> ssl.SSLContext:
    """The context that reads what a server serves, not for trusting it. Made once and
    shared (an SSLContext is safe to share between threads): making one per connection
    cost more CPU than the rest of a web port's checks."""
    return permissive_context()


def recv_until(
    sock: socket.socket,
    done: bytes | tuple[bytes, ...] | None,
    deadline: Deadline,
    limit: int = MAX_READ,
) -> bytes:
    """Read until `done` (or any of several markers) appears, the peer closes, or `limit`
    bytes; never past the deadline."""
    markers = (done,) if isinstance(done, bytes) else done or ()
    data = bytearray()
    while len(data) < limit:
        if any(marker in data for marker in markers):
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


def recv_some(sock: socket.socket, deadline: Deadline, limit: int = 16384) -> bytes:
    """What one read returns (b"" when the peer closed), under the deadline: for a reply
    with no length and no end marker, parsed as it grows."""
    try:
        sock.settimeout(deadline.remaining())
        return sock.recv(limit)
    except TimeoutError:
        raise ServiceError(f"no complete answer within {deadline.seconds:g}s") from None
    except OSError as exc:
        raise ServiceError(f"connection failed: {exc.strerror or exc}") from None


def recv_exactly(sock: socket.socket, size: int, deadline: Deadline) -> bytes:
    """Exactly `size` bytes (a binary protocol's header or field), under the deadline; a
    peer that closes first is an error, never a short read taken for the whole."""
    data = recv_until(sock, None, deadline, limit=size)
    while len(data) < size:
        more = recv_until(sock, None, deadline, limit=size - len(data))
        if not more:
            raise ServiceError(f"connection closed after {len(data)} of {size} bytes")
        data += more
    return data


def hung_up(sock: socket.socket, deadline: Deadline) -> bool:
    """True when the peer closed or reset the connection before sending anything more:
    how many servers say no (a TLS server without a matching suite, an AMQP broker after a
    failed login). Peeks, so the answer, if any, is still there to read."""
    try:
        sock.settimeout(deadline.remaining())
        first = sock.recv(1, socket.MSG_PEEK)
    except TimeoutError:
        raise ServiceError(f"no answer within {deadline.seconds:g}s") from None
    except ConnectionResetError:
        return True
    except OSError as exc:
        raise ServiceError(f"connection failed: {exc.strerror or exc}") from None
    return first == b""


def send(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError as exc:
        raise ServiceError(f"send failed: {exc.strerror or exc}") from None


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
    return http_request(ip, port, "GET", path, deadline, tls)


def http_request(
    ip: str,
    port: int,
    method: str,
    path: str,
    deadline: Deadline,
    tls: bool = False,
    basic_auth: tuple[str, str] | None = None,
    byte_range: int | None = None,
) -> HttpResponse:
    """One read-only HTTP/1.0 request (GET or HEAD, nothing else), body capped at 64 KiB.

    `basic_auth` is only ever a product's documented default login, tried under
    `--try-default-credentials` (docs/network-checks.md); never a user's secret."""
    if method not in ("GET", "HEAD"):
        raise ValueError(f"{method} is not a read-only HTTP method")
    extra = ""  # only these two headers: a login from a check file, and a byte range
    if basic_auth is not None:
        token = base64.b64encode(":".join(basic_auth).encode()).decode()
        extra = f"Authorization: Basic {token}\r\n"
    if byte_range is not None:  # a server that ignores it still sends no more than we read
        extra += f"Range: bytes=0-{byte_range - 1}\r\n"
    limit = MAX_READ if byte_range is None else byte_range
    request = (
        f"{method} {path} HTTP/1.0\r\nHost: {ip}:{port}\r\nUser-Agent: server-auditor\r\n"
        f"Accept: */*\r\n{extra}Connection: close\r\n\r\n"
    ).encode()
    with connect(ip, port, deadline, tls) as sock:
        try:
            sock.sendall(request)
        except OSError as exc:
            raise ServiceError(f"send failed: {exc.strerror or exc}") from None
        raw = recv_until(sock, b"\r\n\r\n", deadline)
        head, marker, body = raw.partition(b"\r\n\r\n")
        length = _CONTENT_LENGTH.search(head) if marker else None
        if marker and method == "HEAD":
            pass  # a HEAD reply has no body, whatever its Content-Length says
        elif marker and length is not None:
            # Some servers keep the connection open after the body despite HTTP/1.0 and
            # `Connection: close` (etcd's peer port): stop at Content-Length, not at close.
            wanted = min(int(length.group(1)), limit)
            while len(body) < wanted:
                more = recv_until(sock, None, deadline, limit=wanted - len(body))
                if not more:
                    break
                body += more
            raw = head + marker + body
        elif marker:
            raw += recv_until(sock, None, deadline, limit=max(0, limit - len(body)))
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    # ASCII digits only: str.isdigit() accepts '²' and Arabic-Indic digits, and int() of
    # some of those raises where no protocol error was expected.
    status = _STATUS_LINE.match(lines[0])
    if status is None:
        raise ServiceError(f"not an HTTP answer: {printable(lines[0].encode('latin-1'), 60)!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return HttpResponse(int(status.group(1)), headers, body)


def parse_json(body: bytes, what: str = "JSON") -> object:
    """JSON from a server, refused past MAX_JSON_DEPTH levels of nesting.

    Python's parser recurses: a 60,000-deep body raises RecursionError (or worse, under a
    smaller stack). The depth is measured first, outside strings, in one linear pass.
    """
    if json_too_deep(body, MAX_JSON_DEPTH):
        raise ServiceError(f"{what} nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ServiceError(f"not valid {what}") from None


def json_lookup(data: object, path: str) -> object:
    """The value at a dotted key path (`version.number`) of parsed JSON, or None."""
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def printable(data: bytes, limit: int = 80) -> str:
    """Text for evidence: every control byte and every byte that is not UTF-8 shown as `.`
    (Telnet's option negotiation would otherwise read as a row of replacement marks)."""
    text = data.decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() and c != "\ufffd" else "." for c in text)[:limit]
