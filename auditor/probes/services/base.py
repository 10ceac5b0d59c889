"""What a service check is: one protocol, one minimal request that proves open access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.probes.deadline import Deadline


@dataclass(frozen=True)
class Answer:
    """What a service told us without credentials."""

    unauthenticated: bool
    """True when it handed out data or control without credentials (the proof is evidence)."""
    evidence: str
    """A few redacted bytes that prove it: never data beyond that."""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceCheck:
    kind: str
    check: Callable[[str, int, Deadline], Answer]
    ports: tuple[int, ...] = ()
    """Well-known ports: checked there even when the port table names something else."""
    names: tuple[str, ...] = ()
    """nmap service names (port table or version detection) and declared service names."""
    reference: str = ""
    protocol: str = ""
    """The wire protocol it speaks as identification names it (`http` for Docker, etcd...);
    defaults to `kind`."""
    any_port: bool = False
    """Planned on every port identified as its protocol, in addition to that port's own
    checks; a port that proves not to be its product leaves no record (checkfile.py)."""
    over_tls: Callable[[str, int, Deadline], Answer] | None = None
    """The same check over TLS, for an HTTP check on a port identified as HTTPS."""

    @property
    def protocols(self) -> tuple[str, ...]:
        """The identified protocols it can run on: its own, and HTTPS for an HTTP check
        that has a TLS variant."""
        return (self.protocol, "https") if self.over_tls is not None else (self.protocol,)

    rule: str = ""
    """For checks from check files: the rule that judges their records (a dedicated one, or
    the generic `services.open-access`); empty for Python checks, judged by their kind."""

    def __post_init__(self) -> None:
        if not self.protocol:
            object.__setattr__(self, "protocol", self.kind)


def service_record(
    port: int, kind: str, why: str, identified: str, proto: str = "tcp"
) -> dict[str, Any]:
    """A `services` fact record with every field present (facts.SERVICE_FIELDS), before
    its check has answered: the one shape for TCP checks and UDP questions alike."""
    return {
        "port": port,
        "proto": proto,
        "kind": kind,
        "identified": identified,
        "detected_by": why,
        "unauthenticated": False,
        "evidence": "",
        "details": {},
        "reference": "",
        "rule": "",
        "error": "",
    }
