"""Databases, brokers, registries and notebooks that leak customer data without a login.

Real daemons where Debian or the Python registry has them (ZooKeeper, RabbitMQ, the Docker
registry, Jupyter Server, NFS's rpcbind and mountd, nginx), each open on one lab host and
locked on another; documented replies (tests/responders.py) for CouchDB, Solr, Grafana,
Jenkins, Cassandra and Kafka, which cannot run here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import responders
from tests.conftest import LISTENER_NETWORK, audit_in_process
from tests.lab.lab import Lab, LabHost
from tests.lab.services import Nginx
from tests.test_services import _services, _target

HOSTS = ["data-platform", "data-platform-locked", "fileserver", "fileserver-locked"]
BROKERS = ["broker", "broker-locked"]


@pytest.fixture(scope="module")
def report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inventory = lab.write_inventory(tmp_path_factory.mktemp("data") / "inv.yaml", HOSTS + BROKERS)
    result = audit_in_process(inventory)
    assert result.code == 1
    return result.report


def _findings(report: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    target = next(t for t in report["targets"] if t["name"] == host)
    return {f["rule"] + " " + f["resource"]: f for f in target["findings"] if f["status"] != "skip"}


def _verdict(report: dict[str, Any], host: str) -> str:
    return str(next(t for t in report["targets"] if t["name"] == host)["verdict"])


def test_zookeeper_registry_and_jupyter_open_on_one_host_locked_on_the_other(
    report: dict[str, Any],
) -> None:
    open_ = _findings(report, "data-platform")
    zookeeper = open_["services.zookeeper-unauthenticated service:zookeeper@2181/tcp"]
    assert zookeeper["status"] == "fail" and zookeeper["severity"] == "high"
    assert zookeeper["evidence"]["service"]["evidence"].startswith(
        "envi → Environment (zookeeper.version=3.8"
    )
    registry = open_["services.docker-registry-unauthenticated service:docker-registry@5000/tcp"]
    assert registry["status"] == "fail"
    assert "GET /v2/_catalog → HTTP 200 (registry/2.0" in registry["message"]
    jupyter = open_["services.jupyter-no-token service:jupyter@8888/tcp"]
    assert jupyter["status"] == "fail" and jupyter["severity"] == "critical"
    assert "GET /api/contents → HTTP 200" in jupyter["message"]
    assert _verdict(report, "data-platform") == "no-go"

    locked = _findings(report, "data-platform-locked")
    zookeeper = locked["services.zookeeper-unauthenticated service:zookeeper@2181/tcp"]
    assert zookeeper["status"] == "pass"
    assert "not in the whitelist" in zookeeper["evidence"]["service"]["evidence"]
    registry = locked["services.docker-registry-unauthenticated service:docker-registry@5000/tcp"]
    assert registry["status"] == "pass"
    assert registry["evidence"]["service"]["evidence"] == "GET /v2/_catalog → HTTP 401"
    jupyter = locked["services.jupyter-no-token service:jupyter@8888/tcp"]
    assert jupyter["status"] == "pass"
    assert jupyter["evidence"]["service"]["evidence"] == "GET /api/contents → HTTP 403"
    assert _verdict(report, "data-platform-locked") == "go"


def test_nfs_export_to_everyone_is_read_from_real_mountd(report: dict[str, Any]) -> None:
    """rpcbind and rpc.mountd: one folder exported to `*`, one to a single subnet."""
    rule = "services.nfs-export-to-everyone service:nfs@111/tcp"
    shared = _findings(report, "fileserver")[rule]
    assert shared["status"] == "fail" and shared["severity"] == "critical"
    proof = shared["evidence"]["service"]["evidence"]
    assert "1 export(s), 1 to everyone: /" in proof and proof.endswith("/share")
    locked = _findings(report, "fileserver-locked")[rule]
    assert locked["status"] == "pass"
    assert locked["evidence"]["service"]["evidence"].endswith("1 export(s), 0 to everyone")


def test_rabbitmq_guest_login_is_tried_once_and_only_when_asked(
    report: dict[str, Any], lab: Lab, tmp_path: Path
) -> None:
    """Without --try-default-credentials nothing is sent with a login and the rule does not
    apply (neither pass nor fail); with it, guest/guest is accepted by the vendor broker
    (`loopback_users = none`) and refused by RabbitMQ's default from another host."""
    rule = "services.rabbitmq-default-login service:rabbitmq-management@15672/tcp"
    assert rule not in _findings(report, "broker")
    assert "services.open-access service:rabbitmq-management@15672/tcp" not in _findings(
        report, "broker"
    )
    inventory = lab.write_inventory(tmp_path / "inv.yaml", BROKERS)
    result = audit_in_process(inventory, try_default_credentials=True)
    assert result.code == 1
    tried = result.json()
    vendor = _findings(tried, "broker")[rule]
    assert vendor["status"] == "fail" and vendor["severity"] == "critical"
    assert vendor["evidence"]["service"]["evidence"].startswith(
        "GET /api/overview as guest/guest → HTTP 200 (RabbitMQ 3."
    )
    locked = _findings(tried, "broker-locked")[rule]
    assert locked["status"] == "pass"
    assert locked["evidence"]["service"]["evidence"] == "GET /api/overview → HTTP 401"
    assert _verdict(tried, "broker-locked") == "go"
    # Issue 27: the same login over AMQP itself (5672), not only the management API.
    amqp = "services.amqp-default-login service:amqp@5672/tcp"
    assert amqp not in _findings(report, "broker"), "not tried without the flag"
    proof = _findings(tried, "broker")[amqp]
    assert proof["status"] == "fail" and "login as guest/guest accepted" in proof["message"]
    assert proof["message"].startswith("AMQP on 5672/tcp: RabbitMQ 3.")
    refused = _findings(tried, "broker-locked")[amqp]
    assert refused["status"] == "pass"
    assert "guest/guest refused" in refused["evidence"]["service"]["evidence"]


