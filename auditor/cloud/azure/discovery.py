"""Subscription-wide discovery: every storage account of `cloud.azure.subscription_id`
becomes a target of its own, audited with the `azure` rule pack. A failed listing is an
input error naming the call: a subscription that cannot be listed cannot be audited."""

from __future__ import annotations

import re

from auditor.cloud.azure.api import CALL_SECONDS, AzureCallError, call, credential, management
from auditor.cloud.azure.settings import AzureLink, AzureSettings
from auditor.cloud.probe import resource_target
from auditor.errors import AuditorError
from auditor.models import Target
from auditor.probes.deadline import Deadline

_GROUP = re.compile(r"/resourceGroups/([^/]+)/", re.IGNORECASE)


class DiscoveryError(AuditorError):
    """The subscription could not be listed (credentials, permissions, endpoint)."""


def discover(settings: AzureSettings) -> list[Target]:
    try:
        arm = management(settings, credential())
        listed = call(
            "StorageAccounts.List",
            lambda seconds: [
                (str(a.id), str(a.name)) for a in arm.storage_accounts.list(timeout=seconds)
            ],
            Deadline(CALL_SECONDS),
        )
        accounts = [
            (match.group(1), name)
            for resource, name in listed
            if (match := _GROUP.search(resource))
        ]
    except AzureCallError as exc:
        raise DiscoveryError(f"Azure discovery failed: {exc}") from None
    return [
        resource_target(
            "azure", "azure_storage_account", name, AzureLink(storage_accounts=(f"{group}/{name}",))
        )
        for group, name in accounts
    ]
