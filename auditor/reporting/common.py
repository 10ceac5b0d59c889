"""Small pieces several formats share: where a finding points, how severe it looks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from auditor.exitcodes import ExitCode
from auditor.gate import exit_code, standings
from auditor.models import (
    Finding,
    ProbeError,
    Report,
    Severity,
    Status,
    Target,
    TargetResult,
    Verdict,
)

SEVERITY_TO_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
"""SARIF levels, as Prowler maps them."""

SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
"""GitHub's security-severity scores (critical >= 9, high >= 7, medium >= 4)."""


def inventory_uri(inventory: str) -> str | None:
    """The inventory as a path relative to the working directory (the repository in CI).

    GitHub rejects absolute paths and URLs as SARIF locations; None when there is no file.
    """
    if inventory.startswith("<") or not Path(inventory).exists():
        return None
    relative = os.path.relpath(Path(inventory).resolve(), Path.cwd())
    if relative.startswith(".."):
        relative = Path(inventory).name
    return Path(relative).as_posix()


def fingerprint(target: Target, finding: Finding) -> str:
    """Stable across runs: the same rule on the same resource of the same server."""
    key = f"{finding.rule}|{target.name}|{finding.resource}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def verdict_line(report: Report) -> str:
    """The run's verdict in one line: GO, NO-GO, or INCOMPLETE when nothing blocks but some
    server could not be fully audited (also NO-GO for that server: fail closed)."""
    code = exit_code(report)
    ranks = list(standings(report.results, report.fail_on))
    total = len(ranks)
    go = sum(s.verdict is Verdict.GO for s in ranks)
    may = f"{go} of {total} server(s) may go live"
    if code is ExitCode.GO:
        return f"GO: {may}"
    if code is ExitCode.INCOMPLETE:
        missing = sum(not s.complete for s in ranks)
        return f"INCOMPLETE: {may}; {missing} could not be fully audited (NO-GO until they are)"
    return f"NO-GO: {may} (blocking at severity >= {report.fail_on.value})"


def caused(result: TargetResult, probe: str) -> int:
    """How many rule findings a failed probe left unevaluated on this target."""
    return sum(1 for f in result.findings if f.cause is not None and probe in f.cause.split(", "))


def root_cause_line(result: TargetResult, error: ProbeError) -> str:
    """A failed probe as one line: what failed and how many rules it left unevaluated."""
    count = caused(result, error.probe)
    tail = f" → {count} rule(s) not evaluated" if count else ""
    return f"{error.probe} probe failed: {error.message}{tail}"


def shown_message(finding: Finding) -> str:
    """The finding's message, with who accepted the risk and until when if it is waived."""
    waiver = finding.waiver
    if finding.status is not Status.WAIVED or waiver is None:
        return finding.message
    ticket = f", {waiver.ticket}" if waiver.ticket else ""
    return (
        f"{finding.message} [waived by {waiver.approver} until {waiver.expires}{ticket}: "
        f"{waiver.justification}]"
    )
