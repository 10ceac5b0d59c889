"""The launch gate: from findings to GO / NO-GO per target, and the run's exit code.

A target is GO only when it was audited completely and no unwaived failure at or above
`--fail-on` remains. Incomplete is NO-GO (fail closed), but is reported with its own exit
code so a pipeline can tell "the server is bad" from "we could not look".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Standing:
    """What the summaries need of a judged server: a few fields, kept in memory for the
    whole fleet (the spool keeps one per server), so that a verdict line, an exit code or
    a summary table never reads a server's findings back from disk."""

    name: str
    address: str
    verdict: Verdict
    complete: bool
    blocking: int
    counts: Mapping[Status, int]
    """Findings by status."""
    probe_errors: int

    @classmethod
    def of(cls, result: TargetResult, fail_on: Severity) -> Standing:
        counts = {status: 0 for status in Status}
        for finding in result.findings:
            counts[finding.status] += 1
        return cls(
            result.target.name,
            result.target.address,
            result.verdict,
            result.complete,
            len(blocking(result.findings, fail_on)),
            counts,
            len(result.errors),
        )


def standings(results: Sequence[TargetResult], fail_on: Severity) -> Iterator[Standing]:
    """Each server's standing, in order: from the spool's index when it has them (no
    read), else computed from the results."""
    kept = getattr(results, "standings", None)
    found = kept(fail_on) if kept is not None else None
    if found is not None:
        yield from found
        return
    for result in results:
        yield Standing.of(result, fail_on)


def exit_code(report: Report) -> ExitCode:
    ranks = list(standings(report.results, report.fail_on))
    if any(s.blocking for s in ranks):
        return ExitCode.NO_GO
    if any(not s.complete for s in ranks):
        return ExitCode.INCOMPLETE
    return ExitCode.GO
