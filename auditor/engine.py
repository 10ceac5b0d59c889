"""Runs an audit: probes concurrently, evaluates rules, applies the gate, builds the report.

Each probe runs in its own thread and manages its own bounded pool; a probe that needs
another (service probes need the port scan) starts as soon as that one is done, so a slow
SSH stage never delays the port scan or the services. Only the probes that some rule of a target
needs are run on that target. A probe that crashes is contained: its targets get an error
fact and the run goes on (fail closed), because one broken probe must not hide the others'
findings nor make a server look clean.
"""

from __future__ import annotations

import getpass
import logging
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from auditor import __version__
from auditor.errors import ScopeError
from auditor.gate import judge
from auditor.inventory import Inventory
from auditor.models import (
    ProbeError,
    ProbeOutcome,
    Report,
    RuleInfo,
    Severity,
    Target,
    TargetResult,
)
from auditor.probes.base import FactPath, Probe
from auditor.progress import Progress
from auditor.rules import RuleCatalog
from auditor.rules.sandbox import shared_sandbox
from auditor.spool import ResultSpool, StoredResults
from auditor.untrusted import clean, clean_facts
from auditor.waivers import WaiverSet, today_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditSettings:
    fail_on: Severity = Severity.HIGH
    timeout: float = 120.0
    """Deadline for one probe on one target, in seconds."""
    show_progress: bool = True
    waivers: WaiverSet = field(default_factory=WaiverSet)
    today: date | None = None
    """The UTC date waivers are judged against (default: today)."""
    on_result: Callable[[TargetResult], None] | None = None
    """Called as each target is judged (run history stores it at once)."""
    include_facts: bool = False
    """Keep every target's full facts in its result (memory grows with the fleet)."""


def _fact_paths(catalog: RuleCatalog, targets: Sequence[Target]) -> dict[str, frozenset[FactPath]]:
    """Each target's fact paths its rules read, worked out once per list of packs (a
    target's rules are its packs' rules)."""
    by_packs: dict[tuple[str, ...], frozenset[FactPath]] = {}
    for target in targets:
        if target.rules not in by_packs:
            rules = catalog.rules_for(target)
            by_packs[target.rules] = frozenset(p for rule in rules for p in rule.fact_paths)
    return {target.name: by_packs[target.rules] for target in targets}


def run_audit(
    inventory: Inventory,
    catalog: RuleCatalog,
    probes: Sequence[Probe],
    settings: AuditSettings | None = None,
) -> Report:
    settings = settings or AuditSettings()
    started = datetime.now(UTC)
    targets = inventory.targets
    by_root = {root: probe for probe in probes for root in probe.roots}
    needs = {
        t.name: _with_dependencies(
            {p for rule in catalog.rules_for(t) for p in rule.required_probes}, by_root
        )
        for t in targets
    }
    progress = Progress(
        sum(len(n & set(by_root)) for n in needs.values()), enabled=settings.show_progress
    )
    tracker = _Tracker(targets, needs, set(by_root), catalog, settings, progress)
    paths = _fact_paths(catalog, targets)
    for probe in probes:
        probe.plan(needs, paths)
    # Each probe starts as soon as the probes it needs have finished; the pool has a worker
    # per probe, so waiting on a prerequisite can never starve it. Not a `with` block: on
    # Ctrl-C the caller must not wait for probes still talking to slow servers.
    pool = ThreadPoolExecutor(max(1, len(probes)), thread_name_prefix="probe")
    tracker.start()
    try:
        futures: dict[str, Future[None]] = {}
        for probe in _in_dependency_order(probes):
            prerequisites = [futures[by_root[n].name] for n in probe.needs if n in by_root]
            futures[probe.name] = pool.submit(
                _run_probe, probe, prerequisites, targets, needs, tracker, inventory, settings
            )
        running = set(futures.values())
        while running:
            # Wait in short slices: a Ctrl-C the kernel hands to a worker thread only sets
            # a flag, which this thread sees when it runs Python again, never while it
            # blocks on a lock (a run once ignored Ctrl-C for good that way).
            finished, running = wait(running, timeout=SIGNAL_SLICE, return_when=FIRST_EXCEPTION)
            for future in finished:
                future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        progress.close()
    pool.shutdown()
    results = tracker.finish()
    return Report(
        started=started,
        finished=datetime.now(UTC),
        auditor_version=__version__,
        inventory=inventory.path,
        fail_on=settings.fail_on,
        results=results,
        rule_packs=catalog.info(),
        rules={
            r.id: RuleInfo(
                r.id, r.title, r.severity, r.rationale, r.remediation, r.references, r.pack
            )
            for r in catalog.all_rules()
        },
        waivers_file=settings.waivers.path or None,
        ran_from=_ran_from(),
    )


