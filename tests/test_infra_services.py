"""Infrastructure daemons that nmap's NSE and nuclei look for and that were only
"unidentified port" before (issue 27), each real and from Debian, on two network-namespace
hosts: one left open the way a hurried build leaves it, one locked the way the daemon's
own documentation locks it.

- a JVM with the JDWP agent and an RMI registry (openjdk-17-jre-headless);
- nbd-server with listing and no TLS, or `force_tls`;
- clamd on TCP; xrdp with Standard RDP Security or TLS only; NRPE answering anyone or
  only its `allowed_hosts`; cupsd's web interface open or local; vsftpd with or without
  `port_promiscuous` (FTP bounce).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import audit_in_process
from tests.lab.lab import Lab

HOSTS = ["infra-open", "infra-locked"]


@pytest.fixture(scope="module")
def report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inventory = lab.write_inventory(tmp_path_factory.mktemp("infra") / "inv.yaml", HOSTS)
    result = audit_in_process(inventory)
    assert result.code == 1, result.report
    return result.report


def _findings(report: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    target = next(t for t in report["targets"] if t["name"] == host)
    errors = [f for f in target["findings"] if f["status"] == "error"]
    assert target["verdict"] != "incomplete" and not errors, errors
    return {f"{f['rule']} {f['resource']}": f for f in target["findings"] if f["status"] != "skip"}


def _one(found: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    assert key in found, sorted(found)
    return found[key]


def test_each_open_daemon_fails_its_rule_with_its_own_words(report: dict[str, Any]) -> None:
    found = _findings(report, "infra-open")
    jdwp = _one(found, "services.debug-interface-exposed service:jdwp@8000/tcp")
    assert jdwp["status"] == "fail" and jdwp["severity"] == "critical"
    assert "JDWP debugger answers anyone: OpenJDK 64-Bit Server VM 17." in jdwp["message"]
    rmi = _one(found, "services.debug-interface-exposed service:rmi-registry@1099/tcp")
    assert rmi["status"] == "fail"
    assert "RMI registry lists 0 bound name(s) to anyone" in rmi["message"]
    nbd = _one(found, "services.nbd-exports-open service:nbd@10809/tcp")
    assert nbd["status"] == "fail" and "1 export(s) to anyone" in nbd["message"]
    assert "lab-disk" in nbd["message"]
    clamd = _one(found, "services.open-access service:clamd@3310/tcp")
    assert clamd["status"] == "fail" and "clamd 1." in clamd["message"]
    rdp = _one(found, "services.rdp-standard-security service:rdp@3389/tcp")
    assert rdp["status"] == "fail" and "Standard RDP Security" in rdp["message"]
    nrpe = _one(found, "services.monitoring-agent-exposed service:nrpe@5666/tcp")
    assert nrpe["status"] == "fail" and "NRPE answers anyone over TLS: NRPE v4" in nrpe["message"]
    cups = _one(found, "services.admin-console-open service:cups@631/tcp")
    assert cups["status"] == "fail" and "lets anyone in" in cups["message"]
    bounce = _one(found, "services.ftp-bounce service:ftp@21/tcp")
    assert bounce["status"] == "fail" and "192.0.2.1" in bounce["message"]


def test_each_locked_daemon_passes_on_its_own_refusal(report: dict[str, Any]) -> None:
    found = _findings(report, "infra-locked")
    nbd = _one(found, "services.nbd-exports-open service:nbd@10809/tcp")
    assert nbd["status"] == "pass"
    assert nbd["evidence"]["service"]["evidence"] == "NBD server requires TLS before any option"
    rdp = _one(found, "services.rdp-standard-security service:rdp@3389/tcp")
    assert rdp["status"] == "pass"
    assert rdp["evidence"]["service"]["evidence"].endswith("TLS required by the server")
    nrpe = _one(found, "services.monitoring-agent-exposed service:nrpe@5666/tcp")
    assert nrpe["status"] == "pass" and "allowed_hosts" in nrpe["evidence"]["service"]["evidence"]
    cups = _one(found, "services.admin-console-open service:cups@631/tcp")
    assert cups["status"] == "pass" and "HTTP 403" in cups["evidence"]["service"]["evidence"]
    bounce = _one(found, "services.ftp-bounce service:ftp@21/tcp")
    assert bounce["status"] == "pass"
    # anonymous FTP itself still fails: the bounce is one more question, not a replacement
    assert _one(found, "services.ftp-anonymous service:ftp@21/tcp")["status"] == "fail"


def test_a_declared_rpcbind_is_accepted_and_an_undeclared_one_fails(
    report: dict[str, Any], lab: Lab, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """rpcbind (with the NFS lab's mountd) on the file servers: declared there, so the
    DUMP listing passes; the same daemon audited with the declaration removed fails."""
    inventory = lab.write_inventory(tmp_path_factory.mktemp("rpc") / "inv.yaml", ["fileserver"])
    declared = _findings(audit_in_process(inventory).report, "fileserver")
    rpc = _one(declared, "services.rpcbind-exposed service:rpcbind@111/tcp")
    assert rpc["status"] == "pass"
    assert "mountd" in rpc["evidence"]["service"]["evidence"]
    text = inventory.read_text().replace("service: rpcbind", "service: portmap-unused")
    inventory.write_text(text)
    undeclared = _findings(audit_in_process(inventory).report, "fileserver")
    rpc = _one(undeclared, "services.rpcbind-exposed service:rpcbind@111/tcp")
    assert rpc["status"] == "fail" and "rpcbind lists" in rpc["message"]
