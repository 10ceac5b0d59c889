"""SNMP v1/v2c with the default communities, and SNMPv3 discovery to tell a live agent.

A v2c GET of sysDescr.0 (1.3.6.1.2.1.1.1.0) with `public`, then `private`: an agent
drops a request whose community it does not know without a word, so any GetResponse with
our request id proves the community (nmap snmp-info / snmp-brute). When neither is
answered, an SNMPv3 engine-discovery request (RFC 3414 §4: no user, reportable) tells a
live agent that refuses communities from silence.
"""

from __future__ import annotations

import os

from auditor.probes.deadline import Deadline
from auditor.probes.services import ber
from auditor.probes.services.udp.base import UdpAnswer, no_reply, refused
from auditor.probes.services.udp.datagram import REFUSED, ask_all
from auditor.probes.services.wire import ServiceError, printable

COMMUNITIES = (b"public", b"private")
SYS_DESCR = "1.3.6.1.2.1.1.1.0"


def get_request(community: bytes, request_id: int) -> bytes:
    varbind = ber.sequence(ber.oid(SYS_DESCR), b"\x05\x00")
    pdu = ber.tlv(0xA0, ber.integer(request_id) + ber.integer(0) + ber.integer(0)
                  + ber.sequence(varbind))  # fmt: skip
    return ber.sequence(ber.integer(1), ber.octets(community), pdu)


def discovery(message_id: int) -> bytes:
    header = ber.sequence(
        ber.integer(message_id), ber.integer(65507), ber.octets(b"\x04"), ber.integer(3)
    )
    usm = ber.octets(
        ber.sequence(ber.octets(b""), ber.integer(0), ber.integer(0), *(ber.octets(b""),) * 3)
    )
    pdu = ber.tlv(0xA0, ber.integer(message_id) + ber.integer(0) + ber.integer(0)
                  + ber.sequence())  # fmt: skip
    scoped = ber.sequence(ber.octets(b""), ber.octets(b""), pdu)
    return ber.sequence(ber.integer(3), header, usm, scoped)


def response_value(reply: bytes, request_id: int) -> str | None:
    """sysDescr from a v1/v2c GetResponse to `request_id`; None when it is another
    message. A response carrying an error or no such object still proves the community."""
    top = ber.elements(reply)
    if len(top) != 1 or top[0].tag != 0x30:
        raise ServiceError("not an SNMP message")
    parts = top[0].children()
    if len(parts) != 3 or parts[2].tag != 0xA2:
        return None
    pdu = parts[2].children()
    if len(pdu) != 4 or pdu[0].as_int() != request_id:
        return None
    for varbind in pdu[3].children():
        pair = varbind.children()
        if len(pair) == 2 and pair[1].tag == 0x04:
            return printable(pair[1].value, 120)
    return ""


def is_v3_message(reply: bytes) -> bool:
    top = ber.elements(reply)
    if len(top) != 1 or top[0].tag != 0x30:
        return False
    parts = top[0].children()
    return bool(parts) and parts[0].tag == 0x02 and parts[0].as_int() == 3


def check(ip: str, port: int, deadline: Deadline) -> UdpAnswer:
    ids = [int.from_bytes(os.urandom(3), "big") for _ in range(3)]
    questions = [get_request(c, i) for c, i in zip(COMMUNITIES, ids, strict=False)]
    replies = ask_all(ip, port, [*questions, discovery(ids[2])], deadline)
    if REFUSED in replies:
        return refused(port)
    for community, request_id, reply in zip(COMMUNITIES, ids, replies, strict=False):
        value = response_value(reply, request_id) if reply is not None else None
        if value is not None:
            name = community.decode()
            return UdpAnswer(
                True,
                True,
                f"SNMP v2c community '{name}' answered sysDescr: {value or '(empty)'}",
                {"answered": True, "community": name, "sys_descr": value},
            )
    v3 = replies[-1]
    if v3 is None:
        return no_reply(port, "SNMP v2c (public, private) and v3 discovery")
    if not is_v3_message(v3):
        raise ServiceError("answered with something that is not SNMP")
    return UdpAnswer(
        True,
        False,
        "SNMPv3 agent: refused the communities public and private",
        {"answered": True, "community": "", "sys_descr": ""},
    )
