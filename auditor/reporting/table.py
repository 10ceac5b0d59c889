"""`--format table`: what a person reads in a terminal — verdicts first, then why.

It fits the terminal: the width comes from `$COLUMNS`, the terminal, or 80 when piped, and
no line is wider. Values are cut with "…" to fit (the full text is in every other
format). Wide terminals get one line per finding; narrower ones (under 150 columns) put the
message on its own indented line below. Colour marks severities and verdicts when the
output is a terminal, unless `NO_COLOR` is set; `--color always|never` decides otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tabulate import tabulate

from auditor.exitcodes import ExitCode
from auditor.gate import exit_code, standings
from auditor.models import Finding, Report, Severity, Status, Verdict
from auditor.reporting.base import Reporter
from auditor.reporting.common import root_cause_line, shown_message, verdict_line
from auditor.reporting.escape import terminal
from auditor.reporting.serialize import COMPLIANCE_COUNTS, compliance

_SHOWN = (Status.FAIL, Status.ERROR, Status.WAIVED)
_GAP = "  "
_WIDE = 150
_RESET = "\x1b[0m"
_PAINT = re.compile("\x1b\\[[0-9;]*m")
_SEVERITY_COLOUR = {
    Severity.CRITICAL: "\x1b[1;31m",
    Severity.HIGH: "\x1b[31m",
    Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m",
    Severity.INFO: "\x1b[2m",
}
_STATUS_COLOUR = {Status.ERROR: "\x1b[35m", Status.WAIVED: "\x1b[2m"}
_VERDICT_COLOUR = {"GO": "\x1b[1;32m", "NO-GO": "\x1b[1;31m", "INCOMPLETE": "\x1b[1;35m"}


def grid(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[int],
    right: Sequence[bool] = (),
    paint: Sequence[Callable[[str, int], str]] = (),
) -> list[str]:
    """The one table renderer of the auditor (reports, `history`, `diff`, `rules list`):
    tabulate's plain layout, every cell made safe for a terminal and cut to its column's
    width, then painted (tabulate measures text without its colour codes)."""
    align = ["right" if i < len(right) and right[i] else "left" for i in range(len(widths))]

    def cells(row: Sequence[str], index: int) -> list[str]:
        out = [cut(terminal(str(cell)), width) for cell, width in zip(row, widths, strict=True)]
        if index >= 0:
            out = [paint[i](text, index) if i < len(paint) else text for i, text in enumerate(out)]
        return out

    head = cells(headers, -1)
    body = [cells(row, i) for i, row in enumerate(rows)]
    # The header goes in as a row: tabulate's own header adds two columns of padding
    # (MIN_PADDING) that the width budget above does not have.
    text = tabulate([head, *body], tablefmt="plain", disable_numparse=True, colalign=align)
    lines = [line.rstrip() for line in text.splitlines()]
    used = [max(len(_PAINT.sub("", r[i])) for r in (head, *body)) for i in range(len(widths))]
    return [lines[0], _GAP.join("-" * w for w in used), *lines[1:]]


def fit(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Column widths for a plain listing in `width` columns: each as wide as its widest
    cell, the last one cut to what is left."""
    natural = [
        max(len(terminal(str(h))), *(len(terminal(str(r[i]))) for r in rows), 1)
        for i, h in enumerate(headers)
    ]
    left = width - sum(natural[:-1]) - len(_GAP) * (len(natural) - 1)
    return [*natural[:-1], max(12, min(natural[-1], left))]


def cut_middle(text: str, width: int) -> str:
    """A server name cut in the middle: `127.0.131.1:2222` and `127.0.131.1:2223` stay
    apart (their ends differ, and so do most hosts' of one fleet: web-01, web-02)."""
    if len(text) <= width or width < 5:
        return cut(text, width)
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + "…" + text[-tail:]


