"""An audit from request to report: the application layer under the CLI.

`prepare` checks the request and reads every input (inventory, rule packs, waivers) and
digests them, without touching a server: a bad input is an `InputError` (exit 2) that
costs no probing. `run` probes, judges, records the history, alerts, writes the evidence
bundle and returns the report. `execute` is both, for a library caller; the CLI opens its
report files between the two, so that a bad output path also costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from auditor import __version__
from auditor.app.alerting import alert
from auditor.app.draft import draft_inventory
from auditor.app.request import AdhocHosts, AuditRequest, InventoryFile
from auditor.engine import AuditSettings, run_audit
from auditor.errors import InputError
from auditor.evidence import bundle as evidence
from auditor.evidence.sshsig import SignatureError
from auditor.history import History, inventory_key
from auditor.inventory import Inventory, adhoc_inventory, load_inventory
from auditor.inventory.ansible import ansible_servers
from auditor.inventory.terraform import terraform_sources
from auditor.merge import select
from auditor.models import Report, Target
from auditor.nuclei import NucleiSummary, load_templates
from auditor.probes.registry import ProbeSettings, build_probes
from auditor.probes.services.base import ServiceCheck
from auditor.probes.ssh.presence import without_absent_ssh
from auditor.probes.ssh.probe import LOGIN_ROOTS
from auditor.rules import RuleCatalog, catalog_for
from auditor.rules.frameworks import Framework, load_framework
from auditor.runinputs import input_digests
from auditor.waivers import WaiverSet, load_waivers

log = logging.getLogger("auditor")

Say = Callable[[str], None]
"""Where a run says what a person should read (warnings, alerts): stderr in the CLI."""


@dataclass(frozen=True)
class Prepared:
    """A request whose inputs are read and checked: what `run` probes and judges."""

    request: AuditRequest
    inventory: Inventory
    catalog: RuleCatalog
    waivers: WaiverSet
    inputs: dict[str, str]
    expected: tuple[str, ...]
    """Every server of the whole inventory (a shard audits some of them)."""
    frameworks: tuple[Framework, ...] = ()
    nuclei: tuple[tuple[ServiceCheck, ...], NucleiSummary] | None = None
    """The runnable nuclei templates as service checks, and what was skipped and why."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: the servers judged so far are in the history as `run_id`."""

    def __init__(self, run_id: int, kept: int) -> None:
        super().__init__(run_id, kept)
        self.run_id = run_id
        self.kept = kept


@dataclass(frozen=True)
class Outcome:
    report: Report
    alert_failures: int = 0
    """Alerts that could not be delivered (the verdict stands; the exit code says so)."""


def execute(request: AuditRequest, say: Say = log.warning) -> Outcome:
    """Audit as asked and return the report; raises InputError for a bad input."""
    return run(prepare(request, say), say)


def prepare(request: AuditRequest, say: Say = log.warning) -> Prepared:
    if request.alerting is not None and request.shard is not None:
        raise InputError(
            "--alert-on compares whole runs of an inventory; a shard is part of one",
            hint="alert from an unsharded run",
        )
    if request.alerting is not None and request.history is None:
        raise InputError(
            "--alert-on compares with earlier runs in the history", hint="drop --no-history"
        )
    waivers = (
        load_waivers(request.waivers, request.max_waiver_days) if request.waivers else WaiverSet()
    )
    inventory = _load(request).with_discovered()
    # The whole inventory decides the rule packs (and is validated) in every shard, so the
    # shards' reports name the same packs and can be merged.
    catalog = catalog_for(
        inventory, search=request.rules_dirs, extra_overrides=request.params
    ).select(request.only, request.skip)
    frameworks = tuple(load_framework(name) for name in request.frameworks)
    if frameworks:
        catalog = catalog.keep(frozenset().union(*(f.rule_ids() for f in frameworks)))
    source = request.source
    if isinstance(source, AdhocHosts) and not source.login:
        before = len(catalog.all_rules())
        catalog = catalog.without_probes(LOGIN_ROOTS)  # an ad-hoc scan without an SSH user
        if len(catalog.all_rules()) < before:
            say("scan: checks that log in (sshd settings, host) need --ssh-user: not run")
    for problem in waivers.unmatched((r.id for r in catalog.all_rules()), inventory.targets):
        if request.strict_waivers:
            raise InputError(problem, hint="fix the pattern, or drop --strict-waivers")
        say(f"warning: {problem}")
    expected = tuple(t.name for t in inventory.targets)
    if request.shard is not None:  # after every check of the whole inventory: shards agree
        inventory = replace(inventory, targets=select(inventory.targets, request.shard))
    if request.evidence is not None:
        try:  # a key that cannot sign costs no probing
            evidence.prepare(request.evidence.folder, request.evidence.sign_key)
        except SignatureError as exc:
            raise InputError(
                f"--bundle: {exc}", hint="give a new folder and a usable SSH key"
            ) from None
    nuclei = load_templates(request.nuclei_templates) if request.nuclei_templates else None
    if nuclei is not None:
        say(nuclei[1].line())
    return Prepared(
        request,
        inventory,
        catalog,
        waivers,
        _digests(request, inventory, catalog),
        expected,
        frameworks,
        nuclei,
    )


