"""Azure Blob Storage against Azurite (Microsoft's emulator, from the npm registry: the blob
service over TLS, OAuth bearer tokens checked) for container access, and, because no
emulator of Azure Resource Manager exists, a responder replaying ARM's documented replies
for the storage account's settings and the App Service managed-identity endpoint's
documented token reply. The auditor reaches both through its production path:
DefaultAzureCredential, azure-mgmt-storage and azure-storage-blob, with the lab's CA in
REQUESTS_CA_BUNDLE."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.cloud.azure.api import READ_ONLY_CALLS
from tests import responders
from tests.conftest import LISTENER_NETWORK, run_auditor
from tests.lab.lab import Lab, LabHost
from tests.lab.services import Azurite, tls_pair

SUBSCRIPTION = "00000000-0000-0000-0000-00000000a001"
AZURITE_IP, ARM_IP = f"{LISTENER_NETWORK}.88", f"{LISTENER_NETWORK}.89"
VENDOR, HARDENED = "vendorexports", "hardenedlogs"
KEY = base64.b64encode(b"lab-only-azurite-account-key-32b").decode()


def _account(name: str, hardened: bool) -> dict[str, Any]:
    """A StorageAccount as ARM's REST API documents it (Storage Accounts - Get Properties)."""
    return {
        "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-lab/providers/"
        f"Microsoft.Storage/storageAccounts/{name}",
        "name": name,
        "type": "Microsoft.Storage/storageAccounts",
        "location": "westeurope",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "properties": {
            "provisioningState": "Succeeded",
            "primaryEndpoints": {"blob": f"https://{AZURITE_IP}:10000/{name}/"},
            "allowBlobPublicAccess": not hardened,
            "supportsHttpsTrafficOnly": hardened,
            "minimumTlsVersion": "TLS1_2" if hardened else "TLS1_0",
            "allowSharedKeyAccess": not hardened,
            "networkAcls": {
                "bypass": "AzureServices",
                "defaultAction": "Deny" if hardened else "Allow",
                "ipRules": [],
                "virtualNetworkRules": [],
            },
            "encryption": {
                "keySource": "Microsoft.Keyvault" if hardened else "Microsoft.Storage",
                "services": {"blob": {"enabled": True, "keyType": "Account"}},
            },
        },
    }


def _blob_service(hardened: bool) -> dict[str, Any]:
    return {
        "name": "default",
        "type": "Microsoft.Storage/storageAccounts/blobServices",
        "properties": {
            "deleteRetentionPolicy": {"enabled": hardened, "days": 14 if hardened else 0},
            "isVersioningEnabled": hardened,
        },
    }


POLICY = {
    "name": "DefaultManagementPolicy",
    "type": "Microsoft.Storage/storageAccounts/managementPolicies",
    "properties": {
        "policy": {
            "rules": [
                {
                    "enabled": True,
                    "name": "expire-after-30-days",
                    "type": "Lifecycle",
                    "definition": {
                        "actions": {
                            "baseBlob": {"delete": {"daysAfterModificationGreaterThan": 30}}
                        },
                        "filters": {"blobTypes": ["blockBlob"]},
                    },
                }
            ]
        }
    },
}


def _arm(denied: str | None, seen: list[tuple[str, str]]) -> Callable[[socket.socket], None]:
    """Resource Manager's documented replies; `denied` names a path suffix answered with
    the documented AuthorizationFailed 403."""
    base = f"/subscriptions/{SUBSCRIPTION}"

    def reply(method: str, path: str) -> tuple[int, Any]:
        seen.append((method, path))
        if denied and path.endswith(denied):
            return 403, {
                "error": {
                    "code": "AuthorizationFailed",
                    "message": "The client 'auditor' does not have authorization to perform "
                    "action 'Microsoft.Storage/storageAccounts/blobServices/read' over scope "
                    f"'{path}' or the scope is invalid.",
                }
            }
        if path == f"{base}/providers/Microsoft.Storage/storageAccounts":
            return 200, {"value": [_account(VENDOR, False), _account(HARDENED, True)]}
        for name, hardened in ((VENDOR, False), (HARDENED, True)):
            account = (
                f"{base}/resourceGroups/rg-lab/providers/Microsoft.Storage/storageAccounts/{name}"
            )
            if path == account:
                return 200, _account(name, hardened)
            if path == account + "/blobServices/default":
                return 200, _blob_service(hardened)
            if path == account + "/managementPolicies/default":
                if hardened:
                    return 200, POLICY
                return 404, {
                    "error": {
                        "code": "ManagementPolicyNotFound",
                        "message": f"No ManagementPolicy found for account {name}",
                    }
                }
        return 404, {"error": {"code": "ResourceNotFound", "message": path}}

    return _http_handler(reply)