@pytest.mark.parametrize(
    ("kind", "handler", "open_", "proof"),
    [
        ("couchdb", responders.COUCHDB_OPEN, True, "CouchDB 3.3.3: GET /_all_dbs → HTTP 200"),
        ("couchdb", responders.COUCHDB_SECURED, False, "GET /_all_dbs → HTTP 401"),
        ("solr", responders.SOLR_OPEN, True, "GET /solr/admin/cores?action=STATUS → HTTP 200"),
        ("solr", responders.SOLR_SECURED, False, "GET /solr/admin/cores?action=STATUS&wt=json"),
        ("grafana", responders.GRAFANA_OPEN, True, "Grafana 10.2.3: GET /api/org → HTTP 200"),
        ("grafana", responders.GRAFANA_SECURED, False, "GET /api/org → HTTP 401"),
        ("jenkins", responders.JENKINS_OPEN, True, "Jenkins 2.440.1: GET /api/json → HTTP 200"),
        ("jenkins", responders.JENKINS_SECURED, False, "GET /api/json → HTTP 403"),
        ("cassandra", responders.cassandra(None), True, "STARTUP (CQL 3.4.6) → READY"),
        (
            "cassandra",
            responders.cassandra("org.apache.cassandra.auth.PasswordAuthenticator"),
            False,
            "STARTUP → AUTHENTICATE (org.apache.cassandra.auth.PasswordAuthenticator)",
        ),
        (
            "kafka",
            responders.kafka(sasl=False),
            True,
            "1 broker(s), 2 topic(s): customer-events, payments",
        ),
        ("kafka", responders.kafka(sasl=True), False, "connection closed (SASL)"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " not in v else None,
)
def test_services_replayed_from_their_documented_replies(
    kind: str,
    handler: Callable,  # type: ignore[type-arg]
    open_: bool,
    proof: str,
) -> None:
    ip = f"{LISTENER_NETWORK}.70"
    with responders.serve(ip, handler) as port:
        records = _services(_target(ip, (port, kind)), port)
    # (a console check proven on the same port, Jenkins' /script, is a record of its own)
    (record,) = [r for r in records if r["kind"] == kind]
    assert record["kind"] == kind and record["error"] == ""
    assert not any(r["error"] for r in records)
    assert record["unauthenticated"] is open_
    assert proof in record["evidence"]


def test_a_web_app_on_grafanas_port_is_checked_as_the_web_server_it_is(tmp_path: Path) -> None:
    """Real nginx on 3000, Grafana's port (and every Node app's): the Grafana check meets
    no Grafana there, so the port gets the HTTP check (which finds its directory listing),
    not an error nor a silent pass. Declared as Grafana, the same answer is an error."""
    lab = Lab(
        tmp_path / "lab",
        LISTENER_NETWORK,
        (LabHost("webapp", 76, (Nginx(port=3000, autoindex=True),)),),
    )
    if lab.missing():
        pytest.skip("; ".join(lab.missing()))
    lab.up()
    try:
        ip = lab.ip("webapp")
        (record,) = _services(_target(ip), 3000)
        assert record["kind"] == "http" and record["error"] == ""
        assert record["detected_by"] == "identified as http (not grafana)"
        assert record["unauthenticated"] is True  # nginx's autoindex listing
        (declared,) = _services(_target(ip, (3000, "grafana")), 3000)
        assert declared["kind"] == "grafana"
        assert declared["error"].startswith("grafana check on 3000/tcp: not a grafana answer")
    finally:
        lab.down()


def test_smb_signing_is_read_from_samba_s_own_negotiate_response(report: dict[str, Any]) -> None:
    """Issue 27: Samba's `server signing = default` offers signing without requiring it
    (an NTLM relay target); `mandatory` requires it. Read from the SMB2 NEGOTIATE response."""
    rule = "services.smb-signing-not-required service:smb@445/tcp"
    relayable = _findings(report, "fileserver")[rule]
    assert relayable["status"] == "fail" and relayable["severity"] == "medium"
    assert "does not require it (SMB 3.0.2)" in relayable["message"]
    assert _findings(report, "fileserver-locked")[rule]["status"] == "pass"


def test_epmd_lists_the_vendor_brokers_erlang_node_and_not_the_locked_ones(
    report: dict[str, Any],
) -> None:
    """Real epmd, started by RabbitMQ: on every address of the vendor broker (Erlang's
    default), on 127.0.0.1 only on the locked one (not reachable, so no record)."""
    epmd = _findings(report, "broker")["services.epmd-exposed service:epmd@4369/tcp"]
    assert epmd["status"] == "fail" and "epmd lists Erlang nodes to anyone: lab" in epmd["message"]
    assert not any("epmd" in key for key in _findings(report, "broker-locked"))
