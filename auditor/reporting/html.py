"""`--format html`: the evidence report a vendor hands its client before go-live.

One self-contained file (inline CSS, no scripts, no external resources): overall and
per-server verdict, the change record, every finding with its evidence and remediation,
waivers applied, auditor version, rule-pack digests and timestamps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from auditor.gate import standings
from auditor.models import Finding, Report, Status, TargetResult
from auditor.reporting.base import Reporter
from auditor.reporting.common import root_cause_line
from auditor.reporting.serialize import finding_to_dict
from auditor.rules.evaluate import words

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24;padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.verdict{display:inline-block;padding:.15rem .6rem;border-radius:4px;font-weight:700;color:#fff}
.go{background:#1a7f37}.no-go{background:#cf222e}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.sev-critical{color:#8b0000;font-weight:700}.sev-high{color:#cf222e;font-weight:700}
.sev-medium{color:#9a6700}.st-fail{color:#cf222e}.st-error{color:#8250df;font-weight:700}.st-waived{color:#57606a}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:18rem;margin:.3rem 0;white-space:pre-wrap;overflow-wrap:anywhere}
table.findings{table-layout:fixed}table.findings td,table.findings th{overflow-wrap:anywhere}
table.findings col.sev{width:5.5rem}table.findings col.st{width:4.5rem}table.findings col.rule{width:13rem}table.findings col.res{width:12rem}
.meta td:first-child{width:14rem;font-weight:600}small{color:#57606a}
dl.evidence{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.4rem 0}
dl.evidence dt{font-weight:600;color:#57606a}dl.evidence dd{margin:0;overflow-wrap:anywhere}
details{margin:.3rem 0}summary{cursor:pointer;color:#57606a;font-size:.9em}
@media print{
 @page{size:A4;margin:14mm 12mm}
 body{max-width:none;margin:0;padding:0;font-size:10px}
 pre{max-height:none;overflow:visible}
 table.findings col.sev{width:8%}table.findings col.st{width:7%}
 table.findings col.rule{width:20%}table.findings col.res{width:17%}
 td,th{padding:.2rem .35rem}dl.evidence{break-inside:avoid}h2{break-after:avoid}
 .verdict,.sev-critical,.sev-high,.st-error{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 details.raw{display:none}a{color:inherit;text-decoration:none}
}
"""
_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WAIVED: 2, Status.PASS: 3, Status.SKIP: 4}
"""Rows in the order a reader acts on them: open failures, then what could not be judged,
then accepted risks."""
SHOWN = (Status.FAIL, Status.ERROR, Status.WAIVED)


