"""RDP servers that accept Standard RDP Security (nmap rdp-enum-encryption).

One X.224 Connection Request carrying an RDP Negotiation Request that offers only
PROTOCOL_RDP, the legacy security layer ([MS-RDPBCGR] 2.2.1.1): RC4 with a key exchange
that a man in the middle can read, and a login screen offered before any authentication.
The server answers with its Connection Confirm:

- a Negotiation Response selecting PROTOCOL_RDP, or no negotiation data at all (a server
  older than RDP 5.2): Standard RDP Security is accepted;
- a Negotiation Failure (TLS or CredSSP/NLA required): it is refused.

The connection is closed right after the confirm: no MCS or security exchange follows.
"""

from __future__ import annotations

import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, connect, recv_exactly, send

PROTOCOL_RDP = 0
NEG_RSP, NEG_FAILURE = 2, 3
FAILURES = {
    1: "TLS required by the server",
    2: "TLS not allowed",
    3: "no certificate on the server",
    4: "inconsistent flags",
    5: "CredSSP (NLA) required by the server",
    6: "TLS with user authentication required",
}
# TPKT (version 3, length 19), X.224 CR (LI 14, CR, dst-ref 0, src-ref 0, class 0), then
# RDP_NEG_REQ (type 1, flags 0, length 8, requestedProtocols PROTOCOL_RDP)
CONNECTION_REQUEST = (
    b"\x03\x00\x00\x13" + b"\x0e\xe0\x00\x00\x00\x00\x00" + struct.pack("<BBHI", 1, 0, 8, 0)
)


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        send(sock, CONNECTION_REQUEST)
        tpkt = recv_exactly(sock, 4, deadline)
        if tpkt[:2] != b"\x03\x00":
            raise ServiceError("not a TPKT reply (not RDP)")
        length = int.from_bytes(tpkt[2:], "big")
        if not 11 <= length <= 512:
            raise ServiceError(f"RDP Connection Confirm of {length} bytes")
        body = recv_exactly(sock, length - 4, deadline)
    if body[1] & 0xF0 != 0xD0:
        raise ServiceError("not an X.224 Connection Confirm (not RDP)")
    negotiation = body[7:]
    if not negotiation:
        return Answer(True, "RDP without negotiation: Standard RDP Security only", {})
    if len(negotiation) < 8:
        raise ServiceError("RDP negotiation data cut short")
    kind, _, _, value = struct.unpack("<BBHI", negotiation[:8])
    if kind == NEG_RSP and value == PROTOCOL_RDP:
        evidence = "RDP accepts Standard RDP Security (no TLS, no NLA) from anyone"
        return Answer(True, evidence, {"selected": "rdp"})
    if kind == NEG_FAILURE:
        said = FAILURES.get(value, f"failure code {value}")
        return Answer(False, f"RDP refuses Standard RDP Security: {said}", {"selected": ""})
    raise ServiceError(f"RDP negotiation reply type {kind} selecting {value}")


RDP = ServiceCheck(
    "rdp",
    check,
    ports=(3389,),
    names=("rdp", "ms-wbt-server"),
    reference="nmap NSE: rdp-enum-encryption ([MS-RDPBCGR] RDP_NEG_REQ, PROTOCOL_RDP)",
)
