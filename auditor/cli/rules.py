"""`auditor rules list|show`: what the rule packs check and why."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.base import cli, rules_dir_option, user_errors
from auditor.cli.emit import listing_width
from auditor.errors import AuditorError
from auditor.models import Severity
from auditor.reporting.table import fit, grid
from auditor.rules import RuleCatalog, load_catalog
from auditor.rules.frameworks import load_framework
from auditor.rules.loader import builtin_rules_dir


@cli.group()
def rules() -> None:
    """List and explain rules."""


def _catalog(rules_dirs: tuple[Path, ...]) -> RuleCatalog:
    names = {p.stem for d in (*rules_dirs, builtin_rules_dir()) for p in d.glob("*.y*ml")}
    return load_catalog(sorted(names), search=rules_dirs)


@rules.command("list")
@rules_dir_option
@click.option("--pack", "packs", multiple=True, help="Only rules of this pack; repeatable.")
@click.option(
    "--severity",
    type=click.Choice([s.value for s in Severity]),
    help="Only rules of at least this severity.",
)
@click.option(
    "--framework",
    help="List a compliance framework's controls and the rules that check each "
    "(cis-debian12-l1, dev-sec-linux-baseline...; docs/compliance.md).",
)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@user_errors
def rules_list(
    rules_dirs: tuple[Path, ...],
    packs: tuple[str, ...],
    severity: str | None,
    framework: str | None,
    fmt: str,
) -> None:
    """List every rule of the built-in packs (and of --rules-dir folders)."""
    if framework is not None:
        _list_framework(framework, fmt)
        return
    chosen = [
        r
        for r in _catalog(rules_dirs).all_rules()
        if (not packs or r.pack in packs)
        and (severity is None or r.severity.at_least(Severity(severity)))
    ]
    if packs and not chosen:
        raise AuditorError(
            f"no rules in pack(s) {', '.join(packs)}", hint="see `auditor rules list`"
        )
    if fmt == "json":
        entries = [
            {
                "id": r.id,
                "pack": r.pack,
                "severity": r.severity.value,
                "applies_to": r.applies_to,
                "title": r.title,
                "references": list(r.references),
            }
            for r in chosen
        ]
        click.echo(json.dumps(entries, indent=2))
        return
    rows = [[r.id, r.severity.value, r.applies_to, r.title] for r in chosen]
    headers = ["rule", "severity", "applies to", "title"]  # titles from user packs: made safe
    click.echo("\n".join(grid(headers, rows, fit(headers, rows, listing_width()))))


def _list_framework(name: str, fmt: str) -> None:
    found = load_framework(name)
    covered, counted = found.coverage()
    if fmt == "json":
        entries = {
            "framework": found.name,
            "title": found.title,
            "covered": covered,
            "automated": counted,
            "controls": [
                {
                    "id": c.id,
                    "title": c.title,
                    "section": c.section,
                    "assessment": c.assessment,
                    "rules": list(c.rules),
                }
                for c in found.controls
            ],
        }
        click.echo(json.dumps(entries, indent=2))
        return
    rows = [
        [c.id, c.assessment, ", ".join(c.rules) or "not covered", c.title] for c in found.controls
    ]
    headers = ["control", "assessed", "rules", "title"]
    click.echo("\n".join(grid(headers, rows, fit(headers, rows, listing_width()))))
    click.echo(f"{found.title}: {covered} of {counted} automated controls covered")


@rules.command("show")
@click.argument("rule_id")
@rules_dir_option
@user_errors
def rules_show(rule_id: str, rules_dirs: tuple[Path, ...]) -> None:
    """Explain one rule: what it checks, why, how to fix, and its references."""
    for rule in _catalog(rules_dirs).all_rules():
        if rule.id == rule_id:
            lines = [
                f"{rule.id}  [{rule.severity.value}]  applies to: {rule.applies_to}",
                rule.title,
                f"pack: {rule.pack} ({rule.path}:{rule.line})",
            ]
            if rule.when:
                lines.append(f"when:  {rule.when.source}")
            lines.append(f"check: {rule.check.source}")
            if rule.params:
                lines.append("params: " + ", ".join(f"{k}={v!r}" for k, v in rule.params.items()))
            for label, text in (("rationale", rule.rationale), ("remediation", rule.remediation)):
                if text:
                    lines.append(f"{label}:\n  " + text.replace("\n", "\n  "))
            if rule.references:
                lines.append("references:\n" + "\n".join(f"  - {r}" for r in rule.references))
            click.echo("\n".join(lines))
            return
    raise AuditorError(f"no rule with id {rule_id!r}", hint="see `auditor rules list`")
