"""`--format junit`: JUnit XML for GitLab (`artifacts:reports:junit`) and Jenkins.

One testsuite per server, one testcase per rule and resource: `failure` for fail, `error`
for error, `skipped` for waived and not applicable.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from auditor.models import Report, Status
from auditor.reporting.base import Reporter
from auditor.reporting.common import root_cause_line
from auditor.reporting.escape import xml


class JunitReporter(Reporter):
    name = "junit"
    description = "JUnit XML, one testcase per rule and resource"

    def render(self, report: Report) -> str:
        suites = ET.Element("testsuites", name="server-auditor")
        totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for result in report.results:
            suite = ET.SubElement(
                suites,
                "testsuite",
                name=xml(result.target.name),
                timestamp=report.started.isoformat(),
                hostname=xml(result.target.address),
            )
            counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
            for probe_error in result.errors:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=xml(result.target.name),
                    name=xml(f"probe {probe_error.probe}"),
                )
                ET.SubElement(
                    case,
                    "error",
                    message=xml(root_cause_line(result, probe_error)),
                    type="probe-error",
                )
                counts["tests"] += 1
                counts["errors"] += 1
            for finding in result.findings:
                if finding.cause is not None:
                    continue  # counted in the probe's own error case above
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=xml(f"{result.target.name}.{finding.rule}"),
                    name=xml(f"{finding.rule} {finding.resource}"),
                )
                counts["tests"] += 1
                if finding.status is Status.FAIL:
                    node = ET.SubElement(
                        case, "failure", message=xml(finding.message), type=finding.severity.value
                    )
                    node.text = xml(finding.remediation)
                    counts["failures"] += 1
                elif finding.status is Status.ERROR:
                    ET.SubElement(case, "error", message=xml(finding.message), type="not-evaluated")
                    counts["errors"] += 1
                elif finding.status is Status.WAIVED and finding.waiver is not None:
                    waiver = finding.waiver
                    note = f"waived by {waiver.approver} until {waiver.expires}"
                    ET.SubElement(case, "skipped", message=xml(f"{note}: {waiver.justification}"))
                    counts["skipped"] += 1
                elif finding.status is Status.SKIP:
                    ET.SubElement(case, "skipped", message="not applicable")
                    counts["skipped"] += 1
            for key, value in counts.items():
                suite.set(key, str(value))
                totals[key] += value
        for key, value in totals.items():
            suites.set(key, str(value))
        ET.indent(suites)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(suites, encoding="unicode")
            + "\n"
        )
