"""memcached over UDP: `stats` in one datagram (the 2018 51,000-fold amplification).

The UDP frame header (request id, sequence 0, one datagram, reserved) then the text
command, as memcached's protocol.txt describes; any STAT line back is the exposure.
"""

from __future__ import annotations

import os

from auditor.probes.deadline import Deadline
from auditor.probes.services.udp.base import UdpAnswer, no_reply, refused
from auditor.probes.services.udp.datagram import REFUSED, ask
from auditor.probes.services.wire import ServiceError, printable


def check(ip: str, port: int, deadline: Deadline) -> UdpAnswer:
    request_id = os.urandom(2)
    reply = ask(ip, port, request_id + b"\x00\x00\x00\x01\x00\x00stats\r\n", deadline)
    if reply == REFUSED:
        return refused(port)
    if reply is None:
        return no_reply(port, "memcached stats")
    if len(reply) < 8 or reply[:2] != request_id:
        raise ServiceError("answered with something that is not a memcached UDP frame")
    body = reply[8:]
    if not body.startswith(b"STAT "):
        raise ServiceError(f"answered stats with {printable(body, 40)!r}")
    version = next(
        (line[13:] for line in body.split(b"\r\n") if line.startswith(b"STAT version ")), b""
    )
    return UdpAnswer(
        True,
        True,
        f"memcached {printable(version, 30)} answers stats over UDP",
        {"answered": True},
    )
