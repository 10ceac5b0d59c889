"""Issue 10: `--timeout T` bounds each probe on each server at T plus a small slack.

Hostile servers on loopback: a tarpit (accepts, never speaks), a server that speaks one
byte per second, and an SSH server that sends its banner and then stalls the key exchange
(paramiko's own per-step timeouts would otherwise add up to minutes). Every probe that
talks to them must end as an error within the deadline, never hang and never pass.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable

import pytest

from auditor.models import ChangeRecord, Exposure, ProbeOutcome, SshSettings, Target
from auditor.probes.base import Probe
from auditor.probes.host import HostProbe
from auditor.probes.services import ServicesProbe
from auditor.probes.ssh_auth import SshAuthProbe
from auditor.probes.ssh_session import SshOptions
from auditor.probes.ssh_wire import SshAlgorithmsProbe
from auditor.probes.sshd_config import SshdConfigProbe
from auditor.scope import Scope
from tests import responders
from tests.conftest import LISTENER_NETWORK

TIMEOUT = 1.0
SLACK = 0.75
"""Documented in docs/exit-codes.md: a probe ends within --timeout plus this, per server."""
IP = f"{LISTENER_NETWORK}.90"


def _tarpit(client: socket.socket) -> None:
    time.sleep(8)


def _one_byte_per_second(client: socket.socket) -> None:
    for byte in b"SSH-2.0-OpenSSH_9.2p1 slowly\r\n" * 4:
        client.sendall(bytes([byte]))
        time.sleep(1)


def _stalled_kex(client: socket.socket) -> None:
    client.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n")
    client.recv(4096)  # the client's banner (and perhaps its KEXINIT); never answered
    time.sleep(8)


def _probes() -> list[Probe]:
    options = SshOptions(known_hosts=(), config_file=None, use_agent=False)
    return [
        SshAlgorithmsProbe(),
        SshAuthProbe(),
        SshdConfigProbe(options),
        HostProbe(options),
        ServicesProbe(),
    ]


@pytest.mark.parametrize(
    "behaviour", [_tarpit, _one_byte_per_second, _stalled_kex], ids=["tarpit", "1-byte-s", "stall"]
)
@pytest.mark.parametrize("probe", _probes(), ids=lambda p: p.name)
def test_every_probe_ends_within_the_deadline(
    probe: Probe, behaviour: Callable[[socket.socket], None]
) -> None:
    with responders.serve(IP, behaviour) as port:
        target = Target(
            name="hostile",
            address=IP,
            ip=ipaddress.ip_address(IP),
            ports=str(port),
            ssh=SshSettings(port=port),
            change=ChangeRecord(id="C", approved=True, exposes=(Exposure(port, service="redis"),)),
        )
        scope = Scope((ipaddress.ip_network(f"{IP}/32"),))
        ports = ProbeOutcome(
            "ports",
            facts={"ports": [{"number": port, "proto": "tcp", "state": "open", "service": ""}]},
        )
        started = time.monotonic()
        outcome = probe.collect([target], scope, TIMEOUT, upstream={"hostile": {"ports": ports}})[
            "hostile"
        ]
        elapsed = time.monotonic() - started
    assert elapsed <= TIMEOUT + SLACK, f"{probe.name} took {elapsed:.2f}s"
    if probe.name == "services":
        (record,) = outcome.facts["services"]
        assert record["error"] or record["kind"] == "unknown", record
        assert not record["unauthenticated"]
    else:
        assert outcome.error is not None, outcome.facts
