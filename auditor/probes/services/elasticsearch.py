"""Elasticsearch/OpenSearch: `GET /` and `GET /_cat/indices` answered without credentials."""

from __future__ import annotations

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, http_get, parse_json


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    root = http_get(ip, port, "/", deadline)
    if root.status in (401, 403):
        return Answer(False, f"GET / → HTTP {root.status}")
    try:
        info = parse_json(root.body, "Elasticsearch JSON")
        number = str(info["version"]["number"])  # type: ignore[index]
    except (ServiceError, KeyError, TypeError):
        raise ServiceError(f"not an Elasticsearch answer (HTTP {root.status})") from None
    indices = http_get(ip, port, "/_cat/indices?format=json", deadline)
    count = None
    if indices.status == 200:
        try:
            listed = parse_json(indices.body, "index list")
            count = len(listed) if isinstance(listed, list) else None
        except ServiceError:
            count = None
    evidence = f'GET / → "number": "{number}"'
    if count is not None:
        evidence += f"; GET /_cat/indices → {count} indices"
    return Answer(True, evidence, {"version": number, "indices": count})


ELASTICSEARCH = ServiceCheck(
    "elasticsearch",
    check,
    ports=(9200,),
    names=("elasticsearch", "wap-wsp", "opensearch"),
    reference="nuclei-templates: http/misconfiguration/elasticsearch (GET / → number)",
    protocol="http",
)
