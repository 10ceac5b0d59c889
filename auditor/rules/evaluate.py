"""Judging rules against facts: a pure function, no I/O, safe to run from any thread.

Fail closed: a rule whose facts could not be collected, or whose expression fails on the
facts it got, yields `error` — never `pass`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from auditor.cloud import providers
from auditor.models import Finding, ProbeOutcome, Status, Target
from auditor.rules.context import base_context
from auditor.rules.expression import EvaluationError, pick
from auditor.rules.spec import PLACEHOLDER, Rule


def evaluate_target(
    target: Target, rules: Iterable[Rule], outcomes: Mapping[str, ProbeOutcome]
) -> list[Finding]:
    context = base_context(target, outcomes)
    findings: list[Finding] = []
    for rule in rules:
        failed = [
            outcomes[p].error
            for p in sorted(rule.required_probes)
            if p in outcomes and outcomes[p].error is not None
        ]
        missing = [p for p in sorted(rule.required_probes) if p not in outcomes]
        if failed or missing:
            reason = "; ".join(
                [f"{e.probe} probe failed: {e.message}" for e in failed if e is not None]
                + [f"{p} probe did not run" for p in missing]
            )
            cause = ", ".join([e.probe for e in failed if e is not None] + missing)
            finding = _finding(rule, Status.ERROR, _all_resources(rule), reason, {})
            findings.append(replace(finding, cause=cause))
            continue
        unknown = _records_unknown(rule, context)
        if unknown:
            findings.append(_finding(rule, Status.ERROR, _all_resources(rule), unknown, {}))
            continue
        for resource, scoped in _resources(rule, context):
            findings.append(evaluate_rule(rule, resource, scoped))
    return findings


def _records_unknown(rule: Rule, context: Mapping[str, Any]) -> str:
    """Why the records a per-resource rule would judge were not collected, else "".

    A kind whose records sit in a fact that a probe may leave out (the host's listening
    sockets, under `host.unavailable` when `ss` failed) has nothing to judge then: without
    this the rule would yield no finding at all, a silent pass."""
    source = _COLLECTED_IN.get(rule.applies_to)
    if source is None:
        return ""
    root, fact = source
    facts = context.get(root)
    if not isinstance(facts, Mapping) or fact in facts:
        return ""
    why = (facts.get("unavailable") or {}).get(fact, "not collected")
    return f"rule could not be evaluated: {root}.{fact}: {why}"


def evaluate_rule(rule: Rule, resource: str, context: Mapping[str, Any]) -> Finding:
    context = {**context, "params": dict(rule.params)}
    try:
        if rule.when is not None:
            applies = rule.when.evaluate(context)
            if not isinstance(applies, bool):
                raise EvaluationError(f"`when` gave {type(applies).__name__}, not a boolean")
            if not applies:
                return _finding(rule, Status.SKIP, resource, "not applicable", {})
        problem = _resource_error(rule, context)
        if problem:
            return _finding(rule, Status.ERROR, resource, problem, {})
        verdict = rule.check.evaluate(context)
        if not isinstance(verdict, bool):
            raise EvaluationError(f"`check` gave {type(verdict).__name__}, not a boolean")
        evidence = _evidence(rule, context)
    except EvaluationError as exc:
        why = f"rule could not be evaluated: {exc}{_unavailable(rule, context)}"
        return _finding(rule, Status.ERROR, resource, why, {})
    if verdict:
        return _finding(rule, Status.PASS, resource, "", evidence)
    message = render(rule.message or rule.title, {**context, "evidence": evidence})
    return _finding(rule, Status.FAIL, resource, message, evidence)


# Where each resource kind's records live in the context, and how a report names one.
_RESOURCES: Mapping[str, tuple[Callable[[Mapping[str, Any]], list[Any]], Callable[[Any], str]]] = {
    "port": (
        lambda c: c.get("ports", []),
        lambda p: f"port:{p['number']}/{p['proto']}",
    ),
    "service": (
        lambda c: c.get("services", []),
        lambda s: f"service:{s['kind']}@{s['port']}/{s['proto']}",
    ),
    "tls": (
        lambda c: c.get("tls_endpoints", []),
        lambda t: f"tls:{t['port']}/{t['proto']}",
    ),
    "listener": (
        lambda c: list(c.get("host", {}).get("listening", [])),
        lambda s: f"listener:{_socket(s['address'], s['port'])}",
    ),
    **{k.name: (k.records, k.resource) for p in providers() for k in p.kinds},
}
_COLLECTED_IN: Mapping[str, tuple[str, str]] = {"listener": ("host", "listening")}
"""Kinds whose records a probe may fail to collect while its other facts arrive."""


def _socket(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _resources(rule: Rule, context: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    if rule.applies_to == "host":
        yield "host", dict(context)
        return
    records, name = _RESOURCES[rule.applies_to]
    for record in records(context):
        yield name(record), {**context, rule.applies_to: record}


def _unavailable(rule: Rule, context: Mapping[str, Any]) -> str:
    """Why facts this rule reads were not collected (a probe's `unavailable` map)."""
    sources = " ".join(e.source for e in (rule.check, rule.when, rule.evidence) if e is not None)
    reasons = []
    for root in sorted(rule.fact_roots):
        value = context.get(root)
        missing = value.get("unavailable") if isinstance(value, Mapping) else None
        if isinstance(missing, Mapping):
            reasons += [
                f"{root}.{name}: {why}"
                for name, why in sorted(missing.items())
                if f"{root}.{name}" in sources
            ]
    return f" ({'; '.join(reasons)})" if reasons else ""


def _resource_error(rule: Rule, context: Mapping[str, Any]) -> str:
    """A resource whose own check failed (a service that timed out) cannot pass any rule."""
    resource = context.get(rule.applies_to)
    if isinstance(resource, Mapping) and resource.get("error"):
        return str(resource["error"])
    return ""


def error_finding(rule: Rule, message: str) -> Finding:
    """One `error` finding for every resource of the rule (it could not be judged)."""
    return _finding(rule, Status.ERROR, _all_resources(rule), message, {})


def _all_resources(rule: Rule) -> str:
    return "host" if rule.applies_to == "host" else f"{rule.applies_to}:*"


def _evidence(rule: Rule, context: Mapping[str, Any]) -> dict[str, Any]:
    if rule.evidence is not None:
        value = rule.evidence.evaluate(context)
        return value if isinstance(value, dict) else {"value": value}
    picked: dict[str, Any] = {}
    for root, fields in rule.evidence_paths:
        if root not in context:
            continue
        pick(picked, root, context[root], fields)
    if rule.applies_to != "host" and rule.applies_to not in picked:
        picked[rule.applies_to] = context[rule.applies_to]  # a resource always shows itself
    return picked


def render(template: str, context: Mapping[str, Any]) -> str:
    """Fill `{port.number}`-style placeholders from the facts, in plain words.

    Deliberately not `str.format`: a rule pack must not be able to reach Python attributes.
    A path the facts lack (placeholders are checked at load, so only a fact a probe did not
    report) reads "unknown"; an empty value takes the placeholder's fallback
    (`{port.service|unnamed}`) or "not set".
    """

    def lookup(match: re.Match[str]) -> str:
        value: Any = context
        for part in match.group(1).split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            else:
                return "unknown"
        fallback = match.group(2)
        if fallback is not None and _empty(value):
            return fallback
        return words(value)

    return PLACEHOLDER.sub(lookup, template).strip()


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | dict) and not value)


def words(value: Any) -> str:
    """A fact as a person would write it: yes/no, "not set", "none", lists with commas,
    mappings as sorted `key: value` pairs; never a Python literal."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "not set"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        if not value:
            return "none"
        return ", ".join(f"{k}: {words(v)}" for k, v in sorted(value.items(), key=str))
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        joiner = "; " if any(isinstance(v, Mapping) for v in value) else ", "
        return joiner.join(words(v) for v in value)
    return str(value)


def canonical(value: Any) -> Any:
    """Mappings with sorted keys, all the way down: CEL's maps come back in no stable order,
    and the same facts must give byte-identical JSON, SARIF and diffs."""
    if isinstance(value, Mapping):
        return {str(k): canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def _finding(
    rule: Rule, status: Status, resource: str, message: str, evidence: Mapping[str, Any]
) -> Finding:
    return Finding(
        rule=rule.id,
        title=rule.title,
        severity=rule.severity,
        status=status,
        resource=resource,
        message=message,
        evidence=canonical(evidence),
        references=rule.references,
        remediation=rule.remediation,
    )
