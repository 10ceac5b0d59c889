"""`auditor scan HOST...`: an implicit inventory whose scope is exactly the named hosts."""

from __future__ import annotations

from auditor.errors import InputError
from auditor.inventory.loader import DEFAULT_RULES, resolve
from auditor.inventory.model import INVENTORY_VERSION, Inventory
from auditor.inventory.portspec import parse_ports
from auditor.models import AwsSettings, SshSettings, Target
from auditor.scope import Scope


def adhoc_inventory(
    hosts: list[str],
    *,
    ports: str,
    rules: tuple[str, ...] = DEFAULT_RULES,
    ssh: SshSettings | None = None,
    aws: AwsSettings | None = None,
) -> Inventory:
    try:
        parse_ports(ports)
    except ValueError as exc:
        raise InputError(f"--ports: bad port list: {exc}", hint='e.g. "22,80,8000-8100"') from None
    targets: list[Target] = []
    seen: set[str] = set()
    for host in hosts:
        if host in seen:
            continue
        seen.add(host)
        targets.append(
            Target(
                name=host,
                address=host,
                ip=resolve(host),
                ports=ports,
                rules=rules,
                ssh=ssh or SshSettings(),
            )
        )
    return Inventory(
        path="<command line>",
        version=INVENTORY_VERSION,
        scope=Scope.of_addresses([t.ip for t in targets if t.ip is not None]),
        targets=tuple(targets),
        aws=aws,
    )
