"""Azure (Blob Storage) as a cloud provider of the seam (auditor/cloud/__init__.py)."""

from __future__ import annotations

from auditor.cloud import Provider, ResourceKind
from auditor.cloud.azure import facts
from auditor.cloud.azure.settings import AzureSettings, parse_link, parse_settings
from auditor.factschema import FactRoot
from auditor.models import Target
from auditor.probes.base import Probe


def _probe(settings: AzureSettings | None, concurrency: int) -> Probe:
    from auditor.cloud.azure.probe import AzureProbe

    return AzureProbe(settings, concurrency)


def _discover(settings: AzureSettings) -> list[Target]:
    from auditor.cloud.azure.discovery import discover

    return discover(settings)


AZURE = Provider(
    name="azure",
    title="Azure",
    root=facts.ROOT,
    kinds=(
        ResourceKind(
            "azure_storage_account",
            FactRoot(
                "azure_storage_account",
                "azure",
                "the storage account an `azure_storage_account` rule judges",
                facts.STORAGE_ACCOUNT_FIELDS,
            ),
            lambda context: context.get("azure", {}).get("storage_accounts", []),
            lambda a: f"azure_storage_account:{a['name']}",
        ),
    ),
    parse_settings=parse_settings,
    parse_link=parse_link,
    settings_example="cloud: {azure: {subscription_id: SUBSCRIPTION}}",
    make_probe=_probe,
    discovers=lambda settings: bool(settings.discover),
    discover=_discover,
    sdk=("azure.identity", "azure.mgmt.storage", "azure.storage.blob"),
    extra="azure",
)
