"""Azure probe: the storage accounts each server links, read with Get/List calls only.

Facts root `azure`: a list of `storage_accounts`. An account whose calls failed carries an
`error` naming the call and the RBAC action it needs; every rule on it is then `error`,
and the server incomplete. Targets found by discovery carry their one account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from auditor.cloud.azure.api import AzureCallError, credential, management
from auditor.cloud.azure.settings import AzureLink, AzureSettings
from auditor.cloud.azure.storage import account_facts
from auditor.models import ProbeOutcome, Target
from auditor.probes.base import NO_UPSTREAM, Done, Probe, Upstream, delivery
from auditor.scope import Scope


class AzureProbe(Probe):
    name = "azure"

    def __init__(self, settings: AzureSettings | None, concurrency: int = 16) -> None:
        self.settings = settings
        self.concurrency = max(1, concurrency)

    def collect(
        self,
        targets: Sequence[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        deliver, kept = delivery(done)
        if self.settings is None:
            return {
                t.name: self.failed("the inventory has no `cloud.azure` section") for t in targets
            }
        try:
            token = credential()
            arm = management(self.settings, token)
        except (AzureCallError, ImportError, ValueError) as exc:
            return {t.name: self.failed(f"Azure client: {exc}") for t in targets}

        def one(target: Target) -> None:
            link: AzureLink | None = target.clouds.get("azure")
            if link is None:
                deliver(target.name, self.failed("no Azure resources linked (`azure:` key)"))
                return
            accounts: list[dict[str, Any]] = [
                account_facts(arm, token, account) for account in link.storage_accounts
            ]
            deliver(
                target.name,
                ProbeOutcome(self.name, facts={"azure": {"storage_accounts": accounts}}),
            )

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(one, targets))
        return kept
