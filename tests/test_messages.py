"""Issue 11: every built-in rule's message reads as plain English on real facts.

The lab's servers (real sshd, Redis, nginx, host namespaces, moto) are probed once; then
every rule of every built-in pack renders its message against every resource of every
server, pass or fail, so that a template that would print a Python value is caught even
when the lab happens not to fail that rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from auditor.engine import AuditSettings, run_audit
from auditor.facts import ROOTS
from auditor.factschema import problems
from auditor.inventory import load_inventory
from auditor.models import ProbeOutcome, Target
from auditor.probes.base import Done, FactPath, Probe, Upstream
from auditor.probes.registry import ProbeSettings, build_probes
from auditor.probes.ssh.options import SshOptions
from auditor.rules import catalog_for, load_catalog
from auditor.rules.context import base_context
from auditor.rules.evaluate import _evidence, _resources, render
from auditor.rules.expression import EvaluationError
from auditor.rules.loader import builtin_rules_dir
from auditor.scope import Scope
from tests.lab.lab import Lab

FORBIDDEN = re.compile(r"\{'|\bTrue\b|\bFalse\b|''|(?<![\w.])-1\b|\bNone\b|\?")


class _Recording(Probe):
    """Passes through to a real probe and keeps what it reported."""

    def __init__(self, inner: Probe, seen: dict[str, dict[str, ProbeOutcome]]) -> None:
        self.inner = inner
        self.name = inner.name
        self.provides = inner.provides
        self.needs = inner.needs
        self.seen = seen

    def collect(
        self,
        targets: Sequence[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = {},  # noqa: B006 - read only
    ) -> Mapping[str, ProbeOutcome]:
        def keep(name: str, outcome: ProbeOutcome) -> None:
            self.seen.setdefault(name, {})[outcome.probe] = outcome
            if done is not None:
                done(name, outcome)

        found = self.inner.collect(targets, scope, timeout, keep, upstream)
        for name, outcome in found.items():
            self.seen.setdefault(name, {}).setdefault(outcome.probe, outcome)
        return found

    def plan(
        self,
        needs: Mapping[str, set[str]],
        paths: Mapping[str, frozenset[FactPath]] | None = None,
    ) -> None:
        self.inner.plan(needs, paths)


@pytest.fixture(scope="module")
def recorded(
    lab: Lab, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Target], dict[str, dict[str, ProbeOutcome]]]:
    """The whole lab audited once, every probe's outcome on every server kept."""
    path = lab.write_inventory(tmp_path_factory.mktemp("messages") / "inv.yaml")
    inventory = load_inventory(path)
    seen: dict[str, dict[str, ProbeOutcome]] = {}
    options = SshOptions(known_hosts=(lab.known_hosts,), config_file=None, use_agent=False)
    probes = [
        _Recording(p, seen)
        for p in build_probes(ProbeSettings(ssh=options, clouds=inventory.clouds))
    ]
    run_audit(inventory, catalog_for(inventory), probes, AuditSettings(show_progress=False))
    return list(inventory.targets), seen


@pytest.fixture(scope="module")
def lab_facts(
    recorded: tuple[list[Target], dict[str, dict[str, ProbeOutcome]]],
) -> list[tuple[Target, Any]]:
    targets, seen = recorded
    return [(t, base_context(t, seen.get(t.name, {}))) for t in targets]


def test_every_probe_gives_exactly_the_facts_it_declares(
    recorded: tuple[list[Target], dict[str, dict[str, ProbeOutcome]]],
) -> None:
    """Issue 25: the fact catalogue (auditor/facts.py, docs/facts.md) was checked on the
    rule side only. Every root every probe returned on the lab's real servers must match
    its declaration: each field declared, of its declared type, none missing."""
    targets, seen = recorded
    checked: set[str] = set()
    found: list[str] = []
    for target in targets:
        outcomes = seen.get(target.name, {})
        context = base_context(target, outcomes)  # each root as the rules read it
        ok = [root for root, outcome in outcomes.items() if outcome.ok]
        for root in ("target", "change", *ok):
            checked.add(root)
            found += problems(ROOTS[root].fields, context[root], root)
    unique = sorted({re.sub(r"\[\d+\]", "[]", problem) for problem in found})
    assert not unique, "\n".join(unique)
    assert {"ports", "ssh", "ssh_auth", "sshd", "services", "host", "aws", "gcp"} <= checked


def test_every_builtin_message_is_plain_english(lab_facts: list[tuple[Target, Any]]) -> None:
    packs = [p.stem for p in sorted(builtin_rules_dir().glob("*.yaml"))]
    rules = load_catalog(packs).all_rules()
    rendered = 0
    problems = []
    for _target, context in lab_facts:
        for rule in rules:
            for resource, scoped in _resources(rule, context):
                scoped = {**scoped, "params": dict(rule.params)}
                try:
                    if rule.when is not None and rule.when.evaluate(scoped) is not True:
                        continue  # the rule does not apply: its message is never shown
                except EvaluationError:
                    continue
                try:
                    evidence = _evidence(rule, scoped)
                except (EvaluationError, KeyError):
                    evidence = {}
                message = render(rule.message or rule.title, {**scoped, "evidence": evidence})
                rendered += 1
                if FORBIDDEN.search(message):
                    problems.append(f"{rule.id} on {resource}: {message}")
    assert rendered > 500, rendered
    assert not problems, "\n".join(sorted(set(problems))[:40])


def test_same_facts_give_byte_identical_reports(lab: Lab, tmp_path: Path) -> None:
    from tests.conftest import run_auditor

    path = lab.write_inventory(tmp_path / "inv.yaml", ["vendor-built", "db-host"])
    first = run_auditor("audit", str(path), "-f", "json", "--no-history")
    second = run_auditor("audit", str(path), "-f", "json", "--no-history")

    def findings(text: str) -> list[Any]:
        import json

        return [t["findings"] for t in json.loads(text)["targets"]]

    assert findings(first.stdout) == findings(second.stdout)
    assert first.stdout.split('"targets"')[1] == second.stdout.split('"targets"')[1]
