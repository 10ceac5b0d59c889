"""Hostile UDP and TLS servers (issue 27): each must end as an error for its port, within
the probe's deadline, never as a pass and never as silence taken for "closed".

Real sockets on loopback: a TLS server that stalls mid-handshake, one that answers a
ClientHello with an endless stream, UDP services that never answer, answer with a flood
or with oversized garbage. The IPMI replies are a responder's (no BMC runs here; the
bytes are the IPMI v2.0 specification's)."""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Any

import pytest

from auditor.models import ChangeRecord, Exposure, ProbeOutcome, Target
from auditor.probes.deadline import Deadline
from auditor.probes.services.udp import ipmi, ntp, udp_records
from auditor.probes.tls import TlsProbe
from auditor.scope import Scope
from tests import responders
from tests.conftest import LISTENER_NETWORK

TIMEOUT = 1.0
SLACK = 0.75


def _target(ip: str, *exposes: Exposure) -> Target:
    change = ChangeRecord(id="C", approved=True, exposes=exposes)
    return Target(name="h", address=ip, ip=ipaddress.ip_address(ip), change=change)


def _stall(client: socket.socket) -> None:
    client.recv(4096)  # the ClientHello, never answered
    time.sleep(6)


def _flood(client: socket.socket) -> None:
    client.recv(4096)
    header = b"\x16\x03\x03\x40\x00"  # a 16 KiB handshake record...
    client.sendall(header)
    for _ in range(60):  # ...sent one byte a tenth of a second
        client.sendall(b"\x02")
        time.sleep(0.1)


def _not_tls(client: socket.socket) -> None:
    client.recv(4096)
    client.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"\x1b[31m<script>" * 500)


@pytest.mark.parametrize("behaviour", [_stall, _flood, _not_tls], ids=["stall", "slow", "not-tls"])
def test_a_tls_port_that_misbehaves_is_an_error_within_the_deadline(behaviour: Any) -> None:
    ip = f"{LISTENER_NETWORK}.140"
    with responders.serve(ip, behaviour) as port:
        services = ProbeOutcome(
            "services",
            facts={"services": [{"port": port, "proto": "tcp", "identified": "https"}]},
        )
        started = time.monotonic()
        outcome = TlsProbe().collect(
            [_target(ip)],
            Scope((ipaddress.ip_network(f"{ip}/32"),)),
            TIMEOUT,
            upstream={"h": {"services": services}},
        )["h"]
        elapsed = time.monotonic() - started
    (record,) = outcome.facts["tls_endpoints"]
    assert record["error"].startswith(f"TLS on {port}/tcp: "), record
    assert "certificate" not in record
    assert elapsed <= TIMEOUT + SLACK, f"took {elapsed:.2f}s"


def test_a_declared_udp_service_that_never_answers_cannot_pass() -> None:
    ip = f"{LISTENER_NETWORK}.141"
    with responders.serve_udp(ip, 0, lambda data: []) as port:
        target = _target(ip, Exposure(port, proto="udp", service="snmp"))
        started = time.monotonic()
        records = udp_records(ip, target, Deadline(TIMEOUT + 3))
        elapsed = time.monotonic() - started
    (record,) = [r for r in records if r["port"] == port]
    assert record["error"].startswith(f"declared snmp on {port}/udp cannot be checked: no reply")
    assert "UDP cannot prove a port closed" in record["error"]
    assert elapsed < 4.0, "the well-known ports and the declared one were asked at once"


@pytest.mark.parametrize(
    "reply",
    [
        [b"\x30\x84\xff\xff\xff\xff" + b"A" * 4000],  # BER length past the datagram
        [b"\x30\x03\x02\x01"],  # truncated
        [b"\x1b[2J<b>garbage</b>" * 300],  # not SNMP at all, escapes and markup
    ],
    ids=["overlong", "truncated", "markup"],
)
def test_garbage_from_a_udp_service_is_an_error_for_that_port(reply: list[bytes]) -> None:
    ip = f"{LISTENER_NETWORK}.142"
    with responders.serve_udp(ip, 0, lambda data: reply) as port:
        target = _target(ip, Exposure(port, proto="udp", service="snmp"))
        records = udp_records(ip, target, Deadline(TIMEOUT + 3))
    (record,) = [r for r in records if r["port"] == port]
    assert record["error"].startswith(f"snmp check on {port}/udp: "), record
    assert "\x1b" not in record["error"] and "<b>" not in record["error"]
    assert not record["unauthenticated"]


def test_a_udp_flood_is_read_one_datagram_at_a_time_and_ends_in_time() -> None:
    ip = f"{LISTENER_NETWORK}.143"
    flood = [b"\x00\x05\x00\x01" + b"x" * 60000] + [b"\xff" * 1400] * 200
    with responders.serve_udp(ip, 0, lambda data: flood) as port:
        target = _target(ip, Exposure(port, proto="udp", service="tftp"))
        started = time.monotonic()
        records = udp_records(ip, target, Deadline(TIMEOUT))
        elapsed = time.monotonic() - started
    (record,) = [r for r in records if r["port"] == port]
    assert record["unauthenticated"], "the first datagram is a TFTP error: an open server"
    assert "x" * 61 not in record["evidence"], "a server's words are cut at 60 characters"
    assert elapsed <= TIMEOUT + SLACK


@pytest.mark.parametrize("allowed", [True, False])
def test_ipmi_cipher_zero_is_read_from_the_open_session_response(allowed: bool) -> None:
    ip = f"{LISTENER_NETWORK}.144"
    with responders.serve_udp(ip, 0, responders.ipmi_bmc(cipher_zero=allowed)) as port:
        answer = ipmi.check(ip, port, Deadline(TIMEOUT))
    assert answer.answered
    assert answer.unauthenticated is allowed
    assert answer.details["cipher_zero"] is allowed


def _ntp_server(data: bytes) -> list[bytes]:
    """An ntpd open to queries, as RFC 5905 and RFC 9327 (mode 6) describe its replies:
    mode 4 to a client request, a READVAR response carrying `version=`, and for mode 7 the
    first bytes of a MON_GETLIST_1 response (the client list itself left empty)."""
    mode = data[0] & 0x07
    if mode == 3:
        return [b"\x1c\x02\x03\xe8" + b"\x00" * 44]
    if mode == 6:
        text = b'version="ntpd 4.2.6p5@1.2349-o", processor="x86_64"'
        header = b"\x16\x82\x00\x01\x06\x15\x00\x00\x00\x00" + len(text).to_bytes(2, "big")
        return [header + text]
    if mode == 7:
        return [b"\x97\x00\x03\x2a\x00\x00\x00\x48"]
    return []


def test_ntp_mode6_and_monlist_replies_are_read_as_answered() -> None:
    ip = f"{LISTENER_NETWORK}.145"
    with responders.serve_udp(ip, 0, _ntp_server) as port:
        answer = ntp.check(ip, port, Deadline(TIMEOUT))
    assert answer.details == {
        "answered": True,
        "mode6": True,
        "monlist": True,
        "version": "ntpd 4.2.6p5@1.2349-o",
    }
    assert answer.unauthenticated
    assert "mode 6 (READVAR) and mode 7 (monlist)" in answer.evidence
