"""Admin consoles and status pages on any web port (issue 27): each is looked for on every
port identified as HTTP, proven by its `require`, and judged open or locked from the
product's own reply. These products cannot run here (no Debian package or registry
wheel with the server), so responders replay their documented replies
(tests/responders.py, CONSOLES); the dump and status-page finders run against real nginx
in tests/test_data_services.py."""

from __future__ import annotations

import pytest

from tests import responders
from tests.conftest import LISTENER_NETWORK
from tests.test_services import _services, _target

IP = f"{LISTENER_NETWORK}.100"
EXPECTED_LOCKED = {
    # a locked console that still names itself leaves a record that passes; one that
    # answers like any web server (401, 403) leaves none: there is nothing to judge
    "spring-actuator-env": None,
    "spring-actuator-heapdump": None,
    "jenkins-script-console": False,
    "kibana": False,
    "phpmyadmin": False,
    "mongo-express": False,
    "consul": False,
    "clickhouse-http": False,
    "airflow": False,
    "apache-server-status": None,
    "hadoop-yarn": None,
    "hadoop-namenode": None,
    "hadoop-datanode": None,
    "hbase-master": None,
    "riak": None,
    "couchbase": False,
    "alertmanager": None,
    "nomad": False,
    "envoy-admin": None,
    "traefik-api": None,
    "netdata": None,
    "glances": None,
    "kube-metrics": None,
    "pghero": False,
    "mlflow": None,
    "kafka-ui": None,
    "kafdrop": False,
    "zeppelin": None,
    "nifi": False,
    "redis-insight": None,
    "rethinkdb-console": None,
    "jenkins-signup": False,
}


@pytest.mark.parametrize("check", sorted(responders.CONSOLES))
def test_each_console_is_found_on_a_plain_web_port_open_and_locked(check: str) -> None:
    open_handler, locked_handler = responders.CONSOLES[check]
    with responders.serve(IP, open_handler) as port:
        records = {r["kind"]: r for r in _services(_target(IP), port)}
    assert records[check]["unauthenticated"] is True, records[check]
    assert records[check]["detected_by"] == "every port identified as its protocol"
    assert not records[check]["error"]
    assert "http" in records, "the generic HTTP check still runs on the port"
    with responders.serve(IP, locked_handler) as port:
        records = {r["kind"]: r for r in _services(_target(IP), port)}
    expected = EXPECTED_LOCKED[check]
    if expected is None:
        assert check not in records
    else:
        assert records[check]["unauthenticated"] is expected, records[check]
        assert not records[check]["error"]


def test_a_console_over_tls_is_found_on_an_https_port(tmp_path: pytest.TempPathFactory) -> None:
    open_handler, _ = responders.CONSOLES["kibana"]
    with responders.serve(IP, open_handler, tls_dir=tmp_path) as port:  # type: ignore[arg-type]
        records = {r["kind"]: r for r in _services(_target(IP), port)}
    assert records["kibana"]["identified"] == "https"
    assert records["kibana"]["unauthenticated"] is True
    assert records["kibana"]["evidence"].startswith("Kibana 8.11.1: GET /api/status → HTTP 200")
