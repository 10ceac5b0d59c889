"""The report as plain JSON data: schemas `auditor-report/2` and `/1` (docs/report.md).

Shared by every machine-readable format so they all say the same thing. Within a schema
version fields are only ever added, never renamed or removed. Version 2 states each rule's
title, remediation and references once, in a top-level `rules` map, instead of in every
finding (that repetition was most of a version-1 report: 118 KB per server); version 1 is
still written on request (`--report-schema 1`) for consumers not yet migrated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from auditor.gate import blocking, standings
from auditor.models import ChangeRecord, Finding, Report, Status, TargetResult
from auditor.rules.frameworks import section_summary

SCHEMAS = {1: "auditor-report/1", 2: "auditor-report/2"}
LATEST = 2


def report_to_dict(report: Report, version: int = LATEST) -> dict[str, Any]:
    """The whole report as one dict: for small reports and tests. The JSON writer streams
    the same thing: `report_head`, then each target."""
    targets = [target_to_dict(r, report, version) for r in report.results]
    return report_head(report, version) | {"targets": targets}


def report_head(report: Report, version: int = LATEST) -> dict[str, Any]:
    """Everything but the targets (the summary reads the results once, one at a time)."""
    data = {"schema": SCHEMAS[version]} | _report(report)
    if version >= 2:
        data["rules"] = {
            rule.id: {
                "title": rule.title,
                "severity": rule.severity.value,
                "pack": rule.pack,
                "rationale": rule.rationale,
                "remediation": rule.remediation,
                "references": list(rule.references),
            }
            for rule in sorted(report.rules.values(), key=lambda r: r.id)
        }
    if report.frameworks:
        data["compliance"] = compliance(report, report.results)
    if report.nuclei is not None:
        data["nuclei"] = dict(report.nuclei)
    if report.inventory_digest:
        data["inventory_sha256"] = report.inventory_digest
    if report.shard is not None:
        data["shard"] = {
            "index": report.shard[0],
            "count": report.shard[1],
            "inputs": dict(sorted(report.inputs.items())),
            "expected": list(report.expected),
        }
    return data


def _report(report: Report) -> dict[str, Any]:
    return {
        "started": _time(report.started),
        "finished": _time(report.finished),
        "auditor_version": report.auditor_version,
        "inventory": report.inventory,
        "fail_on": report.fail_on.value,
        "verdict": report.verdict.value,
        "ran_from": report.ran_from,
        "rule_packs": [
            {"name": p.name, "path": p.path, "sha256": p.digest} for p in report.rule_packs
        ],
        "summary": summary(report),
    }


def summary(report: Report) -> dict[str, int]:
    counts = {"targets": 0, "go": 0, "incomplete": 0} | {s.value: 0 for s in Status}
    for standing in standings(report.results, report.fail_on):  # no read of the findings
        counts["targets"] += 1
        counts["go"] += standing.verdict.value == "go"
        counts["incomplete"] += not standing.complete
        for status, number in standing.counts.items():
            counts[status.value] += number
    return counts


def target_to_dict(result: TargetResult, report: Report, version: int = LATEST) -> dict[str, Any]:
    target = result.target
    return (
        {
            "name": target.name,
            "address": target.address,
            "ip": str(target.ip) if target.ip else "",
            "kind": target.kind,
            "line": target.line,
            "tags": dict(target.tags),
            "verdict": result.verdict.value,
            "complete": result.complete,
            "blocking": len(blocking(result.findings, report.fail_on)),
            "change": _change(target.change),
            "errors": [{"probe": e.probe, "message": e.message} for e in result.errors],
            "notes": list(result.notes),
            "findings": [finding_to_dict(f, version) for f in result.findings],
        }
        | ({"compliance": compliance(report, [result])} if report.frameworks else {})
        | ({"facts": _jsonable(result.facts)} if result.facts is not None else {})
    )


COMPLIANCE_COUNTS = ("pass", "fail", "error", "not_applicable", "not_covered")


def compliance(report: Report, results: Iterable[TargetResult]) -> dict[str, Any]:
    """Per framework asked for (`--framework`), per section: how many controls pass, fail,
    err, do not apply or are not covered, summed over `results` (read one at a time), and
    the share that passes of those judged (pass + fail + error)."""
    sections_of: dict[str, dict[str, dict[str, Any]]] = {f.name: {} for f in report.frameworks}
    for result in results:
        statuses: dict[str, list[str]] = {}
        for finding in result.findings:
            statuses.setdefault(finding.rule, []).append(finding.status.value)
        for fw in report.frameworks:
            sections = sections_of[fw.name]
            for section, row in section_summary(fw, statuses).items():
                into: dict[str, Any] = sections.setdefault(
                    section, dict.fromkeys(COMPLIANCE_COUNTS, 0)
                )
                for key in COMPLIANCE_COUNTS:
                    into[key] += row[key]
    totals: dict[str, Any] = {}
    for fw in report.frameworks:
        rows = sections_of[fw.name]
        total: dict[str, Any] = {k: sum(r[k] for r in rows.values()) for k in COMPLIANCE_COUNTS}
        for line in [*rows.values(), total]:
            judged = line["pass"] + line["fail"] + line["error"]
            line["percent"] = round(100 * line["pass"] / judged) if judged else None
        totals[fw.name] = {"title": fw.title, "sections": rows, "total": total}
    return totals


def finding_to_dict(finding: Finding, version: int = LATEST) -> dict[str, Any]:
    data: dict[str, Any] = {"rule": finding.rule}
    if version < 2:
        data["title"] = finding.title
    data |= {
        "severity": finding.severity.value,
        "status": finding.status.value,
        "resource": finding.resource,
        "message": finding.message,
        "evidence": _jsonable(finding.evidence),
    }
    if version < 2:
        data |= {"references": list(finding.references), "remediation": finding.remediation}
    if finding.cause is not None:
        data["cause"] = finding.cause
    if finding.waiver is not None:
        w = finding.waiver
        data["waiver"] = {
            "approver": w.approver,
            "justification": w.justification,
            "expires": w.expires.isoformat(),
            "ticket": w.ticket,
        }
    return data


def _change(change: ChangeRecord | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "id": change.id,
        "approved": change.approved,
        "owner": change.owner,
        "go_live": change.go_live.isoformat() if change.go_live else None,
        "data": list(change.data),
        "retention_days": change.retention_days,
        "exposes": [
            {"port": e.port, "proto": e.proto, "service": e.service, "to": e.to}
            for e in change.exposes
        ],
    }


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
