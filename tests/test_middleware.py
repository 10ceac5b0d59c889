"""Middleware and debug ports that nuclei's `network/` templates and nmap's NSE look for
(issue 27) and that no Debian package or registry wheel can run here: Dubbo, RocketMQ,
ClickHouse's native protocol, Voldemort, SAProuter, the Checkmk agent and ADB. Responders
replay each product's documented reply to the check's one read-only request
(tests/responders.py, MIDDLEWARE), and its documented refusal where the product has one.
clamd, JDWP, the RMI registry, NBD, NRPE, RDP and CUPS run for real in
tests/test_infra_services.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import responders
from tests.conftest import LISTENER_NETWORK, audit_in_process
from tests.test_services import _services, _target, one_service_inventory

IP = f"{LISTENER_NETWORK}.105"


@pytest.mark.parametrize("check", sorted(responders.MIDDLEWARE))
def test_each_product_is_proven_open_and_locked_from_its_own_reply(check: str) -> None:
    service, open_handler, locked_handler = responders.MIDDLEWARE[check]
    with responders.serve(IP, open_handler) as port:
        records = {r["kind"]: r for r in _services(_target(IP, (port, service)), port)}
    assert records[check]["error"] == "", records[check]
    assert records[check]["unauthenticated"] is True, records[check]
    assert "declared" in records[check]["detected_by"]
    if locked_handler is None:
        return
    with responders.serve(IP, locked_handler) as port:
        records = {r["kind"]: r for r in _services(_target(IP, (port, service)), port)}
    assert records[check]["error"] == "", records[check]
    assert records[check]["unauthenticated"] is False, records[check]


@pytest.mark.parametrize(
    ("check", "reply"),
    [
        ("clickhouse-native", b"\x05garbage"),
        ("rocketmq-broker", b"\x00\x00\x00\x02{}"),
        ("adb", b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        ("voldemort", b"no"),
    ],
)
def test_a_reply_that_is_not_the_product_is_an_error_not_a_pass(check: str, reply: bytes) -> None:
    service = responders.MIDDLEWARE[check][0]
    with responders.serve(IP, responders.answers(reply)) as port:
        records = {r["kind"]: r for r in _services(_target(IP, (port, service)), port, timeout=3)}
    assert records[check]["error"], records[check]
    assert records[check]["unauthenticated"] is False


def test_clickhouse_native_is_named_from_its_answer_to_http_on_any_port() -> None:
    """Undeclared and on a port nobody associates with ClickHouse: its native port's reply
    to an HTTP request names it, and the native check runs there."""
    _, open_handler, _ = responders.MIDDLEWARE["clickhouse-native"]
    with responders.serve(IP, open_handler) as port:
        records = {r["kind"]: r for r in _services(_target(IP), port)}
    native = records["clickhouse-native"]
    assert native["identified"] == "clickhouse" and native["unauthenticated"] is True


def test_an_open_debug_bridge_makes_the_server_no_go(tmp_path: Path) -> None:
    _, open_handler, _ = responders.MIDDLEWARE["adb"]
    with responders.serve(IP, open_handler) as port:
        inventory = one_service_inventory(tmp_path / "inv.yaml", IP, port, "adb")
        result = audit_in_process(inventory)
    assert result.code == 1
    (target,) = result.json()["targets"]
    (finding,) = [f for f in target["findings"] if f["status"] == "fail"]
    assert finding["rule"] == "services.debug-interface-exposed"
    assert finding["severity"] == "critical"
    assert "adbd accepted a connection with no key" in finding["message"]
