"""`auditor scan --emit-inventory FILE`: a draft inventory v1 of what an ad-hoc scan found.

Each open port becomes a declared exposure marked for review, and the change record is
not approved: the draft is where a change record starts, never a rubber stamp.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from auditor.models import Report, Status
from auditor.reporting.base import Sink
from auditor.reporting.files import Output

_PORT = re.compile(r"^port:(\d+)/(tcp|udp)$")


def draft_inventory(report: Report, path: Path) -> None:
    """Write the draft; the same write rules as a report (no rename over a device)."""
    servers: list[dict[str, Any]] = []
    addresses: list[str] = []
    for result in report.results:
        target = result.target
        if target.ip is None:
            continue
        exposes = []
        for finding in result.findings:
            match = _PORT.match(finding.resource)
            if finding.rule != "baseline.open-port" or finding.status is not Status.FAIL:
                continue
            if match is None:
                continue
            port = finding.evidence.get("port")
            service = port.get("service", "") if isinstance(port, dict) else ""
            entry: dict[str, Any] = {"port": int(match.group(1)), "proto": match.group(2)}
            if service:
                entry["service"] = str(service)
            entry["to"] = "internal"  # review: internal, vpn or internet
            exposes.append(entry)
        addresses.append(f"{target.ip}/32")
        servers.append(
            {
                "name": target.name.replace(":", "-"),
                "address": target.address,
                "ports": target.ports,
                "change": {
                    "id": "CHG-TODO",
                    "approved": False,
                    "owner": "TODO-owner",
                    "exposes": sorted(exposes, key=lambda e: (e["proto"], e["port"])),
                },
            }
        )
    document = {"version": 1, "scope": sorted(set(addresses)), "servers": servers}
    header = (
        "# Draft inventory written by `auditor scan --emit-inventory` from what answered.\n"
        "# Review every exposure, set the change id and owner, then approve the change.\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False)

    def write(sink: Sink) -> None:
        sink.write(text)

    Output(path).finish(write)
