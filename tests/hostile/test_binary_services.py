"""Hostile servers on the binary protocols added for issue 27's second half: each reply
is parsed within fixed bounds and under the deadline, and a server that lies about sizes,
never stops, or stalls ends as an error for that check, never as a pass or a hang."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable

import pytest

from auditor.probes.deadline import Deadline
from auditor.probes.services import java, nbd, nrpe, rdp
from auditor.probes.services.wire import ServiceError
from tests import responders
from tests.conftest import LISTENER_NETWORK

IP = f"{LISTENER_NETWORK}.108"
TIMEOUT = 1.5
SLACK = 1.0


def _nbd_endless_exports(client: socket.socket) -> None:
    client.sendall(b"NBDMAGIC" + b"IHAVEOPT" + b"\x00\x03")
    client.recv(4096)
    name = b"\x00\x00\x00\x04disk"
    reply = struct.pack(">QIII", nbd.REPLY_MAGIC, nbd.OPT_LIST, nbd.REP_SERVER, len(name)) + name
    for _ in range(100_000):
        client.sendall(reply)


def _nbd_lying_length(client: socket.socket) -> None:
    client.sendall(b"NBDMAGIC" + b"IHAVEOPT" + b"\x00\x03")
    client.recv(4096)
    client.sendall(struct.pack(">QIII", nbd.REPLY_MAGIC, nbd.OPT_LIST, nbd.REP_SERVER, 1 << 30))
    time.sleep(3)


def _jdwp_huge_reply(client: socket.socket) -> None:
    client.recv(14)
    client.sendall(b"JDWP-Handshake")
    request = client.recv(11)
    client.sendall(struct.pack(">IIBH", 0x7FFFFFFF, int.from_bytes(request[4:8], "big"), 0x80, 0))
    time.sleep(3)


def _rmi_endless_return(client: socket.socket) -> None:
    client.recv(7)
    client.sendall(b"\x4e\x00\x09127.0.0.1\x00\x00\x00\x00")
    client.recv(4096)
    client.sendall(b"\x51\xac\xed\x00\x05\x77\x0f\x01" + bytes(14))
    for _ in range(10_000):
        client.sendall(b"A" * 1024)


def _rdp_tarpit(client: socket.socket) -> None:
    client.recv(4096)
    for byte in b"\x03\x00\x00\x13\x0e\xd0":
        client.sendall(bytes([byte]))
        time.sleep(1)


def _nrpe_escapes(client: socket.socket) -> None:
    client.recv(2048)
    text = b"\x1b[2J\x1b]0;pwned\x07<script>x</script>"
    client.sendall(struct.pack(">hhIh", 2, nrpe.RESPONSE, 0, 0) + text.ljust(1026, b"\x00"))


@pytest.mark.parametrize(
    ("handler", "check", "expected"),
    [
        (_nbd_endless_exports, nbd.check, "too many NBD exports"),
        (_nbd_lying_length, nbd.check, "not an NBD option reply"),
        (_jdwp_huge_reply, java.jdwp, "JDWP reply over"),
        (_rmi_endless_return, java.rmi_registry, "RMI reply over"),
        (_rdp_tarpit, rdp.check, "no complete answer within"),
    ],
    ids=["nbd-endless", "nbd-lying-length", "jdwp-huge", "rmi-endless", "rdp-tarpit"],
)
def test_a_hostile_binary_server_is_an_error_in_time(
    handler: Callable[[socket.socket], None],
    check: Callable[[str, int, Deadline], object],
    expected: str,
) -> None:
    with responders.serve(IP, handler) as port:
        started = time.monotonic()
        with pytest.raises(ServiceError, match=expected):
            check(IP, port, Deadline(TIMEOUT))
        assert time.monotonic() - started < TIMEOUT + SLACK


def test_escapes_in_an_nrpe_answer_stay_data() -> None:
    with responders.serve(IP, _nrpe_escapes) as port:
        answer = nrpe.check(IP, port, Deadline(TIMEOUT))
    assert answer.unauthenticated is True
    assert "\x1b" not in answer.evidence and "\x07" not in answer.evidence
