"""ONC RPC over TCP (RFC 5531), as the NFS and rpcbind checks speak it: one call with
AUTH_NULL and its reply, record marking bounded in total, and a bounded XDR reader."""

from __future__ import annotations

import os
import socket
import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.wire import ServiceError, printable, recv_exactly, send

MAX_RECORD = 65536
_LAST_FRAGMENT = 0x80000000


def call(
    sock: socket.socket, program: int, version: int, procedure: int, args: bytes, deadline: Deadline
) -> bytes:
    """One RPC call and its accepted, successful reply's results."""
    xid = int.from_bytes(os.urandom(4), "big")
    # xid, CALL, RPC v2, program, version, procedure, AUTH_NULL credential and verifier
    message = struct.pack(">IIIIIIIIII", xid, 0, 2, program, version, procedure, 0, 0, 0, 0)
    message += args
    send(sock, struct.pack(">I", _LAST_FRAGMENT | len(message)) + message)
    reply = b""
    while True:  # record marking: fragments until the last one, bounded in total
        mark = int.from_bytes(recv_exactly(sock, 4, deadline), "big")
        size = mark & ~_LAST_FRAGMENT
        if len(reply) + size > MAX_RECORD:
            raise ServiceError(f"RPC reply over {MAX_RECORD} bytes")
        reply += recv_exactly(sock, size, deadline)
        if mark & _LAST_FRAGMENT:
            break
    reader = Xdr(reply)
    if reader.uint() != xid or reader.uint() != 1:
        raise ServiceError("not an RPC reply to our call")
    if reader.uint() != 0:
        raise ServiceError("RPC call denied (MSG_DENIED)")
    reader.uint()  # verifier flavour
    reader.opaque()
    status = reader.uint()
    if status != 0:
        raise ServiceError(f"RPC call not accepted (accept_stat {status})")
    return reply[reader.at :]


class Xdr:
    """A bounded XDR reader (RFC 4506): unsigned ints, opaque data and strings."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def uint(self) -> int:
        if self.at + 4 > len(self.data):
            raise ServiceError("RPC reply shorter than its fields")
        value = int.from_bytes(self.data[self.at : self.at + 4], "big")
        self.at += 4
        return value

    def opaque(self) -> bytes:
        size = self.uint()
        end = self.at + size
        if size > 1024 or end > len(self.data):
            raise ServiceError("RPC reply field over its bounds")
        value = self.data[self.at : end]
        self.at = end + (-size % 4)
        return value

    def string(self) -> str:
        return printable(self.opaque(), 80)
