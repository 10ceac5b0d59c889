"""VNC (RFB): a server that offers security type None lets anyone see and drive the desktop.

The RFB handshake up to the security types is read-only: the server names its protocol
version, we answer with the version we speak (at most 3.8), and it lists the security types
it accepts (RFB 3.3 imposes one instead). We read them and hang up, before any
authentication or ClientInit: what nmap's `vnc-info` script reports as "Security types".
"""

from __future__ import annotations

import re

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    ServiceError,
    connect,
    printable,
    recv_exactly,
    send,
)

_VERSION = re.compile(rb"^RFB (\d{3})\.(\d{3})\n$")
SECURITY_TYPES = {
    0: "Invalid",
    1: "none (no authentication)",  # RFC 6143's "None", kept apart from Python's None
    2: "VncAuth",
    5: "RA2",
    6: "RA2ne",
    16: "Tight",
    18: "TLS",
    19: "VeNCrypt",
    22: "XVP",
    30: "AppleARD",
}
NONE = 1


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        banner = recv_exactly(sock, 12, deadline)
        match = _VERSION.match(banner)
        if match is None:
            raise ServiceError(f"not an RFB greeting: {printable(banner)!r}")
        major, minor = int(match.group(1)), int(match.group(2))
        ours = min((major, minor), (3, 8))
        if ours not in ((3, 3), (3, 7), (3, 8)):
            ours = (3, 3)  # 3.4-3.6 (some viewers' versions) speak as 3.3
        send(sock, b"RFB %03d.%03d\n" % ours)
        if ours == (3, 3):  # the server imposes one type, as a 32-bit number
            types = [int.from_bytes(recv_exactly(sock, 4, deadline), "big")]
            if types == [0]:  # a refusal, with its reason: nothing is known of its types
                length = int.from_bytes(recv_exactly(sock, 4, deadline), "big")
                reason = printable(recv_exactly(sock, min(length, 200), deadline), 100)
                raise ServiceError(f"RFB {major}.{minor}: refused the handshake: {reason}")
        else:
            count = recv_exactly(sock, 1, deadline)[0]
            if count == 0:  # the server refuses us, and says why
                length = int.from_bytes(recv_exactly(sock, 4, deadline), "big")
                reason = printable(recv_exactly(sock, min(length, 200), deadline), 100)
                raise ServiceError(f"RFB {major}.{minor}: refused the handshake: {reason}")
            types = list(recv_exactly(sock, count, deadline))
    names = [SECURITY_TYPES.get(t, str(t)) for t in types]
    evidence = f"RFB {major}.{minor}: security types {', '.join(names)}"
    return Answer(NONE in types, evidence, {"types": names, "version": f"{major}.{minor}"})


VNC = ServiceCheck(
    "vnc",
    check,
    ports=(5900, 5901),
    names=("vnc",),
    reference="nmap NSE: vnc-info (security types; None means no authentication)",
)
