"""`--format markdown`: a summary fit for a pull-request comment."""

from __future__ import annotations

from auditor.gate import standings
from auditor.models import Report, Status, Verdict
from auditor.reporting.base import Reporter
from auditor.reporting.common import root_cause_line, shown_message
from auditor.reporting.escape import markdown

MAX_ROWS = 50


def _cell(text: str) -> str:
    return markdown(text)


class MarkdownReporter(Reporter):
    name = "markdown"
    description = "Markdown summary for a pull-request comment"

    def render(self, report: Report) -> str:
        go = report.verdict is Verdict.GO
        lines = [
            f"## {'✅' if go else '⛔'} Server audit: {'GO' if go else 'NO-GO'}",
            "",
            f"Blocking at severity ≥ **{report.fail_on.value}** · auditor {report.auditor_version}",
            "",
            "| server | verdict | complete | blocking | failing | errors | waived |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in standings(report.results, report.fail_on):
            verdict = "GO" if s.verdict is Verdict.GO else "**NO-GO**"
            complete = "yes" if s.complete else "**no**"
            errors = s.counts[Status.ERROR] + s.probe_errors
            lines.append(
                f"| {_cell(s.name)} | {verdict} | {complete} | {s.blocking} "
                f"| {s.counts[Status.FAIL]} | {errors} | {s.counts[Status.WAIVED]} |"
            )
        # Rule ids are validated to [a-z0-9_.-] at load, so a code span is safe for them;
        # everything else (names, resources, messages) is escaped text.
        rows = [
            (r.target.name, f)
            for r in report.results
            for f in sorted(r.findings, key=lambda f: -f.severity.rank)
            if f.status in (Status.FAIL, Status.ERROR, Status.WAIVED) and f.cause is None
        ]
        causes = [(r.target.name, root_cause_line(r, e)) for r in report.results for e in r.errors]
        if causes:
            lines += ["", "**Could not audit:**", ""]
            lines += [f"- {_cell(name)}: {_cell(line)}" for name, line in causes]
        if rows:
            lines += [
                "",
                "<details><summary>Findings</summary>",
                "",
                "| server | severity | status | rule | resource | message |",
                "|---|---|---|---|---|---|",
            ]
            for name, f in rows[:MAX_ROWS]:
                lines.append(
                    f"| {_cell(name)} | {f.severity.value} | {f.status.value} | `{f.rule}` "
                    f"| {_cell(f.resource)} | {_cell(shown_message(f))} |"
                )
            if len(rows) > MAX_ROWS:
                lines.append(f"\n…and {len(rows) - MAX_ROWS} more (see the JSON or HTML report).")
            lines += ["", "</details>"]
        return "\n".join(lines) + "\n"
