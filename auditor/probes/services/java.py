"""Java's two remote doors: the JDWP debugger port and the RMI registry.

- **JDWP** (nmap jdwp-info): the 14-byte `JDWP-Handshake` echo, then one command,
  VirtualMachine.Version (command set 1, command 1), which only reads the VM's name and
  version. Any JDWP peer may then load and run code in the process: there is no login.
- **RMI registry** (nmap rmi-dumpregistry): the JRMP stream handshake, then one call,
  `list()` on the registry's well-known object (ObjID 0, operation 1): the names bound in
  it. Nothing is looked up, bound or deserialised beyond the returned array of strings,
  which is read by hand within fixed bounds.
"""

from __future__ import annotations

import os
import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    ServiceError,
    connect,
    printable,
    recv_exactly,
    recv_some,
    send,
)

JDWP_HANDSHAKE = b"JDWP-Handshake"
JDWP_REPLY_FLAG = 0x80
MAX_JDWP_REPLY = 16384


def _jdwp_string(data: bytes, at: int) -> tuple[str, int]:
    if at + 4 > len(data):
        raise ServiceError("JDWP reply shorter than its fields")
    size = int.from_bytes(data[at : at + 4], "big")
    if size > len(data) - at - 4:
        raise ServiceError("JDWP string over its reply")
    return printable(data[at + 4 : at + 4 + size], 80), at + 4 + size


def jdwp(ip: str, port: int, deadline: Deadline) -> Answer:
    packet_id = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
    with connect(ip, port, deadline) as sock:
        send(sock, JDWP_HANDSHAKE)
        if recv_exactly(sock, len(JDWP_HANDSHAKE), deadline) != JDWP_HANDSHAKE:
            raise ServiceError("not a JDWP handshake")
        send(sock, struct.pack(">IIBBB", 11, packet_id, 0, 1, 1))  # VirtualMachine.Version
        length, reply_id, flags, error = struct.unpack(">IIBH", recv_exactly(sock, 11, deadline))
        if reply_id != packet_id or not flags & JDWP_REPLY_FLAG or length < 11:
            raise ServiceError("not a JDWP reply to our command")
        if length - 11 > MAX_JDWP_REPLY:
            raise ServiceError(f"JDWP reply over {MAX_JDWP_REPLY} bytes")
        data = recv_exactly(sock, length - 11, deadline) if length > 11 else b""
    if error:
        evidence = f"JDWP debugger answers anyone (VirtualMachine.Version error {error})"
        return Answer(True, evidence, {})
    _, at = _jdwp_string(data, 0)  # description
    version, at = _jdwp_string(data, at + 8)  # after jdwpMajor, jdwpMinor
    name, _ = _jdwp_string(data, at)
    evidence = f"JDWP debugger answers anyone: {name} {version}"
    return Answer(True, evidence, {"vm": f"{name} {version}"[:120]})


RMI_REGISTRY_HASH = 0x44154DC9D4E63BDF
"""`sun.rmi.registry.RegistryImpl_Stub`'s interface hash: the registry's v1 stub calls."""
STRING_ARRAY = b"[Ljava.lang.String;"
MAX_NAMES = 500
MAX_RMI_REPLY = 65536


class _Short(ServiceError):
    """The reply so far ends before the array does: read more."""


def _registry_list() -> bytes:
    """A JRMP Call: ObjID 0 (the registry), operation 1 (`list`), the interface hash."""
    block = struct.pack(">qiqhiq", 0, 0, 0, 0, 1, RMI_REGISTRY_HASH)
    return b"\x50\xac\xed\x00\x05\x77" + bytes([len(block)]) + block


def names_in(reply: bytes) -> list[str]:
    """The strings of `list()`'s String[] in a ReturnData message; _Short when the reply
    read so far ends first."""

    def need(end: int) -> None:
        if end > len(reply):
            raise _Short("RMI reply cut short")

    need(8)
    if not reply.startswith(b"\x51\xac\xed\x00\x05\x77\x0f"):
        raise ServiceError("not an RMI ReturnData message")
    if reply[7] != 1:  # ExceptionalReturn: the registry refused the call
        raise ServiceError("the RMI registry answered list() with an exception")
    at = reply.find(STRING_ARRAY)
    if at < 0:
        raise _Short("no String[] in the RMI reply yet")
    # class name, serialVersionUID (8), flags (1), field count (2); then RMI's class
    # annotation, its codebase (TC_NULL, or a TC_STRING URL); end of block data and no
    # superclass (0x78 0x70); then the array's length
    at += len(STRING_ARRAY) + 8 + 1 + 2
    need(at + 3)
    if reply[at] == 0x70:
        at += 1
    elif reply[at] == 0x74:
        at += 3 + int.from_bytes(reply[at + 1 : at + 3], "big")
    need(at + 6)
    if reply[at : at + 2] != b"\x78\x70":
        raise ServiceError("unexpected String[] class description in the RMI reply")
    count = int.from_bytes(reply[at + 2 : at + 6], "big")
    if count > MAX_NAMES:
        raise ServiceError("RMI registry lists too many names")
    at += 6
    names = []
    for _ in range(count):
        need(at + 3)
        if reply[at] != 0x74:  # TC_STRING (a repeated name would be a back-reference)
            raise ServiceError("unexpected entry in the RMI registry's list")
        size = int.from_bytes(reply[at + 1 : at + 3], "big")
        need(at + 3 + size)
        names.append(printable(reply[at + 3 : at + 3 + size], 60))
        at += 3 + size
    return names


def rmi_registry(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        send(sock, b"JRMI\x00\x02\x4b")  # magic, version 2, StreamProtocol
        if recv_exactly(sock, 1, deadline) != b"\x4e":  # ProtocolAck
            raise ServiceError("not an RMI (JRMP) endpoint")
        host_length = int.from_bytes(recv_exactly(sock, 2, deadline), "big")
        recv_exactly(sock, host_length + 4, deadline)  # our address as it saw us, our port
        send(sock, b"\x00\x00" + bytes(4))  # our endpoint: empty host, port 0
        send(sock, _registry_list())
        reply = b""
        while True:
            chunk = recv_some(sock, deadline)
            if not chunk:
                raise ServiceError("the RMI registry closed before answering list()")
            reply += chunk
            if len(reply) > MAX_RMI_REPLY:
                raise ServiceError(f"RMI reply over {MAX_RMI_REPLY} bytes")
            try:
                names = names_in(reply)
            except _Short:
                continue
            break
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    evidence = f"RMI registry lists {len(names)} bound name(s) to anyone" + (
        f": {shown}" if names else ""
    )
    return Answer(True, evidence, {"names": names[:50]})


JDWP = ServiceCheck(
    "jdwp",
    jdwp,
    ports=(5005, 8000, 8453, 9009),
    names=("jdwp",),
    reference="nmap NSE: jdwp-info (handshake, VirtualMachine.Version)",
)
RMI_REGISTRY = ServiceCheck(
    "rmi-registry",
    rmi_registry,
    ports=(1099,),
    names=("rmiregistry", "java-rmi", "rmi"),
    reference="nmap NSE: rmi-dumpregistry (Registry.list)",
)
