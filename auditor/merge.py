"""Shards: split one inventory's servers over several runs, then merge their JSON reports.

`--shard K/N` keeps the servers whose name hashes to K (SHA-256 of the name, modulo N, so
adding a server moves only that server). `auditor merge` reads the N shard reports back and
refuses anything that would make the merged verdict a lie: shards whose inputs differ (any
digest of `auditor.runinputs`: inventory and imports, rules and selection, parameters,
waivers, check files, options, version), a shard missing or given twice, a server judged in
two shards, a server of the inventory judged by none. Verdicts are recomputed from the
findings. The merged report is a normal `Report`, so every format renders it.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from auditor.errors import InputError
from auditor.gate import judge
from auditor.models import (
    ChangeRecord,
    Exposure,
    Finding,
    ProbeError,
    Report,
    RuleInfo,
    RulePackInfo,
    Severity,
    Status,
    Target,
    TargetResult,
    Verdict,
    Waiver,
)
from auditor.reporting.serialize import SCHEMAS
from auditor.runinputs import INPUT_NAMES
from auditor.yamlsource import read_json

_T = TypeVar("_T")


@dataclass(frozen=True)
class Shard:
    index: int
    """1-based: `--shard 1/3` is the first of three."""
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, sep, count = text.partition("/")
        if not sep or not index.isdigit() or not count.isdigit():
            raise InputError(f"--shard {text!r}: expected K/N, e.g. 1/3")
        shard = cls(int(index), int(count))
        if not 1 <= shard.index <= shard.count:
            raise InputError(f"--shard {text!r}: K must be 1 to N")
        return shard

    def owns(self, name: str) -> bool:
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def select(targets: Sequence[Target], shard: Shard | None) -> tuple[Target, ...]:
    return tuple(targets) if shard is None else tuple(t for t in targets if shard.owns(t.name))


def load_report(path: Path) -> dict[str, Any]:
    data = read_json(path, "an auditor report")
    if not isinstance(data, dict) or data.get("schema") not in SCHEMAS.values():
        raise InputError("not an auditor-report/1 or /2 JSON report", path=path)
    return data


def merge(paths: Sequence[Path]) -> Report:
    """One report from shard reports, or an InputError saying why they do not fit."""
    if not paths:
        raise InputError("give the JSON reports of every shard")
    reports = [(path, load_report(path)) for path in paths]
    first_path, first = reports[0]

    def same(key: str, describe: str) -> None:
        for path, data in reports[1:]:
            if data.get(key) != first.get(key):
                raise InputError(
                    f"{describe} differs from {first_path.name}'s "
                    f"({data.get(key)!r} vs {first.get(key)!r})",
                    path=path,
                    hint="merge only the shards of one run",
                )

    same("inventory_sha256", "the inventory")
    same("auditor_version", "the auditor version")
    same("fail_on", "--fail-on")
    packs = {p["name"]: p["sha256"] for p in first.get("rule_packs", [])}
    for path, data in reports[1:]:
        if {p["name"]: p["sha256"] for p in data.get("rule_packs", [])} != packs:
            raise InputError("other rule packs (digests differ)", path=path)
    shards = [(path, data.get("shard")) for path, data in reports]
    counts = {s["count"] for _, s in shards if isinstance(s, Mapping)}
    if any(not isinstance(s, Mapping) for _, s in shards) or len(counts) != 1:
        raise InputError(
            "every report must come from a `--shard K/N` run of the same N",
            path=next((p for p, s in shards if not isinstance(s, Mapping)), first_path),
        )
    (count,) = counts
    _same_inputs(reports)
    seen: dict[int, Path] = {}
    for path, shard in shards:
        assert isinstance(shard, Mapping)
        if shard["index"] in seen:
            raise InputError(f"shard {shard['index']}/{count} given twice", path=path)
        seen[shard["index"]] = path
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise InputError(
            f"shard(s) {', '.join(f'{m}/{count}' for m in missing)} missing: their servers "
            "were not audited, so no verdict can be given for them"
        )
    rules: dict[str, RuleInfo] = {}
    for path, data in reports:
        rules |= _parsed(path, _catalogue, data)
    results: list[TargetResult] = []
    names: dict[str, Path] = {}
    for path, data in reports:
        for target in data.get("targets", []):
            if target["name"] in names:
                raise InputError(f"server {target['name']} is in two shards", path=path)
            names[target["name"]] = path
            results.append(_parsed(path, _result, target, rules))
    expected = first["shard"]["expected"]
    never = sorted(set(expected) - set(names))
    if never:
        raise InputError(
            f"{len(never)} server(s) of the inventory judged by no shard: "
            f"{', '.join(never[:5])}{' ...' if len(never) > 5 else ''}",
            hint="a shard ran on another inventory or failed before judging them; re-run it",
        )
    strays = sorted(set(names) - set(expected))
    if strays:
        raise InputError(
            f"server(s) not in the inventory the shards share: {', '.join(strays[:5])}",
            path=names[strays[0]],
        )
    fail_on = Severity(first["fail_on"])
    # Verdicts are recomputed from findings, errors and --fail-on, never taken as stored:
    # an edited `verdict: go` beside two critical failures stays what its findings say.
    results = [judge(r.target, r.findings, r.errors, fail_on, r.notes) for r in results]
    order = sorted(results, key=lambda r: (r.target.line or 0, r.target.name))
    return Report(
        started=min(_moment(d["started"]) for _, d in reports),
        finished=max(_moment(d["finished"]) for _, d in reports),
        auditor_version=str(first["auditor_version"]),
        inventory=str(first["inventory"]),
        fail_on=Severity(first["fail_on"]),
        results=tuple(order),
        rule_packs=tuple(
            RulePackInfo(p["name"], p.get("path", ""), p["sha256"]) for p in first["rule_packs"]
        ),
        rules=rules or _rules(results),
        ran_from=", ".join(sorted({str(d.get("ran_from", "")) for _, d in reports} - {""})),
        inventory_digest=str(first.get("inventory_sha256", "")),
        inputs=dict(first["shard"]["inputs"]),
        expected=tuple(expected),
    )


def _same_inputs(reports: Sequence[tuple[Path, Mapping[str, Any]]]) -> None:
    """Every shard digested the same inputs and expects the same servers, or a refusal
    naming the first input that differs."""
    first_path, first = reports[0]
    for path, data in reports:
        shard = data["shard"]
        if not isinstance(shard.get("inputs"), Mapping) or not isinstance(
            shard.get("expected"), list
        ):
            raise InputError(
                "the report does not say which inputs its shard audited (an auditor before 0.5.0?)",
                path=path,
                hint="re-run every shard with this auditor version",
            )
    inputs = first["shard"]["inputs"]
    for path, data in reports[1:]:
        other = data["shard"]["inputs"]
        for name in sorted(set(inputs) | set(other)):
            if inputs.get(name) != other.get(name):
                raise InputError(
                    f"{INPUT_NAMES.get(name, name)} differs from {first_path.name}'s",
                    path=path,
                    hint="run every shard with the same inventory, imports, rules, "
                    "parameters, waivers and options",
                )
        if sorted(data["shard"]["expected"]) != sorted(first["shard"]["expected"]):
            raise InputError(f"expects other servers than {first_path.name}", path=path)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _parsed(path: Path, parse: Callable[..., _T], *args: Any) -> _T:
    """`parse(*args)`, with a report that lacks what its schema promises refused in one
    line (exit 2) instead of a traceback."""
    try:
        return parse(*args)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(
            f"malformed report: {type(exc).__name__}: {exc}",
            path=path,
            hint="merge the JSON reports exactly as `auditor audit --shard` wrote them",
        ) from None


def _catalogue(data: Mapping[str, Any]) -> dict[str, RuleInfo]:
    """Schema 2's `rules` map (schema 1 repeats the same in every finding instead)."""
    return {
        rule_id: RuleInfo(
            rule_id,
            str(rule.get("title", "")),
            Severity(rule["severity"]),
            str(rule.get("rationale", "")),
            str(rule.get("remediation", "")),
            tuple(rule.get("references", [])),
            str(rule.get("pack", "")),
        )
        for rule_id, rule in dict(data.get("rules", {})).items()
    }


