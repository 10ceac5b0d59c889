"""Rule packs (docs/rules.md): YAML files validated into immutable, compiled `Rule`s.

Everything that can be wrong with a pack is found here, once, before any probe runs: YAML
syntax, unknown keys, bad severities, CEL syntax errors, fact names that no probe provides
and parameters that do not exist. Each is an `InputError` naming file, line and rule id.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.facts import RESOURCE_KINDS, ROOTS
from auditor.factschema import FactRoot, ListOf
from auditor.models import Severity
from auditor.rules.expression import (
    Expression,
    ExpressionError,
    ExpressionTooCostly,
    compile_expression,
)
from auditor.rules.spec import PLACEHOLDER, Rule, RulePack
from auditor.yamlsource import Node, kind_of, load_yaml, plain, read_text

PACK_FORMAT = 1
PACK_KEYS = {"pack", "format", "description", "params", "rules"}
RULE_KEYS = {
    "id",
    "title",
    "severity",
    "applies_to",
    "when",
    "check",
    "message",
    "evidence",
    "rationale",
    "remediation",
    "references",
    "params",
}
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def builtin_rules_dir() -> Path:
    """The rule packs shipped with the auditor (the repository's `rules/` folder).

    Installed, they are the data-only package `auditor.builtin_rules`; in a source tree
    that was never installed, the `rules/` folder beside the package.
    """
    spec = importlib.util.find_spec("auditor.builtin_rules")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location)
    source_tree = Path(__file__).resolve().parents[2] / "rules"
    if source_tree.is_dir():
        return source_tree
    raise InputError(
        "the built-in rule packs are missing from this installation",
        hint="reinstall the auditor (pip install server-auditor)",
    )


def find_pack(reference: str, search: Iterable[Path], relative_to: Path | None) -> Path:
    """A pack is named (`baseline` → rules/baseline.yaml) or given as a path.

    A path written in an inventory (`relative_to` is its folder) must stay inside that
    folder or a `--rules-dir`, after symlinks are resolved: an inventory from someone else
    must not make the auditor read `../../../etc/shadow` and quote it in an error.
    """
    search = list(search)
    if reference.endswith((".yaml", ".yml")) or "/" in reference:
        path = Path(reference).expanduser()
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        if relative_to is not None:
            real = path.resolve()
            allowed = [relative_to.resolve(), *(d.resolve() for d in search)]
            if not any(real.is_relative_to(folder) for folder in allowed):
                raise InputError(
                    f"rule pack {reference!r} is outside the inventory's folder",
                    hint="keep packs beside the inventory, or name their folder with --rules-dir",
                )
        if not path.is_file():
            raise InputError(f"rule pack file not found: {path}", hint="check the path")
        return path
    for directory in search:
        for suffix in (".yaml", ".yml"):
            candidate = directory / f"{reference}{suffix}"
            if candidate.is_file():
                return candidate
    names = sorted(p.stem for d in search if d.is_dir() for p in d.glob("*.y*ml"))
    raise InputError(
        f"unknown rule pack '{reference}'",
        hint=f"available: {', '.join(names) or 'none'}; or give a path to a .yaml file",
    )


def load_pack(path: Path) -> RulePack:
    text = read_text(path, "rule pack")
    raw = text.encode("utf-8")
    root = Node.root(load_yaml(path, text), path)
    if root.value is None:
        raise InputError("the rule pack is empty", path=path)
    if not isinstance(root.value, dict) or not {"format", "rules"} & set(root.value):
        raise InputError(
            "not a rule pack: no `format:` or `rules:` key (nothing of it is quoted)",
            path=path,
            hint="keep only rule packs in a --rules-dir folder",
        )
    root.mapping(PACK_KEYS)
    fmt = root.require("format")
    if fmt.as_(int) != PACK_FORMAT:
        raise fmt.error(f"unsupported rule-pack format {fmt.value}", hint=f"use {PACK_FORMAT}")
    name = root.require("pack").string()
    shared = _params(root.get("params"))
    description = root.get("description")
    rules = tuple(_rule(node, name, shared) for node in root.require("rules").items())
    seen: dict[str, int | None] = {}
    for rule in rules:
        if rule.id in seen:
            raise InputError(
                f"duplicate rule id (first at line {seen[rule.id]})", path=path, line=rule.line
            )
        seen[rule.id] = rule.line
    return RulePack(
        name=name,
        path=str(path),
        digest=hashlib.sha256(raw).hexdigest(),
        description=description.string() if description else "",
        rules=rules,
    )


def _params(node: Node | None) -> dict[str, Any]:
    if node is None:
        return {}
    return {key: plain(value.value) for key, value in node.entries()}


def _rule(node: Node, pack: str, shared: Mapping[str, Any]) -> Rule:
    id_node = node.require("id")
    rule_id = id_node.string()
    if not _RULE_ID.match(rule_id):
        raise id_node.error("rule ids use lower case, digits, '.', '-' and '_'")
    # From here on the key path names the rule id, which a human can search for.
    node.key = rule_id
    node.mapping(RULE_KEYS)
    severity = node.require("severity").choice({s.value for s in Severity})
    applies_to = node.require("applies_to").choice(set(RESOURCE_KINDS))
    params = {**shared, **_params(node.get("params"))}
    allowed = set(RESOURCE_KINDS[applies_to])
    check = _expression(node.require("check"), allowed, params)
    when = _optional_expression(node.get("when"), allowed, params)
    evidence = _optional_expression(node.get("evidence"), allowed, params)
    message_node = node.get("message")
    if message_node is not None:
        _check_placeholders(message_node, allowed, params)
    references = node.get("references")
    return Rule(
        id=rule_id,
        title=node.require("title").string(),
        severity=Severity(severity),
        applies_to=applies_to,
        check=check,
        when=when,
        message=_text(node.get("message")),
        evidence=evidence,
        rationale=_text(node.get("rationale")),
        remediation=_text(node.get("remediation")),
        references=references.string_list() if references else (),
        params=params,
        pack=pack,
        path=str(node.path),
        line=node.line,
    )


def _check_placeholders(node: Node, allowed: set[str], params: Mapping[str, Any]) -> None:
    """Every `{path}` of a message names a fact, a parameter or the evidence: a typo would
    otherwise show `?` in every report, with nobody told."""
    for match in PLACEHOLDER.finditer(node.string()):
        path = match.group(1)
        root, *fields = path.split(".")
        if root == "evidence":
            continue
        if root == "params":
            if not fields or fields[0] not in params:
                raise node.error(
                    f"placeholder {{{path}}} names no parameter",
                    hint="declare it under the rule's or the pack's `params:`",
                )
            continue
        if root not in allowed:
            raise node.error(
                f"placeholder {{{path}}} names no fact",
                hint=f"facts available here: {', '.join(sorted(allowed))} (see docs/rules.md)",
            )
        problem = _check_path(ROOTS[root], fields) if root in ROOTS and fields else None
        if problem:
            raise node.error(f"placeholder {{{path}}}: {problem}", hint="see docs/rules.md")


def _text(node: Node | None) -> str:
    return node.string().strip() if node else ""


def _optional_expression(
    node: Node | None, allowed: set[str], params: Mapping[str, Any]
) -> Expression | None:
    return _expression(node, allowed, params) if node else None


def _expression(node: Node, allowed: set[str], params: Mapping[str, Any]) -> Expression:
    source = node.string()
    try:
        expression = compile_expression(source)
    except ExpressionTooCostly as exc:
        raise node.error(
            f"CEL expression refused: {exc.message}", hint="see 'Bounds' in docs/rules.md"
        ) from None
    except ExpressionError as exc:
        where = f" at column {exc.column}" if exc.column else ""
        raise node.error(f"CEL syntax error{where}: {exc.message}") from None
    unknown = sorted(expression.variables - allowed)
    if unknown:
        raise node.error(
            f"unknown fact '{unknown[0]}'",
            hint=f"facts available here: {', '.join(sorted(allowed))} (see docs/rules.md)",
        )
    for root, path in expression.field_paths:
        fields = list(path)
        if not fields:
            continue
        if root == "params":
            if fields[0] not in params:
                raise node.error(
                    f"unknown parameter 'params.{fields[0]}'",
                    hint="declare it under the rule's or the pack's `params:`",
                )
            continue
        problem = _check_path(ROOTS[root], fields) if root in ROOTS else None
        if problem:
            raise node.error(problem, hint="see the fact catalogue in docs/rules.md")
    return expression


def _check_path(root: FactRoot, fields: list[str]) -> str | None:
    spec: Any = root.fields
    walked = root.name
    for name in fields:
        if isinstance(spec, ListOf) or not isinstance(spec, Mapping):
            return None  # into a list or scalar: CEL macros and functions take over
        if not spec:
            return None  # an open map such as target.tags
        if name not in spec:
            return f"unknown fact '{walked}.{name}'"
        spec = spec[name]
        walked += f".{name}"
    return None


def param_type_problem(default: Any, value: Any) -> str | None:
    """Why `value` cannot replace a parameter whose default is `default` (None: it can).

    A rule's default declares its parameter's type: an override of another type would only
    fail inside CEL at run time (an `error` on every server), or worse, compare unequal and
    pass. Lists check their items against the default's first item.
    """
    expected = kind_of(default)
    if expected == "a number" and kind_of(value) in ("a number", "an integer"):
        return None
    if kind_of(value) != expected:
        return f"expected {expected} like the default {_show(default)}, got {kind_of(value)}"
    if isinstance(default, list) and default and isinstance(value, list):
        for item in value:
            problem = param_type_problem(default[0], item)
            if problem:
                return f"list item {_show(item)}: {problem}"
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def with_overrides(
    packs: Iterable[RulePack],
    overrides: Mapping[str, Mapping[str, Any]],
    source: str,
    lines: Mapping[str, int] | None = None,
    sources: Mapping[str, str] | None = None,
) -> tuple[RulePack, ...]:
    """Apply user parameter overrides ({rule id: {param: value}}); each must exist and have
    the type of the parameter's default."""
    remaining = {rule_id: dict(values) for rule_id, values in overrides.items()}
    result: list[RulePack] = []
    for pack in packs:
        rules: list[Rule] = []
        for rule in pack.rules:
            values = remaining.pop(rule.id, None)
            if values:
                unknown = sorted(set(values) - set(rule.params))
                if unknown:
                    raise InputError(
                        f"rule {rule.id} has no parameter '{unknown[0]}'",
                        path=(sources or {}).get(f"{rule.id}.{unknown[0]}", source),
                        hint=f"its parameters: {', '.join(sorted(rule.params)) or 'none'}",
                    )
                for name, value in sorted(values.items()):
                    problem = param_type_problem(rule.params[name], value)
                    if problem:
                        raise InputError(
                            problem,
                            path=(sources or {}).get(f"{rule.id}.{name}", source),
                            line=(lines or {}).get(f"{rule.id}.{name}"),
                            key=f"{rule.id}.{name}",
                            hint="fix the parameter's value",
                        )
                rule = replace(rule, params={**rule.params, **values})
            rules.append(rule)
        result.append(replace(pack, rules=tuple(rules)))
    if remaining:
        unknown_rule = sorted(remaining)[0]
        raise InputError(
            f"parameter override for unknown rule '{unknown_rule}'",
            path=(sources or {}).get(unknown_rule, source),
            hint="see `auditor rules list`",
        )
    return tuple(result)
