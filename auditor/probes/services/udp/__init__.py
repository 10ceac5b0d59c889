"""UDP services: the well-known ones scanners fail, and whatever the change record declares.

TCP ports are found by the port scan; UDP ones cannot be (silence proves nothing, and a
full UDP scan takes hours). So every target audited with the services pack gets one
bounded, read-only question on each of a short list of well-known UDP ports (SNMP, NTP,
DNS, memcached, IPMI, TFTP), and each declared UDP port gets the question of the service
declared there. What comes back is a service record like a TCP one (`proto: udp`):

- a reply: the service answered; `unauthenticated` says whether the reply proves the
  exposure (a default community, monlist, recursion for anyone, cipher 0...);
- ICMP port unreachable: nothing listens (`answered: false`, no error);
- silence: "no reply", never "closed". On a well-known port that is the usual case and
  no finding; on a **declared** port it is an `error` (the declared service could not be
  checked), so the gate says incomplete instead of GO by silence.

A declared UDP service the auditor has no question for is `unknown`, a finding like an
unidentified TCP port.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from auditor.models import Target
from auditor.probes.deadline import Deadline
from auditor.probes.services.base import service_record
from auditor.probes.services.udp import dns, ipmi, memcached, ntp, snmp, tftp
from auditor.probes.services.udp.base import UdpAnswer, UdpCheck
from auditor.probes.services.wire import ServiceError

UDP_CHECKS: tuple[UdpCheck, ...] = (
    UdpCheck("snmp", 161, ("snmp",), "nmap: snmp-info, snmp-brute", snmp.check),
    UdpCheck("ntp", 123, ("ntp",), "nmap: ntp-info, ntp-monlist", ntp.check),
    UdpCheck("dns", 53, ("dns", "domain"), "nmap: dns-recursion", dns.check),
    UdpCheck(
        "memcached-udp",
        11211,
        ("memcached",),
        "nuclei-templates: network/misconfig/memcached-stats (over UDP)",
        memcached.check,
    ),
    UdpCheck("ipmi", 623, ("ipmi", "asf-rmcp", "rmcp"), "nmap: ipmi-cipher-zero", ipmi.check),
    UdpCheck("tftp", 69, ("tftp",), "nmap: tftp-enum", tftp.check),
)
PER_PORT_SECONDS = 8.0


def udp_plan(target: Target) -> list[tuple[int, UdpCheck | None, str, bool]]:
    """(port, check, why, declared) for each UDP port to ask: the declared ones first
    (by their declared service, else their well-known port), then the well-known ones."""
    by_name = {name: check for check in UDP_CHECKS for name in check.names}
    by_port = {check.port: check for check in UDP_CHECKS}
    declared = {
        e.port: (e.service or "").lower()
        for e in (target.change.exposes if target.change else ())
        if e.proto == "udp"
    }
    plan: list[tuple[int, UdpCheck | None, str, bool]] = []
    for port, service in sorted(declared.items()):
        check = by_name.get(service) or by_port.get(port)
        plan.append((port, check, "declared", True))
    for check in UDP_CHECKS:
        if check.port not in declared:
            plan.append((check.port, check, "well-known port", False))
    return plan


def udp_records(ip: str, target: Target, deadline: Deadline) -> list[dict[str, Any]]:
    """One service record per UDP port asked, all ports at once (each waits on silence)."""
    plan = udp_plan(target)
    if not plan:
        return []

    def one(item: tuple[int, UdpCheck | None, str, bool]) -> dict[str, Any] | None:
        port, check, why, declared = item
        return _record(ip, port, check, why, declared, deadline)

    with ThreadPoolExecutor(len(plan)) as pool:
        return [r for r in pool.map(one, plan) if r is not None]


def _record(
    ip: str, port: int, check: UdpCheck | None, why: str, declared: bool, deadline: Deadline
) -> dict[str, Any] | None:
    kind = check.kind if check else "unknown"
    record = service_record(port, kind, why, "unknown", proto="udp")
    record["details"] = {"answered": False, "declared": declared}
    record["reference"] = check.reference if check else ""
    if check is None:
        record["evidence"] = "declared over UDP, but the auditor has no question for it"
        return record
    try:
        answer: UdpAnswer = check.check(ip, port, deadline.sub(PER_PORT_SECONDS))
    except ServiceError as exc:
        record["error"] = f"{check.kind} check on {port}/udp: {exc}"
        return record
    except Exception as exc:  # noqa: BLE001 - one odd datagram must not sink the others
        record["error"] = (
            f"{check.kind} check on {port}/udp: unreadable reply ({type(exc).__name__})"
        )
        return record
    if not answer.answered and not declared:
        return None  # silence or ICMP unreachable on a port nobody declared: nothing there
    if not answer.answered and not answer.refused:
        record["error"] = (
            f"declared {check.kind} on {port}/udp cannot be checked: {answer.evidence}"
        )
        return record
    record.update(
        identified=check.kind if answer.answered else "unknown",
        unauthenticated=answer.unauthenticated,
        evidence=answer.evidence,
        details={**answer.details, "declared": declared},
    )
    return record
