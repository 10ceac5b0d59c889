"""NBD (network block device) servers that serve their disks to anyone (nmap nbd-info).

NBD has no authentication of its own: whoever reaches the port can read (and, unless an
export is read-only, write) any export by name. Only TLS with client certificates locks
it. The check is the fixed-newstyle handshake and one NBD_OPT_LIST (the protocol's
"list exports" option), then NBD_OPT_ABORT: no export is ever opened.

- exports listed, or the list refused by policy (the names can still be guessed): open;
- NBD_REP_ERR_TLS_REQD: the server wants TLS before any option: locked;
- an old-style server sends an export's size at once: open.
"""

from __future__ import annotations

import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, connect, printable, recv_exactly, send

NBDMAGIC = b"NBDMAGIC"
IHAVEOPT = b"IHAVEOPT"
OLDSTYLE = 0x00420281861253
REPLY_MAGIC = 0x3E889045565A9
OPT_ABORT, OPT_LIST = 2, 3
REP_ACK, REP_SERVER = 1, 2
ERR_POLICY, ERR_TLS_REQD = 0x80000002, 0x80000005
FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES = 1, 2
MAX_EXPORTS = 200
MAX_REPLY = 4096


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        hello = recv_exactly(sock, 16, deadline)
        if hello[:8] != NBDMAGIC:
            raise ServiceError(f"not an NBD greeting: {printable(hello[:8])!r}")
        if int.from_bytes(hello[8:], "big") == OLDSTYLE:
            return Answer(
                True,
                "old-style NBD server: an export is served on connect",
                {"exports": 1, "listed": False},
            )
        if hello[8:] != IHAVEOPT:
            raise ServiceError("NBD greeting with an unknown handshake")
        flags = struct.unpack(">H", recv_exactly(sock, 2, deadline))[0]
        send(sock, struct.pack(">I", flags & (FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)))
        send(sock, IHAVEOPT + struct.pack(">II", OPT_LIST, 0))
        names: list[str] = []
        while True:
            magic, option, kind, size = struct.unpack(">QIII", recv_exactly(sock, 20, deadline))
            if magic != REPLY_MAGIC or option != OPT_LIST or size > MAX_REPLY:
                raise ServiceError("not an NBD option reply")
            data = recv_exactly(sock, size, deadline) if size else b""
            if kind != REP_SERVER:
                break
            length = int.from_bytes(data[:4], "big") if len(data) >= 4 else -1
            if not 0 <= length <= len(data) - 4:
                raise ServiceError("NBD export name over its reply")
            names.append(printable(data[4 : 4 + length], 60) or "(default)")
            if len(names) > MAX_EXPORTS:
                raise ServiceError("too many NBD exports")
        send(sock, IHAVEOPT + struct.pack(">II", OPT_ABORT, 0))
    if kind == ERR_TLS_REQD:
        return Answer(
            False, "NBD server requires TLS before any option", {"exports": 0, "listed": False}
        )
    if kind == REP_ACK:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        evidence = f"NBD lists {len(names)} export(s) to anyone, no authentication: {shown}"
        return Answer(True, evidence, {"exports": len(names), "listed": True})
    if kind == ERR_POLICY:
        evidence = "NBD server without TLS: listing refused by policy, exports open by name"
        return Answer(True, evidence, {"exports": 0, "listed": False})
    raise ServiceError(f"NBD answered the export list with reply type {kind:#x}")


NBD = ServiceCheck(
    "nbd",
    check,
    ports=(10809,),
    names=("nbd",),
    reference="nmap NSE: nbd-info (NBD_OPT_LIST); NBD protocol: TLS (STARTTLS, certificates)",
)
