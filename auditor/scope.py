"""The set of addresses the auditor may touch, and the guard every probe calls before I/O.

Scope is declared by the inventory (or, for `auditor scan`, is exactly the hosts named on
the command line). Probes never resolve names or pick addresses themselves; they call
`Scope.check` with the address they are about to contact, so an out-of-scope packet is
impossible rather than merely unlikely.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from auditor.errors import ScopeError
from auditor.models import IPAddress, IPNetwork


@dataclass(frozen=True)
class Scope:
    networks: tuple[IPNetwork, ...]

    @classmethod
    def of_addresses(cls, addresses: list[IPAddress]) -> Scope:
        return cls(tuple(ipaddress.ip_network(a) for a in addresses))

    def allows(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.networks if net.version == ip.version)

    def check(self, ip: IPAddress | str) -> IPAddress:
        address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # judged, and contacted, as the IPv4 it is
        if not self.allows(address):
            raise ScopeError(
                f"refusing to contact {address}: outside the inventory scope "
                f"({', '.join(map(str, self.networks))})",
                hint="add it to `scope:` only if you are authorised to audit it",
            )
        return address

    def __str__(self) -> str:
        return ", ".join(str(n) for n in self.networks)
