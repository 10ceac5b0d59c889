"""What the inventory says about Azure: how to reach it (`cloud.azure`) and which storage
accounts belong to a server (`servers[].azure`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.yamlsource import Node

AZURE_KEYS = {"subscription_id", "management_endpoint", "discover"}
SERVER_AZURE_KEYS = {"storage_accounts"}
PUBLIC_CLOUD = "https://management.azure.com"
_ACCOUNT = re.compile(r"^[A-Za-z0-9._()-]{1,90}/[a-z0-9]{3,24}$")


@dataclass(frozen=True)
class AzureLink:
    """A server's storage accounts, each `RESOURCE_GROUP/ACCOUNT`."""

    storage_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class AzureSettings:
    """How to reach Azure: DefaultAzureCredential (environment, workload or managed
    identity, Azure CLI) and Resource Manager at `management_endpoint`."""

    subscription_id: str
    management_endpoint: str = PUBLIC_CLOUD
    discover: bool = False


def parse_settings(node: Node) -> AzureSettings:
    """`cloud.azure` of an inventory (docs/inventory.md)."""
    node.mapping(AZURE_KEYS)
    endpoint, discover = node.get("management_endpoint"), node.get("discover")
    if endpoint is not None and not endpoint.string().startswith("https://"):
        raise endpoint.error(
            "Resource Manager is reached over https:// only (a bearer token goes with each call)"
        )
    return AzureSettings(
        subscription_id=node.require("subscription_id").string(),
        management_endpoint=endpoint.string().rstrip("/") if endpoint else PUBLIC_CLOUD,
        discover=discover.as_(bool) if discover else False,
    )


def parse_link(node: Node) -> AzureLink:
    """A server's `azure:` link: `storage_accounts: [RESOURCE_GROUP/ACCOUNT, ...]`."""
    node.mapping(SERVER_AZURE_KEYS)
    accounts = node.get("storage_accounts")
    for item in accounts.items() if accounts else ():
        if not _ACCOUNT.match(item.string()):
            raise item.error(
                "not RESOURCE_GROUP/ACCOUNT",
                hint="e.g. rg-web/webexports (account names are 3-24 lower-case letters/digits)",
            )
    return AzureLink(storage_accounts=accounts.string_list() if accounts else ())
