"""Small pieces several formats share: where a finding points, how severe it looks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from auditor.models import Finding, Severity, Target

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
