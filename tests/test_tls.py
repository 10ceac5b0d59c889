"""TLS on every TLS port (issue 27): real nginx serving certificates that `openssl` made in
the lab (tests/lab/certs.py): one good, one expired, one self-signed, one for another
name, and one weak (RSA 1024, SHA-1) on a server that also speaks TLS 1.0 and 1.1 and
takes NULL and anonymous suites. The lab CA is trusted through OpenSSL's SSL_CERT_FILE, as
a user trusts a private CA."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import audit_in_process
from tests.lab.lab import Lab

HOSTS = ["web-tls", "vendor-built"]


@pytest.fixture(scope="module")
def report(
    lab: Lab, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch_module.setenv("SSL_CERT_FILE", str(lab.tls_ca))
    inventory = lab.write_inventory(tmp_path_factory.mktemp("tls") / "inv.yaml", HOSTS)
    return audit_in_process(inventory).report


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _tls(report: dict[str, Any], host: str) -> dict[str, dict[str, str]]:
    """status of each tls rule, by port then rule id."""
    target = next(t for t in report["targets"] if t["name"] == host)
    found: dict[str, dict[str, str]] = {}
    for finding in target["findings"]:
        if finding["rule"].startswith("tls."):
            port = finding["resource"].removeprefix("tls:").removesuffix("/tcp")
            found.setdefault(port, {})[finding["rule"]] = finding["status"]
    return found


def _failing(statuses: dict[str, str]) -> set[str]:
    return {rule for rule, status in statuses.items() if status == "fail"}


def test_each_way_a_certificate_or_a_server_goes_wrong_fails_its_own_rule(
    report: dict[str, Any],
) -> None:
    ports = _tls(report, "web-tls")
    assert set(ports) == {"443", "8443", "9443", "10443"}, "every TLS port, found by handshake"
    assert _failing(ports["443"]) == set(), ports["443"]
    assert all(s in ("pass", "skip") for s in ports["443"].values())
    assert _failing(ports["8443"]) == {"tls.certificate-self-signed"}
    assert _failing(ports["10443"]) == {"tls.certificate-hostname-mismatch"}
    assert _failing(ports["9443"]) == {
        "tls.legacy-protocol",
        "tls.weak-cipher",
        "tls.certificate-weak-key",
        "tls.certificate-weak-signature",
    }


def test_the_vendor_builds_expired_certificate_fails_the_gate(report: dict[str, Any]) -> None:
    ports = _tls(report, "vendor-built")
    assert _failing(ports["443"]) == {"tls.certificate-expired"}
    vendor = next(t for t in report["targets"] if t["name"] == "vendor-built")
    expired = next(f for f in vendor["findings"] if f["rule"] == "tls.certificate-expired")
    assert "2024-01-01T00:00:00Z to 2024-06-30T00:00:00Z" in expired["message"]
    assert vendor["verdict"] == "no-go"


def test_the_weak_server_is_described_as_it_is(report: dict[str, Any]) -> None:
    target = next(t for t in report["targets"] if t["name"] == "web-tls")
    legacy = next(
        f
        for f in target["findings"]
        if f["rule"] == "tls.legacy-protocol" and "9443" in f["resource"]
    )
    assert legacy["evidence"]["legacy"] == ["TLSv1.0", "TLSv1.1"]
    weak = next(
        f for f in target["findings"] if f["rule"] == "tls.weak-cipher" and "9443" in f["resource"]
    )
    assert set(weak["evidence"]["kinds"]) == {"NULL", "anonymous"}
    assert "TLS_ECDHE_RSA_WITH_NULL_SHA" in weak["evidence"]["suites"]
