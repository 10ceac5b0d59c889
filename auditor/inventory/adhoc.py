"""`auditor scan HOST...`: an implicit inventory whose scope is exactly the named hosts.

A host is an address or a name, `HOST:PORTS` (those ports are scanned: `10.0.0.5:2222`,
`10.0.0.5:10-12`, `[::1]:22`; a single port is also the SSH port), or a CIDR range of at
most MAX_RANGE addresses, whose every address is then in scope by construction.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from auditor.addresses import resolve
from auditor.errors import InputError
from auditor.inventory.loader import DEFAULT_RULES
from auditor.inventory.model import INVENTORY_VERSION, Inventory
from auditor.models import SshSettings, Target
from auditor.portspec import parse_ports
from auditor.scope import Scope

MAX_RANGE = 256
"""Most addresses one CIDR argument may expand to (a /24): a typo must not scan a /8."""


def _split(host: str) -> tuple[str, str | None]:
    """`10.0.0.5:2222` → ("10.0.0.5", "2222"); `10.0.0.5:10-12` → ("10.0.0.5", "10-12");
    `[::1]:22` → ("::1", "22"); a bare IPv6 address stays whole."""
    if host.startswith("[") and "]:" in host:
        address, _, ports = host[1:].partition("]:")
    elif host.count(":") == 1:
        address, _, ports = host.partition(":")
    else:
        return host, None
    try:
        parse_ports(ports)
    except ValueError as exc:
        raise InputError(f"{host!r}: the ports after ':' are not a port list ({exc})") from None
    return address, ports


def _expand(host: str) -> list[str]:
    if "/" not in host:
        return [host]
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        raise InputError(f"{host!r} is not a CIDR range", hint="e.g. 10.0.0.0/28") from None
    if network.num_addresses > MAX_RANGE:
        raise InputError(
            f"{host} has {network.num_addresses:,} addresses, more than {MAX_RANGE}",
            hint="scan it in /24 pieces, or write an inventory",
        )
    hosts = list(network.hosts()) or [network.network_address]
    return [str(ip) for ip in hosts]


def adhoc_inventory(
    hosts: list[str],
    *,
    ports: str,
    rules: tuple[str, ...] = DEFAULT_RULES,
    ssh: SshSettings | None = None,
    clouds: Mapping[str, Any] | None = None,
) -> Inventory:
    try:
        parse_ports(ports)
    except ValueError as exc:
        raise InputError(f"--ports: bad port list: {exc}", hint='e.g. "22,80,8000-8100"') from None
    targets: list[Target] = []
    seen: set[str] = set()
    for argument in hosts:
        for host in _expand(argument):
            address, port = _split(host)
            if host in seen:
                continue
            seen.add(host)
            settings = ssh or SshSettings()
            if port is not None and port.isdigit():
                settings = replace(settings, port=int(port))  # the only port: SSH is there
            targets.append(
                Target(
                    name=host,
                    address=address,
                    ip=resolve(address),
                    ports=port if port is not None else ports,
                    rules=rules,
                    ssh=settings,
                    adhoc=True,
                )
            )
    return Inventory(
        path="<command line>",
        version=INVENTORY_VERSION,
        scope=Scope.of_addresses([t.ip for t in targets if t.ip is not None]),
        targets=tuple(targets),
        clouds=dict(clouds or {}),
    )
