"""X11: does the X server let anyone connect (access control off, `xhost +`)?

The connection setup (X Window System Protocol, chapter 8) with no authorization: a
server with access control answers Failed (0) with its reason, one without it answers
Success (1) and its vendor, and whoever connected can read every keystroke and screen
(nmap x11-access). Nothing is drawn, no request follows the setup.
"""

from __future__ import annotations

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

SETUP = b"l\x00" + struct.pack("<HHHH", 11, 0, 0, 0) + b"\x00\x00"
"""Little-endian, protocol 11.0, no authorization name or data."""


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        send(sock, SETUP)
        head = recv_exactly(sock, 8, deadline)
        status = head[0]
        if status not in (0, 1, 2) or struct.unpack_from("<H", head, 2)[0] != 11:
            raise ServiceError("not an X11 connection-setup reply")
        extra = struct.unpack_from("<H", head, 6)[0] * 4
        body = recv_until(sock, None, deadline, limit=min(extra, 65536))
    if status == 1:
        vendor_length = struct.unpack_from("<H", body, 16)[0] if len(body) >= 18 else 0
        vendor = printable(body[32 : 32 + vendor_length], 60)
        return Answer(True, f"X11 setup accepted without authorization ({vendor})", {})
    if status == 0:
        reason = printable(body[: head[1]], 80)
        return Answer(False, f"X11 setup refused: {reason}", {})
    return Answer(False, "X11 server asks for further authentication", {})


X11 = ServiceCheck(
    "x11",
    check,
    ports=tuple(range(6000, 6010)),
    names=("x11",),
    reference=(
        "nmap NSE: x11-access; nuclei-templates: javascript/misconfiguration/x11/x11-unauth-access"
    ),
)
