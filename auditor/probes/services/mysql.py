"""MySQL / MariaDB: what the server's initial handshake says before anyone logs in.

The server speaks first (protocol 10 handshake): its version, the authentication plugin it
asks for, and its capability flags, among them whether it offers TLS (CLIENT_SSL). By default
nothing is sent: we read the handshake and hang up. With --try-default-credentials, one
login as `root` with an empty password follows, then COM_QUIT. A server that refuses us
outright answers an error packet instead ("Host ... is not allowed to connect"), which is
recorded as such.
"""

from __future__ import annotations

import dataclasses
import functools
import socket

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    ServiceError,
    connect,
    printable,
    recv_exactly,
    send,
)

CLIENT_PROTOCOL_41 = 0x0000_0200
CLIENT_SSL = 0x0000_0800
CLIENT_SECURE_CONNECTION = 0x0000_8000
CLIENT_PLUGIN_AUTH = 0x0008_0000
MAX_PACKET = 1024


def parse_handshake(packet: bytes) -> dict[str, object]:
    """Facts of a protocol-10 handshake payload; ServiceError when it is not one."""
    if not packet or packet[0] != 10:
        raise ServiceError(f"not a MySQL handshake: {printable(packet[:20])!r}")
    end = packet.find(b"\0", 1)
    if end < 0 or end > 64:
        raise ServiceError("MySQL handshake without a version string")
    version = printable(packet[1:end], 60)
    rest = packet[end + 1 :]
    if len(rest) < 4 + 8 + 1 + 2:
        raise ServiceError("MySQL handshake cut short")
    flags = int.from_bytes(rest[13:15], "little")
    plugin = ""
    if len(rest) >= 15 + 1 + 2 + 2 + 1 + 10:
        flags |= int.from_bytes(rest[18:20], "little") << 16
        data_length = rest[20]
        tail = rest[31:]
        if flags & CLIENT_SECURE_CONNECTION:
            tail = tail[max(13, data_length - 8) :]
        if flags & CLIENT_PLUGIN_AUTH:
            plugin = printable(tail.split(b"\0", 1)[0], 60)
    return {
        "version": version.removeprefix("5.5.5-"),  # MariaDB's prefix for old clients
        "auth_plugin": plugin,
        "ssl": bool(flags & CLIENT_SSL),
    }


def _read_packet(sock: socket.socket, deadline: Deadline) -> tuple[int, bytes]:
    """(sequence id, payload) of one MySQL packet, at most MAX_PACKET bytes."""
    head = recv_exactly(sock, 4, deadline)
    length = int.from_bytes(head[:3], "little")
    if not 1 <= length <= MAX_PACKET:
        raise ServiceError(f"not a MySQL packet (length {length})")
    return head[3], recv_exactly(sock, length, deadline)


def _send(sock: socket.socket, sequence: int, payload: bytes) -> None:
    send(sock, len(payload).to_bytes(3, "little") + bytes([sequence]) + payload)


def _error_text(payload: bytes) -> str:
    """The message of an ERR packet (after its code and, in protocol 4.1, its SQL state)."""
    rest = payload[3:]
    return printable(rest[6:] if rest[:1] == b"#" else rest, 100)


def check(ip: str, port: int, deadline: Deadline, try_empty_root: bool = False) -> Answer:
    with connect(ip, port, deadline) as sock:
        _, payload = _read_packet(sock, deadline)
        if payload[:1] == b"\xff":
            message = _error_text(payload)
            return Answer(False, f"refused before login: {message}", {"refused": message})
        facts = parse_handshake(payload)
        tls = "offers TLS" if facts["ssl"] else "offers no TLS"
        evidence = (
            f"handshake: {facts['version']}, auth plugin {facts['auth_plugin'] or '?'}, {tls}"
        )
        facts["login"] = "not tried"
        if not try_empty_root:
            return Answer(False, evidence, facts)
        facts["login"] = _empty_root_login(sock, deadline, str(facts["auth_plugin"]))
    opened = facts["login"] == "accepted"
    return Answer(opened, f"{evidence}; root with an empty password: {facts['login']}", facts)


def _empty_root_login(sock: socket.socket, deadline: Deadline, plugin: str) -> str:
    """One login as `root` with an empty password, then COM_QUIT: `accepted` or `refused`.

    Only with --try-default-credentials. An empty password's auth response is empty for
    mysql_native_password, so no secret and no guess is ever sent."""
    flags = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
    response = (
        flags.to_bytes(4, "little")
        + (1 << 24).to_bytes(4, "little")
        + bytes([33])  # utf8_general_ci
        + bytes(23)
        + b"root\0"
        + b"\0"  # auth response: zero bytes long
        + (plugin or "mysql_native_password").encode("ascii", "replace")
        + b"\0"
    )
    _send(sock, 1, response)
    for _ in range(3):  # the answer, possibly after an auth switch to an empty response
        sequence, reply = _read_packet(sock, deadline)
        if reply[:1] == b"\x00":
            _send(sock, 0, b"\x01")  # COM_QUIT
            return "accepted"
        if reply[:1] == b"\xff":
            return f"refused ({_error_text(reply)})"
        if reply[:1] == b"\xfe":  # AuthSwitchRequest: answer it with the same empty response
            _send(sock, sequence + 1, b"")
            continue
        raise ServiceError(f"unexpected MySQL reply to the login: {printable(reply[:20])!r}")
    raise ServiceError("MySQL login did not conclude")


MYSQL = ServiceCheck(
    "mysql",
    check,
    ports=(3306,),
    names=("mysql", "mariadb"),
    reference=(
        "nuclei-templates: network/detection/mysql-detect; "
        "CIS Oracle MySQL Benchmark: ensure 'have_ssl' is set to 'YES'"
    ),
)

MYSQL_TRY_EMPTY_ROOT = dataclasses.replace(
    MYSQL, check=functools.partial(check, try_empty_root=True)
)
"""The MySQL check with one empty-password `root` login (--try-default-credentials)."""
