"""Naming the protocol on an open TCP port, from what it says, not from its number.

nmap's port table only guesses from the number, and `-sV` is far too slow to run by default
(lab notes: one silent port costs 38 s). A Redis on 6399 or an admin UI on 8081 would then
never be checked. This is a short, bounded sequence of read-only greetings, each under the
probe's deadline:

1. connect and listen: servers that speak first (SSH, FTP, SMTP, MySQL, rsync, VNC, Telnet,
   POP3, IMAP) name themselves within a moment;
2. on the same connection, a bare `GET / HTTP/1.0`: HTTP answers in kind, Redis with a RESP
   error, memcached with `ERROR`, a TLS server with an alert;
3. on new connections, only while still unnamed: a TLS ClientHello (then HTTP inside it),
   memcached's `version` (memcached 1.6 drops a connection that starts like HTTP),
   PostgreSQL's SSLRequest, a MongoDB `hello`.

None of these requests changes anything on the server. What is still unnamed afterwards is
`unknown`: a finding for the rules, never silence.
"""

from __future__ import annotations

import socket
import ssl
import struct
from dataclasses import dataclass

from auditor.probes.deadline import Deadline
from auditor.probes.services import bson
from auditor.probes.services.wire import ServiceError, connect, printable, probing_context

BANNER_WAIT = 0.25
"""Seconds to wait for a server that speaks first (loopback: under 10 ms; WAN: an RTT). A
banner that arrives later is still recognised in the reply to the HTTP greeting."""
REPLY_WAIT = 1.5
"""Seconds to wait for an answer to each greeting."""
MAX_REPLY = 4096

HTTP_GREETING = b"GET / HTTP/1.0\r\nUser-Agent: server-auditor\r\n\r\n"
POSTGRES_SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def _mongo_hello() -> bytes:
    body = struct.pack("<I", 0) + b"\x00" + bson.encode({"hello": 1, "$db": "admin"})
    return struct.pack("<iiii", 16 + len(body), 0x4155, 0, 2013) + body


@dataclass(frozen=True)
class Identity:
    protocol: str
    """`ssh`, `http`, `https`, `redis`... or `unknown`."""
    evidence: str
    """What the server said that names it (printable, at most 80 characters)."""


UNKNOWN = "unknown"


def from_banner(data: bytes) -> str | None:
    """The protocol of a server that spoke first, or None."""
    text = data[:256]
    lower = text.lower()
    if text.startswith(b"SSH-"):
        return "ssh"
    if text.startswith(b"<?xml") and b"GANGLIA_XML" in data[:4096]:
        return "ganglia"  # gmond hands its cluster's XML to whoever connects
    if text.startswith(b"@RSYNCD:"):
        return "rsync"
    if text.startswith(b"RFB "):
        return "vnc"
    if text.startswith(b"+OK"):
        return "pop3"
    if text.startswith(b"* OK"):
        return "imap"
    if text.startswith(b"\xff") and len(text) > 1 and text[1] in (0xFB, 0xFC, 0xFD, 0xFE):
        return "telnet"
    if text.startswith(b"220"):
        if any(word in lower for word in (b"smtp", b"mail", b"postfix", b"exim")):
            return "smtp"
        return "ftp"  # the FTP check then proves it, or fails closed as an error
    if len(text) > 5 and text[3] == 0 and (text[4] == 0x0A or text[4] == 0xFF):
        length = int.from_bytes(text[:3], "little")
        if 0 < length < 1024:
            return "mysql"  # protocol-10 handshake, or an error packet ("host not allowed")
    return None


