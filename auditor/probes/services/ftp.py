"""FTP: `USER anonymous` answered with 230 is an anonymous login (nuclei: ftp-anonymous).

After an anonymous login, one more command: `PORT` naming 192.0.2.1 (TEST-NET-1, never
routed), which is not our address. A server that answers 200 would open data connections
to any host its clients name: the FTP bounce (nmap ftp-bounce), a port scanner and relay
that runs from the server's own network. No data command follows, so the server never
connects anywhere.
"""

from __future__ import annotations

import contextlib
import socket

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, connect, printable, recv_until

BOUNCE_PORT = b"PORT 192,0,2,1,0,80\r\n"
"""A data port on TEST-NET-1 (RFC 5737): another host than ours, and one that is never used."""


def _reply(sock: socket.socket, deadline: Deadline) -> tuple[int, bytes]:
    data = recv_until(sock, b"\r\n", deadline, limit=4096)
    lines = data.split(b"\r\n")
    # Multi-line replies ("220-...") end with a line "220 ..."; read until it arrives.
    while lines and not any(len(x) > 3 and x[:3].isdigit() and x[3:4] == b" " for x in lines):
        more = recv_until(sock, b"\r\n", deadline, limit=4096)
        if not more:
            break
        data += more
        lines = data.split(b"\r\n")
    final = next((x for x in lines if len(x) > 3 and x[:3].isdigit() and x[3:4] == b" "), b"")
    if not final:
        raise ServiceError(f"not an FTP reply: {printable(data[:40])!r}")
    return int(final[:3]), final


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        code, line = _reply(sock, deadline)
        if code != 220:
            raise ServiceError(f"FTP greeting {code}")
        sock.sendall(b"USER anonymous\r\n")
        code, line = _reply(sock, deadline)
        if code == 331:
            sock.sendall(b"PASS anonymous@example.invalid\r\n")
            code, line = _reply(sock, deadline)
        bounce: dict[str, bool] = {}
        if code == 230:
            sock.sendall(BOUNCE_PORT)
            port_code, _ = _reply(sock, deadline)
            bounce["bounce"] = port_code == 200
        with contextlib.suppress(OSError):
            sock.sendall(b"QUIT\r\n")
    if code == 230:
        return Answer(True, printable(line, 60), bounce)
    if code in (530, 331, 332, 421, 500, 501, 504):
        return Answer(False, printable(line, 60))
    raise ServiceError(f"unexpected FTP reply {code}")


FTP = ServiceCheck(
    "ftp",
    check,
    ports=(21,),
    names=("ftp",),
    reference=(
        "nuclei-templates: network/default-login/ftp-anonymous-login (USER anonymous → 230); "
        "nmap NSE: ftp-bounce"
    ),
)
