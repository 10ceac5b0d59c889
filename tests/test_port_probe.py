"""Port probe against real sockets with real nmap, and the fallback with nmap hidden."""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path

import pytest

from auditor.errors import ScopeError
from auditor.models import Target
from auditor.probes.ports import PortProbe, _chunks, nmap_scan
from auditor.scope import Scope
from tests.conftest import Listeners

SCOPE = Scope((ipaddress.ip_network("127.79.0.0/24"),))


def _target(name: str, ip: str, ports: str) -> Target:
    return Target(name=name, address=ip, ip=ipaddress.ip_address(ip), ports=ports)


@pytest.fixture
def without_nmap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH with everything but nmap, the way a machine without nmap looks."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for entry in os.environ["PATH"].split(os.pathsep):
        folder = Path(entry)
        if not folder.is_dir():
            continue
        for tool in folder.iterdir():
            if tool.name != "nmap" and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert shutil.which("nmap") is None


def _open_ports(outcome) -> set[int]:  # type: ignore[no-untyped-def]
    return {p["number"] for p in outcome.facts["ports"] if p["state"] == "open"}


def test_nmap_finds_exactly_the_open_ports(listeners: Listeners) -> None:
    ip, _ = listeners.open(20, 8081)
    listeners.open(20, 6379)
    other, _ = listeners.open(21, 8082)
    targets = [_target("a", ip, "22,6379,8080-8090"), _target("b", other, "22,6379,8080-8090")]
    outcomes = PortProbe().collect(targets, SCOPE, timeout=30)
    assert outcomes["a"].ok and outcomes["b"].ok
    assert _open_ports(outcomes["a"]) == {6379, 8081}
    assert _open_ports(outcomes["b"]) == {8082}
    redis = next(p for p in outcomes["a"].facts["ports"] if p["number"] == 6379)
    assert redis["service"] == "redis" and redis["service_source"] == "port-table"
    assert outcomes["a"].notes == ("scanner: nmap -sT -Pn -n",)


def test_many_targets_share_one_nmap_run_per_core(
    listeners: Listeners, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_scan = nmap_scan.scan

    def counting_scan(scanner, hosts, ports, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(hosts))
        return real_scan(scanner, hosts, ports, **kwargs)

    monkeypatch.setattr(nmap_scan, "scan", counting_scan)
    targets = []
    for octet in range(30, 40):
        ip, _ = listeners.open(octet, 8081)
        targets.append(_target(f"h{octet}", ip, "8080-8082"))
    outcomes = PortProbe(processes=2).collect(targets, SCOPE, timeout=30)
    assert sorted(calls) == [5, 5]  # two nmap processes, five hosts each
    assert all(_open_ports(o) == {8081} for o in outcomes.values())


def test_chunks_cover_every_target_once() -> None:
    targets = [_target(f"h{i}", f"127.79.0.{i}", "22") for i in range(1, 151)]
    chunks = _chunks(targets, 2)
    assert [len(c) for c in chunks] == [50, 50, 50]  # at most 64 hosts per nmap
    assert [t for c in chunks for t in c] == targets


@pytest.mark.usefixtures("without_nmap")
def test_connect_fallback_gives_the_same_facts_and_says_so(listeners: Listeners) -> None:
    ip, _ = listeners.open(22, 8081)
    outcome = PortProbe().collect([_target("a", ip, "22,8080-8090")], SCOPE, timeout=30)["a"]
    assert outcome.ok
    assert _open_ports(outcome) == {8081}
    assert outcome.notes == ("scanner: built-in TCP connect (nmap not used)",)


def test_nmap_host_timeout_is_an_error_not_a_clean_host(listeners: Listeners) -> None:
    ip, _ = listeners.open(23, 8081)
    outcome = PortProbe().collect([_target("a", ip, "1-65535")], SCOPE, timeout=0.01)["a"]
    assert not outcome.ok
    assert outcome.error is not None and "host timeout" in outcome.error.message
    assert outcome.facts == {}


@pytest.mark.usefixtures("without_nmap")
def test_connect_fallback_timeout_is_an_error(listeners: Listeners) -> None:
    ip, _ = listeners.open(24, 8081)
    outcome = PortProbe().collect([_target("a", ip, "1-65535")], SCOPE, timeout=0.05)["a"]
    assert not outcome.ok
    assert outcome.error is not None and "did not finish" in outcome.error.message


def test_out_of_scope_target_is_refused_before_any_scan() -> None:
    outside = _target("x", "127.80.0.1", "22")
    with pytest.raises(ScopeError, match="outside the inventory scope"):
        PortProbe().collect([outside], SCOPE, timeout=5)


def test_syn_scan_finds_the_same_ports_as_root(listeners: Listeners) -> None:
    if os.geteuid() != 0:
        pytest.skip("nmap -sS needs root")
    ip, _ = listeners.open(25, 8081)
    listeners.open(25, 6379)
    outcome = PortProbe(prefer="nmap-syn").collect(
        [_target("a", ip, "22,6379,8080-8090")], SCOPE, 30
    )["a"]
    assert outcome.ok, outcome.error
    assert _open_ports(outcome) == {6379, 8081}
    assert outcome.notes == ("scanner: nmap -sS -Pn -n",)
