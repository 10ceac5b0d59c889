"""Host probe over SSH, on lab hosts in their own network namespaces (so `ss` shows only
their sockets) with accounts and data that exist only inside their namespaces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.probes.ssh.daemon_configs import redis_facts
from auditor.probes.ssh.host import _listening
from auditor.probes.ssh.hostnet import firewall_facts
from tests.conftest import audit_in_process
from tests.lab.lab import Lab


@pytest.fixture(scope="module")
def report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inventory = lab.write_inventory(
        tmp_path_factory.mktemp("host") / "inv.yaml", ["db-host", "clean-host"]
    )
    result = audit_in_process(inventory)
    assert result.code == 1
    return result.report


def _status(report: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    target = next(t for t in report["targets"] if t["name"] == host)
    assert target["complete"], target["errors"]
    return {f["rule"]: f for f in target["findings"] if f["resource"] == "host"}


def test_hidden_root_account_and_empty_password_are_found(report: dict[str, Any]) -> None:
    found = _status(report, "db-host")
    uid0 = found["host.extra-uid0-account"]
    assert uid0["status"] == "fail" and uid0["evidence"] == {"uid0": ["toor"]}
    empty = found["host.empty-password"]
    assert empty["status"] == "fail" and empty["evidence"] == {"accounts": ["guest"]}
    assert "$" not in json.dumps(report)  # no password hash ever reaches the report


def _listeners(report: dict[str, Any], host: str) -> dict[str, str]:
    target = next(t for t in report["targets"] if t["name"] == host)
    return {
        f["resource"]: f["status"]
        for f in target["findings"]
        if f["rule"] == "host.undeclared-listener"
    }


def test_redis_on_all_addresses_is_an_undeclared_listener(report: dict[str, Any]) -> None:
    failing = [r for r, s in _listeners(report, "db-host").items() if s == "fail"]
    assert failing == ["listener:0.0.0.0:6379"]  # one finding per socket (issue 24)


def test_files_past_retention_make_the_host_no_go(report: dict[str, Any], lab: Lab) -> None:
    target = next(t for t in report["targets"] if t["name"] == "db-host")
    assert target["verdict"] == "no-go"
    retention = _status(report, "db-host")["host.retention"]
    assert retention["status"] == "fail" and retention["severity"] == "high"
    (path,) = retention["evidence"]["paths"]
    assert (path["count"], path["oldest_days"]) == (3, 200)
    assert "customers-" not in json.dumps(report)  # counts and ages, never file names


def test_clean_host_passes_the_account_listener_and_retention_rules(report: dict[str, Any]) -> None:
    found = _status(report, "clean-host")
    for rule in (
        "host.extra-uid0-account",
        "host.empty-password",
        "host.shadow-permissions",
        "host.retention",
    ):
        assert found[rule]["status"] == "pass", (rule, found[rule]["message"])
    assert set(_listeners(report, "clean-host").values()) <= {"pass", "skip"}
    # Detection is absent on these lab machines, and the report says so.
    for rule in ("host.auditd", "host.log-forwarding", "host.firewall"):
        assert found[rule]["status"] == "fail"
    # The machine's own /etc/redis/redis.conf (Debian's, from redis-server) is protected.
    assert found["host.redis-config"]["status"] == "pass"
    assert found["host.mongod-config"]["status"] == "skip"  # no mongod.conf here


def test_database_configs_that_let_anyone_in_are_found(report: dict[str, Any]) -> None:
    """db-host carries a pg_hba.conf with a `trust` line for 10.0.0.0/8 (a network the
    auditor cannot reach from here, so only the file shows it) and a my.cnf with
    skip-grant-tables; clean-host has this machine's own Debian defaults."""
    found = _status(report, "db-host")
    hba = found["host.pg-hba-trust"]
    assert hba["status"] == "fail" and hba["severity"] == "critical"
    assert hba["evidence"] == {"host": {"pg_hba": {"found": True, "trust_tcp": 1}}}
    assert "10.0.0.0" not in json.dumps(report)  # counts only, never addresses or users
    grants = found["host.mysql-skip-grant-tables"]
    assert grants["status"] == "fail"
    assert grants["evidence"]["host"]["mysqld"]["bind_address"] == "0.0.0.0"
    guests = found["host.samba-guest-share"]
    assert guests["status"] == "fail"
    assert guests["evidence"] == {"host": {"samba": {"found": True, "guest_shares": 1}}}
    listens = found["host.mysql-listens-everywhere"]  # 0.0.0.0, and 3306 not declared
    assert listens["status"] == "fail" and listens["severity"] == "medium"
    exports = found["host.nfs-export-to-everyone"]
    assert exports["status"] == "fail" and exports["severity"] == "critical"
    assert exports["evidence"] == {
        "host": {"nfs_exports": {"found": True, "world_rw": 1, "world_ro": 0}}
    }
    assert "/srv/exports" not in json.dumps(report)  # counts only, never a path
    clean = _status(report, "clean-host")
    assert clean["host.nfs-export-to-everyone"]["status"] == "pass"  # Debian's commented file
    assert clean["host.mysql-listens-everywhere"]["status"] == "pass"  # Debian: 127.0.0.1
    assert clean["host.samba-guest-share"]["status"] == "pass"  # Debian's own smb.conf
    assert clean["host.pg-hba-trust"]["status"] == "pass"
    assert clean["host.mysql-skip-grant-tables"]["status"] == "pass"


