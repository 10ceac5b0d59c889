"""`--format html`: the evidence report a vendor hands its client before go-live.

One self-contained file (inline CSS, no scripts, no external resources): overall and
per-server verdict, the change record, every finding with its evidence and remediation,
waivers applied, auditor version, rule-pack digests and timestamps.
"""

from __future__ import annotations

import json
from html import escape

from auditor.gate import blocking
from auditor.models import Finding, Report, Status, TargetResult
from auditor.reporting.base import Reporter
from auditor.reporting.common import root_cause_line
from auditor.reporting.serialize import finding_to_dict

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
"""
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
        parts += [self._server(report, result) for result in report.results]
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"

    def _meta(self, report: Report) -> str:
        packs = "<br>".join(
            f"{escape(p.name)} <small>sha256 {escape(p.digest)}</small>" for p in report.rule_packs
        )
        rows = [
            ("Inventory", escape(report.inventory)),
            ("Started (UTC)", escape(report.started.isoformat())),
            ("Finished (UTC)", escape(report.finished.isoformat())),
            ("Auditor version", escape(report.auditor_version)),
            ("Blocking severity", f"≥ {escape(report.fail_on.value)}"),
            ("Rule packs", packs),
            ("Waivers file", escape(report.waivers_file or "none")),
        ]
        body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
        return f"<table class='meta'>{body}</table>"

    def _summary(self, report: Report) -> str:
        rows = "".join(
            f"<tr><td><a href='#t-{i}'>{escape(r.target.name)}</a></td><td>{escape(r.target.address)}</td>"
            f"<td><span class='verdict {r.verdict.value}'>{r.verdict.value.upper()}</span></td>"
            f"<td>{'yes' if r.complete else '<b>no</b>'}</td>"
            f"<td>{len(blocking(r.findings, report.fail_on))}</td>"
            f"<td>{sum(f.status is Status.PASS for f in r.findings)}</td></tr>"
            for i, r in enumerate(report.results)
        )
        return (
            "<h2>Servers</h2><table><tr><th>server</th><th>address</th><th>verdict</th>"
            f"<th>complete</th><th>blocking</th><th>passed checks</th></tr>{rows}</table>"
        )

    def _server(self, report: Report, result: TargetResult) -> str:
        index = report.results.index(result)
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
            key=lambda f: -f.severity.rank,
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
        evidence = escape(json.dumps(data["evidence"], indent=1, sort_keys=True))
        waiver = ""
        if finding.waiver is not None:
            w = finding.waiver
            waiver = (
                f"<p><b>Waived</b> by {escape(w.approver)} until {escape(str(w.expires))}"
                f"{' (' + escape(w.ticket) + ')' if w.ticket else ''}: {escape(w.justification)}</p>"
            )
        refs = "; ".join(escape(r) for r in finding.references)
        return (
            f"<tr><td class='sev-{finding.severity.value}'>{finding.severity.value}</td>"
            f"<td class='st-{finding.status.value}'>{finding.status.value}</td>"
            f"<td><code>{escape(finding.rule)}</code><br><small>{escape(finding.title)}</small></td>"
            f"<td><code>{escape(finding.resource)}</code></td>"
            f"<td>{escape(finding.message)}{waiver}<pre>{evidence}</pre>"
            f"<p><b>Fix:</b> {escape(finding.remediation)}</p><p><small>{refs}</small></p></td></tr>"
        )
