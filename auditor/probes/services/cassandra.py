"""Cassandra's native protocol (CQL): a node that answers STARTUP with READY needs no login.

The exchange is the one every driver opens with, and changes nothing: OPTIONS (what the node
supports), then STARTUP with the CQL version it named. A node with an authenticator answers
AUTHENTICATE and names it; one with `AllowAllAuthenticator` (the default in cassandra.yaml)
answers READY, and every keyspace is readable by anyone who connects. nmap's
`cassandra-info` and nuclei's `cql-native-transport-detect` read the same handshake.
"""

from __future__ import annotations

import socket
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

VERSION = 4
"""Protocol v4: spoken by Cassandra 2.2 to 5.0 and ScyllaDB."""
MAX_BODY = 65536
ERROR, STARTUP, READY, AUTHENTICATE, OPTIONS, SUPPORTED = 0x00, 0x01, 0x02, 0x03, 0x05, 0x06
_HEADER = struct.Struct(">BBhBi")


def _frame(opcode: int, body: bytes, stream: int) -> bytes:
    return _HEADER.pack(VERSION, 0, stream, opcode, len(body)) + body


def _read(sock: socket.socket, deadline: Deadline) -> tuple[int, bytes]:
    version, _flags, _stream, opcode, length = _HEADER.unpack(recv_exactly(sock, 9, deadline))
    if version != 0x80 | VERSION:
        raise ServiceError(f"not a CQL v{VERSION} response (version byte {version:#04x})")
    if not 0 <= length <= MAX_BODY:
        raise ServiceError(f"CQL frame of {length} bytes (limit {MAX_BODY})")
    return opcode, recv_exactly(sock, length, deadline)


class _Body:
    """A bounded reader of CQL [short], [int], [string] and [string list] fields."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise ServiceError("CQL body shorter than its fields")
        part = self.data[self.at : self.at + size]
        self.at += size
        return part

    def short(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def string(self) -> str:
        return self.take(self.short()).decode("utf-8", "replace")

    def string_list(self) -> list[str]:
        return [self.string() for _ in range(self.short())]


def _string_map(pairs: dict[str, str]) -> bytes:
    out = struct.pack(">H", len(pairs))
    for key, value in pairs.items():
        for text in (key.encode(), value.encode()):
            out += struct.pack(">H", len(text)) + text
    return out


def _error(body: bytes) -> str:
    reader = _Body(body)
    code = int.from_bytes(reader.take(4), "big")
    return f"error {code:#06x}: {printable(reader.string().encode(), 100)}"


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        send(sock, _frame(OPTIONS, b"", 0))
        opcode, body = _read(sock, deadline)
        if opcode == ERROR:
            raise ServiceError(f"OPTIONS refused: {_error(body)}")
        if opcode != SUPPORTED:
            raise ServiceError(f"OPTIONS answered with opcode {opcode:#04x}, not SUPPORTED")
        reader = _Body(body)
        supported = {reader.string(): reader.string_list() for _ in range(reader.short())}
        cql = (supported.get("CQL_VERSION") or ["3.0.0"])[0]
        send(sock, _frame(STARTUP, _string_map({"CQL_VERSION": cql}), 1))
        opcode, body = _read(sock, deadline)
    details = {"cql_version": printable(cql.encode(), 20), "protocol": VERSION}
    if opcode == READY:
        evidence = f"STARTUP (CQL {details['cql_version']}) → READY: no authentication asked"
        return Answer(True, evidence, details)
    if opcode == AUTHENTICATE:
        authenticator = printable(_Body(body).string().encode(), 80)
        details["authenticator"] = authenticator
        return Answer(False, f"STARTUP → AUTHENTICATE ({authenticator})", details)
    if opcode == ERROR:
        raise ServiceError(f"STARTUP refused: {_error(body)}")
    raise ServiceError(f"STARTUP answered with opcode {opcode:#04x}")


CASSANDRA = ServiceCheck(
    "cassandra",
    check,
    ports=(9042,),
    names=("cassandra", "cql"),
    reference="nuclei-templates: network/detection/cql-native-transport; nmap NSE: cassandra-info",
)