def _result(data: Mapping[str, Any], rules: Mapping[str, RuleInfo]) -> TargetResult:
    ip = data.get("ip") or None
    target = Target(
        name=data["name"],
        address=data["address"],
        ip=ipaddress.ip_address(ip) if ip else None,
        tags=dict(data.get("tags", {})),
        change=_change(data.get("change")),
        line=data.get("line"),
        kind=data.get("kind", "server"),
    )
    return TargetResult(
        target=target,
        verdict=Verdict(data["verdict"]),
        complete=bool(data["complete"]),
        errors=tuple(ProbeError(e["probe"], e["message"]) for e in data.get("errors", [])),
        findings=tuple(_finding(f, rules.get(f["rule"])) for f in data.get("findings", [])),
        notes=tuple(data.get("notes", [])),
        facts=data.get("facts"),
    )


def _change(data: Mapping[str, Any] | None) -> ChangeRecord | None:
    if data is None:
        return None
    return ChangeRecord(
        id=data["id"],
        approved=bool(data["approved"]),
        owner=data.get("owner"),
        go_live=date.fromisoformat(data["go_live"]) if data.get("go_live") else None,
        data=tuple(data.get("data", [])),
        retention_days=data.get("retention_days"),
        exposes=tuple(
            Exposure(e["port"], e.get("proto", "tcp"), e.get("service"), e.get("to", "internal"))
            for e in data.get("exposes", [])
        ),
    )


def _finding(data: Mapping[str, Any], rule: RuleInfo | None) -> Finding:
    waiver = data.get("waiver")
    if rule is not None:  # schema 2: what the rule says is stated once, in `rules`
        data = {
            "title": rule.title,
            "references": rule.references,
            "remediation": rule.remediation,
        } | dict(data)
    return Finding(
        rule=data["rule"],
        title=data["title"],
        severity=Severity(data["severity"]),
        status=Status(data["status"]),
        resource=data["resource"],
        message=data["message"],
        evidence=data.get("evidence", {}),
        references=tuple(data.get("references", [])),
        remediation=data.get("remediation", ""),
        waiver=Waiver(
            rule=data["rule"],
            approver=waiver["approver"],
            justification=waiver["justification"],
            expires=date.fromisoformat(waiver["expires"]),
            ticket=waiver.get("ticket"),
        )
        if waiver
        else None,
        cause=data.get("cause"),
    )


def _rules(results: Sequence[TargetResult]) -> dict[str, RuleInfo]:
    """What reporters need to explain each rule, from the findings themselves."""
    rules: dict[str, RuleInfo] = {}
    for result in results:
        for f in result.findings:
            rules.setdefault(
                f.rule, RuleInfo(f.rule, f.title, f.severity, "", f.remediation, f.references, "")
            )
    return rules
