"""rsync daemon: a module list handed to anyone.

nuclei: javascript/enumeration/rsync/rsync-list-modules.
"""

from __future__ import annotations

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, connect, printable, recv_until


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        greeting = recv_until(sock, b"\n", deadline, limit=256)
        if not greeting.startswith(b"@RSYNCD: "):
            raise ServiceError(f"not an rsync daemon: {printable(greeting[:40])!r}")
        sock.sendall(b"@RSYNCD: 31.0\n\n")  # our version, then an empty module name: list
        listing = recv_until(sock, b"@RSYNCD: EXIT", deadline)
    modules = [
        line.split(b"\t")[0].strip().decode(errors="replace")
        for line in listing.splitlines()
        if line.strip() and not line.startswith(b"@RSYNCD")
    ]
    if b"@RSYNCD: EXIT" not in listing:
        raise ServiceError("rsync module list did not end")
    if modules:
        return Answer(
            True,
            f"{len(modules)} module(s) listed: {', '.join(modules[:5])}",
            {"modules": modules[:20]},
        )
    return Answer(False, "no modules listed")


RSYNC = ServiceCheck(
    "rsync",
    check,
    ports=(873,),
    names=("rsync",),
    reference=(
        "nuclei-templates: javascript/enumeration/rsync/rsync-list-modules (@RSYNCD module list)"
    ),
)