def _token(resource: str) -> str:
    """An unsigned JWT of the shape Entra ID issues; Azurite's `basic` OAuth checks issuer,
    audience and lifetime, not signatures."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "aud": resource,
        "iss": "https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "oid": "lab",
        "tid": "ab1f708d-50f6-404c-a006-d71b2ac7a606",
    }
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def _identity(client: socket.socket) -> None:
    """App Service's managed-identity endpoint (api-version 2019-08-01), as documented."""

    def reply(method: str, path_and_query: str) -> tuple[int, Any]:
        query = dict(
            pair.split("=", 1) for pair in path_and_query.partition("?")[2].split("&") if pair
        )
        from urllib.parse import unquote

        resource = unquote(query.get("resource", ""))
        return 200, {
            "access_token": _token(resource),
            "expires_on": str(int(time.time()) + 3600),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": "00000000-0000-0000-0000-0000000c1d00",
        }

    _http_handler(reply, keep_query=True)(client)


def _http_handler(
    reply: Callable[[str, str], tuple[int, Any]], keep_query: bool = False
) -> Callable[[socket.socket], None]:
    def handler(client: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(4096)
            if not chunk:
                return
            data += chunk
        method, target = data.split(b" ")[:2]
        path = target.decode() if keep_query else target.decode().split("?")[0]
        status, body = reply(method.decode(), path)
        payload = json.dumps(body).encode()
        client.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )

    return handler


class AzureLab:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = tls_pair(root, AZURITE_IP, ARM_IP)
        azurite = Azurite(
            accounts=(f"{VENDOR}:{KEY}", f"{HARDENED}:{KEY}"),
            cert=str(self.cert),
            key=str(self.key),
        )
        self.lab = Lab(root / "lab", LISTENER_NETWORK, (LabHost("azurite", 88, (azurite,)),))
        self.root = root

    def seed(self) -> None:
        from azure.storage.blob import BlobServiceClient

        for name, public in ((VENDOR, "container"), (HARDENED, None)):
            client = BlobServiceClient(
                account_url=f"https://{AZURITE_IP}:10000/{name}",
                credential={"account_name": name, "account_key": KEY},
                connection_verify=str(self.cert),
            )
            client.create_container("exports", public_access=public)
            client.create_container("private")

    def env(self, identity_port: int) -> dict[str, str]:
        return {
            "REQUESTS_CA_BUNDLE": str(self.cert),
            "IDENTITY_ENDPOINT": f"http://{ARM_IP}:{identity_port}/msi/token",
            "IDENTITY_HEADER": "lab-identity-header",
            "AZURE_CLIENT_ID": "",
        }

    def inventory(self, arm_port: int, servers: str, discover: bool = False) -> Path:
        path = self.root / "inv.yaml"
        path.write_text(
            f"version: 1\nscope: ['{ARM_IP}/32']\nservers:{servers}\ncloud:\n  azure:\n"
            f"    subscription_id: '{SUBSCRIPTION}'\n"
            f"    management_endpoint: 'https://{ARM_IP}:{arm_port}'\n"
            f"    discover: {str(discover).lower()}\n"
        )
        return path


SERVERS = f"""
  - name: vendor-built
    address: {ARM_IP}
    rules: [azure]
    change: {{id: CHG-2041, approved: true, data: [personal], retention_days: 90}}
    azure: {{storage_accounts: [rg-lab/{VENDOR}]}}
  - name: hardened
    address: {ARM_IP}
    rules: [azure]
    change: {{id: CHG-1001, approved: true, data: [personal], retention_days: 90}}
    azure: {{storage_accounts: [rg-lab/{HARDENED}]}}"""