def test_parsers_on_real_tool_output() -> None:
    ss = (
        "LISTEN 0 511 0.0.0.0:6379 0.0.0.0:*\nLISTEN 0 128 127.0.0.1:631 0.0.0.0:*\n"
        "LISTEN 0 128 [::]:22 [::]:*\nLISTEN 0 128 10.0.0.5:8080 0.0.0.0:*\n"
    )
    sockets = {(s["address"], s["port"]): s for s in _listening(ss, "10.0.0.5")}
    assert sockets[("0.0.0.0", 6379)]["reachable"] and sockets[("::", 22)]["wildcard"]
    assert not sockets[("127.0.0.1", 631)]["reachable"]
    assert sockets[("10.0.0.5", 8080)]["reachable"]
    assert firewall_facts(
        "tool=nft\ntable inet filter {\n chain input {\n  type filter hook input priority 0;"
        " policy drop;\n }\n}\n"
    )["active"]
    assert not firewall_facts("tool=iptables\n-P INPUT ACCEPT\n-P FORWARD ACCEPT\n")["active"]
    assert redis_facts("protected-mode no\nrequirepass <set>\n__found__\n", str) == {
        "found": True,
        "protected_mode": "no",
        "requirepass_set": True,
        "bind": "",
    }


KERNEL_AND_SUDO = (
    "host.ip-forwarding",
    "host.icmp-redirects-sent",
    "host.icmp-redirects-accepted",
    "host.source-routing",
    "host.reverse-path-filter",
    "host.log-martians",
    "host.tcp-syncookies",
    "host.icmp-broadcasts",
    "host.ipv6-router-advertisements",
    "host.aslr",
    "host.suid-core-dumps",
    "host.sudo-nopasswd-all",
    "host.tmp-mount-options",
    "host.tmp-own-mount",
)


def test_a_host_set_as_the_benchmark_says_passes_every_kernel_and_sudo_rule(
    report: dict[str, Any],
) -> None:
    """Issue 26: read as data (rules/hostreads/baseline.yaml). clean-host's network
    namespace carries CIS Debian 12 section 3.3's remediation, its sudo asks for a
    password: every one of these rules passes, none is left unread."""
    found = _status(report, "clean-host")
    assert {rule: found[rule]["status"] for rule in KERNEL_AND_SUDO} == dict.fromkeys(
        KERNEL_AND_SUDO, "pass"
    )


def test_forwarding_redirects_and_sudo_without_a_password_are_found(
    report: dict[str, Any],
) -> None:
    """The vendor host forwards packets, keeps a new namespace's redirect defaults and
    gives its deploy account root without a password: the forwarding and the sudo rule
    block (high), with the rule that does it as evidence."""
    found = _status(report, "db-host")
    forwarding = found["host.ip-forwarding"]
    assert forwarding["status"] == "fail" and forwarding["severity"] == "high"
    assert forwarding["evidence"] == {"ipv4": "1", "ipv6": "0"}
    sudo = found["host.sudo-nopasswd-all"]
    assert sudo["status"] == "fail" and sudo["severity"] == "high"
    assert sudo["evidence"] == {"rules": ["deploy ALL=(ALL) NOPASSWD: ALL"]}
    for rule in ("host.icmp-redirects-sent", "host.icmp-redirects-accepted", "host.log-martians"):
        assert found[rule]["status"] == "fail", rule
    mounts = found["host.tmp-mount-options"]  # the machine's own /tmp: on / and executable
    assert mounts["status"] == "fail" and "/tmp" in mounts["evidence"]["lacking"]
