"""Service probes: proof of access against real daemons, responders where none can run,
and tarpits and garbage that must end as errors in time."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.models import ChangeRecord, Exposure, ProbeError, ProbeOutcome, Target
from auditor.probes.ports import PortProbe
from auditor.probes.services import ServicesProbe, plan
from auditor.scope import Scope
from tests import responders
from tests.conftest import LISTENER_NETWORK, audit_in_process
from tests.lab.lab import Lab, LabHost
from tests.lab.services import Redis

SERVICE_HOSTS = [
    *("hardened", "vendor-built", "cache", "files", "platform", "remote-access"),
    *("fileserver", "fileserver-locked"),
]
SCOPE = Scope((ipaddress.ip_network(f"{LISTENER_NETWORK}.0/24"),))


@pytest.fixture(scope="module")
def report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inventory = lab.write_inventory(tmp_path_factory.mktemp("svc") / "inv.yaml", SERVICE_HOSTS)
    result = audit_in_process(inventory)
    assert result.code == 1
    return result.report


def _findings(report: dict[str, Any], host: str) -> dict[tuple[str, str], dict[str, Any]]:
    target = next(t for t in report["targets"] if t["name"] == host)
    return {(f["rule"], f["resource"]): f for f in target["findings"] if f["status"] != "skip"}


def test_open_redis_makes_the_vendor_server_no_go_by_proof(report: dict[str, Any]) -> None:
    found = _findings(report, "vendor-built")
    redis = found[("services.redis-unauthenticated", "service:redis@6379/tcp")]
    assert redis["status"] == "fail" and redis["severity"] == "critical"
    assert redis["evidence"]["service"]["evidence"].startswith("redis_version:7")
    references = report["rules"][redis["rule"]]["references"]
    assert "nuclei-templates: network/exposures/exposed-redis" in references


def test_password_protected_redis_is_not_flagged(report: dict[str, Any]) -> None:
    found = _findings(report, "cache")
    redis = found[("services.redis-unauthenticated", "service:redis@6379/tcp")]
    assert redis["status"] == "pass"
    assert redis["evidence"]["service"]["evidence"].startswith("-NOAUTH")
    memcached = found[("services.memcached-unauthenticated", "service:memcached@11211/tcp")]
    assert memcached["status"] == "fail"
    assert memcached["evidence"]["service"]["evidence"].startswith("STAT version 1.")


def test_nginx_listing_git_and_env_are_found_and_secrets_redacted(report: dict[str, Any]) -> None:
    found = _findings(report, "vendor-built")
    for rule in ("http-directory-listing", "http-git-exposed", "http-env-exposed"):
        assert found[(f"services.{rule}", "service:http@80/tcp")]["status"] == "fail", rule
    env = found[("services.http-env-exposed", "service:http@80/tcp")]
    assert env["evidence"]["service"]["details"]["env_keys"] == ["APP_ENV", "DB_PASSWORD"]
    assert "lab-not-a-secret" not in json.dumps(report)  # the value never leaves the server


def test_postgresql_trust_is_proven_on_real_postgres_and_scram_passes(
    report: dict[str, Any],
) -> None:
    """The vendor's PostgreSQL lets `postgres` in without a password; the hardened one asks
    for SCRAM. Both are real PostgreSQL servers, and no query was ever sent."""
    vendor = _findings(report, "vendor-built")
    trust = vendor[("services.postgresql-trust", "service:postgresql@5432/tcp")]
    assert trust["status"] == "fail" and trust["severity"] == "critical"
    service = trust["evidence"]["service"]  # what the rule read: evidence, not details
    assert "AuthenticationOk without a password (server_version 15" in service["evidence"]
    assert "details" not in service
    hardened = _findings(report, "hardened")
    scram = hardened[("services.postgresql-trust", "service:postgresql@5432/tcp")]
    assert scram["status"] == "pass"
    assert scram["evidence"]["service"]["evidence"].endswith(
        "asks for scram-sha-256 authentication"
    )
    assert next(t for t in report["targets"] if t["name"] == "hardened")["verdict"] == "go"


def test_mariadb_handshake_says_whether_tls_is_offered(report: dict[str, Any]) -> None:
    """Real MariaDB: the vendor's offers no TLS (Debian's default), the hardened one has a
    certificate. Only the server's handshake is read; nothing is sent."""
    vendor = _findings(report, "vendor-built")
    plain = vendor[("services.mysql-no-tls", "service:mysql@3306/tcp")]
    assert plain["status"] == "fail" and plain["severity"] == "medium"
    service = plain["evidence"]["service"]  # the fact the rule judged, and its proof
    assert service["details"] == {"ssl": False}
    assert "-MariaDB" in service["evidence"] and "mysql_native_password" in service["evidence"]
    assert service["evidence"].endswith("offers no TLS")
    hardened = _findings(report, "hardened")
    tls = hardened[("services.mysql-no-tls", "service:mysql@3306/tcp")]
    assert tls["status"] == "pass" and tls["evidence"]["service"]["details"] == {"ssl": True}


