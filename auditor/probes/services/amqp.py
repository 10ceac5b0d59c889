"""AMQP 0-9-1 (RabbitMQ and others): what the broker says before login, and, only when
asked, one login with the documented default `guest`/`guest`.

The protocol header, then the broker's Connection.Start: its product, version and SASL
mechanisms (nmap amqp-info). A broker offering `ANONYMOUS` lets anyone in without even a
default password. With `--try-default-credentials`, one Connection.StartOk with PLAIN
guest/guest: Connection.Tune means the broker took it (nuclei
rabbitmq-amqp-default-login), Connection.Close with 403 ACCESS_REFUSED that it did not.
The connection is closed right after: no channel is opened, nothing is published.
"""

from __future__ import annotations

import dataclasses
import functools
import socket
import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    ServiceError,
    connect,
    hung_up,
    printable,
    recv_exactly,
    send,
)

HEADER = b"AMQP\x00\x00\x09\x01"
MAX_FRAME = 128 * 1024
NOT_TRIED = "not tried"
_FIXED = {"t": 1, "b": 1, "B": 1, "s": 2, "u": 2, "I": 4, "i": 4, "l": 8, "L": 8}
_FIXED |= {"f": 4, "d": 8, "D": 5, "T": 8, "V": 0}


def _frame(sock: socket.socket, deadline: Deadline) -> tuple[int, int, bytes]:
    """(class, method, arguments) of the next method frame on channel 0."""
    kind, channel, size = struct.unpack(">BHI", recv_exactly(sock, 7, deadline))
    if size > MAX_FRAME:
        raise ServiceError(f"AMQP frame of {size} bytes")
    payload = recv_exactly(sock, size + 1, deadline)
    if kind != 1 or channel != 0 or payload[-1] != 0xCE or size < 4:
        raise ServiceError("not an AMQP method frame")
    class_id, method_id = struct.unpack_from(">HH", payload, 0)
    return class_id, method_id, payload[4:-1]


def _method(class_id: int, method_id: int, arguments: bytes) -> bytes:
    payload = struct.pack(">HH", class_id, method_id) + arguments
    return struct.pack(">BHI", 1, 0, len(payload)) + payload + b"\xce"


def _longstr(data: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(data):
        raise ServiceError("truncated AMQP string")
    size = struct.unpack_from(">I", data, at)[0]
    if at + 4 + size > len(data):
        raise ServiceError("AMQP string past the end of its frame")
    return data[at + 4 : at + 4 + size], at + 4 + size


def server_properties(table: bytes) -> dict[str, str]:
    """The string fields of a field table (product, version, platform...), bounded; other
    field types are skipped by their declared sizes."""
    found: dict[str, str] = {}
    at = 0
    while at < len(table):
        name_length = table[at]
        name = table[at + 1 : at + 1 + name_length].decode("latin-1")
        at += 1 + name_length
        if at >= len(table):
            raise ServiceError("truncated AMQP field table")
        kind = chr(table[at])
        at += 1
        if kind in ("S", "F", "A", "x"):
            value, at = _longstr(table, at)
            if kind == "S":
                found[name] = printable(value, 60)
        elif kind == "s":  # short string in some brokers' dialect
            at += 1 + table[at]
        elif kind in _FIXED:
            at += _FIXED[kind]
        else:
            raise ServiceError(f"unknown AMQP field type {kind!r}")
    return found


def check(ip: str, port: int, deadline: Deadline, try_default: bool = False) -> Answer:
    with connect(ip, port, deadline) as sock:
        send(sock, HEADER)
        class_id, method_id, arguments = _frame(sock, deadline)
        if (class_id, method_id) != (10, 10) or len(arguments) < 2:
            raise ServiceError("no AMQP Connection.Start")
        table, at = _longstr(arguments, 2)
        mechanisms, at = _longstr(arguments, at)
        properties = server_properties(table)
        offered = mechanisms.decode("latin-1").split()
        product = f"{properties.get('product', 'AMQP')} {properties.get('version', '')}".strip()
        details: dict[str, object] = {"product": product, "mechanisms": offered}
        if "ANONYMOUS" in offered:
            evidence = f"{product} offers SASL ANONYMOUS: no credentials at all"
            return Answer(True, evidence, details)
        said = f"{product} (AMQP 0-9-1; {' '.join(offered)})"
        if not try_default or "PLAIN" not in offered:
            note = "default login not tried (give --try-default-credentials to try it once)"
            return Answer(False, f"{said}; {note}", details | {"login": NOT_TRIED})
        response = b"\x00guest\x00guest"
        start_ok = (
            b"\x00\x00\x00\x00"  # no client properties
            + b"\x05PLAIN"
            + struct.pack(">I", len(response))
            + response
            + b"\x05en_US"
        )
        send(sock, _method(10, 11, start_ok))
        if hung_up(sock, deadline):
            # AMQP 0-9-1 (Connection.StartOk): a broker closes the socket on a failed login
            # unless the client announced `authentication_failure_close`, which we do not.
            return Answer(False, f"{said}: guest/guest refused (connection closed)",
                          details | {"login": "refused"})  # fmt: skip
        class_id, method_id, arguments = _frame(sock, deadline)
    if (class_id, method_id) == (10, 30):
        evidence = f"{said}: login as guest/guest accepted (Connection.Tune)"
        return Answer(True, evidence, details | {"login": "guest"})
    if (class_id, method_id) == (10, 50):
        code = struct.unpack_from(">H", arguments, 0)[0] if len(arguments) >= 2 else 0
        evidence = f"{said}: guest/guest refused ({code})"
        return Answer(False, evidence, details | {"login": "refused"})
    raise ServiceError(f"AMQP answered the login with method {class_id}.{method_id}")


AMQP = ServiceCheck(
    "amqp",
    check,
    ports=(5672,),
    names=("amqp",),
    reference=(
        "nmap NSE: amqp-info; "
        "nuclei-templates: javascript/default-logins/rabbitmq-amqp-default-login"
    ),
)
AMQP_TRY_GUEST = dataclasses.replace(AMQP, check=functools.partial(check, try_default=True))
"""The AMQP check with one guest/guest login (--try-default-credentials)."""
