"""Waivers: a known risk accepted for a while, by someone, for a reason (docs/waivers.md).

A waiver matches a rule id (or a glob of ids) on targets selected by name glob and/or tags.
It must expire: no expiry, or one further away than `max_days`, is rejected at load
(exit 2), because a waiver nobody revisits is a permanent hole. Dates are UTC calendar
days; a waiver applies through its `expires` day. It turns a `fail` into `waived` and never
touches `error`: an audit that could not look cannot be waived into a pass.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from auditor.models import Finding, Status, Target, Waiver
from auditor.yamlsource import Node, load_yaml

WAIVER_KEYS = {
    "rule",
    "target",
    "tags",
    "resource",
    "justification",
    "approver",
    "ticket",
    "expires",
}
DEFAULT_MAX_DAYS = 90


@dataclass(frozen=True)
class WaiverRule:
    waiver: Waiver
    target: str = "*"
    """Glob on the target name."""
    resource: str = "*"
    """Glob on the finding's resource (`port:6379/tcp`, `bucket:exports`)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    line: int | None = None

    def matches(self, target: Target, finding: Finding) -> bool:
        return (
            fnmatch.fnmatchcase(finding.rule, self.waiver.rule)
            and fnmatch.fnmatchcase(target.name, self.target)
            and fnmatch.fnmatchcase(finding.resource, self.resource)
            and all(target.tags.get(k) == v for k, v in self.tags.items())
        )


@dataclass(frozen=True)
class WaiverSet:
    rules: tuple[WaiverRule, ...] = ()
    path: str = ""

    def unmatched(self, rule_ids: Iterable[str], targets: Iterable[Target]) -> list[str]:
        """Waivers whose rule or target pattern matches nothing in this run: a typo would
        otherwise waive nothing, and nobody would be told."""
        rule_ids, targets = list(rule_ids), list(targets)
        problems = []
        for rule in self.rules:
            where = f"{self.path}:{rule.line}" if rule.line else self.path
            if not any(fnmatch.fnmatchcase(r, rule.waiver.rule) for r in rule_ids):
                problems.append(f"{where}: waiver for rule '{rule.waiver.rule}' matches no rule")
                continue
            if not any(
                fnmatch.fnmatchcase(t.name, rule.target)
                and all(t.tags.get(k) == v for k, v in rule.tags.items())
                for t in targets
            ):
                problems.append(
                    f"{where}: waiver for target '{rule.target}'"
                    + (f" with tags {dict(rule.tags)}" if rule.tags else "")
                    + " matches no server of this inventory"
                )
        return problems

    def apply(self, target: Target, findings: Iterable[Finding], today: date) -> list[Finding]:
        result = []
        for finding in findings:
            if finding.status is Status.FAIL:
                finding = self._waive(target, finding, today)
            result.append(finding)
        return result

    def _waive(self, target: Target, finding: Finding, today: date) -> Finding:
        expired: WaiverRule | None = None
        for rule in self.rules:
            if not rule.matches(target, finding):
                continue
            if today <= rule.waiver.expires:
                return replace(finding, status=Status.WAIVED, waiver=rule.waiver)
            expired = rule
        if expired is not None:
            note = (
                f" [waiver by {expired.waiver.approver} expired {expired.waiver.expires}"
                f" ({self.path}:{expired.line})]"
            )
            return replace(finding, message=finding.message + note)
        return finding


def today_utc() -> date:
    return datetime.now(UTC).date()


def load_waivers(
    path: str | Path, max_days: int = DEFAULT_MAX_DAYS, today: date | None = None
) -> WaiverSet:
    source = Path(path)
    root = Node.root(load_yaml(source), source)
    if root.value is None:
        return WaiverSet(path=str(source))
    root.mapping({"version", "waivers"})
    version = root.require("version").as_(int)
    if version != 1:
        raise root.require("version").error(f"unsupported waiver file version {version}")
    start = today or today_utc()
    rules = [_waiver(node, max_days, start) for node in root.require("waivers").items()]
    return WaiverSet(tuple(rules), str(source))


def _waiver(node: Node, max_days: int, today: date) -> WaiverRule:
    node.mapping(WAIVER_KEYS)
    expires_node = node.get("expires")
    if expires_node is None:
        raise node.error(
            "a waiver must have an `expires` date", hint="add e.g. `expires: 2026-12-31` (UTC)"
        )
    expires = expires_node.convert(_date, "an ISO date like 2026-12-31")
    if (expires - today).days > max_days:
        raise expires_node.error(
            f"expires {expires}, more than {max_days} days from today ({today})",
            hint="shorten it, or raise --max-waiver-days if policy allows",
        )
    tags = node.get("tags")
    target, resource, ticket = node.get("target"), node.get("resource"), node.get("ticket")
    return WaiverRule(
        waiver=Waiver(
            rule=node.require("rule").string(),
            approver=node.require("approver").string(),
            justification=node.require("justification").string(),
            expires=expires,
            ticket=ticket.string() if ticket else None,
        ),
        target=target.string() if target else "*",
        resource=resource.string() if resource else "*",
        tags={k: str(v.value) for k, v in tags.entries()} if tags else {},
        line=node.line,
    )


def _date(value: object) -> date:
    if isinstance(value, datetime):
        raise ValueError("give a date, not a date and time")
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
