"""The inventory as the rest of the auditor sees it: validated, resolved, immutable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from auditor.models import Target
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
    clouds: Mapping[str, Any] = field(default_factory=dict)
    """Each cloud provider's settings (`cloud.<name>`), by provider name (auditor/cloud)."""
    digest: str = ""
    """sha256 of the text that was parsed: what the report and the shards' checks name,
    even when the file is edited while the run goes on."""

    def with_discovered(self) -> Inventory:
        """Plus every resource of each provider whose settings ask for discovery."""
        from auditor.cloud import providers

        found = [
            target
            for provider in providers()
            if provider.name in self.clouds and provider.discovers(self.clouds[provider.name])
            for target in provider.discover(self.clouds[provider.name])
        ]
        return replace(self, targets=(*self.targets, *found)) if found else self
