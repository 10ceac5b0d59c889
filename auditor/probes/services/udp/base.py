"""What a UDP check is, and what it learnt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.probes.deadline import Deadline


@dataclass(frozen=True)
class UdpAnswer:
    answered: bool
    """The service answered at all (its liveness question, or the exposure question)."""
    unauthenticated: bool
    """It answered the question that proves the exposure (a community, monlist, recursion)."""
    evidence: str
    details: dict[str, Any] = field(default_factory=dict)
    refused: bool = False
    """ICMP port unreachable: nothing listens there."""


@dataclass(frozen=True)
class UdpCheck:
    kind: str
    port: int
    """Its well-known port: probed on every target audited with the services pack."""
    names: tuple[str, ...]
    """Service names a change record may declare it under (`exposes: proto: udp`)."""
    reference: str
    check: Callable[[str, int, Deadline], UdpAnswer]


def no_reply(port: int, asked: str) -> UdpAnswer:
    return UdpAnswer(
        False,
        False,
        f"no reply to {asked} on {port}/udp (UDP cannot prove a port closed)",
        {"answered": False},
    )


def refused(port: int) -> UdpAnswer:
    return UdpAnswer(
        False, False, f"ICMP port unreachable from {port}/udp", {"answered": False}, refused=True
    )
