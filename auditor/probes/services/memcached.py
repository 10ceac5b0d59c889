"""memcached: `stats` answered is open access (nuclei: network/misconfig/memcached-stats)."""

from __future__ import annotations

import re

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, exchange, printable

_VERSION = re.compile(rb"STAT version ([0-9A-Za-z.\-]+)")


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    reply = exchange(ip, port, b"stats\r\n", b"END\r\n", deadline)
    if reply.startswith(b"STAT "):
        match = _VERSION.search(reply)
        version = match.group(1).decode() if match else ""
        return Answer(True, f"STAT version {version}".strip(), {"version": version})
    if reply.startswith((b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")):
        return Answer(False, printable(reply.split(b"\r\n")[0], 60))
    raise ServiceError(f"unexpected memcached reply: {printable(reply[:40])!r}")


MEMCACHED = ServiceCheck(
    "memcached",
    check,
    ports=(11211,),
    names=("memcache", "memcached"),
    reference="nuclei-templates: network/misconfig/memcached-stats (stats → STAT)",
)
