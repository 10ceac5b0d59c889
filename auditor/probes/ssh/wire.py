"""SSH pre-auth probe: the server's banner and KEXINIT, read over a raw socket.

No login and no key exchange: we send our version line and read the server's algorithm
offer (RFC 4253 §4.2, §7.1). That works even when the server offers only algorithms that
paramiko refuses to negotiate (SHA-1 key exchange, ssh-rsa, ssh-dss) — exactly the servers
we most need to see. Every read is bounded in size and by the deadline, so a tarpit, a
garbage banner or a megabyte of banner ends as an error fact in time.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

import paramiko

from auditor.probes.base import ProbeFailure
from auditor.probes.deadline import Deadline
from auditor.probes.ssh.connection import Stream

CLIENT_VERSION = b"SSH-2.0-auditor_probe\r\n"
MAX_LINE = 255  # RFC 4253 §4.2, CR LF included
MAX_PRE_BANNER_LINES = 20
MAX_PACKET = 35000  # RFC 4253 §6.1
MSG_KEXINIT = 20
STRICT_KEX_SERVER = "kex-strict-s-v00@openssh.com"
_SOFTWARE = re.compile(r"^SSH-(?P<proto>[\d.]+)-(?P<software>\S+)(?:\s+(?P<comment>.*))?$")

NAME_LISTS = (
    "kex",
    "host_key_algorithms",
    "ciphers_c2s",
    "ciphers_s2c",
    "macs_c2s",
    "macs_s2c",
    "compression_c2s",
    "compression_s2c",
)


@dataclass(frozen=True)
class ServerHello:
    banner: str
    lists: dict[str, list[str]]


def read_server_hello(stream: Stream, deadline: Deadline, where: str) -> ServerHello:
    """The banner and KEXINIT of the server at the other end of `stream` (`where` names it
    in errors); the stream is the caller's to close."""
    try:
        stream.settimeout(deadline.remaining())
        stream.sendall(CLIENT_VERSION)
        banner = _read_banner(stream, deadline)
        lists = _parse_kexinit(_read_packet(stream, deadline))
    except TimeoutError:
        raise ProbeFailure(f"SSH on {where}: no answer within {deadline.seconds:g}s") from None
    except ProbeFailure as exc:
        raise ProbeFailure(f"SSH on {where}: {exc}") from None
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise ProbeFailure(f"SSH on {where}: {getattr(exc, 'strerror', None) or exc}") from None
    return ServerHello(banner, lists)


def _read_line(sock: Stream, deadline: Deadline) -> bytes:
    line = bytearray()
    while not line.endswith(b"\n"):
        if len(line) >= MAX_LINE:
            raise ProbeFailure(f"SSH banner line longer than {MAX_LINE} bytes")
        sock.settimeout(deadline.remaining())
        byte = sock.recv(1)
        if not byte:
            raise ProbeFailure("connection closed before the SSH banner")
        line += byte
    return bytes(line)


def _read_banner(sock: Stream, deadline: Deadline) -> str:
    for _ in range(MAX_PRE_BANNER_LINES + 1):
        line = _read_line(sock, deadline)
        if line.startswith(b"SSH-"):
            text = line.rstrip(b"\r\n").decode("ascii", errors="replace")
            if not _SOFTWARE.match(text):
                raise ProbeFailure(f"malformed SSH banner {text[:80]!r}")
            return text
    raise ProbeFailure("no SSH banner (is this port SSH?)")


def _read_exact(sock: Stream, size: int, deadline: Deadline) -> bytes:
    data = bytearray()
    while len(data) < size:
        sock.settimeout(deadline.remaining())
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ProbeFailure("connection closed before the server's KEXINIT")
        data += chunk
    return bytes(data)


def _read_packet(sock: Stream, deadline: Deadline) -> bytes:
    (length,) = struct.unpack(">I", _read_exact(sock, 4, deadline))
    if not 5 <= length <= MAX_PACKET:
        raise ProbeFailure(f"SSH packet length {length} is invalid")
    body = _read_exact(sock, length, deadline)
    padding = body[0]
    if padding + 1 > length:
        raise ProbeFailure("SSH packet padding is invalid")
    return body[1 : length - padding]


def _parse_kexinit(payload: bytes) -> dict[str, list[str]]:
    if not payload or payload[0] != MSG_KEXINIT:
        raise ProbeFailure("first packet is not KEXINIT")
    offset = 17  # message number and 16-byte cookie
    lists: dict[str, list[str]] = {}
    for name in NAME_LISTS:
        if offset + 4 > len(payload):
            raise ProbeFailure("truncated KEXINIT")
        (size,) = struct.unpack(">I", payload[offset : offset + 4])
        raw = payload[offset + 4 : offset + 4 + size]
        if len(raw) != size:
            raise ProbeFailure("truncated KEXINIT")
        text = raw.decode("ascii", errors="replace")
        lists[name] = [item for item in text.split(",") if item]
        offset += 4 + size
    return lists


def hello_facts(hello: ServerHello) -> dict[str, Any]:
    match = _SOFTWARE.match(hello.banner)
    software = match.group("software") if match else ""
    product, _, version = software.partition("_")
    lists = hello.lists
    kex = [k for k in lists["kex"] if not k.startswith(("kex-strict-", "ext-info-"))]
    return {
        "banner": hello.banner,
        "protocol": match.group("proto") if match else "",
        "software": product,
        "version": version,
        "kex": kex,
        "host_key_algorithms": lists["host_key_algorithms"],
        "ciphers": _union(lists["ciphers_c2s"], lists["ciphers_s2c"]),
        "macs": _union(lists["macs_c2s"], lists["macs_s2c"]),
        "compression": _union(lists["compression_c2s"], lists["compression_s2c"]),
        "strict_kex": STRICT_KEX_SERVER in lists["kex"],
    }


def _union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
