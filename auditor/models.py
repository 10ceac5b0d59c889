"""The facts, findings and verdicts that flow through an audit.

All are frozen dataclasses: probes produce them, rules read them, reporters render them, and
nothing changes them on the way, so threads can share them without copies or locks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.rules.frameworks import Framework

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Severity(Enum):
    """How bad a failing rule is; ordered so that `--fail-on` can compare."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class Status(Enum):
    """Outcome of one rule on one resource."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    ERROR = "error"
    """The facts the rule needs could not be collected or evaluated: never a pass."""
    SKIP = "skip"
    """The rule does not apply to this resource (its `when` is false)."""
    WAIVED = "waived"


class Verdict(Enum):
    GO = "go"
    NO_GO = "no-go"


@dataclass(frozen=True)
class Exposure:
    """One network exposure the change record declares."""

    port: int
    proto: str = "tcp"
    service: str | None = None
    to: str = "internal"
    """Who may reach it: `internet`, `internal` or `localhost`."""


@dataclass(frozen=True)
class ChangeRecord:
    """What the change record of this build declared (the vendor's promise)."""

    id: str
    approved: bool
    owner: str | None = None
    go_live: date | None = None
    data: tuple[str, ...] = ()
    retention_days: int | None = None
    exposes: tuple[Exposure, ...] = ()
    data_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class SshSettings:
    """The inventory's `ssh:` keys; None where the inventory says nothing, so that the
    user's ssh_config can say it (auditor/probes/ssh/endpoint.py)."""

    user: str | None = None
    port: int | None = None
    identity_file: str | None = None
    known_hosts: str | None = None
    proxy_jump: str | None = None


@dataclass(frozen=True)
class Target:
    """A server to audit, as the inventory declared it, with its address resolved once.

    Cloud resources found by account-wide discovery are targets too (`kind` says which);
    they have no IP, and probes that need one report an error for them.
    """

    name: str
    address: str
    ip: IPAddress | None
    ports: str = "1-65535"
    rules: tuple[str, ...] = ("baseline",)
    tags: Mapping[str, str] = field(default_factory=dict)
    ssh: SshSettings = field(default_factory=SshSettings)
    change: ChangeRecord | None = None
    line: int | None = None
    """Line of this server's entry in the inventory file (for SARIF and error messages)."""
    clouds: Mapping[str, Any] = field(default_factory=dict)
    """Each cloud provider's link to this server's resources, by provider name (`aws`):
    the provider's own frozen value (auditor/cloud/<name>/settings.py)."""
    kind: str = "server"
    """`server`, or for discovered cloud resources `bucket`, `security_group`, `instance`,
    `db_instance`."""
    adhoc: bool = False
    """Named on the `auditor scan` command line: there is no change record to check."""


@dataclass(frozen=True)
class ProbeError:
    """Why a probe could not collect its facts for one target (fail closed: this is data)."""

    probe: str
    message: str


@dataclass(frozen=True)
class ProbeOutcome:
    """What one probe learnt about one target: facts under its root name, or an error."""

    probe: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    error: ProbeError | None = None
    notes: tuple[str, ...] = ()
    """Non-fatal remarks worth showing (e.g. which scanner ran)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Waiver:
    """Who accepted a failing finding, why, and until when (applied in the gate)."""

    rule: str
    approver: str
    justification: str
    expires: date
    ticket: str | None = None


@dataclass(frozen=True)
class Finding:
    """One rule judged on one resource of one target."""

    rule: str
    title: str
    severity: Severity
    status: Status
    resource: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    remediation: str = ""
    waiver: Waiver | None = None
    cause: str | None = None
    """For an `error` left by a failed probe: that probe's name. Reports for people show
    the probe's error once ("→ 14 rules not evaluated") instead of one row per rule."""


@dataclass(frozen=True)
class TargetResult:
    """Everything the audit concluded about one target."""

    target: Target
    verdict: Verdict
    complete: bool
    errors: tuple[ProbeError, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    facts: Mapping[str, Any] | None = None
    """Every fact the probes collected on this target, by probe: kept only when asked
    (`--include-facts`), and then written once per target, never once per finding."""


@dataclass(frozen=True)
class RuleInfo:
    """What reporters need to explain a rule (SARIF help, HTML evidence)."""

    id: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    references: tuple[str, ...]
    pack: str


@dataclass(frozen=True)
class RulePackInfo:
    name: str
    path: str
    digest: str
    """sha256 of the pack file, so an evidence report names exactly what was applied."""


@dataclass(frozen=True)
class Report:
    started: datetime
    finished: datetime
    auditor_version: str
    inventory: str
    fail_on: Severity
    results: Sequence[TargetResult]
    """In inventory order. During a run, a spool on disk (`auditor.spool`): iterate it,
    do not copy it, so memory stays bounded by concurrency however large the fleet."""
    rule_packs: tuple[RulePackInfo, ...] = ()
    rules: Mapping[str, RuleInfo] = field(default_factory=dict)
    waivers_file: str | None = None
    ran_from: str = ""
    """`user@host` the audit ran from: evidence says who looked, and from where."""
    inventory_digest: str = ""
    """sha256 of the inventory file, so shard reports can prove they share one inventory."""
    shard: tuple[int, int] | None = None
    """(K, N) when this run audited shard K of N (`--shard K/N`)."""
    inputs: Mapping[str, str] = field(default_factory=dict)
    """Digest of every input that decided what was audited and how (`auditor.runinputs`):
    shards whose inputs differ are refused by `auditor merge`."""
    expected: tuple[str, ...] = ()
    """Every server of the whole inventory (all shards): merge refuses a server no shard
    judged."""
    frameworks: tuple[Framework, ...] = ()
    """Compliance frameworks the run was asked to sum up (`--framework`)."""
    nuclei: Mapping[str, Any] | None = None
    """With `--nuclei-templates`: the folders, templates found, run, and skipped by reason."""

    @property
    def verdict(self) -> Verdict:
        from auditor.gate import standings  # the gate builds on these models

        if all(s.verdict is Verdict.GO for s in standings(self.results, self.fail_on)):
            return Verdict.GO
        return Verdict.NO_GO
