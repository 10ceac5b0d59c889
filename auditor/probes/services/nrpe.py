"""NRPE, the Nagios remote plugin executor, answering anyone (nmap nrpe-enum).

One NRPE v2 query for `_NRPE_CHECK`, the daemon's built-in version command: it runs no
plugin. NRPE's only access control is its `allowed_hosts` list, enforced by closing the
connection at once; a daemon that answers us runs its configured checks for us too, and
with `dont_blame_nrpe` their arguments. NRPE speaks TLS with anonymous Diffie-Hellman by
default, so the query goes over TLS first and in the clear only if no handshake happens.
"""

from __future__ import annotations

import socket
import ssl
import struct
import zlib

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    ServiceError,
    connect,
    permissive_context,
    printable,
    recv_until,
    send,
)

V2_SIZE = 1036
"""version, type, CRC-32, result code, a 1024-byte buffer and 2 bytes of padding."""
QUERY, RESPONSE = 1, 2


def _query() -> bytes:
    buffer = b"_NRPE_CHECK".ljust(1024, b"\x00") + b"\x00\x00"
    unsigned = struct.pack(">hhIh", 2, QUERY, 0, 0) + buffer
    return struct.pack(">hhIh", 2, QUERY, zlib.crc32(unsigned), 0) + buffer


def _ask(sock: socket.socket, deadline: Deadline) -> bytes:
    send(sock, _query())
    return recv_until(sock, None, deadline, limit=V2_SIZE)


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as raw:
        try:
            raw.settimeout(deadline.remaining())
            with permissive_context().wrap_socket(raw) as sock:
                reply, over = _ask(sock, deadline), "TLS"
        except (ssl.SSLError, ConnectionError):
            reply, over = b"", ""
    if not over:
        with connect(ip, port, deadline) as sock:
            try:
                reply, over = _ask(sock, deadline), "plain text"
            except ServiceError:
                reply = b""
    if not reply:
        evidence = "NRPE closed the connection without answering (allowed_hosts refuses us)"
        return Answer(False, evidence, {})
    if len(reply) < 10:
        raise ServiceError("NRPE reply cut short")
    version, kind = struct.unpack(">hh", reply[:4])
    if version not in (2, 3, 4) or kind != RESPONSE:
        raise ServiceError("not an NRPE response")
    text = reply[10:] if version == 2 else reply[16:]  # v3/v4: alignment and buffer length
    said = printable(text.split(b"\x00", 1)[0], 60)
    evidence = f"NRPE answers anyone over {over}: {said}"
    return Answer(True, evidence, {"version": said, "tls": over == "TLS"})


NRPE = ServiceCheck(
    "nrpe",
    check,
    ports=(5666,),
    names=("nrpe",),
    reference="nmap NSE: nrpe-enum (_NRPE_CHECK)",
)
