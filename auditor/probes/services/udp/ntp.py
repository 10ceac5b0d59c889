"""NTP: a client request to tell a live server, then the two query modes scanners fail.

- mode 3 (client): any time server answers it; it proves the server is alive;
- mode 6 READVAR (`ntpq -c rv`): system variables to anyone, and a traffic amplifier;
- mode 7 MON_GETLIST_1 (`ntpdc -c monlist`, CVE-2013-5211): the last 600 clients, and a
  200-fold amplifier.
Only whether mode 6 and mode 7 are answered is kept (nmap ntp-info, ntp-monlist): a
monlist reply lists other people's addresses, which this auditor never stores.
"""

from __future__ import annotations

from auditor.probes.deadline import Deadline
from auditor.probes.services.udp.base import UdpAnswer, no_reply, refused
from auditor.probes.services.udp.datagram import REFUSED, ask_all
from auditor.probes.services.wire import printable

CLIENT = b"\x1b" + b"\x00" * 47
"""LI 0, version 3, mode 3; the rest zero (RFC 5905 §7.3)."""
READVAR = b"\x16\x02\x00\x01" + b"\x00" * 8
"""Version 2, mode 6, opcode 2 (read variables), sequence 1, association 0."""
MONLIST = b"\x17\x00\x03\x2a" + b"\x00" * 4
"""Version 2, mode 7, implementation 3 (XNTPD), request 42 (MON_GETLIST_1)."""


def check(ip: str, port: int, deadline: Deadline) -> UdpAnswer:
    client, mode6, mode7 = ask_all(ip, port, (CLIENT, READVAR, MONLIST), deadline)
    if client == REFUSED:
        return refused(port)
    answered6 = _is_reply(mode6, 6) and len(mode6 or b"") >= 12 and bool((mode6 or b"")[1] & 0x80)
    answered7 = _is_reply(mode7, 7)
    alive = _is_reply(client, 4) or answered6 or answered7
    if not alive:
        return no_reply(port, "NTP modes 3, 6 and 7")
    version = ""
    if answered6 and mode6 is not None:
        text = mode6[12:].split(b"version=", 1)
        version = printable(text[1].split(b",", 1)[0].strip(b'"'), 60) if len(text) == 2 else ""
    answered = [
        name
        for name, yes in (("mode 6 (READVAR)", answered6), ("mode 7 (monlist)", answered7))
        if yes
    ]
    evidence = "NTP server answers " + (
        " and ".join(answered) if answered else "only mode 3 (time)"
    )
    return UdpAnswer(
        True,
        answered6 or answered7,
        evidence + (f": {version}" if version else ""),
        {"answered": True, "mode6": answered6, "monlist": answered7, "version": version},
    )


def _is_reply(reply: bytes | None, mode: int) -> bool:
    return reply is not None and reply != REFUSED and len(reply) >= 8 and reply[0] & 0x07 == mode
