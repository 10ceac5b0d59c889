"""Whether an SSH server can answer on an ad-hoc scan's host, before its SSH checks run.

`auditor scan` runs the SSH checks before login by default; on a host with no SSH server
they would all be `error` and the host incomplete. One TCP connection to the SSH port,
within the scan's scope and a few seconds of the probe's deadline, tells them apart: a
refusal means no SSH server, anything else (filtered, slow) leaves the checks to say so.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import replace
from pathlib import Path

from auditor.inventory.model import Inventory
from auditor.portspec import parse_ports
from auditor.probes.base import ProbeFailure
from auditor.probes.ssh.endpoint import SshEndpoint, read_ssh_config, resolve_endpoint

log = logging.getLogger("auditor")

SSH_CHECK_SECONDS = 5.0


def without_absent_ssh(inventory: Inventory, timeout: float, ssh_config: Path | None) -> Inventory:
    """An ad-hoc scan of a host with no SSH server (its SSH port refused, or not among the
    ports asked for) runs no SSH checks there, instead of reporting them all `error`. A
    port that does not refuse (filtered, slow) keeps them: unknown stays unknown."""
    try:
        config = read_ssh_config(ssh_config)
    except ProbeFailure:
        return inventory  # the SSH checks will say what is wrong with it, as errors
    targets = []
    for target in inventory.targets:
        if "ssh" in target.rules and target.ip is not None:
            try:  # the SSH port is the one the checks will use (ssh_config's Port too)
                endpoint = resolve_endpoint(target, inventory.scope, config)
            except ProbeFailure:
                endpoint = None  # the checks will say why, as errors
            absent = _why_no_ssh(endpoint, target.ports, min(timeout, SSH_CHECK_SECONDS))
            if absent:
                log.warning("scan: %s: %s: the SSH checks do not apply there", target.name, absent)
                target = replace(target, rules=tuple(r for r in target.rules if r != "ssh"))
        targets.append(target)
    return replace(inventory, targets=tuple(targets))


def _why_no_ssh(endpoint: SshEndpoint | None, ports: str, seconds: float) -> str:
    """Why no SSH server can answer on the target's SSH port, or "" when one may (or
    when it is reached through a bastion: only the checks can tell)."""
    if endpoint is None or endpoint.jumps:
        return ""
    address, port = endpoint.target.ip, endpoint.target.port
    if not any(port in r for r in parse_ports(ports)):
        return f"port {port} is not among the ports scanned"
    try:
        with socket.create_connection((address, port), timeout=seconds):
            return ""
    except ConnectionRefusedError:
        return f"port {port} refused the connection"
    except OSError:
        return ""  # filtered or slow: the SSH probes will say so, as errors
