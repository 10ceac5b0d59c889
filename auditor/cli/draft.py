"""What `auditor scan` adds to an audit: the SSH pack only where an SSH server answers,
and `--emit-inventory FILE`, a draft inventory v1 of what the scan found.

In the draft, each open port becomes a declared exposure marked for review, and the change
record is not approved: the draft is where a change record starts, never a rubber stamp.
"""

from __future__ import annotations

import logging
import re
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from auditor.cli.outputs import Output
from auditor.inventory.model import Inventory
from auditor.models import Report, Status, Target
from auditor.portspec import parse_ports
from auditor.reporting.base import Sink

log = logging.getLogger("auditor")
_PORT = re.compile(r"^port:(\d+)/(tcp|udp)$")
SSH_CHECK_SECONDS = 5.0


def without_absent_ssh(inventory: Inventory, timeout: float) -> Inventory:
    """An ad-hoc scan of a host with no SSH server (its SSH port refused, or not among the
    ports asked for) runs no SSH checks there, instead of reporting them all `error`. A
    port that does not refuse (filtered, slow) keeps them: unknown stays unknown."""
    targets = []
    for target in inventory.targets:
        if "ssh" in target.rules and target.ip is not None:
            absent = _why_no_ssh(target, min(timeout, SSH_CHECK_SECONDS))
            if absent:
                log.warning("scan: %s: %s: the SSH checks do not apply there", target.name, absent)
                target = replace(target, rules=tuple(r for r in target.rules if r != "ssh"))
        targets.append(target)
    return replace(inventory, targets=tuple(targets))


def _why_no_ssh(target: Target, seconds: float) -> str:
    """Why no SSH server can answer on the target's SSH port, or "" when one may."""
    port = target.ssh.port
    if not any(port in r for r in parse_ports(target.ports)):
        return f"port {port} is not among the ports scanned"
    try:
        with socket.create_connection((str(target.ip), port), timeout=seconds):
            return ""
    except ConnectionRefusedError:
        return f"port {port} refused the connection"
    except OSError:
        return ""  # filtered or slow: the SSH probes will say so, as errors


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
