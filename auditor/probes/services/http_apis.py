"""Management APIs that answer over plain HTTP: Docker, etcd, kubelet, Prometheus."""

from __future__ import annotations

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, http_get, parse_json


def _json(body: bytes) -> object:
    try:
        return parse_json(body)
    except ServiceError:
        return None


def check_docker(ip: str, port: int, deadline: Deadline) -> Answer:
    reply = http_get(ip, port, "/version", deadline)
    data = _json(reply.body)
    if reply.status == 200 and isinstance(data, dict) and "ApiVersion" in data:
        return Answer(True, f"GET /version → ApiVersion {data['ApiVersion']}")
    if reply.status in (401, 403):
        return Answer(False, f"GET /version → HTTP {reply.status}")
    raise ServiceError(f"not a Docker API answer (HTTP {reply.status})")


def check_etcd(ip: str, port: int, deadline: Deadline) -> Answer:
    version = http_get(ip, port, "/version", deadline)
    data = _json(version.body)
    if not (isinstance(data, dict) and "etcdserver" in data):
        if version.status in (401, 403):
            return Answer(False, f"GET /version → HTTP {version.status}")
        raise ServiceError(f"not an etcd answer (HTTP {version.status})")
    keys = http_get(ip, port, "/v2/keys/", deadline)
    if keys.status == 200 and b'"node"' in keys.body:
        return Answer(True, f"GET /v2/keys/ → node (etcd {data['etcdserver']})")
    return Answer(False, f"etcd {data['etcdserver']}: /v2/keys/ → HTTP {keys.status}")


def check_kubelet(ip: str, port: int, deadline: Deadline) -> Answer:
    reply = http_get(ip, port, "/pods", deadline, tls=True)
    if reply.status == 200 and b'"PodList"' in reply.body:
        return Answer(True, "GET /pods → PodList")
    if reply.status in (401, 403):
        return Answer(False, f"GET /pods → HTTP {reply.status}")
    raise ServiceError(f"not a kubelet answer (HTTP {reply.status})")


def check_prometheus(ip: str, port: int, deadline: Deadline) -> Answer:
    reply = http_get(ip, port, "/api/v1/status/config", deadline)
    if reply.status == 200 and b"scrape_configs" in reply.body:
        return Answer(True, "GET /api/v1/status/config → scrape_configs")
    if reply.status in (401, 403):
        return Answer(False, f"GET /api/v1/status/config → HTTP {reply.status}")
    raise ServiceError(f"not a Prometheus answer (HTTP {reply.status})")


DOCKER = ServiceCheck(
    "docker",
    check_docker,
    ports=(2375,),
    names=("docker",),
    reference="nuclei-templates: http/exposures/apis/docker-api (GET /version)",
    protocol="http",
)
ETCD = ServiceCheck(
    "etcd",
    check_etcd,
    ports=(2379,),
    names=("etcd", "etcd-client"),
    reference="nuclei-templates: http/exposures/apis/etcd-unauth (GET /v2/keys/ → node)",
    protocol="http",
)
KUBELET = ServiceCheck(
    "kubelet",
    check_kubelet,
    ports=(10250,),
    names=("kubelet",),
    reference="nuclei-templates: http/exposures/apis/kubelet-pods (GET /pods → PodList)",
    protocol="https",
)
PROMETHEUS = ServiceCheck(
    "prometheus",
    check_prometheus,
    ports=(9090,),
    names=("prometheus",),
    reference="nuclei-templates: http/exposures/configs/prometheus-config (scrape_configs)",
    protocol="http",
)
