"""PostgreSQL: a startup message answered with AuthenticationOk is `trust` authentication.

The startup message of nuclei's `network/misconfig/unauth-psql`, which then lists the
databases; we stop at the server's answer, which already says whether it wants a password,
and send no query. The exchange:
SSLRequest first (a server that offers TLS gets the startup inside it, as libpq does), then a
protocol-3.0 StartupMessage for user `postgres`, database `postgres`. The first
authentication message decides; on AuthenticationOk we read the ParameterStatus messages
for `server_version` until ReadyForQuery, then send Terminate. No query is ever sent.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    ServiceError,
    connect,
    printable,
    recv_exactly,
    send,
)

USER = "postgres"
MAX_MESSAGE = 16 * 1024
SSL_REQUEST = struct.pack("!ii", 8, 80877103)
TERMINATE = b"X" + struct.pack("!i", 4)
AUTH_METHODS = {
    0: "trust",
    2: "kerberos",
    3: "password",
    5: "md5",
    7: "gss",
    9: "sspi",
    10: "scram-sha-256",
}


def startup_message(user: str = USER, database: str = USER) -> bytes:
    body = struct.pack("!i", 196608)  # protocol 3.0
    for key, value in (("user", user), ("database", database), ("application_name", "auditor")):
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def _read_message(sock: socket.socket, deadline: Deadline) -> tuple[bytes, bytes]:
    head = recv_exactly(sock, 5, deadline)
    kind, length = head[:1], struct.unpack("!i", head[1:])[0]
    if not kind.isalpha() or not 4 <= length <= MAX_MESSAGE:
        raise ServiceError(f"not a PostgreSQL message: {printable(head)!r}")
    return kind, recv_exactly(sock, length - 4, deadline)


def _error_text(payload: bytes) -> str:
    """The M (message) field of an ErrorResponse."""
    for field in payload.split(b"\0"):
        if field.startswith(b"M"):
            return printable(field[1:], 120)
    return "error"


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as plain:
        send(plain, SSL_REQUEST)
        answer = recv_exactly(plain, 1, deadline)
        if answer not in (b"S", b"N"):
            raise ServiceError(f"not a PostgreSQL answer to SSLRequest: {printable(answer)!r}")
        tls = answer == b"S"
        sock: socket.socket = plain
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # we look at what it serves; we trust nothing
            try:
                plain.settimeout(deadline.remaining())
                sock = context.wrap_socket(plain)
            except (OSError, ssl.SSLError) as exc:
                raise ServiceError(f"TLS handshake failed: {exc}") from None
        return _startup(sock, deadline, tls)


def _startup(sock: socket.socket, deadline: Deadline, tls: bool) -> Answer:
    send(sock, startup_message())
    kind, payload = _read_message(sock, deadline)
    details: dict[str, object] = {"tls": tls, "user": USER}
    if kind == b"E":
        reason = _error_text(payload)
        details["auth"] = "rejected"
        return Answer(False, f"startup as {USER} → refused: {reason}", details)
    if kind != b"R" or len(payload) < 4:
        raise ServiceError(f"unexpected PostgreSQL message {printable(kind)!r}")
    code = struct.unpack("!i", payload[:4])[0]
    method = AUTH_METHODS.get(code)
    if method is None:
        raise ServiceError(f"unknown PostgreSQL authentication request {code}")
    details["auth"] = method
    if code != 0:
        return Answer(False, f"startup as {USER} → asks for {method} authentication", details)
    version = _server_version(sock, deadline)
    details["version"] = version
    with contextlib.suppress(OSError):  # the proof is in hand; the server may have closed
        sock.sendall(TERMINATE)
    return Answer(
        True,
        f"startup as {USER} → AuthenticationOk without a password (server_version {version})",
        details,
    )


def _server_version(sock: socket.socket, deadline: Deadline) -> str:
    """server_version from the ParameterStatus messages before ReadyForQuery (at most 64)."""
    version = ""
    for _ in range(64):
        kind, payload = _read_message(sock, deadline)
        if kind == b"S":
            name, _, rest = payload.partition(b"\0")
            if name == b"server_version":
                version = printable(rest.split(b"\0", 1)[0], 40)
        elif kind in (b"Z", b"E"):
            break
    return version or "unknown"


POSTGRESQL = ServiceCheck(
    "postgresql",
    check,
    ports=(5432,),
    names=("postgresql", "postgres"),
    reference=(
        "nuclei-templates: network/misconfig/unauth-psql; "
        "PostgreSQL manual, Client Authentication: Trust"
    ),
)
