"""`--format sarif`: SARIF 2.1.0 that GitHub code scanning accepts (docs/ci.md).

Each result points at the inventory file and the line of the server's entry — where a
reviewer acts — because GitHub rejects results without a repository-relative location.
ruleIds are the stable rule ids; partialFingerprints keep re-runs from duplicating alerts.
Waived failures are results with an accepted suppression; probe and rule errors are
results too (level error), because an unaudited server is something to act on.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from auditor.models import Report, Status
from auditor.reporting.base import Reporter
from auditor.reporting.common import (
    SECURITY_SEVERITY,
    SEVERITY_TO_LEVEL,
    fingerprint,
    inventory_uri,
)

SHOWN = (Status.FAIL, Status.ERROR, Status.WAIVED)
SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"


class SarifReporter(Reporter):
    name = "sarif"
    description = "SARIF 2.1.0 for GitHub code scanning"

    def render(self, report: Report) -> str:
        rule_ids = sorted(report.rules)
        index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
        uri = inventory_uri(report.inventory)
        results = []
        for result in report.results:
            reported_causes: set[str] = set()
            for finding in result.findings:
                if finding.status not in SHOWN or finding.rule not in index:
                    continue
                if finding.cause is not None:  # one result per failed probe, not per rule
                    if finding.cause in reported_causes:
                        continue
                    reported_causes.add(finding.cause)
                    count = sum(1 for f in result.findings if f.cause == finding.cause)
                    finding = replace(
                        finding, message=f"{finding.message} → {count} rule(s) not evaluated"
                    )
                entry: dict[str, Any] = {
                    "ruleId": finding.rule,
                    "ruleIndex": index[finding.rule],
                    "level": "error"
                    if finding.status is Status.ERROR
                    else SEVERITY_TO_LEVEL[finding.severity],
                    "message": {
                        "text": _message(result.target.name, finding.status, finding.message)
                    },
                    "partialFingerprints": {
                        "auditorFinding/v1": fingerprint(result.target, finding)
                    },
                    "properties": {
                        "target": result.target.name,
                        "resource": finding.resource,
                        "status": finding.status.value,
                        "severity": finding.severity.value,
                    },
                }
                if uri is not None:
                    entry["locations"] = [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": uri},
                                "region": {"startLine": result.target.line or 1},
                            },
                            "message": {"text": f"server {result.target.name}"},
                        }
                    ]
                if finding.waiver is not None:
                    entry["suppressions"] = [
                        {
                            "kind": "external",
                            "status": "accepted",
                            "justification": f"{finding.waiver.justification} (approved by "
                            f"{finding.waiver.approver}, expires {finding.waiver.expires})",
                        }
                    ]
                results.append(entry)
        document = {
            "$schema": SCHEMA_URI,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "server-auditor",
                            "version": report.auditor_version,
                            "informationUri": "https://github.com/server-auditor/server-auditor",
                            "rules": [_rule(report, rule_id) for rule_id in rule_ids],
                        }
                    },
                    "automationDetails": {"id": f"server-auditor/{uri or 'scan'}/"},
                    "invocations": [
                        {
                            "executionSuccessful": True,
                            "startTimeUtc": report.started.isoformat().replace("+00:00", "Z"),
                            "endTimeUtc": report.finished.isoformat().replace("+00:00", "Z"),
                        }
                    ],
                    "results": results,
                }
            ],
        }
        return json.dumps(document, indent=2) + "\n"


def _message(target: str, status: Status, text: str) -> str:
    if status is Status.ERROR:
        return f"{target}: could not be audited: {text}"
    return f"{target}: {text}"


def _rule(report: Report, rule_id: str) -> dict[str, Any]:
    rule = report.rules[rule_id]
    references = "\n".join(f"- {r}" for r in rule.references)
    markdown = (
        f"**{rule.title}**\n\n{rule.rationale}\n\n**Remediation:** {rule.remediation}\n\n"
        f"**References:**\n{references}\n"
    )
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.replace("-", ".").split(".")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale or rule.title},
        "help": {
            "text": f"{rule.remediation}\nReferences: {'; '.join(rule.references)}",
            "markdown": markdown,
        },
        "defaultConfiguration": {"level": SEVERITY_TO_LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", rule.pack],
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": "high",
        },
    }
