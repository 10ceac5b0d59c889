"""Runs an audit: probes concurrently, evaluates rules, applies the gate, builds the report.

Each probe runs in its own thread and manages its own bounded pool, so a slow SSH stage
never waits for the port scan and vice versa. Only the probes that some rule of a target
needs are run on that target. A probe that crashes is contained: its targets get an error
fact and the run goes on (fail closed), because one broken probe must not hide the others'
findings nor make a server look clean.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from auditor import __version__
from auditor.errors import ScopeError
from auditor.gate import judge
from auditor.inventory import Inventory
from auditor.models import ProbeError, ProbeOutcome, Report, Severity, Target
from auditor.probes.base import Probe
from auditor.progress import Progress
from auditor.rules import RuleCatalog, evaluate_target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditSettings:
    fail_on: Severity = Severity.HIGH
    timeout: float = 120.0
    """Deadline for one probe on one target, in seconds."""
    show_progress: bool = True


def run_audit(
    inventory: Inventory,
    catalog: RuleCatalog,
    probes: Sequence[Probe],
    settings: AuditSettings | None = None,
) -> Report:
    settings = settings or AuditSettings()
    started = datetime.now(UTC)
    targets = inventory.targets
    needs = {
        t.name: {p for rule in catalog.rules_for(t) for p in rule.required_probes} for t in targets
    }
    plan = {probe.name: [t for t in targets if probe.name in needs[t.name]] for probe in probes}
    total = sum(len(members) for members in plan.values())
    progress = Progress(total, enabled=settings.show_progress)
    outcomes: dict[str, dict[str, ProbeOutcome]] = {t.name: {} for t in targets}
    try:
        with ThreadPoolExecutor(max(1, len(probes)), thread_name_prefix="probe") as pool:
            futures = {
                probe.name: pool.submit(
                    _collect, probe, plan[probe.name], inventory, settings, progress
                )
                for probe in probes
                if plan[probe.name]
            }
            for name, future in futures.items():
                for target_name, outcome in future.result().items():
                    outcomes[target_name][name] = outcome
    finally:
        progress.close()

    results = []
    for target in targets:
        target_outcomes = outcomes[target.name]
        for needed in sorted(needs[target.name] - set(target_outcomes)):
            target_outcomes[needed] = ProbeOutcome(
                needed, error=ProbeError(needed, "no probe of this kind is available")
            )
        findings = evaluate_target(target, catalog.rules_for(target), target_outcomes)
        errors = [o.error for o in target_outcomes.values() if o.error is not None]
        notes = [n for o in target_outcomes.values() for n in o.notes]
        results.append(judge(target, findings, errors, settings.fail_on, notes))
    return Report(
        started=started,
        finished=datetime.now(UTC),
        auditor_version=__version__,
        inventory=inventory.path,
        fail_on=settings.fail_on,
        results=tuple(results),
        rule_packs=catalog.info(),
    )


def _collect(
    probe: Probe,
    targets: list[Target],
    inventory: Inventory,
    settings: AuditSettings,
    progress: Progress,
) -> Mapping[str, ProbeOutcome]:
    try:
        found = dict(
            probe.collect(
                targets,
                inventory.scope,
                settings.timeout,
                lambda name: progress.advance(f"{probe.name}: {name}"),
            )
        )
    except ScopeError:
        raise
    except Exception as exc:
        log.debug("probe %s crashed", probe.name, exc_info=True)
        message = f"probe crashed: {type(exc).__name__}: {exc}"
        return {t.name: probe.failed(message) for t in targets}
    for target in targets:
        if target.name not in found:
            found[target.name] = probe.failed("probe returned no result for this target")
    return found
