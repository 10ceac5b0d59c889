"""What an audit is asked to do, as data: the CLI builds one, a library caller too.

No click here and nothing read yet: a request is checked and its inputs are read by
`auditor.app.prepare`, before anything is probed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.alerts.notify import Destination
from auditor.cloud.aws.settings import AwsSettings
from auditor.merge import Shard
from auditor.models import Severity, SshSettings
from auditor.probes.ssh.options import SshOptions
from auditor.waivers import DEFAULT_MAX_DAYS

SCAN_PACKS = ("baseline", "services", "tls", "ssh")
"""What `auditor scan` judges by default: exposure, what answers, SSH before login."""


@dataclass(frozen=True)
class InventoryFile:
    """Servers from an inventory v1 file, plus those of an Ansible inventory or a
    Terraform state when given (the file then adds scope, defaults, change records)."""

    path: Path
    ansible: Path | None = None
    terraform: Path | None = None


@dataclass(frozen=True)
class AdhocHosts:
    """`auditor scan`: these hosts are the scope; no change record."""

    hosts: tuple[str, ...]
    ports: str = "1-65535"
    packs: tuple[str, ...] = SCAN_PACKS
    ssh: SshSettings = field(default_factory=SshSettings)
    aws: AwsSettings | None = None
    """Account-wide AWS discovery, when asked for."""

    @property
    def login(self) -> bool:
        """Whether checks that log in may run: only with a user named for them."""
        return self.ssh.user is not None


@dataclass(frozen=True)
class Alerting:
    """Compare with the last finished run and alert (docs/monitoring.md)."""

    on: str
    destinations: tuple[Destination, ...] = ()
    heartbeat: bool = False


@dataclass(frozen=True)
class Evidence:
    """A signed evidence bundle written to `folder` (docs/evidence.md)."""

    folder: Path
    sign_key: Path


@dataclass(frozen=True)
class AuditRequest:
    source: InventoryFile | AdhocHosts
    fail_on: Severity = Severity.HIGH
    timeout: float = 120.0
    """Deadline in seconds for one probe on one server."""
    concurrency: int = 16
    scanner: str = "auto"
    service_detection: bool = False
    ssh: SshOptions = field(default_factory=SshOptions)
    rules_dirs: tuple[Path, ...] = ()
    service_checks_dirs: tuple[Path, ...] = ()
    nuclei_templates: tuple[Path, ...] = ()
    """Folders of nuclei templates to run read-only (`--nuclei-templates`, docs/nuclei.md)."""
    try_default_credentials: bool = False
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Rule parameter overrides, {rule id: {name: value}}."""
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    frameworks: tuple[str, ...] = ()
    """Compliance frameworks (rules/frameworks/): only the rules they map are judged, and
    the report sums their controls per section."""
    waivers: Path | None = None
    max_waiver_days: int = DEFAULT_MAX_DAYS
    strict_waivers: bool = False
    shard: Shard | None = None
    include_facts: bool = False
    history: Path | None = None
    """The run history database; None records nothing."""
    alerting: Alerting | None = None
    evidence: Evidence | None = None
    emit_inventory: Path | None = None
    """`auditor scan --emit-inventory`: a draft inventory of what was found."""
    show_progress: bool = False