def cut(text: str, width: int) -> str:
    """One line of at most `width` characters, "…" marking a cut."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class TableReporter(Reporter):
    name = "table"
    description = "human-readable tables (default)"

    def __init__(self, width: int = 80, color: bool = False) -> None:
        self.width = max(60, width)
        self.color = color

    def _paint(self, text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if self.color and code else text

    def render(self, report: Report) -> str:
        sections = [self._servers(report)]
        findings = [
            (r.target.name, f)
            for r in report.results
            for f in sorted(r.findings, key=lambda f: (-f.severity.rank, f.rule, f.resource))
            if f.status in _SHOWN and f.cause is None  # probe failures: once, below
        ]
        if findings:
            sections.append(self._findings(findings))
        problems = [
            (terminal(r.target.name), e.probe, terminal(root_cause_line(r, e)))
            for r in report.results
            for e in r.errors
        ]
        if problems:
            name_w = min(20, max(6, *(len(n) for n, _, _ in problems)))
            probe_w = max(5, *(len(p) for _, p, _ in problems))
            text_w = self.width - name_w - probe_w - 2 * len(_GAP)
            sections.append(
                "\n".join(
                    grid(
                        ["server", "probe", "could not audit"],
                        [list(p) for p in problems],
                        [name_w, probe_w, text_w],
                    )
                )
            )
        if report.frameworks:
            sections.append(self._compliance(report))
        line = verdict_line(report)
        word = {ExitCode.GO: "GO", ExitCode.INCOMPLETE: "INCOMPLETE"}.get(
            exit_code(report), "NO-GO"
        )
        sections.append(
            self._paint(word, _VERDICT_COLOUR[word]) + cut(line, self.width)[len(word) :]
        )
        return "\n\n".join(sections) + "\n"

    def _compliance(self, report: Report) -> str:
        """Per framework asked for, per section: controls pass / fail / error / n/a / not
        covered, summed over the servers, and the share passing of those judged."""
        blocks = []
        for name, entry in compliance(report, report.results).items():
            rows = [
                [section, *(str(row[k]) for k in COMPLIANCE_COUNTS), _percent(row["percent"])]
                for section, row in [*entry["sections"].items(), ("total", entry["total"])]
            ]
            headers = ["section", "pass", "fail", "error", "n/a", "not covered", "pass %"]
            widths = [max(7, *(len(r[0]) for r in rows)), 6, 6, 6, 6, 11, 6]
            blocks.append(f"{entry['title']} ({name})\n" + "\n".join(grid(headers, rows, widths)))
        return "\n\n".join(blocks)

    def _servers(self, report: Report) -> str:
        rows = []
        verdicts = []
        for s in standings(report.results, report.fail_on):
            verdict = "GO" if s.verdict is Verdict.GO else "NO-GO"
            verdicts.append((verdict, s.complete))
            rows.append(
                [
                    terminal(s.name),
                    terminal(s.address),  # cut below, once widths are known
                    verdict,
                    "yes" if s.complete else "NO",
                    str(s.blocking),
                    str(s.counts[Status.FAIL]),
                    str(s.counts[Status.ERROR]),
                    str(s.counts[Status.PASS]),
                ]
            )
        headers = ["server", "address", "verdict", "complete", "blocking", "fail", "error", "pass"]
        fixed = [7, 8, 8, 4, 5, 4]
        counts = [max(w, *(len(r[i + 2]) for r in rows)) for i, w in enumerate(fixed)]
        room = self.width - sum(counts) - len(_GAP) * 7
        address_w = min(room // 2, max(7, *(len(r[1]) for r in rows)))
        name_w = max(6, min(room - address_w, max(6, *(len(r[0]) for r in rows))))

        for row in rows:
            row[0] = cut_middle(row[0], name_w)

        def verdict_paint(text: str, row: int) -> str:
            return self._paint(text, _VERDICT_COLOUR[verdicts[row][0]])

        def complete_paint(text: str, row: int) -> str:
            return text if verdicts[row][1] else self._paint(text, _VERDICT_COLOUR["INCOMPLETE"])

        def plain(text: str, _row: int) -> str:
            return text

        lines = grid(
            headers,
            rows,
            [name_w, address_w, *counts],
            right=[False, False, False, False, True, True, True, True],
            paint=[plain, plain, verdict_paint, complete_paint],
        )
        return "\n".join(lines)

    def _findings(self, rows: list[tuple[str, Finding]]) -> str:
        names = [terminal(n) for n, _ in rows]
        resources = [terminal(f.resource) for _, f in rows]
        messages = [terminal(shown_message(f)) for _, f in rows]
        status_w, severity_w = 7, 8
        server_w = min(20, max(6, *map(len, names)))
        rule_w = min(48, max(4, *(len(f.rule) for _, f in rows)))  # ids are never cut
        resource_w = min(30, max(8, *map(len, resources)))
        gaps = len(_GAP) * 5

        def message_room() -> int:
            return self.width - status_w - severity_w - server_w - rule_w - resource_w - gaps

        while self.width >= _WIDE and message_room() < 48:  # give the message room first
            if resource_w > 18:
                resource_w -= 1
            elif server_w > 12:
                server_w -= 1
            else:
                break
        message_w = message_room()
        wide = self.width >= _WIDE and message_w >= 36
        if not wide:  # the message gets its own line: share the width among the rest
            room = self.width - status_w - severity_w - len(_GAP) * 4
            while server_w + rule_w + resource_w > room:
                if resource_w > 12:
                    resource_w -= 1
                elif server_w > 12:
                    server_w -= 1
                elif resource_w > 8:
                    resource_w -= 1
                elif server_w > 8:
                    server_w -= 1
                else:
                    break
        statuses = [f.status for _, f in rows]
        severities = [f.severity for _, f in rows]

        def status_paint(text: str, row: int) -> str:
            return self._paint(text, _STATUS_COLOUR.get(statuses[row], ""))

        def severity_paint(text: str, row: int) -> str:
            return self._paint(text, _SEVERITY_COLOUR[severities[row]])

        def plain(text: str, _row: int) -> str:
            return text

        table = [
            [cut_middle(names[i], server_w), f.status.value, f.severity.value, f.rule, resources[i]]
            + ([messages[i]] if wide else [])
            for i, (_, f) in enumerate(rows)
        ]
        headers = ["server", "status", "severity", "rule", "resource"] + (
            ["message"] if wide else []
        )
        widths = [server_w, status_w, severity_w, rule_w, resource_w] + (
            [message_w] if wide else []
        )
        lines = grid(headers, table, widths, paint=[plain, status_paint, severity_paint])
        if wide:
            return "\n".join(lines)
        indent = "    "
        out = lines[:2]
        for i, row_line in enumerate(lines[2:]):
            out += [row_line, indent + cut(messages[i], self.width - len(indent))]
        return "\n".join(out)


def _percent(value: int | None) -> str:
    return "-" if value is None else f"{value}%"
