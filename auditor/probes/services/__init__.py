"""Services probe: proves open access, not just open ports.

Runs after the port probe, on every open port where a service is recognised — by nmap's
name for it (port table, or version detection with --service-detection), by its well-known
port, or by the service the change record declares there — so a Redis on port 7000 is
checked when either nmap or the change record says it is Redis. Each check sends the
minimal request that proves access (the nuclei templates' proofs) with bounded reads.

A check that times out or gets garbage yields a service resource with an `error`: every
rule on it is `error`, never `pass`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import PerTargetProbe, address_of
from auditor.probes.deadline import Deadline
from auditor.probes.services.base import ServiceCheck
from auditor.probes.services.elasticsearch import ELASTICSEARCH
from auditor.probes.services.ftp import FTP
from auditor.probes.services.http import HTTP, HTTPS
from auditor.probes.services.http_apis import DOCKER, ETCD, KUBELET, PROMETHEUS
from auditor.probes.services.memcached import MEMCACHED
from auditor.probes.services.mongodb import MONGODB
from auditor.probes.services.redis import REDIS
from auditor.probes.services.rsync import RSYNC
from auditor.probes.services.wire import ServiceError
from auditor.scope import Scope

CHECKS: tuple[ServiceCheck, ...] = (
    REDIS,
    MEMCACHED,
    MONGODB,
    ELASTICSEARCH,
    HTTP,
    HTTPS,
    FTP,
    RSYNC,
    DOCKER,
    ETCD,
    KUBELET,
    PROMETHEUS,
)
PER_CHECK_SECONDS = 10.0


def plan(
    target: Target, open_ports: list[Mapping[str, Any]]
) -> list[tuple[int, ServiceCheck, str]]:
    """(port, check, why) for every service to check on this target's open TCP ports."""
    declared = {
        e.port: (e.service or "").lower()
        for e in (target.change.exposes if target.change else ())
        if e.proto == "tcp"
    }
    planned: list[tuple[int, ServiceCheck, str]] = []
    for port in open_ports:
        number = int(port["number"])
        if port.get("proto") != "tcp" or port.get("state") != "open":
            continue
        for check in CHECKS:
            reasons = []
            if port.get("service") in check.names:
                reasons.append(f"nmap ({port.get('service_source', 'port-table')})")
            if number in check.ports:
                reasons.append("well-known port")
            if declared.get(number) in (check.kind, *check.names):
                reasons.append("declared")
            if reasons:
                planned.append((number, check, ", ".join(reasons)))
    return planned


class ServicesProbe(PerTargetProbe):
    """Facts root `services`: one record per service checked on an open port."""

    name = "services"
    needs = ("ports",)

    def probe(
        self,
        target: Target,
        scope: Scope,
        timeout: float,
        upstream: Mapping[str, ProbeOutcome],
    ) -> ProbeOutcome:
        ip = address_of(target, scope)
        records = []
        for port, check, why in plan(target, upstream["ports"].facts.get("ports", [])):
            record: dict[str, Any] = {
                "port": port,
                "proto": "tcp",
                "kind": check.kind,
                "detected_by": why,
                "unauthenticated": False,
                "evidence": "",
                "details": {},
                "reference": check.reference,
                "error": "",
            }
            try:
                answer = check.check(ip, port, Deadline(min(timeout, PER_CHECK_SECONDS)))
            except ServiceError as exc:
                record["error"] = f"{check.kind} check on {port}/tcp: {exc}"
            except OSError as exc:  # a send on a connection the server dropped
                record["error"] = f"{check.kind} check on {port}/tcp: {exc.strerror or exc}"
            else:
                record.update(
                    unauthenticated=answer.unauthenticated,
                    evidence=answer.evidence,
                    details=answer.details,
                )
            records.append(record)
        return ProbeOutcome(self.name, facts={"services": records})
