"""rpcbind answering DUMP to anyone, as `rpcinfo -p` reads it (nmap rpcinfo).

One read-only call, PMAPPROC_DUMP (RFC 1833, portmapper v2 procedure 4) with AUTH_NULL:
every RPC program the host registered, its version, transport and port. The list names
the NFS, NIS and lock services to attack and where they listen; rpcbind on UDP is also a
reflection amplifier. A server that runs NFS needs rpcbind reachable by its clients: the
rule accepts it where the change record declares it.
"""

from __future__ import annotations

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.oncrpc import Xdr, call
from auditor.probes.services.wire import ServiceError, connect

PORTMAP, PORTMAP_V2, DUMP = 100000, 2, 4
MAX_MAPPINGS = 2000
PROGRAMS = {
    100000: "portmapper",
    100003: "nfs",
    100004: "ypserv",
    100005: "mountd",
    100007: "ypbind",
    100009: "yppasswdd",
    100011: "rquotad",
    100021: "nlockmgr",
    100024: "status",
    100227: "nfs_acl",
    100083: "ttdbserverd",
    150001: "pcnfsd",
}


def mappings(results: bytes) -> list[tuple[int, int, int, int]]:
    """(program, version, protocol, port) of DUMP's linked list, bounded."""
    reader = Xdr(results)
    found: list[tuple[int, int, int, int]] = []
    while reader.uint():
        found.append((reader.uint(), reader.uint(), reader.uint(), reader.uint()))
        if len(found) > MAX_MAPPINGS:
            raise ServiceError("rpcbind DUMP with too many mappings")
    return found


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        listed = mappings(call(sock, PORTMAP, PORTMAP_V2, DUMP, b"", deadline))
    if not any(program == PORTMAP for program, *_ in listed):
        raise ServiceError("a DUMP reply that does not list the portmapper itself")
    names = sorted({PROGRAMS.get(program, str(program)) for program, *_ in listed})
    evidence = f"rpcbind lists {len(listed)} registrations to anyone: {', '.join(names[:12])}"
    return Answer(True, evidence, {"programs": names, "registrations": len(listed)})


RPCBIND = ServiceCheck(
    "rpcbind",
    check,
    ports=(111,),
    names=("rpcbind", "sunrpc", "portmapper"),
    reference="nmap NSE: rpcinfo (PMAPPROC_DUMP); CIS Debian 12: rpcbind not in use",
)
