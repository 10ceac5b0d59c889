"""`--format table`: what a person reads in a terminal — verdicts first, then why."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from auditor.gate import blocking
from auditor.models import Report, Status, Verdict
from auditor.reporting.base import Reporter
from auditor.reporting.common import root_cause_line, shown_message, verdict_line
from auditor.reporting.escape import terminal

_SHOWN = (Status.FAIL, Status.ERROR, Status.WAIVED)
_WIDTH = 64


class TableReporter(Reporter):
    name = "table"
    description = "human-readable tables (default)"

    def render(self, report: Report) -> str:
        servers = [
            [
                terminal(r.target.name),
                terminal(r.target.address),
                "GO" if r.verdict is Verdict.GO else "NO-GO",
                "yes" if r.complete else "NO",
                len(blocking(r.findings, report.fail_on)),
                sum(f.status is Status.FAIL for f in r.findings),
                sum(f.status is Status.ERROR for f in r.findings),
                sum(f.status is Status.PASS for f in r.findings),
            ]
            for r in report.results
        ]
        out = [
            tabulate(
                servers,
                headers=[
                    "server",
                    "address",
                    "verdict",
                    "complete",
                    "blocking",
                    "fail",
                    "error",
                    "pass",
                ],
            )
        ]
        details = [
            [
                terminal(r.target.name),
                f.status.value,
                f.severity.value,
                terminal(f.rule),
                terminal(f.resource),
                textwrap.fill(terminal(shown_message(f)), _WIDTH),
            ]
            for r in report.results
            for f in sorted(r.findings, key=lambda f: (-f.severity.rank, f.rule, f.resource))
            if f.status in _SHOWN and f.cause is None  # probe failures: once, below
        ]
        if details:
            out.append(
                tabulate(
                    details, headers=["server", "status", "severity", "rule", "resource", "message"]
                )
            )
        problems = [
            [
                terminal(r.target.name),
                e.probe,
                textwrap.fill(terminal(root_cause_line(r, e)), _WIDTH),
            ]
            for r in report.results
            for e in r.errors
        ]
        if problems:
            out.append(tabulate(problems, headers=["server", "probe", "could not audit"]))
        out.append(verdict_line(report))
        return "\n\n".join(out) + "\n"
