"""MongoDB: an OP_MSG command that needs authorisation (`getLog`) answered is open access.

OP_QUERY no longer works on MongoDB 5.1+, and an empty `listDatabases` proves nothing (it
answers that way to unauthenticated users too), so we send OP_MSG `getLog` as nuclei does.
"""

from __future__ import annotations

import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services import bson
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, connect, recv_until

OP_MSG = 2013
UNAUTHORIZED = 13


def request() -> bytes:
    body = (
        struct.pack("<I", 0) + b"\x00" + bson.encode({"getLog": "startupWarnings", "$db": "admin"})
    )
    return struct.pack("<iiii", 16 + len(body), 0x5A5A, 0, OP_MSG) + body


def parse_reply(raw: bytes) -> dict[str, object]:
    if len(raw) < 21:
        raise ServiceError("truncated MongoDB reply")
    length, _, _, opcode = struct.unpack_from("<iiii", raw, 0)
    if opcode != OP_MSG or length != len(raw) or raw[20] != 0:
        raise ServiceError("not a MongoDB OP_MSG reply")
    return bson.decode(raw[21:])


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        sock.sendall(request())
        header = recv_until(sock, None, deadline, limit=4)
        if len(header) < 4:
            raise ServiceError("MongoDB closed the connection")
        (length,) = struct.unpack("<i", header)
        if not 21 <= length <= 16 * 1024 * 1024:
            raise ServiceError(f"invalid MongoDB message length {length}")
        raw = header + recv_until(sock, None, deadline, limit=min(length, 1 << 20) - 4)
    reply = parse_reply(raw)
    if "totalLinesWritten" in reply:
        return Answer(True, f"getLog answered: totalLinesWritten={reply['totalLinesWritten']}")
    if reply.get("code") == UNAUTHORIZED or "auth" in str(reply.get("errmsg", "")).lower():
        return Answer(False, f"getLog refused: {str(reply.get('errmsg', ''))[:60]}")
    raise ServiceError(f"unexpected MongoDB reply: {sorted(reply)[:5]}")


MONGODB = ServiceCheck(
    "mongodb",
    check,
    ports=(27017, 27018),
    names=("mongodb", "mongod"),
    reference="nuclei-templates: network/misconfig/mongodb-unauth (OP_MSG getLog)",
)
