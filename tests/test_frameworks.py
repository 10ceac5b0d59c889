"""Compliance frameworks as data (docs/compliance.md): every control a rule cites exists
in the framework files, and the files map each control to exactly the rules that cite it
(issue 26: 18 references cited the wrong control)."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from auditor.rules import load_catalog
from auditor.rules.frameworks import (
    framework_names,
    load_framework,
    section_summary,
)
from auditor.rules.loader import builtin_rules_dir
from tests.conftest import run_auditor

CITATIONS = {
    # framework files: how rules cite them, and the id pattern in the citation
    ("cis-debian12-l1", "cis-debian12-l2"): (
        re.compile(r"^CIS Debian Linux 12 Benchmark v1\.1\.0 ([0-9.,\s]+?)(?: \(|$)"),
        re.compile(r"\d+(?:\.\d+)+"),
    ),
    ("dev-sec-linux-baseline",): (
        re.compile(r"^dev-sec linux-baseline: (.*)$"),
        re.compile(r"(?:os|package|sysctl)-\d+[ab]?"),
    ),
    ("dev-sec-ssh-baseline",): (
        re.compile(r"^dev-sec ssh-baseline: (.*)$"),
        re.compile(r"sshd-\d+"),
    ),
    ("lynis-go-live",): (
        re.compile(r"^Lynis ([A-Z]+-\d+(?:/\d+)?)"),
        re.compile(r"[A-Z]+-\d+(?:/\d+)?"),
    ),
}


def _all_rules() -> list:  # type: ignore[type-arg]
    names = sorted(p.stem for p in builtin_rules_dir().glob("*.yaml"))
    return list(load_catalog(names).all_rules())


def test_every_cited_control_exists_and_maps_back_to_the_rule() -> None:
    rules = _all_rules()
    for files, (citation, ids) in CITATIONS.items():
        controls = {c.id: c for name in files for c in load_framework(name).controls}
        cited: dict[str, set[str]] = defaultdict(set)
        for rule in rules:
            for reference in rule.references:
                match = citation.match(reference)
                if match:
                    for control in ids.findall(match.group(1)):
                        cited[control].add(rule.id)
        unknown = sorted(set(cited) - set(controls))
        assert unknown == [], f"{files}: rules cite controls the framework lacks"
        for control_id, control in controls.items():
            assert set(control.rules) == cited.get(control_id, set()), (files, control_id)


def test_every_framework_names_only_existing_rules() -> None:
    known = {r.id for r in _all_rules()}
    for name in framework_names():
        for control in load_framework(name).controls:
            assert set(control.rules) <= known, (name, control.id)


def test_a_control_fails_when_any_of_its_rules_fails() -> None:
    framework = load_framework("cis-debian12-l1")
    statuses = {"hardening.module-cramfs": ["fail"], "hardening.module-hfs": ["pass"]}
    summary = section_summary(framework, statuses)
    assert summary["1"]["fail"] >= 1 and summary["1"]["pass"] >= 1
    assert sum(sum(row.values()) for row in summary.values()) == len(framework.controls)


def test_rules_list_shows_a_framework_as_json() -> None:
    result = run_auditor("rules", "list", "--framework", "cis-debian12-l1", "-f", "json")
    assert result.code == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["framework"] == "cis-debian12-l1"
    cramfs = next(c for c in listing["controls"] if c["id"] == "1.1.1.1")
    assert cramfs["rules"] == ["hardening.module-cramfs"]
    assert listing["covered"] / listing["automated"] >= 0.8


@pytest.mark.parametrize("name", ["nope", "../host"])
def test_an_unknown_framework_is_one_line_and_exit_2(name: str) -> None:
    result = run_auditor("rules", "list", "--framework", name)
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and "unknown framework" in result.stderr
