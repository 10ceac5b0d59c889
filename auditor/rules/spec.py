"""A rule after validation: immutable, compiled once, shared by every thread."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from auditor.facts import RESOURCE_PROVIDER, ROOTS
from auditor.models import Severity
from auditor.rules.expression import Expression

PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)(?:\|([^{}]*))?\}")
"""`{port.number}` in a rule's message: a dotted path into the facts, `params` or `evidence`,
optionally with words for an empty value: `{port.service|unnamed}`."""
MESSAGE_ONLY_ROOTS = frozenset({"params", "evidence"})


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    applies_to: str
    check: Expression
    when: Expression | None = None
    message: str = ""
    evidence: Expression | None = None
    rationale: str = ""
    remediation: str = ""
    references: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    pack: str = ""
    path: str = ""
    line: int | None = None

    @cached_property
    def placeholders(self) -> tuple[str, ...]:
        """Dotted paths the message shows, e.g. `port.number`."""
        return tuple(m.group(1) for m in PLACEHOLDER.finditer(self.message))

    @cached_property
    def fact_roots(self) -> frozenset[str]:
        """Fact roots the rule reads, in its expressions *and* its message: a fact only the
        message shows must still be collected, or the message would say nothing."""
        names: set[str] = set(self.check.variables)
        for expr in (self.when, self.evidence):
            if expr is not None:
                names |= expr.variables
        names |= {path.split(".")[0] for path in self.placeholders}
        return frozenset(names - MESSAGE_ONLY_ROOTS)

    @cached_property
    def evidence_paths(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The fact paths the rule reads (check, when, message), for evidence that is what
        the rule judged and no more (not the whole change record or `sshd -T` each time)."""
        paths: dict[tuple[str, tuple[str, ...]], None] = {}
        for expr in (self.when, self.check):
            if expr is not None:
                paths |= dict.fromkeys(expr.field_paths)
        for placeholder in self.placeholders:
            root, *fields = placeholder.split(".")
            paths[(root, tuple(fields))] = None
        return tuple(p for p in paths if p[0] not in MESSAGE_ONLY_ROOTS | {"target"})

    @cached_property
    def fact_paths(self) -> frozenset[tuple[str, tuple[str, ...]]]:
        """Every fact path the rule reads anywhere (evidence included), so that a probe
        can leave out what no rule reads (the host reads nobody judges)."""
        paths = set(self.evidence_paths)
        if self.evidence is not None:
            paths |= set(self.evidence.field_paths)
        return frozenset(paths)

    @cached_property
    def key(self) -> str:
        """Identity of this exact rule (id, expressions, parameters) across processes."""
        parts = (self.id, self.applies_to, self.check.source, repr(sorted(self.params.items())))
        extra = tuple(e.source if e else "" for e in (self.when, self.evidence))
        return hashlib.sha256(repr((*parts, *extra, self.message)).encode()).hexdigest()

    @cached_property
    def required_probes(self) -> frozenset[str]:
        """Probes whose failure makes this rule unevaluable (fail closed)."""
        probes = {ROOTS[name].provided_by for name in self.fact_roots if name in ROOTS}
        probes.add(RESOURCE_PROVIDER[self.applies_to])
        return frozenset(p for p in probes if p is not None)


@dataclass(frozen=True)
class RulePack:
    name: str
    path: str
    digest: str
    description: str
    rules: tuple[Rule, ...]
