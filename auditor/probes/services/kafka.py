"""Kafka: a broker that answers a Metadata request before any SASL handshake has no login.

Two read-only requests on one connection, as every client opens with:
1. ApiVersions (v0), which a broker answers even on a SASL listener before authentication
   (KIP-35/KIP-43): it proves the port is Kafka;
2. Metadata (v0, every topic): a PLAINTEXT listener answers with its brokers and topics, so
   anyone can read and write them; a SASL listener drops the connection instead.
An empty topic list never creates a topic, whatever `auto.create.topics.enable` says.
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
    recv_until,
    send,
)

API_VERSIONS, METADATA = 18, 3
MAX_RESPONSE = 65536
MAX_ITEMS = 10000
CLIENT_ID = b"server-auditor"


def _request(api_key: int, correlation: int, body: bytes) -> bytes:
    header = struct.pack(">hhih", api_key, 0, correlation, len(CLIENT_ID)) + CLIENT_ID
    return struct.pack(">i", len(header) + len(body)) + header + body


def _response(
    sock: socket.socket, correlation: int, deadline: Deadline, head: bytes = b""
) -> bytes:
    """One response's body after its correlation id; `head` is what was already read of it."""
    head += recv_exactly(sock, 4 - len(head), deadline) if len(head) < 4 else b""
    size = int.from_bytes(head, "big", signed=True)
    if not 4 <= size <= MAX_RESPONSE:
        raise ServiceError(f"Kafka response of {size} bytes (limit {MAX_RESPONSE})")
    data = recv_exactly(sock, size, deadline)
    if int.from_bytes(data[:4], "big", signed=True) != correlation:
        raise ServiceError("Kafka response for another request (correlation id)")
    return data[4:]


class _Fields:
    """A bounded reader of Kafka's int16/int32/string/array fields."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise ServiceError("Kafka response shorter than its fields")
        part = self.data[self.at : self.at + size]
        self.at += size
        return part

    def int16(self) -> int:
        return int.from_bytes(self.take(2), "big", signed=True)

    def int32(self) -> int:
        return int.from_bytes(self.take(4), "big", signed=True)

    def string(self) -> str:
        length = self.int16()
        return "" if length < 0 else self.take(length).decode("utf-8", "replace")

    def count(self) -> int:
        n = self.int32()
        if not 0 <= n <= MAX_ITEMS:
            raise ServiceError(f"Kafka array of {n} items")
        return n


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        send(sock, _request(API_VERSIONS, 1, b""))
        fields = _Fields(_response(sock, 1, deadline))
        error = fields.int16()
        apis = {fields.int16(): (fields.int16(), fields.int16()) for _ in range(fields.count())}
        if error != 0 or METADATA not in apis:
            raise ServiceError(f"ApiVersions answered error {error}, {len(apis)} APIs")
        send(sock, _request(METADATA, 2, struct.pack(">i", 0)))
        head = recv_until(sock, None, deadline, limit=4)
        # Closed before a single byte of answer: what a SASL listener does.
        data = _response(sock, 2, deadline, head) if head else b""
    if not head:
        evidence = "ApiVersions answered; Metadata before authentication → connection closed (SASL)"
        return Answer(False, evidence, {"apis": len(apis)})
    fields = _Fields(data)
    brokers = [(fields.int32(), fields.string(), fields.int32()) for _ in range(fields.count())]
    topics = []
    for _ in range(fields.count()):
        fields.int16()
        topics.append(fields.string())
        for _ in range(fields.count()):
            fields.take(10)  # error, partition id, leader
            fields.take(4 * fields.count())  # replicas
            fields.take(4 * fields.count())  # in-sync replicas
    names = ", ".join(printable(t.encode(), 40) for t in topics[:3])
    evidence = (
        f"Metadata without authentication → {len(brokers)} broker(s), {len(topics)} topic(s)"
        + (f": {names}" + (", ..." if len(topics) > 3 else "") if topics else "")
    )
    return Answer(True, evidence, {"brokers": len(brokers), "topics": len(topics)})


KAFKA = ServiceCheck(
    "kafka",
    check,
    ports=(9092,),
    names=("kafka",),
    reference="Apache Kafka docs: Authentication using SASL (PLAINTEXT listeners have none)",
)
