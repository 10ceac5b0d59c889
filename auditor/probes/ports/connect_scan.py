"""A pure-Python TCP connect scanner: the port probe's fallback when nmap is missing.

About 4,000 probes/s on these machines (lab notes) — fine for a port list, slow for a full
range, which is why nmap stays the main path and the report says which scanner ran.

Only a refusal (RST) means `closed` and only silence means `filtered`. Any other socket
error — "too many open files" above all, which macOS's default `ulimit -n 256` causes —
says nothing about the port, so the host's scan is an error, never a clean host. The
number of sockets open at once is budgeted from RLIMIT_NOFILE and the descriptors already
in use, so the scanner does not cause that error in the first place.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.portspec import parse_ports
from auditor.probes.base import ProbeFailure

PortRecord = dict[str, Any]
CONNECT_TIMEOUT = 1.5
MAX_IN_FLIGHT = 512
RESERVED_DESCRIPTORS = 64
"""Left for everything else the process does meanwhile (SSH sessions, logs, history)."""


class ScanError(Exception):
    """A socket error that is neither a refusal nor a time-out: the port's state is unknown."""


def socket_budget() -> int:
    """Sockets the scanner may hold at once, within the soft RLIMIT_NOFILE."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_IN_FLIGHT
    try:
        in_use = sum(1 for _ in Path("/proc/self/fd").iterdir())
    except OSError:  # no /proc (macOS): assume a busy process
        in_use = 64
    return max(1, min(MAX_IN_FLIGHT, (soft - in_use - RESERVED_DESCRIPTORS) // 2))


def scan(
    hosts: Sequence[str], ports: str, *, timeout: float
) -> Mapping[str, list[PortRecord] | ProbeFailure]:
    return asyncio.run(_scan_all(hosts, ports, timeout))


async def _scan_all(
    hosts: Sequence[str], ports: str, timeout: float
) -> dict[str, list[PortRecord] | ProbeFailure]:
    gate = asyncio.Semaphore(socket_budget())
    numbers = [n for r in parse_ports(ports) for n in r]
    results = await asyncio.gather(*(_scan_host(h, numbers, gate, timeout) for h in hosts))
    return dict(zip(hosts, results, strict=True))


async def _scan_host(
    host: str, numbers: list[int], gate: asyncio.Semaphore, timeout: float
) -> list[PortRecord] | ProbeFailure:
    try:
        states = await asyncio.wait_for(
            asyncio.gather(*(_probe(host, n, gate) for n in numbers)), timeout
        )
    except TimeoutError:
        return ProbeFailure(f"connect scan of {host} did not finish within {int(timeout)}s")
    except ScanError as exc:
        return ProbeFailure(f"connect scan of {host} failed: {exc}")
    except OSError as exc:
        return ProbeFailure(f"connect scan of {host} failed: {exc.strerror or exc}")
    return [
        {
            "number": number,
            "proto": "tcp",
            "state": state,
            "service": "",
            "service_source": "none",
            "product": "",
            "version": "",
        }
        for number, state in zip(numbers, states, strict=True)
        if state in ("open", "filtered")
    ]


async def _probe(host: str, port: int, gate: asyncio.Semaphore) -> str:
    async with gate:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
        except TimeoutError:
            return "filtered"
        except ConnectionRefusedError:
            return "closed"
        except OSError as exc:  # EMFILE, ENOBUFS, EHOSTUNREACH...: not an answer from the port
            raise ScanError(f"port {port}: {exc.strerror or exc}") from None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return "open"
