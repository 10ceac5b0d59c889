"""Port probe: which TCP ports each target exposes, as seen from the auditor.

Targets that share a port list are scanned together: one nmap process covers many hosts,
and the hosts are split over one process per core (measured in the lab notes: two
processes halve a 15-host full-range scan). Without nmap, a pure-Python connect scan
produces the same facts, and every outcome notes which scanner ran.
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.portspec import normalise
from auditor.probes.base import (
    NO_UPSTREAM,
    Done,
    Probe,
    ProbeFailure,
    Upstream,
    address_of,
    delivery,
)
from auditor.probes.ports import connect_scan, nmap_scan
from auditor.scope import Scope

log = logging.getLogger(__name__)

MAX_HOSTS_PER_NMAP = 64

Scanner = Callable[[Sequence[str], str, float], Mapping[str, "list[dict[str, Any]] | ProbeFailure"]]


class PortProbe(Probe):
    name = "ports"

    def __init__(
        self,
        *,
        service_detection: bool = False,
        prefer: str = "nmap",
        processes: int | None = None,
    ) -> None:
        self.service_detection = service_detection
        self.prefer = prefer
        self.processes = max(1, processes or os.cpu_count() or 1)

    def collect(
        self,
        targets: Iterable[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        deliver, kept = delivery(done)
        scannable = []
        for target in targets:
            try:
                address_of(target, scope)
            except ProbeFailure as exc:
                deliver(target.name, self.failed(str(exc)))
            else:
                scannable.append(target)
        scanner, note = self._scanner()
        groups: dict[str, list[Target]] = defaultdict(list)
        for target in scannable:
            groups[normalise(target.ports)].append(target)
        jobs = [
            (ports, chunk)
            for ports, members in groups.items()
            for chunk in _chunks(members, self.processes)
        ]
        with ThreadPoolExecutor(self.processes, thread_name_prefix="nmap") as pool:
            futures = [
                pool.submit(scanner, [str(t.ip) for t in chunk], ports, timeout)
                for ports, chunk in jobs
            ]
            chunk_of = {future: job for future, job in zip(futures, jobs, strict=True)}
            for future in as_completed(futures):
                ports, chunk = chunk_of[future]
                by_host = future.result()
                for target in chunk:
                    found = by_host.get(str(target.ip))
                    if isinstance(found, ProbeFailure) or found is None:
                        deliver(target.name, self.failed(str(found) if found else "no result"))
                        continue
                    facts = {"ports": found, "scanned": ports, "scanner": note}
                    deliver(target.name, ProbeOutcome(self.name, facts=facts, notes=(note,)))
        return kept

    def _scanner(self) -> tuple[Scanner, str]:
        prefer = self.prefer
        if prefer == "auto":  # as nmap chooses: a SYN scan when root can send raw packets
            prefer = "nmap-syn" if os.geteuid() == 0 else "nmap"
        if prefer in ("nmap", "nmap-syn"):
            try:
                nmap_scan.new_scanner()
            except nmap_scan.NmapMissing:
                log.warning("nmap not found: using the slower built-in TCP connect scanner")
            else:
                detection = self.service_detection
                syn = prefer == "nmap-syn"

                def run_nmap(
                    hosts: Sequence[str], ports: str, timeout: float
                ) -> Mapping[str, list[dict[str, Any]] | ProbeFailure]:
                    return nmap_scan.scan(
                        nmap_scan.new_scanner(),
                        hosts,
                        ports,
                        timeout=timeout,
                        service_detection=detection,
                        syn=syn,
                    )

                kind = "-sS" if syn else "-sT"
                return run_nmap, f"scanner: nmap {kind} -Pn -n" + (" -sV" if detection else "")

        def run_connect(
            hosts: Sequence[str], ports: str, timeout: float
        ) -> Mapping[str, list[dict[str, Any]] | ProbeFailure]:
            return connect_scan.scan(hosts, ports, timeout=timeout)

        return run_connect, "scanner: built-in TCP connect (nmap not used)"


def _chunks(targets: list[Target], processes: int) -> list[list[Target]]:
    """Split hosts so that every core has an nmap process, each with at most 64 hosts."""
    count = max(min(processes, len(targets)), math.ceil(len(targets) / MAX_HOSTS_PER_NMAP))
    size = math.ceil(len(targets) / count)
    return [targets[i : i + size] for i in range(0, len(targets), size)]