def _load(request: AuditRequest) -> Inventory:
    source = request.source
    if isinstance(source, InventoryFile):
        imported: list[dict[str, object]] = []
        extra: list[Target] = []
        if source.ansible is not None:
            imported += ansible_servers(source.ansible)
        if source.terraform is not None:
            servers, extra = terraform_sources(source.terraform)
            imported += servers
        inventory = load_inventory(source.path, imported)
        return replace(inventory, targets=(*inventory.targets, *extra)) if extra else inventory
    inventory = adhoc_inventory(
        list(source.hosts),
        ports=source.ports,
        rules=source.packs,
        ssh=source.ssh,
        clouds={"aws": source.aws} if source.aws is not None else {},
    )
    return without_absent_ssh(inventory, request.timeout, request.ssh.config_file)


def _digests(request: AuditRequest, inventory: Inventory, catalog: RuleCatalog) -> dict[str, str]:
    """Digests of everything that decides what is audited and how, read before any probe
    (a file edited mid-run cannot change them): shards that differ are refused by merge."""
    source = request.source
    files = source if isinstance(source, InventoryFile) else None
    return input_digests(
        version=__version__,
        inventory=inventory.digest,
        ansible=files.ansible if files else None,
        terraform=files.terraform if files else None,
        rules={
            "packs": {p.name: p.digest for p in catalog.info()},
            "selected": sorted(r.id for r in catalog.all_rules()),
        },
        params=request.params,
        waivers=request.waivers,
        max_waiver_days=request.max_waiver_days,
        service_checks=(*request.service_checks_dirs, *request.nuclei_templates),
        probing={
            "fail_on": request.fail_on.value,
            "timeout": request.timeout,
            "scanner": request.scanner,
            "service_detection": request.service_detection,
            "try_default_credentials": request.try_default_credentials,
        },
    )


def run(prepared: Prepared, say: Say = log.warning) -> Outcome:
    """Probe, judge, record, alert, sign; the history is closed whatever happens (a run
    that does not finish stays `interrupted` there, with the servers it judged)."""
    request, inventory = prepared.request, prepared.inventory
    probes = build_probes(
        ProbeSettings(
            request.concurrency,
            request.service_detection,
            request.scanner,
            request.ssh,
            inventory.clouds,
            request.service_checks_dirs,
            request.try_default_credentials,
            prepared.nuclei[0] if prepared.nuclei else (),
        ),
    )
    history = History(request.history) if request.history is not None else None
    key = inventory_key(inventory.path)
    try:
        run_id = history.start(key, datetime.now(UTC).isoformat(), __version__) if history else 0
        settings = AuditSettings(
            fail_on=request.fail_on,
            timeout=request.timeout,
            show_progress=request.show_progress,
            waivers=prepared.waivers,
            on_result=(lambda result: history.record_target(run_id, result)) if history else None,
            include_facts=request.include_facts,
        )
        try:
            report = run_audit(inventory, prepared.catalog, probes, settings)
        except KeyboardInterrupt:
            kept = len(history.findings(run_id)) if history else 0
            raise Interrupted(run_id, kept) from None
        report = replace(
            report,
            inventory_digest=prepared.inputs["inventory"],
            shard=(request.shard.index, request.shard.count) if request.shard else None,
            inputs=prepared.inputs,
            expected=prepared.expected,
            frameworks=prepared.frameworks,
            nuclei=asdict(prepared.nuclei[1]) if prepared.nuclei else None,
        )
        failures = 0
        if history is not None:
            history.finish(run_id, report)
            if request.alerting is not None:
                failures = alert(history, key, run_id, request.alerting, say)
            log.info("recorded as run %s in %s", run_id, history.path)
    finally:
        if history is not None:
            history.close()
    if request.evidence is not None:
        try:
            manifest = evidence.write(request.evidence.folder, report, request.evidence.sign_key)
        except (SignatureError, OSError) as exc:
            raise InputError(f"--bundle: {exc}", path=request.evidence.folder) from None
        log.info("signed evidence bundle: %s", manifest)
    if request.emit_inventory is not None:
        draft_inventory(report, request.emit_inventory)
        say(f"wrote a draft inventory to {request.emit_inventory}: review every exposure")
    return Outcome(report, failures)