class HtmlReporter(Reporter):
    name = "html"
    description = "self-contained HTML evidence report"

    def render(self, report: Report) -> str:
        verdict = report.verdict.value
        parts = [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>Server audit: {verdict.upper()}</title><style>{CSS}</style></head><body>",
            f"<h1>Server audit <span class='verdict {verdict}'>{verdict.upper()}</span></h1>",
            self._meta(report),
            self._summary(report),
        ]
        parts += [self._server(report, i, result) for i, result in enumerate(report.results)]
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"

    def _meta(self, report: Report) -> str:
        packs = "<br>".join(
            f"{escape(p.name)} <small>sha256 {escape(p.digest)}</small>" for p in report.rule_packs
        )
        rows = [
            ("Inventory", escape(report.inventory)),
            ("Started", escape(_when(report.started))),
            ("Finished", escape(_when(report.finished))),
            ("Ran from", escape(report.ran_from or "unknown")),
            ("Auditor version", escape(report.auditor_version)),
            ("Blocking severity", f"≥ {escape(report.fail_on.value)}"),
            ("Rule packs", packs),
            ("Waivers file", escape(report.waivers_file or "none")),
        ]
        body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
        return f"<table class='meta'>{body}</table>"

    def _summary(self, report: Report) -> str:
        rows = "".join(
            f"<tr><td><a href='#t-{i}'>{escape(s.name)}</a></td><td>{escape(s.address)}</td>"
            f"<td><span class='verdict {s.verdict.value}'>{s.verdict.value.upper()}</span></td>"
            f"<td>{'yes' if s.complete else '<b>no</b>'}</td>"
            f"<td>{s.blocking}</td>"
            f"<td>{s.counts[Status.PASS]}</td></tr>"
            for i, s in enumerate(standings(report.results, report.fail_on))
        )
        return (
            "<h2>Servers</h2><table><tr><th>server</th><th>address</th><th>verdict</th>"
            f"<th>complete</th><th>blocking</th><th>passed checks</th></tr>{rows}</table>"
        )

    def _server(self, report: Report, index: int, result: TargetResult) -> str:
        target = result.target
        out = [
            f"<h2 id='t-{index}'>{escape(target.name)} "
            f"<span class='verdict {result.verdict.value}'>{result.verdict.value.upper()}</span></h2>"
        ]
        change = target.change
        if change is None:
            out.append("<p><b>No change record.</b></p>")
        else:
            exposes = ", ".join(
                f"{e.port}/{e.proto} {e.service or ''} → {e.to}" for e in change.exposes
            )
            out.append(
                "<table class='meta'>"
                f"<tr><td>Change</td><td>{escape(change.id)} ({'approved' if change.approved else '<b>not approved</b>'})</td></tr>"
                f"<tr><td>Owner</td><td>{escape(change.owner or '')}</td></tr>"
                f"<tr><td>Go-live</td><td>{escape(str(change.go_live or ''))}</td></tr>"
                f"<tr><td>Data</td><td>{escape(', '.join(change.data) or 'none declared')}</td></tr>"
                f"<tr><td>Retention</td><td>{'not declared' if change.retention_days is None else f'{change.retention_days} days'}</td></tr>"
                f"<tr><td>Declared exposure</td><td>{escape(exposes or 'none')}</td></tr></table>"
            )
        for error in result.errors:
            out.append(
                f"<p class='st-error'>Could not audit: {escape(root_cause_line(result, error))}</p>"
            )
        for note in result.notes:
            out.append(f"<p><small>{escape(note)}</small></p>")
        shown = sorted(
            (f for f in result.findings if f.status in SHOWN and f.cause is None),
            key=lambda f: (_ORDER[f.status], -f.severity.rank, f.rule, f.resource),
        )
        if shown:
            out.append(
                "<table class='findings'><colgroup><col class='sev'><col class='st'><col class='rule'>"
                "<col class='res'><col></colgroup>"
                "<tr><th>severity</th><th>status</th><th>rule</th><th>resource</th>"
                "<th>finding, evidence and remediation</th></tr>"
            )
            out += [self._finding(f) for f in shown]
            out.append("</table>")
        passed = sorted({f.rule for f in result.findings if f.status is Status.PASS})
        out.append(f"<p><small>Passed ({len(passed)}): {escape(', '.join(passed))}</small></p>")
        return "\n".join(out)

    def _finding(self, finding: Finding) -> str:
        data = finding_to_dict(finding)
        raw = escape(json.dumps(data["evidence"], indent=1, sort_keys=True, ensure_ascii=False))
        evidence = _evidence(data["evidence"])
        waiver = ""
        if finding.waiver is not None:
            w = finding.waiver
            waiver = (
                f"<p><b>Waived</b> by {escape(w.approver)} until {escape(str(w.expires))}"
                f"{' (' + escape(w.ticket) + ')' if w.ticket else ''}: {escape(w.justification)}</p>"
            )
        refs = "; ".join(escape(r) for r in finding.references)
        fix = (
            f"<p><b>Fix:</b> {inline_markdown(finding.remediation)}</p>"
            if finding.status is not Status.ERROR and finding.remediation
            else ""  # not evaluated: there is nothing to fix yet, only something to look at
        )
        details = (
            f"{evidence}<details class='raw'><summary>raw evidence (JSON)</summary>"
            f"<pre>{raw}</pre></details>"
            if data["evidence"]
            else ""
        )
        return (
            f"<tr><td class='sev-{finding.severity.value}'>{finding.severity.value}</td>"
            f"<td class='st-{finding.status.value}'>{finding.status.value}</td>"
            f"<td><code>{escape(finding.rule)}</code><br><small>{escape(finding.title)}</small></td>"
            f"<td><code>{escape(finding.resource)}</code></td>"
            f"<td>{escape(finding.message)}{waiver}{details}"
            f"{fix}<p><small>{refs}</small></p></td></tr>"
        )


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _evidence(evidence: Mapping[str, Any]) -> str:
    """Evidence as a readable key/value list; nested values in plain words."""
    if not evidence:
        return ""
    rows = "".join(
        f"<dt>{escape(str(key))}</dt><dd>{escape(words(value))}</dd>"
        for key, value in evidence.items()
    )
    return f"<dl class='evidence'>{rows}</dl>"


_CODE_SPAN = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def inline_markdown(text: str) -> str:
    """The Markdown a rule's remediation uses (`code`, **bold**), as HTML; everything is
    escaped first, so a pack can add emphasis but never markup."""
    safe = escape(text)
    safe = _CODE_SPAN.sub(r"<code>\1</code>", safe)
    return _BOLD.sub(r"<b>\1</b>", safe)
