"""The probes an audit can run: the one place a new probe is added.

The engine runs only the probes that some rule of a target needs, so listing a probe here
costs nothing for inventories whose rule packs never read its facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from auditor.models import AwsSettings
from auditor.probes.aws import AwsProbe
from auditor.probes.base import Probe
from auditor.probes.host import HostProbe
from auditor.probes.ports import PortProbe
from auditor.probes.services import ServicesProbe, load_checks
from auditor.probes.ssh_auth import SshAuthProbe
from auditor.probes.ssh_session import SshOptions
from auditor.probes.ssh_wire import SshAlgorithmsProbe
from auditor.probes.sshd_config import SshdConfigProbe


@dataclass(frozen=True)
class ProbeSettings:
    concurrency: int = 16
    """Targets probed at once by each per-target probe (SSH...)."""
    service_detection: bool = False
    scanner: str = "nmap"
    ssh: SshOptions = field(default_factory=SshOptions)
    aws: AwsSettings | None = None
    service_checks_dirs: tuple[Path, ...] = ()
    """Folders of the user's own check files (`--service-checks-dir`)."""
    try_default_credentials: bool = False
    """One login with a well-known empty credential where a check knows one (MySQL root)."""


def build_probes(settings: ProbeSettings) -> list[Probe]:
    return [
        PortProbe(service_detection=settings.service_detection, prefer=settings.scanner),
        SshAlgorithmsProbe(settings.concurrency),
        SshAuthProbe(settings.concurrency),
        SshdConfigProbe(settings.ssh, settings.concurrency),
        ServicesProbe(
            settings.concurrency,
            load_checks(settings.service_checks_dirs, settings.try_default_credentials),
        ),
        HostProbe(settings.ssh, settings.concurrency),
        AwsProbe(settings.aws, settings.concurrency),
    ]
