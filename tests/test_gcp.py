"""Google Cloud Storage against gcp-storage-emulator (PyPI: the JSON API over real HTTP on
loopback, IAM policies and ACLs included; no credentials are sent). The one reply the
emulator cannot give, a denied call, comes from a responder replaying Google's documented
403 error, and says so."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import requests

from auditor.cloud.gcp.api import READ_ONLY_CALLS
from auditor.cloud.gcp.probe import GcpProbe
from auditor.cloud.gcp.settings import GcpLink, GcpSettings
from auditor.inventory import load_inventory
from auditor.models import Target
from auditor.scope import Scope
from tests import responders
from tests.conftest import LISTENER_NETWORK, run_auditor
from tests.lab import cloud
from tests.lab.lab import Lab


@pytest.fixture(scope="module")
def report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inventory = lab.write_inventory(
        tmp_path_factory.mktemp("gcp") / "inv.yaml", ["hardened", "vendor-built"]
    )
    result = run_auditor("audit", str(inventory), "-f", "json", "--no-history")
    assert result.code == 1, result.stderr
    return result.json()


def _gcp(report: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    target = next(t for t in report["targets"] if t["name"] == host)
    return {f["rule"]: f for f in target["findings"] if f["rule"].startswith("gcp.")}


def test_public_bucket_kept_forever_makes_the_vendor_server_no_go(report: dict[str, Any]) -> None:
    found = _gcp(report, "vendor-built")
    public = found["gcp.gcs-public"]
    assert public["status"] == "fail" and public["severity"] == "critical"
    assert public["resource"] == f"gcs_bucket:{cloud.PUBLIC_GCS_BUCKET}"
    assert public["evidence"] == {"iam": ["allUsers roles/storage.objectViewer"], "acl": []}
    retention = found["gcp.gcs-retention"]
    assert retention["status"] == "fail"
    assert "never expire" in retention["message"] and "promises 90" in retention["message"]
    assert found["gcp.gcs-cmek-for-personal-data"]["status"] == "fail"


def test_well_built_bucket_passes_every_gcp_rule(report: dict[str, Any]) -> None:
    found = _gcp(report, "hardened")
    assert found, "no gcp findings for the hardened server"
    for rule, finding in found.items():
        assert finding["status"] in ("pass", "skip"), (rule, finding["message"])
    assert found["gcp.gcs-public"]["status"] == "pass"
    hardened = next(t for t in report["targets"] if t["name"] == "hardened")
    assert hardened["verdict"] == "go"


def test_project_wide_discovery_audits_every_bucket(lab: Lab, tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "version: 1\nscope: ['127.0.0.1/32']\nservers: []\n"
        f"cloud:\n  gcp: {{project: {cloud.GCS_PROJECT}, endpoint_url: '{lab.gcs_endpoint}',"
        " discover: true}\n"
    )
    result = run_auditor("audit", str(inventory), "-f", "json", "--no-history")
    assert result.code == 1, result.stderr
    targets = {t["name"]: t for t in result.json()["targets"]}
    public = targets[f"gcs_bucket:{cloud.PUBLIC_GCS_BUCKET}"]
    assert public["kind"] == "gcs_bucket" and public["verdict"] == "no-go"
    assert targets[f"gcs_bucket:{cloud.GOOD_GCS_BUCKET}"]["verdict"] == "go"


def test_a_full_audit_makes_only_documented_read_only_calls(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every HTTP request of discovery and the probe, recorded below the client library:
    GETs only, each one of the calls docs/gcp.md lists with its permission."""
    assert lab.gcs_endpoint is not None
    seen: list[tuple[str, str]] = []
    original = requests.Session.request

    def recording(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        seen.append((method, url.split("?")[0].split("/storage/v1/", 1)[1]))
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recording)
    settings = GcpSettings(project=cloud.GCS_PROJECT, endpoint_url=lab.gcs_endpoint, discover=True)
    from auditor.cloud.gcp.discovery import discover

    targets = discover(settings)
    outcomes = GcpProbe(settings).collect(targets, Scope(()), timeout=30)
    assert all(o.ok for o in outcomes.values())
    assert seen and {method for method, _ in seen} == {"GET"}
    calls = set()
    for _, path in seen:
        parts = path.split("/")
        calls.add(
            "buckets.list"
            if parts == ["b"]
            else "buckets.getIamPolicy"
            if parts[-1] == "iam"
            else "buckets.get"
            if len(parts) == 2
            else f"unexpected {path}"
        )
    assert calls == set(READ_ONLY_CALLS)
    doc = (Path(__file__).parents[1] / "docs" / "gcp.md").read_text()
    for name, permission in READ_ONLY_CALLS.items():
        assert f"`{permission}`" in doc, name


