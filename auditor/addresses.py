"""Addresses and endpoints as the user wrote them, checked before anything is touched.

Shared by the inventory loader, ad-hoc scans and the SSH probe (a ProxyJump bastion is
resolved the same way as a server), so it sits below both: neither imports the other.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from auditor.errors import InputError
from auditor.models import IPAddress
from auditor.yamlsource import Node

_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)(?!.*\.\.)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def check_endpoint(value: Any) -> str:
    """A cloud API endpoint: HTTPS, or plain HTTP only to a loopback address (an emulator).

    Signed requests over plain HTTP to another host would show the request (and let a man
    in the middle answer for the cloud), so they are refused rather than sent.
    """
    if not isinstance(value, str):
        raise ValueError(f"got {type(value).__name__}")
    parsed = urlsplit(value)
    if parsed.scheme == "https" and parsed.hostname:
        return value
    if parsed.scheme == "http" and parsed.hostname:
        host = parsed.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return value
        raise ValueError(f"{value} is plain HTTP to a host that is not loopback; use https://")
    raise ValueError(f"{value!r} is not an http(s) URL")


def canonical(ip: IPAddress) -> IPAddress:
    """One spelling per address: an IPv4-mapped IPv6 address is its IPv4 address (nmap and
    the scope would otherwise disagree about which family it belongs to)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def resolve(address: str, node: Node | None = None) -> IPAddress:
    """Resolve a literal address or a host name, once, at load time.

    Only real host names reach the resolver: forms the C library reads in surprising ways
    (`127.0.94.010` as octal, `2130706433` as an integer, `0x7f.1`) and strings that are no
    name at all (`127.0.93.1-20`) are refused, so nothing is touched that the user did not
    mean and no DNS query leaves the machine for a typo.
    """

    def refuse(message: str, hint: str) -> InputError:
        return (
            node.error(message, hint=hint) if node is not None else InputError(message, hint=hint)
        )

    try:
        return canonical(ipaddress.ip_address(address))
    except ValueError:
        pass
    labels = address.rstrip(".").split(".")
    numeric = all(label.isdigit() or label.lower().startswith("0x") for label in labels)
    no_letter = not any(c.isascii() and c.isalpha() for c in address)
    if numeric or no_letter or not _HOST_NAME.match(address) or labels[-1].isdigit():
        raise refuse(
            f"'{address}' is neither an IP address in standard form nor a host name",
            "write addresses as dotted quads without leading zeros (127.0.94.10) or IPv6; "
            "list each address of a range",
        )
    try:
        infos = socket.getaddrinfo(address, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise refuse(
            f"cannot resolve '{address}': {exc}", "use an IP address or a resolvable name"
        ) from None
    return canonical(ipaddress.ip_address(infos[0][4][0]))
