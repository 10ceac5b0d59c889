"""Compliance frameworks as data (format 1, docs/compliance.md): which rules check each
control of a benchmark, as Prowler's compliance folder does.

A framework file (shipped in `rules/frameworks/`) lists a benchmark's controls, each with
its id, title, section, whether the benchmark assesses it automatically, and the ids of
the rules that check it; a control with no rule is not covered. tests/test_frameworks.py
checks the mapping against the rules' own references, both ways, and every rule it names
against the packs: frameworks ship with the packs, so a run need not load every pack to
check them again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError
from auditor.rules.loader import builtin_rules_dir
from auditor.yamlsource import Node, load_yaml

FRAMEWORK_FORMAT = 1
FILE_KEYS = {"framework", "format", "title", "reference", "source", "controls"}
CONTROL_KEYS = {"id", "title", "section", "assessment", "rules", "note"}


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    section: str
    assessment: str
    """`automated` or `manual`, as the benchmark assesses it."""
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    reference: str
    """How rules cite it (`CIS Debian Linux 12 Benchmark v1.1.0 1.1.1.1 (...)`)."""
    controls: tuple[Control, ...]

    def rule_ids(self) -> frozenset[str]:
        return frozenset(r for c in self.controls for r in c.rules)

    def coverage(self) -> tuple[int, int]:
        """(covered, counted): automated controls that some rule checks, of all automated."""
        counted = [c for c in self.controls if c.assessment == "automated"]
        return sum(1 for c in counted if c.rules), len(counted)


def frameworks_dir() -> Path:
    return builtin_rules_dir() / "frameworks"


def framework_names() -> list[str]:
    return sorted(p.stem for p in frameworks_dir().glob("*.yaml"))


def load_framework(name: str) -> Framework:
    """The shipped framework `name`; an unknown name or a bad file is one InputError."""
    path = frameworks_dir() / f"{name}.yaml"
    if name not in framework_names():
        raise InputError(
            f"unknown framework {name!r}",
            hint=f"one of: {', '.join(framework_names())}",
        )
    return _load(path)


def _load(path: Path) -> Framework:
    root = Node.root(load_yaml(path), path)
    root.mapping(FILE_KEYS)
    if root.require("format").as_(int) != FRAMEWORK_FORMAT:
        raise root.require("format").error(
            f"unsupported format (this auditor reads {FRAMEWORK_FORMAT})"
        )
    controls = []
    for node in root.require("controls").items():
        node.mapping(CONTROL_KEYS)
        assessment = node.get("assessment")
        section = node.get("section")
        controls.append(
            Control(
                id=node.require("id").string(),
                title=node.require("title").string(),
                section=section.string() if section is not None else "",
                assessment=assessment.choice({"automated", "manual"})
                if assessment
                else "automated",
                rules=tuple(node.require("rules").string_list()),
            )
        )
    return Framework(
        name=root.require("framework").string(),
        title=root.require("title").string(),
        reference=root.require("reference").string(),
        controls=tuple(controls),
    )


def section_summary(
    framework: Framework, statuses: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, int]]:
    """Per section, how many controls pass, fail, err or do not apply, from each rule's
    finding statuses (`statuses[rule_id]`): a control fails if any of its rules fails,
    errs if any errs (and none fails), passes if all that apply pass (waived counts as
    pass), and does not apply when none of its rules applied; unmapped: not covered."""
    summary: dict[str, dict[str, int]] = {}
    for control in framework.controls:
        row = summary.setdefault(
            control.section or "-",
            {"pass": 0, "fail": 0, "error": 0, "not_applicable": 0, "not_covered": 0},
        )
        seen = [s for r in control.rules for s in statuses.get(r, ())]
        if not control.rules:
            row["not_covered"] += 1
        elif "fail" in seen:
            row["fail"] += 1
        elif "error" in seen:
            row["error"] += 1
        elif any(s in ("pass", "waived") for s in seen):
            row["pass"] += 1
        else:
            row["not_applicable"] += 1
    return summary