def _denied_iam(client: socket.socket) -> None:
    """Google's documented 403 for a caller without storage.buckets.getIamPolicy; the
    bucket itself is readable (storage.buckets.get granted)."""
    request = responders._read_http_request(client)
    if "/iam" in request:
        status, body = (
            403,
            {
                "error": {
                    "code": 403,
                    "message": "auditor@lab.iam.gserviceaccount.com does not have "
                    "storage.buckets.getIamPolicy access to the Google Cloud Storage bucket.",
                    "errors": [{"reason": "forbidden", "domain": "global"}],
                }
            },
        )
    else:
        status, body = 200, {"kind": "storage#bucket", "name": "exports", "id": "exports"}
    payload = json.dumps(body).encode()
    client.sendall(
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )


def test_a_denied_call_is_incomplete_and_names_the_permission(tmp_path: Path) -> None:
    ip = f"{LISTENER_NETWORK}.80"
    with responders.serve(ip, _denied_iam) as port:
        inventory = tmp_path / "inv.yaml"
        inventory.write_text(
            f"version: 1\nscope: ['{ip}/32']\nservers:\n  - name: web\n    address: {ip}\n"
            "    rules: [gcp]\n    gcp: {buckets: [exports]}\n"
            f"cloud:\n  gcp: {{project: p, endpoint_url: 'http://{ip}:{port}'}}\n"
        )
        result = run_auditor("audit", str(inventory), "-f", "json", "--no-history")
    assert result.code == 3, result.stderr
    (target,) = result.json()["targets"]
    assert target["verdict"] == "no-go" and target["complete"] is False
    # Every rule that applies is `error`, none `pass`; only rules whose `when` excludes this
    # server (no personal data declared) skip.
    statuses = {f["rule"]: f["status"] for f in target["findings"]}
    assert set(statuses.values()) == {"error", "skip"}
    assert {r for r, s in statuses.items() if s == "skip"} == {
        "gcp.gcs-retention",
        "gcp.gcs-cmek-for-personal-data",
    }
    errors = {f["rule"]: f for f in target["findings"] if f["status"] == "error"}
    assert "buckets.getIamPolicy denied" in errors["gcp.gcs-public"]["message"]
    assert "needs storage.buckets.getIamPolicy" in errors["gcp.gcs-public"]["message"]


def test_an_unreachable_endpoint_ends_within_the_deadline_as_an_error() -> None:
    """The client library retries a refused connection for two minutes by default; the
    auditor sends each call once, with a timeout."""
    settings = GcpSettings(project="p", endpoint_url=f"http://{LISTENER_NETWORK}.81:9")
    target = Target("t", "t", None, clouds={"gcp": GcpLink(buckets=("b",))})
    (outcome,) = GcpProbe(settings).collect([target], Scope(()), timeout=10).values()
    (bucket,) = outcome.facts["gcp"]["buckets"]
    assert bucket["error"].startswith("bucket b: buckets.get: unreachable")


@pytest.mark.parametrize(
    ("cloud_part", "server_part", "expected"),
    [
        ("  gcp: {project: p, zone: x}", "", "cloud.gcp.zone: unknown key"),
        ("  gcp: {discover: true}", "", "cloud.gcp: discovery lists one project's buckets"),
        ("  gcp: {project: p, endpoint_url: 'http://10.1.2.3:9023'}", "", "not loopback"),
        ("  aws: {regions: [eu-west-1]}", "    gcp: {buckets: [b]}\n", "no `cloud.gcp` section"),
        ("  gcp: {project: p}", "    gcp: {bucket: b}\n", "servers[0].gcp.bucket: unknown key"),
    ],
)
def test_a_bad_gcp_section_is_one_line_naming_the_key(
    tmp_path: Path, cloud_part: str, server_part: str, expected: str
) -> None:
    from auditor.errors import InputError

    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: ['127.0.0.1/32']\nservers:\n  - name: a\n    address: 127.0.0.1\n"
        f"{server_part}cloud:\n{cloud_part}\n"
    )
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert expected in message and f"{path}:" in message and "\n" not in message


def test_a_silent_endpoint_ends_with_the_probes_deadline_not_the_calls(tmp_path: Path) -> None:
    """Each call gets what is left of the probe's deadline (here 2 s), not its own 20 s:
    two calls on a silent endpoint end as an error within the one deadline."""
    import time

    listener = socket.socket()
    listener.bind((f"{LISTENER_NETWORK}.82", 0))
    listener.listen(16)  # accepts, never answers
    try:
        endpoint = f"http://{LISTENER_NETWORK}.82:{listener.getsockname()[1]}"
        settings = GcpSettings(project="p", endpoint_url=endpoint)
        target = Target("t", "t", None, clouds={"gcp": GcpLink(buckets=("a", "b"))})
        started = time.monotonic()
        (outcome,) = GcpProbe(settings).collect([target], Scope(()), timeout=2).values()
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    first, second = outcome.facts["gcp"]["buckets"]
    assert first["error"].startswith("bucket a: buckets.get: unreachable")
    assert second["error"] == "bucket b: buckets.get: not made: no complete answer within 2s"
    assert elapsed < 4