SIGNAL_SLICE = 0.2
"""Seconds the run's main thread waits at a time, so that Ctrl-C is always seen."""

ADHOC_NOTE = "ad-hoc scan: no change record was checked; every open port counts as undeclared"


class _Tracker:
    """Collects outcomes as probes deliver them and judges each target as soon as every
    probe it needs has reported, so finished servers are recorded even if the run stops."""

    def __init__(
        self,
        targets: Sequence[Target],
        needs: Mapping[str, set[str]],
        available: set[str],
        catalog: RuleCatalog,
        settings: AuditSettings,
        progress: Progress,
    ) -> None:
        self.targets = {t.name: t for t in targets}
        self.order = [t.name for t in targets]
        self.needs = needs
        self.pending = {t.name: needs[t.name] & available for t in targets}
        self.outcomes: dict[str, dict[str, ProbeOutcome]] = {t.name: {} for t in targets}
        """Facts of targets still waiting for a probe; dropped the moment one is judged."""
        self.delivered: dict[str, set[str]] = {t.name: set() for t in targets}
        self.results = ResultSpool(settings.fail_on)
        """Judged targets go to disk at once: memory follows concurrency, not the fleet."""
        self.catalog = catalog
        self.settings = settings
        self.progress = progress
        self._lock = threading.Lock()
        self._watchers: list[tuple[frozenset[str], queue.SimpleQueue[str]]] = []
        self._judging = threading.Lock()
        self.sandbox = shared_sandbox()

    def start(self) -> None:
        """Judge the targets that need no probe at all."""
        for name in self.order:
            if not self.pending[name]:
                self._judge(name)

    def outcome(self, probe: Probe) -> Callable[[str, ProbeOutcome], None]:
        """Where `probe` hands each outcome; an outcome for a root it does not provide is
        a broken probe, kept as an error of its first root rather than trusted."""

        def deliver(target: str, outcome: ProbeOutcome) -> None:
            if outcome.probe not in probe.roots:
                outcome = probe.failed(f"delivered facts of another probe ({outcome.probe!r})")
            self.deliver(target, outcome.probe, outcome)

        return deliver

    def deliver(self, target: str, probe: str, outcome: ProbeOutcome) -> None:
        outcome = _sanitised(outcome)
        with self._lock:
            if probe in self.delivered[target]:
                return  # the first outcome a probe reports for a target stands
            self.delivered[target].add(probe)
            self.outcomes[target][probe] = outcome
            self.pending[target].discard(probe)
            ready = not self.pending[target]
        for roots, arrivals in self._watchers:
            if probe in roots:
                arrivals.put(target)
        self.progress.advance(f"{probe}: {target}")
        if ready:
            self._judge(target)

    def watch(self, roots: Sequence[str]) -> queue.SimpleQueue[str]:
        """From now on, the name of every target on which one of `roots` is reported."""
        arrivals: queue.SimpleQueue[str] = queue.SimpleQueue()
        with self._lock:
            self._watchers.append((frozenset(roots), arrivals))
        return arrivals

    def has(self, target: str, probe: str) -> bool:
        with self._lock:
            return probe in self.delivered[target]

    def prior(self, target: str, probes: Sequence[str]) -> dict[str, ProbeOutcome]:
        with self._lock:
            return {n: self.outcomes[target][n] for n in probes}

    def _judge(self, name: str) -> None:
        target = self.targets[name]
        with self._lock:
            outcomes = self.outcomes.pop(name, {})
        for needed in sorted(self.needs[name] - set(outcomes)):
            outcomes[needed] = ProbeOutcome(
                needed, error=ProbeError(needed, "no probe of this kind is available")
            )
        settings = self.settings
        findings = settings.waivers.apply(
            target,
            self.sandbox.evaluate(target, self.catalog.rules_for(target), outcomes),
            settings.today or today_utc(),
        )
        errors = [o.error for o in outcomes.values() if o.error is not None]
        notes = [n for o in outcomes.values() for n in o.notes]
        if target.adhoc:
            notes.insert(0, ADHOC_NOTE)
        result = judge(target, findings, errors, settings.fail_on, notes)
        if settings.include_facts:
            facts = {name: dict(o.facts) for name, o in sorted(outcomes.items()) if o.ok}
            result = replace(result, facts=facts)
        with self._judging:  # one at a time: results and history writes stay in order
            if name in self.results:
                return
            self.results.add(result)
            if settings.on_result is not None:
                settings.on_result(result)

    def finish(self) -> StoredResults:
        for name in self.order:
            if name not in self.results:
                self._judge(name)
        return self.results.results(self.order)


