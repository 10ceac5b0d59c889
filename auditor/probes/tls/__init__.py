"""TLS probe: every port that completes a TLS handshake, judged as a TLS endpoint.

Which ports are TLS is what the services probe's identification found by handshaking
(`identified` is `https` or `tls`), never the port number: HTTPS on 8443, an admin API on
9443 or SMTPS on 465 are all inspected; a plain HTTP server on 443 is not. Each port gets
one record (facts root `tls_endpoints`, one `tls` resource each): the versions it offers,
the weak suites it takes, its certificate and whether the system trusts it
(`inspect.py`). A port that does not complete the inspection in time is a record with an
`error`: the gate says incomplete for it, never GO.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import PerTargetProbe, address_of
from auditor.probes.deadline import Deadline
from auditor.probes.services.wire import ServiceError
from auditor.probes.tls.inspect import inspect
from auditor.scope import Scope

TLS_PROTOCOLS = ("https", "tls")
"""What identification calls a port that completed a TLS handshake."""
PER_PORT_SECONDS = 10.0


class TlsProbe(PerTargetProbe):
    """Facts root `tls_endpoints`: one record per TLS port the services probe identified."""

    name = "tls"
    provides = ("tls_endpoints",)
    needs = ("services",)

    def probe(
        self,
        target: Target,
        scope: Scope,
        timeout: float,
        upstream: Mapping[str, ProbeOutcome],
    ) -> ProbeOutcome:
        ip = address_of(target, scope)
        ports = sorted(
            {
                int(s["port"])
                for s in upstream["services"].facts.get("services", [])
                if s.get("proto") == "tcp" and s.get("identified") in TLS_PROTOCOLS
            }
        )
        deadline = Deadline(timeout)
        hostname, server_name = names_of(target)
        records = [_endpoint(ip, port, hostname, server_name, deadline) for port in ports]
        return ProbeOutcome("tls_endpoints", facts={"tls_endpoints": records})


def names_of(target: Target) -> tuple[str, str | None]:
    """The name a certificate must carry (the inventory's address as written) and the SNI
    name to send (that address when it is a DNS name; an IP is never sent as SNI)."""
    address = target.address.strip("[]")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return address, address
    return address, None


def _endpoint(
    ip: str, port: int, hostname: str, server_name: str | None, deadline: Deadline
) -> dict[str, Any]:
    record: dict[str, Any] = {"port": port, "proto": "tcp", "error": ""}
    try:
        record |= inspect(ip, port, hostname, server_name, deadline.sub(PER_PORT_SECONDS))
    except ServiceError as exc:
        record["error"] = f"TLS on {port}/tcp: {exc}"
    except (OSError, ValueError) as exc:  # a certificate cryptography cannot read
        record["error"] = f"TLS on {port}/tcp: {type(exc).__name__}: {str(exc)[:120]}"
    return record
