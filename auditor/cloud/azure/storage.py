"""One storage account's facts: its settings from Resource Manager (account, blob service,
lifecycle management policy) and its containers' public access from the blob service."""

from __future__ import annotations

from typing import Any

from auditor.cloud.azure.api import (
    AzureCallError,
    NotFound,
    blob_service,
    call,
    raw_json,
)
from auditor.probes.deadline import Deadline


def account_facts(arm: Any, token: Any, link: str, deadline: Deadline) -> dict[str, Any]:
    group, name = link.split("/", 1)
    record: dict[str, Any] = {"name": name, "resource_group": group, "error": ""}
    try:
        account = call(
            "StorageAccounts.GetProperties",
            lambda seconds: arm.storage_accounts.get_properties(
                group, name, cls=raw_json, timeout=seconds
            ),
            deadline,
        )
        service = call(
            "BlobServices.GetServiceProperties",
            lambda seconds: arm.blob_services.get_service_properties(
                group, name, cls=raw_json, timeout=seconds
            ),
            deadline,
        )
        try:
            policy = call(
                "ManagementPolicies.Get",
                lambda seconds: arm.management_policies.get(
                    group, name, "default", cls=raw_json, timeout=seconds
                ),
                deadline,
            )
        except NotFound:  # no lifecycle management policy was ever set
            policy = {}
        props = account["properties"]
        url = (props.get("primaryEndpoints") or {})["blob"]
        containers = call(
            "Blob.ListContainers",
            lambda seconds: [
                (c.name, c.public_access)
                for c in blob_service(url, token).list_containers(timeout=seconds)
            ],
            deadline,
        )
    except (AzureCallError, KeyError, TypeError) as exc:
        record["error"] = f"storage account {name}: {exc}"
        return record
    service_props = service.get("properties") or {}
    soft_delete = service_props.get("deleteRetentionPolicy") or {}
    record.update(
        allow_blob_public_access=bool(props.get("allowBlobPublicAccess", False)),
        https_only=bool(props.get("supportsHttpsTrafficOnly", True)),
        minimum_tls=str(props.get("minimumTlsVersion") or ""),
        shared_key_access=props.get("allowSharedKeyAccess") is not False,
        network_default_action=str((props.get("networkAcls") or {}).get("defaultAction") or ""),
        cmek=(props.get("encryption") or {}).get("keySource") == "Microsoft.Keyvault",
        soft_delete_days=int(soft_delete.get("days", 0)) if soft_delete.get("enabled") else -1,
        versioning=bool(service_props.get("isVersioningEnabled")),
        delete_after_days=_delete_after(policy),
        public_containers=sorted(f"{n} ({level})" for n, level in containers if level),
    )
    return record


def _delete_after(policy: dict[str, Any]) -> int:
    """The shortest base-blob delete age of an enabled rule that filters by nothing but
    blob type: one narrowed by prefix or tag covers only some blobs, so it does not count."""
    rules = ((policy.get("properties") or {}).get("policy") or {}).get("rules") or []
    ages = []
    for rule in rules:
        if not rule.get("enabled", True):
            continue
        definition = rule.get("definition") or {}
        filters = definition.get("filters") or {}
        if set(filters) - {"blobTypes"}:
            continue
        delete = ((definition.get("actions") or {}).get("baseBlob") or {}).get("delete") or {}
        days = delete.get("daysAfterModificationGreaterThan")
        if days is not None:
            ages.append(int(days))
    return min(ages) if ages else -1
