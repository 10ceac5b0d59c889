"""Azure probe: the storage accounts each server links, read with Get/List calls only.

Facts root `azure`: a list of `storage_accounts`. An account whose calls failed carries an
`error` naming the call and the RBAC action it needs; every rule on it is then `error`,
and the server incomplete. Targets found by discovery carry their one account.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.cloud.azure.api import AzureCallError, credential, management
from auditor.cloud.azure.settings import AzureLink
from auditor.cloud.azure.storage import account_facts
from auditor.cloud.probe import LinkedResourcesProbe
from auditor.probes.base import ClientError
from auditor.probes.deadline import Deadline


class AzureProbe(LinkedResourcesProbe):
    name = "azure"
    records_key = "storage_accounts"

    def connect(self) -> Any:
        try:
            token = credential()
            return token, management(self.settings, token)
        except (AzureCallError, ImportError, ValueError) as exc:
            raise ClientError(f"Azure client: {exc}") from None

    def resources(self, link: AzureLink) -> Sequence[str]:
        return link.storage_accounts

    def read_resource(self, client: Any, resource: str, deadline: Deadline) -> dict[str, Any]:
        token, arm = client
        return account_facts(arm, token, resource, deadline)
