"""The nmap backend of the port probe, through python-nmap.

Always `-n` (no DNS: reverse lookups would leave the machine and reach resolvers outside
the scope) and `-Pn` (no host discovery: a host that ignores pings is still audited).
`--host-timeout` bounds each host; python-nmap drops nmap's `timedout` flag, so we read it
from the raw XML: a timed-out host has no port list, which must not look like "all closed".
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import nmap

from auditor.probes.base import ProbeFailure

PortRecord = dict[str, Any]


class NmapMissing(Exception):
    """The nmap binary is not installed (python-nmap raises at construction)."""


def new_scanner() -> Any:
    """A python-nmap scanner bound to the nmap found on PATH.

    python-nmap would also try fixed paths such as /usr/bin/nmap; resolving through PATH
    ourselves makes "which nmap runs" the user's choice, as with any other command.
    """
    binary = shutil.which("nmap")
    if binary is None:
        raise NmapMissing("nmap is not on PATH")
    try:
        return nmap.PortScanner(nmap_search_path=(binary,))
    except nmap.PortScannerError as exc:
        raise NmapMissing(str(exc)) from None


def nmap_arguments(
    *, timeout: float, hosts: int, service_detection: bool, syn: bool = False
) -> str:
    """`-sT` (connect, any user) or `-sS` (SYN, root: about twice as fast on full ranges,
    lab notes); always `-n -Pn`."""
    host_timeout = f"--host-timeout {max(1, round(timeout * 1000))}ms"
    args = ["-sS" if syn else "-sT", "-Pn", "-n", "--max-retries", "2", host_timeout]
    args.append(f"--min-hostgroup {max(1, hosts)}")
    if service_detection:
        # --version-light keeps silent ports from costing ~40 s each (lab notes).
        args += ["-sV", "--version-light"]
    return " ".join(args)


def scan(
    scanner: Any,
    hosts: Sequence[str],
    ports: str,
    *,
    timeout: float,
    service_detection: bool = False,
    syn: bool = False,
) -> Mapping[str, list[PortRecord] | ProbeFailure]:
    """Scan hosts in one nmap run; every host gets its open ports or a failure."""
    arguments = nmap_arguments(
        timeout=timeout, hosts=len(hosts), service_detection=service_detection, syn=syn
    )
    try:
        result = scanner.scan(
            hosts=" ".join(hosts), ports=ports, arguments=arguments, timeout=int(timeout) + 30
        )
    except nmap.PortScannerTimeout:
        failure = ProbeFailure(f"nmap did not finish within {int(timeout) + 30}s")
        return dict.fromkeys(hosts, failure)
    except nmap.PortScannerError as exc:
        failure = ProbeFailure(f"nmap failed: {str(exc).strip().splitlines()[0]}")
        return dict.fromkeys(hosts, failure)
    timed_out = _timed_out_hosts(scanner.get_nmap_last_output())
    scanned: Mapping[str, Any] = result.get("scan", {})
    outcome: dict[str, list[PortRecord] | ProbeFailure] = {}
    for host in hosts:
        if host in timed_out:
            outcome[host] = ProbeFailure(f"nmap host timeout ({timeout:g}s) reached on {host}")
        elif host not in scanned:
            outcome[host] = ProbeFailure(f"nmap returned no result for {host}")
        else:
            outcome[host] = _ports(scanned[host], service_detection)
    return outcome


def _ports(host: Mapping[str, Any], service_detection: bool) -> list[PortRecord]:
    records: list[PortRecord] = []
    for proto in ("tcp", "udp"):
        for number, info in sorted(host.get(proto, {}).items()):
            state = str(info.get("state", ""))
            if state not in ("open", "open|filtered", "filtered"):
                continue
            product = str(info.get("product", ""))
            detected = service_detection and bool(product or info.get("conf", "") == "10")
            records.append(
                {
                    "number": int(number),
                    "proto": proto,
                    "state": "open" if state == "open" else "filtered",
                    "service": str(info.get("name", "")),
                    "service_source": "version-detection" if detected else "port-table",
                    "product": product,
                    "version": str(info.get("version", "")),
                }
            )
    return records


def _timed_out_hosts(xml_output: bytes | str) -> set[str]:
    if not xml_output:
        return set()
    try:
        root = ET.fromstring(xml_output)  # noqa: S314 - nmap's own XML from a local process
    except ET.ParseError:
        return set()
    hosts: set[str] = set()
    for host in root.iter("host"):
        if host.get("timedout") == "true":
            for address in host.iter("address"):
                if address.get("addrtype") in ("ipv4", "ipv6"):
                    hosts.add(str(address.get("addr")))
    return hosts