def _ran_from() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for this uid (some containers)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def _sanitised(outcome: ProbeOutcome) -> ProbeOutcome:
    """The outcome with every string a server could have written made safe to show."""
    error = outcome.error
    if error is not None:
        error = ProbeError(clean(error.probe, 100), clean(error.message))
    return ProbeOutcome(
        outcome.probe,
        facts=clean_facts(outcome.facts),
        error=error,
        notes=tuple(clean(n) for n in outcome.notes),
    )


def _with_dependencies(names: set[str], probes: Mapping[str, Probe]) -> set[str]:
    """A probe's prerequisites must run on a target too (services need the port scan);
    `probes` is by fact root."""
    result = set(names)
    pending = list(names)
    while pending:
        probe = probes.get(pending.pop())
        for dependency in probe.needs if probe else ():
            if dependency not in result:
                result.add(dependency)
                pending.append(dependency)
    return result


def _in_dependency_order(probes: Sequence[Probe]) -> list[Probe]:
    ordered: list[Probe] = []
    remaining = list(probes)
    while remaining:
        ready = [p for p in remaining if set(p.needs) <= {r for o in ordered for r in o.roots}]
        if not ready:
            names = ", ".join(p.name for p in remaining)
            raise RuntimeError(f"probe dependencies cannot be satisfied: {names}")
        ordered += ready
        remaining = [p for p in remaining if p not in ready]
    return ordered


def _run_probe(
    probe: Probe,
    prerequisites: list[Future[None]],
    targets: Sequence[Target],
    needs: Mapping[str, set[str]],
    tracker: _Tracker,
    inventory: Inventory,
    settings: AuditSettings,
) -> None:
    wanted = {t.name: [r for r in probe.roots if r in needs[t.name]] for t in targets}
    chosen = [t for t in targets if wanted[t.name]]
    if not chosen:
        return
    runnable: list[Target] = []
    upstream: dict[str, dict[str, ProbeOutcome]] = {}

    def ready() -> Iterator[Target]:
        """Each target as soon as the probes this one builds on have reported there:
        services start on a server whose port scan is done, not after every server's.
        Each report is looked at once (a queue of them), so the cost stays linear in the
        fleet."""
        arrivals = tracker.watch(probe.needs)
        waiting = {t.name: t for t in chosen}
        check = list(waiting)  # once each: what was reported before the watch began
        while True:
            for name in check:
                target = waiting.get(name)
                if target is None or not all(tracker.has(name, n) for n in probe.needs):
                    continue
                del waiting[name]
                prior = tracker.prior(name, probe.needs)
                failed = [n for n, o in prior.items() if not o.ok]
                if failed:
                    why = f"not run: it needs the {', '.join(failed)} probe, which failed"
                    for root in wanted[name]:
                        tracker.deliver(name, root, probe.failed(why, root))
                    continue
                upstream[name] = prior
                runnable.append(target)
                yield target
            if not waiting:
                return
            ended = all(f.done() for f in prerequisites)  # before draining: no lost report
            check = _drained(arrivals, block=not ended)
            if ended and not check:
                for prerequisite in prerequisites:
                    prerequisite.result()  # a prerequisite that stopped the run stops this
                why = f"not run: the {', '.join(probe.needs)} probe reported nothing"
                for name in waiting:  # never reported there: this probe cannot run
                    for root in wanted[name]:
                        tracker.deliver(name, root, probe.failed(why, root))
                return

    deliver = tracker.outcome(probe)
    why = "probe returned no result for this target"
    try:
        found = probe.collect(ready(), inventory.scope, settings.timeout, deliver, upstream)
        for target_name, outcome in found.items():  # what the probe returned, not handed on
            deliver(target_name, outcome)
    except ScopeError:
        raise
    except Exception as exc:
        log.debug("probe %s crashed", probe.name, exc_info=True)
        why = f"probe crashed: {type(exc).__name__}: {exc}"
    for target in runnable:  # a root the probe forgot (or crashed on) never passes for clean
        for root in wanted[target.name]:
            if not tracker.has(target.name, root):
                tracker.deliver(target.name, root, probe.failed(why, root))


def _drained(arrivals: queue.SimpleQueue[str], block: bool) -> list[str]:
    """What has arrived; when `block`, waiting up to SIGNAL_SLICE for the first."""
    try:
        found = [arrivals.get(timeout=SIGNAL_SLICE) if block else arrivals.get_nowait()]
    except queue.Empty:
        return []
    while True:
        try:
            found.append(arrivals.get_nowait())
        except queue.Empty:
            return found
