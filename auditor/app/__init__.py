"""The auditor as a library: `execute(AuditRequest(...))` returns the report.

from auditor.app import AuditRequest, InventoryFile, execute
outcome = execute(AuditRequest(InventoryFile(Path("inventory.yaml"))))
outcome.report  # auditor.models.Report; auditor.gate.exit_code(report) is the verdict
"""

from auditor.app.pipeline import Outcome, Prepared, execute, prepare, run
from auditor.app.request import (
    AdhocHosts,
    Alerting,
    AuditRequest,
    Evidence,
    InventoryFile,
)

__all__ = [
    "AdhocHosts",
    "Alerting",
    "AuditRequest",
    "Evidence",
    "InventoryFile",
    "Outcome",
    "Prepared",
    "execute",
    "prepare",
    "run",
]
