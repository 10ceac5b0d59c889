"""`make bench`: how audit time grows with the fleet, on real listeners and real nmap.

Each fleet host is a loopback address with two real listening sockets; the inventory
declares one of them, so every host yields findings. Prints wall time per fleet size and
per host: cost should grow linearly (flat ms/host) as the fleet grows.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
from pathlib import Path

import yaml
from tabulate import tabulate

from auditor.engine import AuditSettings, run_audit
from auditor.inventory import load_inventory
from auditor.probes.ports import PortProbe
from auditor.rules import catalog_for

NETWORK = "127.81"
PORTS = "22,80,443,3306,5432,6379,8000-8100,9200,11211,27017"
SIZES = (10, 50, 100, 200)


def fleet_addresses(count: int) -> list[str]:
    return [f"{NETWORK}.{i // 250}.{i % 250 + 1}" for i in range(count)]


def open_fleet(addresses: list[str]) -> list[socket.socket]:
    sockets = []
    for ip in addresses:
        for port in (8080, 6379):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((ip, port))
            sock.listen(8)
            sockets.append(sock)
    return sockets


def write_inventory(path: Path, addresses: list[str]) -> None:
    servers = [
        {
            "name": f"host-{i:04d}",
            "address": ip,
            "change": {
                "id": f"CHG-{i}",
                "approved": True,
                "exposes": [{"port": 8080, "service": "http", "to": "internal"}],
            },
        }
        for i, ip in enumerate(addresses)
    ]
    data = {"version": 1, "scope": [f"{NETWORK}.0.0/16"], "defaults": {"ports": PORTS}}
    data["servers"] = servers
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def measure(count: int, workdir: Path) -> tuple[float, int]:
    addresses = fleet_addresses(count)
    sockets = open_fleet(addresses)
    try:
        path = workdir / f"fleet-{count}.yaml"
        write_inventory(path, addresses)
        started = time.perf_counter()
        inventory = load_inventory(path)
        catalog = catalog_for(inventory)
        report = run_audit(
            inventory, catalog, [PortProbe()], AuditSettings(timeout=120, show_progress=False)
        )
        elapsed = time.perf_counter() - started
    finally:
        for sock in sockets:
            sock.close()
    incomplete = [r.target.name for r in report.results if not r.complete]
    if incomplete:
        raise SystemExit(f"bench: {len(incomplete)} hosts incomplete, e.g. {incomplete[0]}")
    findings = sum(len(r.findings) for r in report.results)
    return elapsed, findings


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in SIZES:
            elapsed, findings = measure(count, Path(tmp))
            rows.append([count, f"{elapsed:.2f}", f"{elapsed / count * 1000:.1f}", findings])
    print(f"port probe + baseline rules, {PORTS.count(',') + 101} TCP ports per host, nmap -sT")
    print(tabulate(rows, headers=["hosts", "wall s", "ms / host", "findings"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
