"""Loads every rule pack an inventory refers to, once, before anything is probed."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.inventory import Inventory
from auditor.models import RulePackInfo, Target
from auditor.rules.loader import builtin_rules_dir, find_pack, load_pack, with_overrides
from auditor.rules.spec import Rule, RulePack


@dataclass(frozen=True)
class RuleCatalog:
    packs: Mapping[str, RulePack]
    """Keyed by the reference the inventory used (`baseline`, `./extra.yaml`)."""

    def rules_for(self, target: Target) -> tuple[Rule, ...]:
        return tuple(rule for ref in target.rules for rule in self.packs[ref].rules)

    def all_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for pack in self.packs.values() for rule in pack.rules)

    def select(self, only: Sequence[str] = (), skip: Sequence[str] = ()) -> RuleCatalog:
        """The rules whose ids match an `only` glob (all when none) and no `skip` glob, as
        Prowler's --checks / --excluded-checks. A pattern that matches no rule is an input
        error: a typo must not silently run everything, or nothing."""
        ids = [r.id for r in self.all_rules()]
        for option, patterns in (("--only", only), ("--skip", skip)):
            for pattern in patterns:
                if not any(fnmatch.fnmatchcase(i, pattern) for i in ids):
                    raise InputError(
                        f"{option} {pattern!r} matches no rule", hint="see `auditor rules list`"
                    )

        def keep(rule: Rule) -> bool:
            chosen = not only or any(fnmatch.fnmatchcase(rule.id, p) for p in only)
            return chosen and not any(fnmatch.fnmatchcase(rule.id, p) for p in skip)

        if not only and not skip:
            return self
        return self._where(keep)

    def keep(self, ids: frozenset[str]) -> RuleCatalog:
        """The catalogue less every rule not in `ids` (`--framework`); an input error when
        none is left, since the framework's rules are in packs no server uses."""
        kept = self._where(lambda rule: rule.id in ids)
        if not kept.all_rules():
            raise InputError(
                "--framework: none of its rules is in the servers' rule packs",
                hint="add the packs its rules belong to (e.g. `hardening`) to `rules:`",
            )
        return kept

    def without_probes(self, probes: frozenset[str]) -> RuleCatalog:
        """The catalogue less every rule that needs one of `probes` (an ad-hoc scan
        without credentials has no login to give the sshd and host probes)."""
        return self._where(lambda rule: not rule.required_probes & probes)

    def _where(self, keep: Callable[[Rule], bool]) -> RuleCatalog:
        """The same packs holding only the rules `keep` accepts."""
        return RuleCatalog(
            {
                ref: replace(pack, rules=tuple(r for r in pack.rules if keep(r)))
                for ref, pack in self.packs.items()
            }
        )

    def info(self) -> tuple[RulePackInfo, ...]:
        return tuple(RulePackInfo(p.name, p.path, p.digest) for p in self.packs.values())


def load_catalog(
    references: Iterable[str],
    *,
    search: Sequence[Path] = (),
    relative_to: Path | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    overrides_source: str = "<parameters>",
    override_lines: Mapping[str, int] | None = None,
    override_sources: Mapping[str, str] | None = None,
) -> RuleCatalog:
    directories = [*search, builtin_rules_dir()]
    loaded: dict[str, RulePack] = {}
    by_path: dict[Path, RulePack] = {}
    for ref in dict.fromkeys(references):
        path = find_pack(ref, directories, relative_to).resolve()
        if path not in by_path:
            by_path[path] = load_pack(path)
        loaded[ref] = by_path[path]
    _check_unique_ids(by_path.values())
    if overrides:
        refs = list(loaded)
        updated = with_overrides(
            [loaded[r] for r in refs],
            overrides,
            overrides_source,
            override_lines or {},
            override_sources or {},
        )
        loaded = dict(zip(refs, updated, strict=True))
    return RuleCatalog(loaded)


def catalog_for(
    inventory: Inventory,
    *,
    search: Sequence[Path] = (),
    extra_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> RuleCatalog:
    overrides: dict[str, dict[str, Any]] = {k: dict(v) for k, v in inventory.rule_params.items()}
    lines = dict(inventory.rule_param_lines)
    sources: dict[str, str] = {}
    for rule_id, values in (extra_overrides or {}).items():
        overrides.setdefault(rule_id, {}).update(values)
        sources.setdefault(rule_id, "--param")
        for name in values:  # a command-line value replaces the inventory's: not at its line
            lines.pop(f"{rule_id}.{name}", None)
            sources[f"{rule_id}.{name}"] = "--param"
    relative = Path(inventory.path).parent if not inventory.path.startswith("<") else None
    return load_catalog(
        (ref for target in inventory.targets for ref in target.rules),
        search=search,
        relative_to=relative,
        overrides=overrides,
        overrides_source=inventory.path,
        override_lines=lines,
        override_sources=sources,
    )


def _check_unique_ids(packs: Iterable[RulePack]) -> None:
    owner: dict[str, RulePack] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.id in owner and owner[rule.id] is not pack:
                raise InputError(
                    f"rule id {rule.id} is defined twice (also in {owner[rule.id].path})",
                    path=pack.path,
                    line=rule.line,
                    hint="give one of them another id",
                )
            owner[rule.id] = pack