def test_empty_root_password_is_tried_only_when_asked(
    report: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    """Without --try-default-credentials no login is attempted (the rule is skipped); with
    it, one empty-password root login: accepted by the vendor's MariaDB, refused by the
    hardened one (root only through the unix socket)."""
    untried = _findings(report, "vendor-built")
    rule = ("services.mysql-empty-root-password", "service:mysql@3306/tcp")
    assert rule not in untried  # `when` false: skipped, so left out by _findings
    inventory = lab.write_inventory(tmp_path / "inv.yaml", ["hardened", "vendor-built"])
    result = audit_in_process(inventory, try_default_credentials=True)
    assert result.code == 1
    tried = result.json()
    vendor = _findings(tried, "vendor-built")[rule]
    assert vendor["status"] == "fail" and vendor["severity"] == "critical"
    assert vendor["evidence"]["service"]["evidence"].endswith(
        "root with an empty password: accepted"
    )
    hardened = _findings(tried, "hardened")[rule]
    assert hardened["status"] == "pass"
    proof = hardened["evidence"]["service"]["evidence"]
    assert "root with an empty password: refused (Access denied" in proof


def test_smb_shares_listed_to_a_null_session_are_found(report: dict[str, Any]) -> None:
    """Real Samba: a guest share a null session can list, and a server that lets the
    anonymous login in but refuses it the share list (restrict anonymous = 2)."""
    rule = ("services.smb-null-session-shares", "service:smb@445/tcp")
    shared = _findings(report, "fileserver")[rule]
    assert shared["status"] == "fail" and shared["severity"] == "critical"
    assert shared["evidence"]["service"]["evidence"] == "null session lists disk shares: exports"
    vendor = _findings(report, "vendor-built")[rule]  # Samba on the loopback demo host too
    assert vendor["status"] == "fail"
    assert vendor["evidence"]["service"]["evidence"] == "null session lists disk shares: exports"
    locked = _findings(report, "fileserver-locked")[rule]
    assert locked["status"] == "pass"
    assert "NT_STATUS_ACCESS_DENIED" in locked["evidence"]["service"]["evidence"]


def test_vnc_without_a_password_and_telnet_are_found(report: dict[str, Any]) -> None:
    """Real TigerVNC (one desktop with security type None, one with VncAuth) and real
    telnetd started by inetd: the handshake stops at the security types, before any login."""
    found = _findings(report, "remote-access")
    open_desktop = found[("services.vnc-no-authentication", "service:vnc@5900/tcp")]
    assert open_desktop["status"] == "fail" and open_desktop["severity"] == "critical"
    evidence = open_desktop["evidence"]["service"]["evidence"]
    assert evidence == "RFB 3.8: security types none (no authentication)"
    locked = found[("services.vnc-no-authentication", "service:vnc@5901/tcp")]
    assert locked["status"] == "pass"
    assert locked["evidence"]["service"]["evidence"] == "RFB 3.8: security types VncAuth"
    telnet = found[("services.telnet-open", "service:telnet@23/tcp")]
    assert telnet["status"] == "fail" and telnet["severity"] == "high"
    assert "\ufffd" not in telnet["message"]


def test_anonymous_ftp_rsync_etcd_prometheus(report: dict[str, Any]) -> None:
    files = _findings(report, "files")
    assert files[("services.ftp-anonymous", "service:ftp@21/tcp")]["status"] == "fail"
    rsync = files[("services.rsync-modules-listed", "service:rsync@873/tcp")]
    assert rsync["status"] == "fail" and "backups" in rsync["message"]
    platform = _findings(report, "platform")
    assert platform[("services.etcd-unauthenticated", "service:etcd@2379/tcp")]["status"] == "fail"
    prom = platform[("services.prometheus-config-exposed", "service:prometheus@9090/tcp")]
    assert prom["status"] == "fail"


def _target(ip: str, *declared: tuple[int, str]) -> Target:
    change = ChangeRecord("C", True, exposes=tuple(Exposure(p, service=s) for p, s in declared))
    return Target("t", ip, ipaddress.ip_address(ip), ports="1-65535", change=change)


def _services(target: Target, *ports: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    scan = ProbeOutcome(
        "ports",
        facts={
            "ports": [{"number": p, "proto": "tcp", "state": "open", "service": ""} for p in ports]
        },
    )
    outcome = ServicesProbe().collect([target], SCOPE, timeout, upstream={"t": {"ports": scan}})[
        "t"
    ]
    assert outcome.ok, outcome.error
    return outcome.facts["services"]


@pytest.mark.parametrize(
    ("kind", "handler", "open_"),
    [
        ("mongodb", responders.mongodb(authorised=True), True),
        ("mongodb", responders.mongodb(authorised=False), False),
        ("elasticsearch", responders.ELASTICSEARCH_OPEN, True),
        ("elasticsearch", responders.ELASTICSEARCH_SECURED, False),
        ("docker", responders.DOCKER_OPEN, True),
    ],
    ids=[
        "mongodb-open",
        "mongodb-auth",
        "elasticsearch-open",
        "elasticsearch-secured",
        "docker-open",
    ],
)
def test_services_without_a_debian_daemon(kind: str, handler: Callable, open_: bool) -> None:  # type: ignore[type-arg]
    ip = f"{LISTENER_NETWORK}.70"
    with responders.serve(ip, handler) as port:
        (record,) = _services(_target(ip, (port, kind)), port)
    assert record["kind"] == kind and record["detected_by"] == "declared"
    assert record["error"] == ""
    assert record["unauthenticated"] is open_


@pytest.mark.parametrize(
    "handler,open_", [(responders.KUBELET_OPEN, True), (responders.KUBELET_SECURED, False)]
)
def test_kubelet_over_tls(handler: Callable, open_: bool, tmp_path: Path) -> None:  # type: ignore[type-arg]
    ip = f"{LISTENER_NETWORK}.71"
    with responders.serve(ip, handler, tls_dir=tmp_path) as port:
        (record,) = _services(_target(ip, (port, "kubelet")), port)
    assert record["error"] == "" and record["unauthenticated"] is open_


def one_service_inventory(path: Path, ip: str, port: int, service: str) -> Path:
    """An inventory of one server that declares `service` on `port`, audited with the
    services pack only."""
    path.write_text(
        f"version: 1\nscope: ['{ip}/32']\nservers:\n  - name: server\n    address: {ip}\n"
        f"    ports: '{port}'\n    rules: [services]\n    change:\n      id: C\n"
        f"      approved: true\n      exposes: [{{port: {port}, service: {service}}}]\n"
    )
    return path


def test_mongodb_findings_reach_the_report(tmp_path: Path) -> None:
    ip = f"{LISTENER_NETWORK}.72"
    with responders.serve(ip, responders.mongodb(authorised=True)) as port:
        inventory = one_service_inventory(tmp_path / "inv.yaml", ip, port, "mongodb")
        result = audit_in_process(inventory)
    assert result.code == 1
    (target,) = result.json()["targets"]
    (finding,) = [f for f in target["findings"] if f["status"] == "fail"]
    assert finding["rule"] == "services.mongodb-unauthenticated"
    assert "totalLinesWritten" in finding["message"]


def test_real_redis_on_a_non_standard_port_is_checked(tmp_path: Path) -> None:
    """nmap's port table does not know 7000 is Redis; version detection and the change
    record do, and either makes the check run there."""
    lab = Lab(tmp_path / "lab", LISTENER_NETWORK, (LabHost("odd", 73, (Redis(port=7000),)),))
    if lab.missing():
        pytest.skip("; ".join(lab.missing()))
    lab.up()
    try:
        ip = lab.ip("odd")
        target = _target(ip, (7000, "redis"))
        (record,) = _services(target, 7000)
        assert record["unauthenticated"] is True and record["detected_by"] == "declared"
        scan = PortProbe(service_detection=True).collect(
            [Target("t", ip, ipaddress.ip_address(ip), ports="7000")], SCOPE, timeout=60
        )["t"]
        (port,) = scan.facts["ports"]
        assert port["service"] == "redis" and port["service_source"] == "version-detection"
        undeclared = _target(ip)
        assert [(p, c.kind) for p, c, _ in plan(undeclared, scan.facts["ports"])] == [
            (7000, "redis")
        ]
    finally:
        lab.down()


def test_a_vnc_server_that_refuses_the_handshake_is_an_error_not_a_pass(tmp_path: Path) -> None:
    """TigerVNC blacklists a host after too many unauthenticated connections and then
    answers RFB 3.3 with security type 0 and a reason: nothing is known of what it offers,
    so the check is an error (this once read as a pass, type "Invalid")."""
    from auditor.probes.deadline import Deadline
    from auditor.probes.services.vnc import check as vnc_check
    from auditor.probes.services.wire import ServiceError
    from tests.lab.services import Vnc

    vnc = Vnc(blacklist_after=1)
    lab = Lab(tmp_path / "lab", LISTENER_NETWORK, (LabHost("vnc", 77, (vnc,)),))
    if lab.missing():
        pytest.skip("; ".join(lab.missing()))
    lab.up()
    try:
        ip = lab.ip("vnc")
        for _ in range(3):  # unauthenticated connections: the auditor's own host is barred
            with contextlib.suppress(ServiceError):
                vnc_check(ip, 5900, Deadline(5))
        with pytest.raises(ServiceError, match="refused the handshake"):
            vnc_check(ip, 5900, Deadline(5))
    finally:
        lab.down()


def _tarpit(client: socket.socket) -> None:
    time.sleep(4)


def _garbage(client: socket.socket) -> None:
    client.sendall(b"\x16\x03\x01\x02\x00garbage\r\n" * 10)
    time.sleep(4)


def _oversized(client: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the check hangs up once it has read enough
        client.sendall(b"A" * 4_000_000)
    time.sleep(4)


@pytest.mark.parametrize(
    "behaviour", [_tarpit, _garbage, _oversized], ids=["tarpit", "garbage", "oversized"]
)
@pytest.mark.parametrize(
    "kind",
    [
        *("redis", "memcached", "mongodb", "http", "elasticsearch", "ftp", "rsync"),
        *("postgresql", "mysql", "vnc", "smb", "etcd", "docker", "kubelet", "prometheus"),
        *("cassandra", "kafka", "nfs", "couchdb", "solr", "zookeeper", "docker-registry"),
        *("rabbitmq-management", "jupyter", "grafana", "jenkins"),
    ],
)
def test_tarpit_and_garbage_end_as_errors_in_time(kind: str, behaviour: Callable) -> None:  # type: ignore[type-arg]
    ip = f"{LISTENER_NETWORK}.74"
    with responders.serve(ip, behaviour) as port:
        started = time.monotonic()
        records = _services(_target(ip, (port, kind)), port, timeout=1.0)
        elapsed = time.monotonic() - started
    # a declared product may call for several checks (Jenkins: its API, /script, /signup)
    (record,) = [r for r in records if r["kind"] == kind]
    assert all(r["error"] and not r["unauthenticated"] for r in records), records
    assert record["error"], f"{kind} on a {behaviour.__name__} did not fail"
    assert record["unauthenticated"] is False
    assert elapsed < 2.5


def test_error_on_a_service_makes_its_rules_error_and_the_target_incomplete(tmp_path: Path) -> None:
    ip = f"{LISTENER_NETWORK}.75"
    with responders.serve(ip, _tarpit) as port:
        inventory = tmp_path / "inv.yaml"
        inventory.write_text(
            f"version: 1\nscope: ['{ip}/32']\nservers:\n  - name: slow\n    address: {ip}\n"
            f"    ports: '{port}'\n    rules: [services]\n    change:\n      id: C\n"
            f"      approved: true\n      exposes: [{{port: {port}, service: redis}}]\n"
        )
        result = audit_in_process(inventory, timeout=1.0)
    assert result.code == 3
    (target,) = result.json()["targets"]
    assert target["complete"] is False and target["verdict"] == "no-go"
    (redis,) = [f for f in target["findings"] if f["rule"] == "services.redis-unauthenticated"]
    assert redis["status"] == "error" and "no complete answer" in redis["message"]


def test_services_are_not_run_when_the_port_scan_failed() -> None:
    from auditor.engine import AuditSettings, run_audit
    from auditor.inventory.model import Inventory
    from auditor.rules import load_catalog

    ip = f"{LISTENER_NETWORK}.76"
    target = Target("t", ip, ipaddress.ip_address(ip), ports="1-65535", rules=("services",))
    inventory = Inventory("<test>", 1, SCOPE, (target,))
    report = run_audit(
        inventory,
        load_catalog(["services"]),
        [PortProbe(), ServicesProbe()],
        AuditSettings(timeout=0.01, show_progress=False),
    )
    (result,) = report.results
    assert not result.complete
    messages = {e.probe: e.message for e in result.errors}
    assert "host timeout" in messages["ports"]
    assert messages["services"] == "not run: it needs the ports probe, which failed"
    assert ProbeError("services", messages["services"]) in result.errors
