"""Every Azure call the auditor makes, each a read, bounded, failing closed.

Resource Manager answers the storage account's settings; the blob service itself answers
which containers are public. Each call has a timeout and no retries beyond one, and any
failure becomes an `AzureCallError` naming the call and the permission it needs
(docs/azure.md: built-in Reader plus Storage Blob Data Reader, or a custom role of exactly
these actions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from auditor.cloud.azure.settings import AzureSettings
from auditor.probes.deadline import Deadline

CALL_SECONDS = 20.0
READ_ONLY_CALLS: dict[str, str] = {
    "StorageAccounts.List": "Microsoft.Storage/storageAccounts/read",
    "StorageAccounts.GetProperties": "Microsoft.Storage/storageAccounts/read",
    "BlobServices.GetServiceProperties": "Microsoft.Storage/storageAccounts/blobServices/read",
    "ManagementPolicies.Get": "Microsoft.Storage/storageAccounts/managementPolicies/read",
    "Blob.ListContainers": "Microsoft.Storage/storageAccounts/blobServices/containers/read",
}
"""Every call the auditor may make, and the RBAC action it needs: reads only."""

T = TypeVar("T")


class AzureCallError(Exception):
    """A call that did not answer: denied, throttled, unreachable or malformed."""


class NotFound(AzureCallError):
    """The resource does not exist (a management policy that was never set)."""


def credential() -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


def management(settings: AzureSettings, token: Any) -> Any:
    from azure.mgmt.storage import StorageManagementClient

    return StorageManagementClient(
        token,
        settings.subscription_id,
        base_url=settings.management_endpoint,
        credential_scopes=[settings.management_endpoint + "/.default"],
        retry_total=1,
        connection_timeout=CALL_SECONDS,
        read_timeout=CALL_SECONDS,
    )


def blob_service(url: str, token: Any) -> Any:
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient(
        account_url=url,
        credential=token,
        retry_total=1,
        connection_timeout=CALL_SECONDS,
        read_timeout=CALL_SECONDS,
    )


def raw_json(pipeline_response: Any, deserialized: Any, headers: Any) -> Any:
    """Keep the REST API's own JSON (documented field names), not the SDK's model."""
    return pipeline_response.http_response.json()


def call(name: str, request: Callable[[float], T], deadline: Deadline) -> T:
    """One read, given what is left of `deadline` (at most CALL_SECONDS) as its timeout;
    any failure is an AzureCallError naming it and its RBAC action."""
    from azure.core import exceptions as az

    action = READ_ONLY_CALLS[name]  # a KeyError here is a bug: an unlisted call
    try:
        seconds = min(CALL_SECONDS, deadline.remaining())
    except TimeoutError as exc:
        raise AzureCallError(f"{name}: not made: {exc}") from None
    try:
        return request(seconds)
    except az.ResourceNotFoundError:
        raise NotFound(f"{name}: not found") from None
    except az.ClientAuthenticationError as exc:
        raise AzureCallError(f"{name}: not authenticated ({_reason(exc)})") from None
    except az.HttpResponseError as exc:
        status = getattr(exc, "status_code", None)
        if status == 403:
            raise AzureCallError(f"{name} denied ({_reason(exc)}): needs {action}") from None
        if status == 429:
            raise AzureCallError(f"{name}: throttled (429); lower --concurrency") from None
        raise AzureCallError(f"{name} failed: HTTP {status} {_reason(exc)}") from None
    except az.AzureError as exc:  # transport: refused, timed out, TLS
        raise AzureCallError(f"{name}: unreachable ({type(exc).__name__})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise AzureCallError(f"{name}: unreadable reply ({str(exc)[:80]})") from None


def _reason(exc: Any) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or getattr(exc, "reason", "") or ""
    return str(code or exc)[:120]
