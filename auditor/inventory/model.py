"""The inventory as the rest of the auditor sees it: validated, resolved, immutable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.models import AwsSettings, Target
from auditor.scope import Scope

INVENTORY_VERSION = 1


@dataclass(frozen=True)
class Inventory:
    path: str
    version: int
    scope: Scope
    targets: tuple[Target, ...]
    rule_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per-rule parameter overrides: {rule id: {param: value}}."""
    rule_param_lines: Mapping[str, int] = field(default_factory=dict)
    """Line of each override (`rule_id.param`), so a wrong type is reported where it is."""
    aws: AwsSettings | None = None
    """How to reach AWS (`cloud.aws`); None when the inventory has no cloud part."""
