"""Turns a target and its probe outcomes into the plain data rules read (the fact catalogue).

Probes report what they observed; this module joins observations with what the change
record declared (e.g. a port resource is `declared` and `open`), so rules compare the two
without any probe knowing about change records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.models import ChangeRecord, ProbeOutcome, Target
from auditor.portspec import contains


def base_context(target: Target, outcomes: Mapping[str, ProbeOutcome]) -> dict[str, Any]:
    context: dict[str, Any] = {
        "target": {
            "name": target.name,
            "address": target.address,
            "ip": str(target.ip) if target.ip else "",
            "tags": dict(target.tags),
            "adhoc": target.adhoc,
        },
        "change": change_facts(target.change),
    }
    for name, outcome in outcomes.items():
        if not outcome.ok:
            continue  # absent: a rule reading it is an error (checked before evaluation)
        if name == "ports":
            context["ports"] = port_resources(target, outcome.facts.get("ports", []))
        elif name in outcome.facts:
            context[name] = outcome.facts[name]  # a list-valued root, e.g. `services`
        else:
            context[name] = dict(outcome.facts)
    return context


def change_facts(change: ChangeRecord | None) -> dict[str, Any]:
    if change is None:
        return {
            "present": False,
            "id": "",
            "approved": False,
            "owner": "",
            "go_live": "",
            "data": [],
            "retention_days": -1,
            "exposes": [],
            "data_paths": [],
        }
    return {
        "present": True,
        "id": change.id,
        "approved": change.approved,
        "owner": change.owner or "",
        "go_live": change.go_live.isoformat() if change.go_live else "",
        "data": list(change.data),
        "retention_days": -1 if change.retention_days is None else change.retention_days,
        "exposes": [
            {"port": e.port, "proto": e.proto, "service": e.service or "", "to": e.to}
            for e in change.exposes
        ],
        "data_paths": list(change.data_paths),
    }


def port_resources(target: Target, observed: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Open ports the scan saw, plus every declared port (open or not)."""
    declared = {(e.port, e.proto): e for e in (target.change.exposes if target.change else ())}
    seen = {(p["number"], p["proto"]): p for p in observed}
    resources: list[dict[str, Any]] = []
    for key in sorted(set(seen) | set(declared)):
        number, proto = key
        obs = seen.get(key)
        exposure = declared.get(key)
        if obs is not None:
            state = obs["state"]
        elif proto == "tcp" and contains(target.ports, number):
            state = "closed"
        else:
            state = "not-scanned"
        if obs is not None and state != "open" and exposure is None:
            continue  # closed and undeclared: nothing to judge
        resources.append(
            {
                "number": number,
                "proto": proto,
                "state": state,
                "open": state == "open",
                "service": (obs or {}).get("service", ""),
                "service_source": (obs or {}).get("service_source", "none"),
                "product": (obs or {}).get("product", ""),
                "version": (obs or {}).get("version", ""),
                "declared": exposure is not None,
                "declared_service": (exposure.service or "") if exposure else "",
                "declared_to": exposure.to if exposure else "",
            }
        )
    return resources
