"""LDAP: can anyone bind anonymously and read the directory?

An anonymous simple bind (RFC 4513 §5.1.1: empty name and password), then two searches a
directory client makes first: the root DSE's `namingContexts`, and one entry (no
attributes: `1.1`) one level under the first naming context. The root DSE is public by
design; an entry under the naming context is the directory's data, and reading it without
credentials is the exposure (nmap ldap-rootdse, ldap-search; nuclei
ldap-anonymous-login). Only the naming context's name is kept: no entry's name leaves
the server, since directory entries name people.
"""

from __future__ import annotations

import socket

from auditor.probes.deadline import Deadline
from auditor.probes.services import ber
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    ServiceError,
    connect,
    printable,
    recv_exactly,
    send,
)

MAX_MESSAGE = 64 * 1024
MAX_MESSAGES = 20
RESULTS = {
    0: "success",
    4: "sizeLimitExceeded",
    8: "strongerAuthRequired",
    32: "noSuchObject",
    48: "inappropriateAuthentication",
    49: "invalidCredentials",
    50: "insufficientAccessRights",
    53: "unwillingToPerform",
}


def bind_request(message_id: int) -> bytes:
    bind = ber.tlv(0x60, ber.integer(3) + ber.octets(b"") + ber.tlv(0x80, b""))
    return ber.sequence(ber.integer(message_id), bind)


def search_request(message_id: int, base: bytes, scope: int, attribute: bytes) -> bytes:
    search = (
        ber.octets(base)
        + ber.tlv(0x0A, bytes([scope]))
        + ber.tlv(0x0A, b"\x00")  # never dereference aliases
        + ber.integer(1 if scope else 0)  # one entry at most
        + ber.integer(5)  # seconds, server side
        + ber.tlv(0x01, b"\x00")
        + ber.tlv(0x87, b"objectClass")  # (objectClass=*)
        + ber.sequence(ber.octets(attribute))
    )
    return ber.sequence(ber.integer(message_id), ber.tlv(0x63, search))


def _message(sock: socket.socket, deadline: Deadline) -> tuple[int, ber.Element]:
    """(message id, protocol op) of the next LDAPMessage, its length bounded."""
    head = recv_exactly(sock, 2, deadline)
    if head[0] != 0x30:
        raise ServiceError("not an LDAP message")
    size = head[1]
    if size & 0x80:
        count = size & 0x7F
        if not 1 <= count <= 3:
            raise ServiceError("bad LDAP message length")
        size = int.from_bytes(recv_exactly(sock, count, deadline), "big")
    if size > MAX_MESSAGE:
        raise ServiceError(f"LDAP message of {size} bytes")
    parts = ber.elements(recv_exactly(sock, size, deadline))
    if len(parts) < 2:
        raise ServiceError("LDAP message without an operation")
    return parts[0].as_int(), parts[1]


def _result(op: ber.Element) -> int:
    fields = op.children()
    if not fields or fields[0].tag != 0x0A or not 1 <= len(fields[0].value) <= 4:
        raise ServiceError("LDAP result without a result code")
    return int.from_bytes(fields[0].value, "big")


def _search(
    sock: socket.socket, deadline: Deadline, message_id: int, request: bytes
) -> tuple[list[ber.Element], int]:
    """The entries and the result code of one search."""
    send(sock, request)
    entries: list[ber.Element] = []
    for _ in range(MAX_MESSAGES):
        answered, op = _message(sock, deadline)
        if answered != message_id:
            raise ServiceError("LDAP answer to another request")
        if op.tag == 0x64:
            entries.append(op)
        elif op.tag == 0x65:
            return entries, _result(op)
    raise ServiceError(f"no end of search after {MAX_MESSAGES} messages")


def _naming_contexts(entry: ber.Element) -> list[bytes]:
    fields = entry.children()
    if len(fields) < 2:
        return []
    found: list[bytes] = []
    for attribute in fields[1].children():
        pair = attribute.children()
        if len(pair) == 2 and pair[0].value.lower() == b"namingcontexts":
            found += [value.value for value in pair[1].children()]
    return found


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        send(sock, bind_request(1))
        answered, op = _message(sock, deadline)
        if answered != 1 or op.tag != 0x61:
            raise ServiceError("no LDAP bind response")
        code = _result(op)
        if code != 0:
            name = RESULTS.get(code, str(code))
            return Answer(False, f"anonymous bind refused ({name})", {"anonymous_bind": False})
        entries, _ = _search(sock, deadline, 2, search_request(2, b"", 0, b"namingContexts"))
        contexts = _naming_contexts(entries[0]) if entries else []
        if not contexts:
            evidence = "anonymous bind accepted; the root DSE names no naming context"
            return Answer(False, evidence, {"anonymous_bind": True})
        base = contexts[0]
        shown = printable(base, 80)
        entries, code = _search(sock, deadline, 3, search_request(3, base, 1, b"1.1"))
    details = {"anonymous_bind": True, "naming_context": shown}
    if entries:
        evidence = f"anonymous bind reads entries under {shown}"
        return Answer(True, evidence, details | {"readable": True})
    name = RESULTS.get(code, str(code))
    evidence = f"anonymous bind accepted; nothing readable under {shown} ({name})"
    return Answer(False, evidence, details | {"readable": False})


LDAP = ServiceCheck(
    "ldap",
    check,
    ports=(389,),
    names=("ldap",),
    reference=(
        "nmap NSE: ldap-rootdse, ldap-search; "
        "nuclei-templates: network/default-login/ldap-anonymous-login"
    ),
)
