"""The launch gate: from findings to GO / NO-GO per target, and the run's exit code.

A target is GO only when it was audited completely and no unwaived failure at or above
`--fail-on` remains. Incomplete is NO-GO (fail closed), but is reported with its own exit
code so a pipeline can tell "the server is bad" from "we could not look".
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.exitcodes import ExitCode
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


def blocking(findings: Iterable[Finding], fail_on: Severity) -> list[Finding]:
    return [f for f in findings if f.status is Status.FAIL and f.severity.at_least(fail_on)]


def judge(
    target: Target,
    findings: Iterable[Finding],
    errors: Iterable[ProbeError],
    fail_on: Severity,
    notes: Iterable[str] = (),
) -> TargetResult:
    findings = tuple(findings)
    errors = tuple(errors)
    complete = not errors and all(f.status is not Status.ERROR for f in findings)
    go = complete and not blocking(findings, fail_on)
    return TargetResult(
        target=target,
        verdict=Verdict.GO if go else Verdict.NO_GO,
        complete=complete,
        errors=errors,
        findings=findings,
        notes=tuple(notes),
    )


def exit_code(report: Report) -> ExitCode:
    if any(blocking(r.findings, report.fail_on) for r in report.results):
        return ExitCode.NO_GO
    if any(not r.complete for r in report.results):
        return ExitCode.INCOMPLETE
    return ExitCode.GO
