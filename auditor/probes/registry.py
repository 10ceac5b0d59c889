"""The probes an audit can run: the one place a new probe is added.

The engine runs only the probes that some rule of a target needs, so listing a probe here
costs nothing for inventories whose rule packs never read its facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.cloud import providers
from auditor.probes.base import Probe
from auditor.probes.ports import PortProbe
from auditor.probes.services import ServicesProbe, load_checks
from auditor.probes.services.base import ServiceCheck
from auditor.probes.ssh.options import SshOptions
from auditor.probes.ssh.probe import SshProbe
from auditor.probes.tls import TlsProbe


@dataclass(frozen=True)
class ProbeSettings:
    concurrency: int = 16
    """Targets probed at once by each per-target probe (SSH, services, clouds)."""
    service_detection: bool = False
    scanner: str = "nmap"
    ssh: SshOptions = field(default_factory=SshOptions)
    clouds: Mapping[str, Any] = field(default_factory=dict)
    """Each cloud provider's settings, by name (`Inventory.clouds`)."""
    service_checks_dirs: tuple[Path, ...] = ()
    """Folders of the user's own check files (`--service-checks-dir`)."""
    try_default_credentials: bool = False
    """One login with a product's documented default where a check knows one (MySQL root
    with no password, RabbitMQ guest/guest)."""
    extra_checks: tuple[ServiceCheck, ...] = ()
    """Service checks from elsewhere: the nuclei templates that can run read-only."""


def build_probes(settings: ProbeSettings) -> list[Probe]:
    return [
        PortProbe(service_detection=settings.service_detection, prefer=settings.scanner),
        SshProbe(settings.ssh, settings.concurrency),
        ServicesProbe(
            settings.concurrency,
            load_checks(settings.service_checks_dirs, settings.try_default_credentials)
            + settings.extra_checks,
        ),
        TlsProbe(settings.concurrency),
        *(p.make_probe(settings.clouds.get(p.name), settings.concurrency) for p in providers()),
    ]


def probe_of_root() -> dict[str, str]:
    """The probe that provides each fact root, by name (for the fact docs)."""
    classes: tuple[type[Probe], ...] = (PortProbe, SshProbe, ServicesProbe, TlsProbe)
    found = {root: c.name for c in classes for root in (c.provides or (c.name,))}
    return found | {p.name: p.name for p in providers()}
