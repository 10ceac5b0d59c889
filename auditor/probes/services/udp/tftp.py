"""TFTP: any answer is the exposure (the protocol has no authentication).

A read request (RRQ, RFC 1350) for a random name that cannot exist: the server answers
with an ERROR ("file not found") or, if it somehow exists, the first DATA block, which is
dropped unread. Nothing is written. The server answers from a port of its own, so the
reply is taken from any port of the target's address.
"""

from __future__ import annotations

import os
import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.udp.base import UdpAnswer, no_reply, refused
from auditor.probes.services.udp.datagram import REFUSED, ask
from auditor.probes.services.wire import ServiceError, printable


def read_request(name: str) -> bytes:
    return b"\x00\x01" + name.encode() + b"\x00octet\x00"


def check(ip: str, port: int, deadline: Deadline) -> UdpAnswer:
    name = f"auditor-probe-{os.urandom(4).hex()}"
    reply = ask(ip, port, read_request(name), deadline, any_source_port=True)
    if reply == REFUSED:
        return refused(port)
    if reply is None:
        return no_reply(port, "a TFTP read request")
    if len(reply) < 4:
        raise ServiceError("answered with something that is not TFTP")
    opcode = struct.unpack_from("!H", reply, 0)[0]
    if opcode == 5:
        said = printable(reply[4:].split(b"\x00", 1)[0], 60)
        evidence = f"TFTP answers a read request for {name}: error '{said}'"
    elif opcode == 3:
        evidence = f"TFTP served a block of {name}"
    else:
        raise ServiceError(f"answered a read request with TFTP opcode {opcode}")
    return UdpAnswer(True, True, evidence, {"answered": True})
