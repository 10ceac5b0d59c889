"""DNS: does the server resolve for anyone (an open resolver)?

One query with recursion desired for a random name under `.invalid` (RFC 6761: reserved,
never delegated), so no real name is looked up and nothing leaves the resolver that a
client of it would not send. A resolver that serves us answers NXDOMAIN (or NOERROR) with
recursion available; a closed one answers REFUSED; an authoritative-only server does not
offer recursion (nmap dns-recursion).
"""

from __future__ import annotations

import os
import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.udp.base import UdpAnswer, no_reply, refused
from auditor.probes.services.udp.datagram import REFUSED, ask
from auditor.probes.services.wire import ServiceError

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def query(ident: int, name: str) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\x00\x00\x01\x00\x01"


def check(ip: str, port: int, deadline: Deadline) -> UdpAnswer:
    ident = int.from_bytes(os.urandom(2), "big")
    name = f"auditor-{os.urandom(4).hex()}.invalid"
    reply = ask(ip, port, query(ident, name), deadline)
    if reply == REFUSED:
        return refused(port)
    if reply is None:
        return no_reply(port, "a DNS query")
    if len(reply) < 12:
        raise ServiceError("answered with something that is not DNS")
    answer_id, flags = struct.unpack_from("!HH", reply, 0)
    if answer_id != ident or not flags & 0x8000:
        raise ServiceError("answered with something that is not a DNS response to our query")
    rcode = RCODES.get(flags & 0x000F, str(flags & 0x000F))
    recursion = bool(flags & 0x0080)
    open_resolver = recursion and rcode in ("NOERROR", "NXDOMAIN")
    return UdpAnswer(
        True,
        open_resolver,
        f"recursive query for {name} → {rcode}, recursion "
        + ("available" if recursion else "not available"),
        {"answered": True, "rcode": rcode, "recursion_available": recursion},
    )
