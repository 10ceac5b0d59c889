"""Redis: `INFO` answered without AUTH is open access (nuclei: network/exposures redis)."""

from __future__ import annotations

import re

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, connect, printable, recv_until

_VERSION = re.compile(rb"redis_version:([0-9A-Za-z.\-]+)")
_PROTECTED = (b"-NOAUTH", b"-DENIED", b"-WRONGPASS", b"-NOPERM")


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        sock.sendall(b"*1\r\n$4\r\nINFO\r\n")
        # Decide on the first line: a protected server answers one error line and waits.
        reply = recv_until(sock, b"\r\n", deadline, limit=4096)
        first = reply.split(b"\r\n", 1)[0]
        if first.startswith(_PROTECTED):
            return Answer(False, printable(first, 60))
        if not first.startswith(b"$") or not first[1:].isdigit():
            raise ServiceError(f"unexpected Redis reply: {printable(first[:40])!r}")
        if b"redis_version:" not in reply:
            reply += recv_until(sock, b"redis_version:", deadline)
        reply += recv_until(sock, b"\r\n", deadline, limit=256)
    match = _VERSION.search(reply)
    if not match:
        raise ServiceError("Redis INFO without redis_version")
    version = match.group(1).decode()
    return Answer(True, f"redis_version:{version}", {"version": version})


REDIS = ServiceCheck(
    "redis",
    check,
    ports=(6379,),
    names=("redis",),
    reference="nuclei-templates: network/exposures/exposed-redis (INFO → redis_version)",
)