@pytest.fixture(scope="module")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureLab]:
    lab = AzureLab(tmp_path_factory.mktemp("azure"))
    if lab.lab.missing():
        pytest.skip("; ".join(lab.lab.missing()) + " (run `make install`)")
    lab.lab.up()
    try:
        lab.seed()
        yield lab
    finally:
        lab.lab.down()


def _findings(report: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    target = next(t for t in report["targets"] if t["name"] == host)
    return {f["rule"]: f for f in target["findings"]}


def test_public_container_and_missing_lifecycle_fail_and_a_hardened_account_passes(
    azure: AzureLab,
) -> None:
    seen: list[tuple[str, str]] = []
    with (
        responders.serve(ARM_IP, _arm(None, seen), tls=(azure.cert, azure.key)) as arm,
        responders.serve(ARM_IP, _identity) as identity,
    ):
        result = run_auditor(
            "audit",
            str(azure.inventory(arm, SERVERS)),
            "-f",
            "json",
            "--no-history",
            env=azure.env(identity),
        )
    assert result.code == 1, result.stderr
    report = result.json()
    vendor = _findings(report, "vendor-built")
    public = vendor["azure.container-public"]
    assert public["status"] == "fail" and public["severity"] == "critical"
    assert "exports (container)" in public["message"] and "private" not in public["message"]
    retention = vendor["azure.lifecycle-retention"]
    assert retention["status"] == "fail" and "never expire" in retention["message"]
    for rule in ("azure.secure-transfer", "azure.minimum-tls", "azure.cmek-for-personal-data"):
        assert vendor[rule]["status"] == "fail", rule
    hardened = _findings(report, "hardened")
    assert {f["status"] for f in hardened.values()} == {"pass"}, {
        r: f["message"] for r, f in hardened.items() if f["status"] != "pass"
    }
    target = next(t for t in report["targets"] if t["name"] == "hardened")
    assert target["verdict"] == "go"
    # Resource Manager saw reads only, each one of the calls docs/azure.md lists.
    assert {method for method, _ in seen} == {"GET"}
    doc = (Path(__file__).parents[1] / "docs" / "azure.md").read_text()
    for name, action in READ_ONLY_CALLS.items():
        assert f"`{action}`" in doc, name


def test_a_denied_call_is_incomplete_and_names_the_action(azure: AzureLab) -> None:
    seen: list[tuple[str, str]] = []
    with (
        responders.serve(
            ARM_IP, _arm("/blobServices/default", seen), tls=(azure.cert, azure.key)
        ) as arm,
        responders.serve(ARM_IP, _identity) as identity,
    ):
        result = run_auditor(
            "audit",
            str(azure.inventory(arm, SERVERS)),
            "-f",
            "json",
            "--no-history",
            env=azure.env(identity),
        )
    assert result.code == 3, result.stderr
    hardened = _findings(result.json(), "hardened")
    assert {f["status"] for f in hardened.values()} == {"error"}
    message = hardened["azure.container-public"]["message"]
    assert "BlobServices.GetServiceProperties denied (AuthorizationFailed)" in message
    assert "needs Microsoft.Storage/storageAccounts/blobServices/read" in message


def test_subscription_wide_discovery_audits_every_account(azure: AzureLab) -> None:
    seen: list[tuple[str, str]] = []
    with (
        responders.serve(ARM_IP, _arm(None, seen), tls=(azure.cert, azure.key)) as arm,
        responders.serve(ARM_IP, _identity) as identity,
    ):
        result = run_auditor(
            "audit",
            str(azure.inventory(arm, " []", discover=True)),
            "-f",
            "json",
            "--no-history",
            env=azure.env(identity),
        )
    assert result.code == 1, result.stderr
    targets = {t["name"]: t for t in result.json()["targets"]}
    assert targets[f"azure_storage_account:{VENDOR}"]["verdict"] == "no-go"
    assert targets[f"azure_storage_account:{HARDENED}"]["kind"] == "azure_storage_account"
