"""NFS exports to everyone, read as `showmount -e` does: ONC RPC over TCP, no login.

Two read-only calls with AUTH_NULL (RFC 5531), each under the deadline:
1. rpcbind/portmapper GETPORT (RFC 1833) on the audited port: where MOUNT v3 listens;
2. MOUNT v3 EXPORT (RFC 1813, procedure 5) there, on the same address: every exported
   folder and the clients it is exported to.
A folder exported to `*`, to 0.0.0.0/0 or with an empty client list is readable (and, with
`rw`, writable) by anyone who reaches the server. A server without MOUNT registered (NFSv4
only) has no export list on the network: the host pack reads /etc/exports instead.
"""

from __future__ import annotations

import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.oncrpc import Xdr, call
from auditor.probes.services.wire import ServiceError, connect

PORTMAP, PORTMAP_V2, GETPORT = 100000, 2, 3
MOUNT, MOUNT_V3, EXPORT = 100005, 3, 5
TCP = 6
MAX_ENTRIES = 1000
EVERYONE = {"*", "0.0.0.0/0", "::/0", "(everyone)", "everyone"}


def exports(results: bytes) -> list[tuple[str, list[str]]]:
    """MOUNT v3 exports: (folder, clients), from the EXPORT procedure's linked list."""
    reader = Xdr(results)
    found: list[tuple[str, list[str]]] = []
    while reader.uint():
        folder = reader.string()
        clients: list[str] = []
        while reader.uint():
            clients.append(reader.string())
            if len(clients) > MAX_ENTRIES:
                raise ServiceError("export with too many clients")
        found.append((folder, clients))
        if len(found) > MAX_ENTRIES:
            raise ServiceError("too many exports")
    return found


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        mapping = struct.pack(">IIII", MOUNT, MOUNT_V3, TCP, 0)
        mountd = Xdr(call(sock, PORTMAP, PORTMAP_V2, GETPORT, mapping, deadline)).uint()
    if mountd == 0:
        evidence = "rpcbind: no MOUNT v3 over TCP registered (no export list on the network)"
        return Answer(False, evidence, {"mountd": 0, "exports": 0})
    if not 0 < mountd < 65536:
        raise ServiceError(f"rpcbind named port {mountd} for MOUNT")
    with connect(ip, mountd, deadline) as sock:
        listed = exports(call(sock, MOUNT, MOUNT_V3, EXPORT, b"", deadline))
    open_to_all = [folder for folder, clients in listed if not clients or EVERYONE & set(clients)]
    shown = ", ".join(open_to_all[:3]) + (", ..." if len(open_to_all) > 3 else "")
    evidence = (
        f"MOUNT EXPORT (via rpcbind, mountd on {mountd}/tcp): {len(listed)} export(s), "
        f"{len(open_to_all)} to everyone" + (f": {shown}" if open_to_all else "")
    )
    details = {"mountd": mountd, "exports": len(listed), "to_everyone": len(open_to_all)}
    return Answer(bool(open_to_all), evidence, details)


NFS = ServiceCheck(
    "nfs",
    check,
    ports=(111,),
    names=("rpcbind", "sunrpc", "nfs"),
    reference="nmap NSE: nfs-showmount (MOUNT EXPORT); CIS Debian 12: nfs-server not in use",
)
