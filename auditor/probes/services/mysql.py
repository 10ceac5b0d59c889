"""MySQL / MariaDB: what the server's initial handshake says before anyone logs in.

The server speaks first (protocol 10 handshake): its version, the authentication plugin it
asks for, and its capability flags, among them whether it offers TLS (CLIENT_SSL). Nothing
is sent: we read the handshake and hang up. A server that refuses us outright answers an
error packet instead ("Host ... is not allowed to connect"), which is recorded as such.
"""

from __future__ import annotations

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, connect, printable, recv_until

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


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        head = recv_until(sock, None, deadline, limit=4)
        if len(head) < 4:
            raise ServiceError("no MySQL handshake")
        length = int.from_bytes(head[:3], "little")
        if not 1 <= length <= MAX_PACKET:
            raise ServiceError(f"not a MySQL packet (length {length})")
        payload = b""
        while len(payload) < length:
            more = recv_until(sock, None, deadline, limit=length - len(payload))
            if not more:
                raise ServiceError("connection closed mid-handshake")
            payload += more
    if payload[:1] == b"\xff":
        message = printable(payload[3:].lstrip(b"#")[5:] if b"#" in payload[3:4] else payload[3:])
        return Answer(False, f"refused before login: {message}", {"refused": message})
    facts = parse_handshake(payload)
    tls = "offers TLS" if facts["ssl"] else "offers no TLS"
    return Answer(
        False,
        f"handshake: {facts['version']}, auth plugin {facts['auth_plugin'] or '?'}, {tls}",
        facts,
    )


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