def from_reply(data: bytes) -> str | None:
    """The protocol of a server that answered our HTTP greeting, or None."""
    late_banner = from_banner(data)
    if late_banner is not None and not data.startswith(b"HTTP/"):
        return late_banner  # it spoke first, just after our banner wait ended
    if data.startswith(b"HTTP/"):
        if b"is for clickhouse-client program" in data:
            return "clickhouse"  # ClickHouse's native port tells an HTTP client to go to 8123
        if b"HTTPS port" in data or b"speaking plain HTTP to an SSL" in data:
            return "https"  # nginx / Apache telling a plain request it came to a TLS port
        return "http"
    if data[:1] in (b"-", b"+", b"$", b"*", b":") and b"\r\n" in data:
        return "redis"  # RESP: Redis reads `GET / HTTP/1.0` as a command and answers
    if data.startswith(b"AMQP") and len(data) == 8:
        return "amqp"  # AMQP 0-9-1 §4.2.2: a bad header is answered with the one it speaks
    if data.rstrip().endswith(b"dubbo>"):
        return "dubbo"  # Dubbo's telnet console answers any line with an error and its prompt
    if data.startswith((b"ERROR\r\n", b"CLIENT_ERROR", b"SERVER_ERROR")):
        return "memcached"
    if data[:1] == b"\x15" and data[1:2] == b"\x03":
        return "tls"  # an alert record: a TLS server read plain text
    return None


def identify(ip: str, port: int, deadline: Deadline) -> Identity:
    """Name the protocol on ip:port; raises ServiceError only when the port stopped
    answering at all (refused, reset before anything was said)."""
    with connect(ip, port, deadline) as sock:
        banner = _read(sock, deadline, BANNER_WAIT)
        if banner:
            return Identity(from_banner(banner) or UNKNOWN, printable(banner))
        try:
            sock.sendall(HTTP_GREETING)
        except OSError as exc:
            raise ServiceError(f"closed while being greeted: {exc.strerror or exc}") from None
        reply = _read(sock, deadline, REPLY_WAIT)
    protocol = from_reply(reply) if reply else None
    if protocol not in (None, "tls"):
        return Identity(protocol or UNKNOWN, printable(reply))
    tls = _tls(ip, port, deadline)
    if tls is not None:
        return tls
    for name, greeting, recognise in (
        ("memcached", b"version\r\n", lambda r: r.startswith(b"VERSION ")),
        ("postgresql", POSTGRES_SSL_REQUEST, lambda r: r in (b"S", b"N")),
        ("mongodb", _mongo_hello(), _is_mongo_reply),
    ):
        answer = _ask(ip, port, greeting, deadline)
        if answer and recognise(answer):
            return Identity(name, printable(answer))
    said = printable(reply) if reply else "nothing"
    return Identity(UNKNOWN, f"no greeting named it (answered {said!s} to HTTP)")


def _is_mongo_reply(answer: bytes) -> bool:
    if len(answer) < 16:
        return False
    length, _, response_to, opcode = struct.unpack_from("<iiii", answer, 0)
    return opcode in (1, 2013) and response_to == 0x4155 and 16 <= length <= 48 * 1024 * 1024


def _read(sock: socket.socket, deadline: Deadline, wait: float) -> bytes:
    """Whatever arrives within `wait` seconds (bounded by the deadline and MAX_REPLY)."""
    try:
        sock.settimeout(min(wait, deadline.remaining()))
        return sock.recv(MAX_REPLY)
    except TimeoutError:
        return b""
    except ConnectionResetError:
        return b""  # a reset in answer to a greeting says "not my protocol"
    except OSError as exc:
        raise ServiceError(f"connection failed: {exc.strerror or exc}") from None


def _ask(ip: str, port: int, greeting: bytes, deadline: Deadline) -> bytes:
    with connect(ip, port, deadline) as sock:
        try:
            sock.sendall(greeting)
        except OSError:
            return b""
        return _read(sock, deadline, REPLY_WAIT)


def _tls(ip: str, port: int, deadline: Deadline) -> Identity | None:
    """`https` or `tls` when a TLS handshake completes, else None."""
    context = probing_context()  # identifying, not trusting
    with connect(ip, port, deadline) as raw:
        try:
            raw.settimeout(min(REPLY_WAIT, deadline.remaining()))
            with context.wrap_socket(raw) as sock:
                version = sock.version() or "TLS"
                sock.sendall(HTTP_GREETING)
                inner = _read(sock, deadline, REPLY_WAIT)
        except (OSError, ssl.SSLError, ValueError):
            return None
    if inner.startswith(b"HTTP/"):
        return Identity("https", f"{version}; {printable(inner)}")
    return Identity("tls", f"{version} handshake; {printable(inner) or 'no reply to HTTP'}")
