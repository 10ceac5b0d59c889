"""UDP services (issue 27): real snmpd, ntpsec, unbound, memcached and tftpd-hpa, each
open on one network-namespace host and locked on another; on the same two hosts, the TCP
services that were only "unidentified" before: OpenLDAP (anonymous read) and Xvfb (X11
without access control). A well-known UDP port is asked
on every server audited with the services pack; a declared one gets its service's
question, and a declared one that stays silent cannot pass."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import audit_in_process
from tests.lab.lab import Lab

HOSTS = ["udp-open", "udp-locked", "vendor-built"]


@pytest.fixture(scope="module")
def report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inventory = lab.write_inventory(tmp_path_factory.mktemp("udp") / "inv.yaml", HOSTS)
    return audit_in_process(inventory).report


def _udp(report: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    """Each failing or passing UDP finding, by `rule resource`."""
    target = next(t for t in report["targets"] if t["name"] == host)
    return {
        f"{f['rule']} {f['resource']}": f
        for f in target["findings"]
        if f["resource"].endswith("/udp") and f["status"] != "skip"
    }


def test_every_open_udp_service_fails_its_rule_with_the_servers_own_words(
    report: dict[str, Any],
) -> None:
    found = _udp(report, "udp-open")
    snmp = found["services.snmp-default-community service:snmp@161/udp"]
    assert snmp["status"] == "fail" and snmp["severity"] == "critical"
    assert "community 'public' answered sysDescr: Linux" in snmp["message"]
    # ntpsec 1.2.2 answers time (mode 3) here but drops mode 6 from outside its
    # namespace even with a bare `restrict default`; mode 6 and 7 replies are proven
    # against the RFC 9327 reply in tests/hostile/test_udp_tls.py.
    ntp = found["services.ntp-monlist service:ntp@123/udp"]
    assert ntp["status"] == "pass", "ntpsec has no mode 7 at all"
    assert ntp["evidence"]["service"]["details"]["answered"] is True
    dns = found["services.dns-open-resolver service:dns@53/udp"]
    assert dns["status"] == "fail" and "NXDOMAIN, recursion available" in dns["message"]
    memcached = found["services.memcached-udp service:memcached-udp@11211/udp"]
    assert memcached["status"] == "fail" and "answers stats over UDP" in memcached["message"]
    tftp = found["services.tftp-open service:tftp@69/udp"]
    assert tftp["status"] == "fail" and "error 'File not found'" in tftp["message"]
    undeclared = [k for k, f in found.items() if k.startswith("services.udp-undeclared")]
    assert all(found[k]["status"] == "pass" for k in undeclared) and undeclared


def test_locked_udp_services_pass_because_they_answered_not_because_they_were_silent(
    report: dict[str, Any],
) -> None:
    found = _udp(report, "udp-locked")
    snmp = found["services.snmp-default-community service:snmp@161/udp"]
    assert snmp["status"] == "pass"
    assert snmp["evidence"]["service"]["evidence"] == (
        "SNMPv3 agent: refused the communities public and private"
    )
    ntp = found["services.ntp-mode6-query service:ntp@123/udp"]
    assert ntp["status"] == "pass"
    assert ntp["evidence"]["service"]["evidence"] == "NTP server answers only mode 3 (time)"
    dns = found["services.dns-open-resolver service:dns@53/udp"]
    assert dns["status"] == "pass" and "REFUSED" in dns["evidence"]["service"]["evidence"]
    assert not any("memcached-udp" in k or "tftp" in k for k in found), "nothing there"
    locked = next(t for t in report["targets"] if t["name"] == "udp-locked")
    assert locked["verdict"] == "go", [f for f in locked["findings"] if f["status"] == "fail"]


def test_the_vendor_build_leaves_snmp_public_on_and_undeclared(report: dict[str, Any]) -> None:
    found = _udp(report, "vendor-built")
    assert found["services.snmp-default-community service:snmp@161/udp"]["status"] == "fail"
    assert found["services.udp-undeclared service:snmp@161/udp"]["status"] == "fail"


def _tcp(report: dict[str, Any], host: str, rule: str, resource: str) -> dict[str, Any]:
    target = next(t for t in report["targets"] if t["name"] == host)
    return next(f for f in target["findings"] if f["rule"] == rule and f["resource"] == resource)


def test_ldap_and_x11_are_named_and_proven_not_just_unidentified(report: dict[str, Any]) -> None:
    ldap = _tcp(report, "udp-open", "services.ldap-anonymous-read", "service:ldap@389/tcp")
    assert ldap["status"] == "fail" and ldap["severity"] == "critical"
    assert ldap["message"].endswith("anonymous bind reads entries under dc=lab,dc=test")
    x11 = _tcp(report, "udp-open", "services.x11-open-access", "service:x11@6000/tcp")
    assert x11["status"] == "fail"
    assert "X11 setup accepted without authorization (The X.Org Foundation)" in x11["message"]
    locked_ldap = _tcp(report, "udp-locked", "services.ldap-anonymous-read", "service:ldap@389/tcp")
    assert locked_ldap["status"] == "pass"
    assert locked_ldap["evidence"]["service"]["evidence"] == (
        "anonymous bind refused (inappropriateAuthentication)"
    )
    locked_x11 = _tcp(report, "udp-locked", "services.x11-open-access", "service:x11@6000/tcp")
    assert locked_x11["status"] == "pass"
    assert locked_x11["evidence"]["service"]["evidence"].startswith("X11 setup refused")
    for host in ("udp-open", "udp-locked"):
        unknown = [
            f
            for f in next(t for t in report["targets"] if t["name"] == host)["findings"]
            if f["rule"] == "services.unidentified-open-port" and f["status"] == "fail"
        ]
        assert unknown == [], unknown


def test_mqtt_socks_and_epmd_are_proven_by_their_first_exchange(report: dict[str, Any]) -> None:
    """Real Mosquitto and Dante on the open and locked hosts: one CONNECT and one SOCKS5
    method negotiation decide; nothing is subscribed, published or relayed."""
    mqtt = _tcp(report, "udp-open", "services.mqtt-anonymous", "service:mqtt@1883/tcp")
    assert (
        mqtt["status"] == "fail" and "accepted a connection with no credentials" in mqtt["message"]
    )
    socks = _tcp(report, "udp-open", "services.socks-open-proxy", "service:socks@1080/tcp")
    assert socks["status"] == "fail" and "no authentication" in socks["message"]
    locked_mqtt = _tcp(report, "udp-locked", "services.mqtt-anonymous", "service:mqtt@1883/tcp")
    assert locked_mqtt["evidence"]["service"]["evidence"].endswith("(not authorized)")
    locked_socks = _tcp(report, "udp-locked", "services.socks-open-proxy", "service:socks@1080/tcp")
    assert locked_socks["status"] == "pass"


def test_gmond_is_identified_by_its_xml_and_its_cluster_named(report: dict[str, Any]) -> None:
    """Real gmond: it speaks first (its XML), and the check file reads the cluster's name."""
    ganglia = _tcp(
        report, "udp-open", "services.monitoring-agent-exposed", "service:ganglia@8649/tcp"
    )
    assert ganglia["status"] == "fail" and ganglia["severity"] == "medium"
    assert ganglia["message"] == (
        "gmond on 8649/tcp sends cluster lab-cluster's hosts and metrics to anyone who connects"
    )


def test_gmond_xml_names_the_protocol_whatever_the_port() -> None:
    """What gmond 3.7 sends first (its XML declaration and DTD) names it on any port."""
    from auditor.probes.services.identify import from_banner

    head = b'<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>\n<!DOCTYPE GANGLIA_XML ['
    assert from_banner(head) == "ganglia"
    assert from_banner(b'<?xml version="1.0"?><feed>') is None
