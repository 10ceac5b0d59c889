"""The cloud-provider seam: what a provider brings, declared once, used everywhere.

A provider (`auditor/cloud/<name>/provider.py`) is one `Provider` value. The inventory reads
its `cloud.<name>` settings and each server's `<name>:` link through it, the probe registry
builds its probe, `--*-discover` and `cloud.<name>.discover` list its resources through it,
the fact catalogue takes its roots and the rule engine its resource kinds. Nothing outside
the provider's folder names its SDK, its settings or its resources (docs/clouds.md).

The provider modules are imported on first use, not with this one: the fact catalogue
imports this seam, and a provider's probe imports the probes' base.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from auditor.factschema import FactRoot

if TYPE_CHECKING:
    from auditor.models import Target
    from auditor.probes.base import Probe
    from auditor.yamlsource import Node


@dataclass(frozen=True)
class ResourceKind:
    """A kind of cloud resource that rules judge one by one (`applies_to: bucket`)."""

    name: str
    root: FactRoot
    """The root a rule of this kind reads: the one resource's record."""
    records: Callable[[Mapping[str, Any]], list[Any]]
    """The records of this kind among a target's facts."""
    resource: Callable[[Any], str]
    """How a report names one (`bucket:NAME`): stable, as waivers and SARIF refer to it."""


@dataclass(frozen=True)
class Provider:
    name: str
    """The inventory's `cloud.<name>`, a server's `<name>:` link, the probe and its facts root."""
    title: str
    root: FactRoot
    kinds: tuple[ResourceKind, ...]
    parse_settings: Callable[[Node], Any]
    """`cloud.<name>` → the provider's settings (frozen)."""
    parse_link: Callable[[Node], Any]
    """A server's `<name>:` → the provider's link to that server's resources (frozen)."""
    settings_example: str
    """Shown when servers link resources but `cloud.<name>` is missing."""
    make_probe: Callable[[Any, int], Probe]
    """(settings or None, concurrency) → the probe that reads the resources."""
    discovers: Callable[[Any], bool]
    """Whether these settings ask for account-wide discovery."""
    discover: Callable[[Any], list[Target]]
    """Every resource of the account or project as a target of its own (List calls only)."""
    sdk: tuple[str, ...] = ()
    """The SDK's top modules, imported only when a probe runs: an SSH-only audit never
    loads them, and a default install does not even have them."""
    extra: str | None = None
    """The pip extra that installs the SDK (`server-auditor[azure]`); None when it is a
    dependency of every install."""

    def missing_sdk(self) -> tuple[str, str] | None:
        """(what is missing, the command that installs it), or None when installed."""
        absent = [name for name in self.sdk if not _importable(name)]
        if not absent or self.extra is None:
            return None
        return (
            f"{self.title} needs its SDK, which is not installed ({', '.join(absent)})",
            f"pip install 'server-auditor[{self.extra}]'",
        )


def _importable(module: str) -> bool:
    """Whether `module` can be imported, without importing it."""
    from importlib.util import find_spec

    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


@cache
def providers() -> tuple[Provider, ...]:
    """Every provider, in report order."""
    from auditor.cloud.aws.provider import AWS
    from auditor.cloud.azure.provider import AZURE
    from auditor.cloud.gcp.provider import GCP

    return (AWS, AZURE, GCP)


def provider(name: str) -> Provider:
    return next(p for p in providers() if p.name == name)
