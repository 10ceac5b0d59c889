"""A TLS ClientHello of our own and the first reply to it, read under the deadline.

The version and weak-suite probes need to offer what no modern OpenSSL client offers any
more (SSLv3, RC4, export suites), so they build the ClientHello themselves and stop at the
server's first message: a ServerHello names the version and the suite it took, an alert
says no. Nothing past the ServerHello is read or answered: no key exchange happens, and
the connection is closed. Every read is bounded (one record of at most 16 KiB) and every
wait is under the probe's deadline.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.probes.deadline import Deadline
from auditor.probes.services.wire import ServiceError, connect, hung_up, recv_exactly, send

RECORD_LIMIT = 16384 + 2048
"""A TLS record's largest legal length (RFC 5246 §6.2.3, compressed/encrypted allowance)."""

_GROUPS = (0x001D, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101)  # x25519, P-256/384/521, ffdhe
_SIGNATURES = (
    *(0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0403, 0x0503, 0x0603),
    *(0x0201, 0x0203, 0x0202),  # SHA-1 last: old servers sign with nothing else
)


@dataclass(frozen=True)
class ServerHello:
    version: int
    suite: int


def client_hello(version: int, suites: Sequence[int], server_name: str | None) -> bytes:
    """A ClientHello offering `version` (as TLS 1.2 and older do: the highest the client
    speaks) and exactly `suites`, with the extensions servers need to pick an ECDHE suite."""
    extensions = b""
    if server_name:
        name = server_name.encode("ascii")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        extensions += _extension(0x0000, struct.pack("!H", len(entry)) + entry)
    if version >= 0x0301:  # SSLv3 servers may choke on extensions
        extensions += _extension(0x000A, _u16_list(_GROUPS))
        extensions += _extension(0x000B, b"\x01\x00")  # uncompressed points
        extensions += _extension(0x000D, _u16_list(_SIGNATURES))
        extensions += _extension(0xFF01, b"\x00")  # secure renegotiation, initial
    body = struct.pack("!H", version) + os.urandom(32) + b"\x00"  # no session id
    body += _u16_list(tuple(suites)) + b"\x01\x00"  # null compression only
    if extensions:
        body += struct.pack("!H", len(extensions)) + extensions
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    record_version = min(version, 0x0301)  # what servers expect on the first record
    return b"\x16" + struct.pack("!HH", record_version, len(handshake)) + handshake


def _extension(kind: int, data: bytes) -> bytes:
    return struct.pack("!HH", kind, len(data)) + data


def _u16_list(values: Sequence[int]) -> bytes:
    packed = b"".join(struct.pack("!H", v) for v in values)
    return struct.pack("!H", len(packed)) + packed


def offer(
    ip: str,
    port: int,
    version: int,
    suites: Sequence[int],
    server_name: str | None,
    deadline: Deadline,
) -> ServerHello | None:
    """The server's choice for this offer, or None when it refused it (an alert, or the
    connection closed at once: both are how servers say no)."""
    with connect(ip, port, deadline) as sock:
        send(sock, client_hello(version, suites, server_name))
        if hung_up(sock, deadline):  # servers without a matching suite often just close
            return None
        header = recv_exactly(sock, 5, deadline)
        if header[0] == 0x15:  # an alert: handshake_failure, protocol_version...
            return None
        kind, _, length = struct.unpack("!BHH", header)
        if kind != 0x16 or not 4 <= length <= RECORD_LIMIT:
            raise ServiceError(f"not a TLS handshake record (type {kind}, length {length})")
        return parse_server_hello(recv_exactly(sock, length, deadline))


def parse_server_hello(record: bytes) -> ServerHello:
    """Version and suite from the first handshake message of a record (bounds checked)."""
    if len(record) < 4 or record[0] != 0x02:
        raise ServiceError("the server's first handshake message is not a ServerHello")
    body = record[4 : 4 + int.from_bytes(record[1:4], "big")]
    if len(body) < 38:
        raise ServiceError("truncated ServerHello")
    version = struct.unpack_from("!H", body, 0)[0]
    session_length = body[34]
    at = 35 + session_length
    if len(body) < at + 3:
        raise ServiceError("truncated ServerHello")
    suite = struct.unpack_from("!H", body, at)[0]
    return ServerHello(version, suite)
