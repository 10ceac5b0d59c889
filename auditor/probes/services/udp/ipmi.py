"""IPMI over LAN (RMCP+): does the BMC open a session with cipher suite 0?

Cipher suite 0 means no authentication, no integrity and no confidentiality: anyone can
act as any user of the BMC, power and console included (CVE-2013-4782; nmap
ipmi-cipher-zero, Metasploit ipmi_cipher_zero). First a Get Channel Authentication
Capabilities (IPMI 1.5 framing, as every scanner sends it) to tell a live BMC, then an
RMCP+ Open Session Request proposing only the `none` algorithms. Its response's status
byte says whether it would: no session is ever activated (no RAKP message follows).
"""

from __future__ import annotations

import os

from auditor.probes.deadline import Deadline
from auditor.probes.services.udp.base import UdpAnswer, no_reply, refused
from auditor.probes.services.udp.datagram import REFUSED, ask
from auditor.probes.services.wire import ServiceError

RMCP = b"\x06\x00\xff\x07"
CAPABILITIES = RMCP + bytes.fromhex("0000000000000000000920 18c8 8100 388e04 b5".replace(" ", ""))
NONE_ALGORITHMS = (
    b"\x00\x00\x00\x08\x00\x00\x00\x00"  # authentication: none
    b"\x01\x00\x00\x08\x00\x00\x00\x00"  # integrity: none
    b"\x02\x00\x00\x08\x00\x00\x00\x00"  # confidentiality: none
)


def open_session(tag: int, console_id: bytes) -> bytes:
    payload = bytes([tag, 0x04]) + b"\x00\x00" + console_id + NONE_ALGORITHMS
    header = b"\x06\x10" + b"\x00" * 8 + len(payload).to_bytes(2, "little")
    return RMCP + header + payload


def check(ip: str, port: int, deadline: Deadline) -> UdpAnswer:
    alive = ask(ip, port, CAPABILITIES, deadline)
    if alive == REFUSED:
        return refused(port)
    if alive is None:
        return no_reply(port, "IPMI Get Channel Authentication Capabilities")
    if not alive.startswith(RMCP):
        raise ServiceError("answered with something that is not RMCP")
    tag, console = os.urandom(1)[0], os.urandom(4)
    reply = ask(ip, port, open_session(tag, console), deadline)
    accepted = False
    if reply not in (None, REFUSED):
        assert reply is not None
        if len(reply) < 18 or not reply.startswith(RMCP) or reply[5] & 0x3F != 0x11:
            raise ServiceError("answered the Open Session Request with something else")
        payload = reply[16:]
        accepted = payload[0] == tag and payload[1] == 0
    return UdpAnswer(
        True,
        accepted,
        "BMC accepts an RMCP+ session with cipher suite 0 (no authentication)"
        if accepted
        else "BMC answers IPMI; cipher suite 0 refused",
        {"answered": True, "cipher_zero": accepted},
    )
