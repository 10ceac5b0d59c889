"""What changed since the last finished audit of the same inventory, as alerts.

- `new` (`--alert-on new`): failing findings never alerted on before, and servers that
  went from GO to NO-GO or incomplete;
- `changed`: those, plus every other change of a server's verdict (NO-GO to GO included);
- `any`: as `changed`, and on an inventory's first run every failing finding and every
  server that is not GO (otherwise the first run only sets the baseline).

A failing finding alerts once: the history remembers it (table `alerted`) until a run
judges it resolved, so the same open finding does not alert on every run, and one that
comes back after being fixed alerts again. A finding that could not be judged this time
(`error`, or its server incomplete) is neither new nor resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.history import History

ALERT_ON = ("new", "changed", "any")
WORSE = {("go", "no-go"), ("go", "incomplete")}


@dataclass(frozen=True)
class Alert:
    kind: str
    """`new-finding` or `verdict`."""
    target: str
    summary: str
    """One line, for a person: what changed where."""
    rule: str = ""
    resource: str = ""
    severity: str = ""
    before: str = ""
    after: str = ""

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v != ""}


@dataclass(frozen=True)
class Drift:
    alerts: tuple[Alert, ...]
    baseline: bool
    """True when this was the inventory's first finished run: nothing to compare with."""
    opened: frozenset[tuple[str, str, str]] = frozenset()
    """Failing findings this run alerts on for the first time: remembered as alerted only
    once the alerts were delivered (`record`)."""
    resolved: frozenset[tuple[str, str, str]] = frozenset()


def record(history: History, inventory: str, run_id: int, found: Drift, delivered: bool) -> None:
    """Remember what was alerted, only when it reached every destination: after a failed
    delivery the next run alerts on the same findings and verdict changes again."""
    if delivered:
        history.update_alerted(inventory, run_id, set(found.opened), set(found.resolved))
    else:
        history.update_alerted(inventory, run_id, set(), set(found.resolved))
        history.mark_undelivered(run_id)


def drift(history: History, inventory: str, run_id: int, alert_on: str) -> Drift:
    """The alerts of run `run_id`; nothing is written (see `record`)."""
    previous = history.previous_finished(inventory, run_id)
    now = history.findings(run_id)
    verdicts = history.verdicts(run_id)
    complete = history.complete_targets(run_id)
    already = history.alerted(inventory)
    failing = {
        (target, f["rule"], f["resource"]): f
        for target, findings in now.items()
        for f in findings
        if f["status"] == "fail"
    }
    judged_fine = {
        (target, f["rule"], f["resource"])
        for target, findings in now.items()
        for f in findings
        if f["status"] in ("pass", "skip", "waived")
    }
    # Resolved: judged fine now, or gone from a server this run audited completely.
    resolved = {
        key for key in already if key not in failing and (key in judged_fine or key[0] in complete)
    }
    opened = set(failing) - already
    alerts: list[Alert] = []
    if previous is not None or alert_on == "any":
        alerts += [_finding_alert(key, failing[key]) for key in sorted(opened)]
    before = history.verdicts(previous) if previous is not None else {}
    for target in sorted(verdicts):
        after = verdicts[target]
        was = before.get(target, "")  # "" for a server the last run did not have
        if previous is None and alert_on != "any":
            continue
        if was == after or (not was and after == "go"):
            continue
        worse = (was or "go", after) in WORSE
        if worse or alert_on in ("changed", "any"):
            alerts.append(
                Alert(
                    "verdict",
                    target,
                    f"{target}: {(was or 'new server').upper()} → {after.upper()}",
                    before=was or "none",
                    after=after,
                )
            )
    return Drift(tuple(alerts), previous is None, frozenset(opened), frozenset(resolved))


def _finding_alert(key: tuple[str, str, str], finding: dict[str, Any]) -> Alert:
    target, rule, resource = key
    severity = str(finding.get("severity", ""))
    return Alert(
        "new-finding",
        target,
        f"{target}: new {severity} finding {rule} on {resource}: {finding.get('message', '')}",
        rule=rule,
        resource=resource,
        severity=severity,
    )
