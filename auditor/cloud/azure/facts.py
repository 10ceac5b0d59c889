"""The facts the Azure probe gives: root `azure` for a server's storage accounts, and
`azure_storage_account` for the rules that judge each (documented in docs/rules.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.factschema import FactRoot, ListOf

STORAGE_ACCOUNT_FIELDS: Mapping[str, Any] = {
    "name": "str: storage account name",
    "resource_group": "str: its resource group",
    "error": "str: why its facts could not be read (then every rule on it is `error`), else empty",
    "allow_blob_public_access": "bool: the account lets containers be made public",
    "public_containers": "list: containers with anonymous access, as `name (container|blob)`",
    "https_only": "bool: secure transfer required",
    "minimum_tls": "str: minimum TLS version: `TLS1_0`, `TLS1_1`, `TLS1_2`...",
    "shared_key_access": "bool: account keys and SAS signed with them are accepted",
    "network_default_action": "str: firewall default: `Allow` (every network) or `Deny`",
    "cmek": "bool: encrypted with a customer-managed key in Key Vault",
    "soft_delete_days": "int: blob soft-delete retention in days; -1 when off",
    "versioning": "bool: blob versioning on",
    "delete_after_days": "int: shortest lifecycle delete age covering every blob; -1 when none",
}

ROOT = FactRoot(
    "azure",
    "azure",
    "the server's Azure storage accounts",
    {"storage_accounts": ListOf(STORAGE_ACCOUNT_FIELDS)},
)
