"""Services probe: proves open access, not just open ports.

Runs after the port probe. Every open TCP port is first *identified* from what it says
(`identify.py`: a banner, then a few read-only greetings), so a Redis on 6399 is checked as
Redis whatever its number. A port is then checked by every service check that its
identified protocol calls for, or that the change record declares there; when nothing named
the protocol, nmap's name for the port and the well-known port decide as before, and the
port itself becomes a `kind: unknown` record that a rule fails. Each check sends the minimal
request that proves access (the nuclei templates' proofs) with bounded reads.

Checks come from two places behind one interface (`ServiceCheck`): YAML check files (the
shipped `rules/checks/` and any `--service-checks-dir`, docs/network-checks.md), and Python
modules for the protocols that need real parsing (RESP, BSON, PostgreSQL, FTP...).

A check that times out, gets garbage, or fails in any unforeseen way yields a service
record with an `error`: every rule on it is `error`, never `pass`, and the other ports'
checks go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import PerTargetProbe, address_of
from auditor.probes.deadline import Deadline
from auditor.probes.services.amqp import AMQP, AMQP_TRY_GUEST
from auditor.probes.services.base import ServiceCheck, service_record
from auditor.probes.services.brokers import EPMD, MQTT, SOCKS
from auditor.probes.services.cassandra import CASSANDRA
from auditor.probes.services.checkfile import load_check_dirs
from auditor.probes.services.datacheck import service_check
from auditor.probes.services.elasticsearch import ELASTICSEARCH
from auditor.probes.services.ftp import FTP
from auditor.probes.services.http import HTTP, HTTPS
from auditor.probes.services.identify import UNKNOWN, Identity, identify
from auditor.probes.services.java import JDWP, RMI_REGISTRY
from auditor.probes.services.kafka import KAFKA
from auditor.probes.services.ldap import LDAP
from auditor.probes.services.memcached import MEMCACHED
from auditor.probes.services.mongodb import MONGODB
from auditor.probes.services.mysql import MYSQL, MYSQL_TRY_EMPTY_ROOT
from auditor.probes.services.nbd import NBD
from auditor.probes.services.nfs import NFS
from auditor.probes.services.nrpe import NRPE
from auditor.probes.services.postgresql import POSTGRESQL
from auditor.probes.services.rdp import RDP
from auditor.probes.services.redis import REDIS
from auditor.probes.services.rpcbind import RPCBIND
from auditor.probes.services.rsync import RSYNC
from auditor.probes.services.smb import SMB
from auditor.probes.services.udp import udp_records
from auditor.probes.services.vnc import VNC
from auditor.probes.services.wire import NotThisService, ServiceError
from auditor.probes.services.x11 import X11
from auditor.scope import Scope

PYTHON_CHECKS: tuple[ServiceCheck, ...] = (
    REDIS,
    MEMCACHED,
    MONGODB,
    ELASTICSEARCH,
    POSTGRESQL,
    MYSQL,
    VNC,
    SMB,
    CASSANDRA,
    KAFKA,
    NFS,
    HTTP,
    HTTPS,
    FTP,
    RSYNC,
    LDAP,
    X11,
    AMQP,
    EPMD,
    MQTT,
    SOCKS,
    RPCBIND,
    NBD,
    JDWP,
    RMI_REGISTRY,
    RDP,
    NRPE,
)
"""Checks whose protocol needs real parsing; everything else is a check file."""


def load_checks(
    directories: Iterable[Path] = (), try_default_credentials: bool = False
) -> tuple[ServiceCheck, ...]:
    """The Python checks, then every check file (shipped, then each of `directories`).

    `try_default_credentials` (off unless asked for) swaps in the checks that make one
    login with a product's well-known default: MySQL/MariaDB `root` with no password, and
    the check-file steps marked `login: default` (RabbitMQ's guest/guest)."""
    python = PYTHON_CHECKS
    if try_default_credentials:
        swap = {MYSQL.kind: MYSQL_TRY_EMPTY_ROOT, AMQP.kind: AMQP_TRY_GUEST}
        python = tuple(swap.get(c.kind, c) for c in python)
    files = load_check_dirs(directories)
    return python + tuple(service_check(c, try_default_credentials) for c in files)


PER_CHECK_SECONDS = 10.0
PER_PORT_IDENTIFY_SECONDS = 6.0
IDENTIFY_IN_PARALLEL = 8
"""Ports of one target identified at once (each waits mostly on the network)."""
CHECKS_IN_PARALLEL = 6
"""Checks of one target run at once (the console checks make one web port busy)."""

GENERIC = {"http": HTTP, "https": HTTPS, "redis": REDIS, "memcached": MEMCACHED}
GENERIC |= {"mongodb": MONGODB, "ftp": FTP, "rsync": RSYNC}
GENERIC |= {"postgresql": POSTGRESQL, "mysql": MYSQL, "vnc": VNC, "amqp": AMQP}
"""The check that every port identified as this protocol gets, unless a more specific check
of the same protocol (Elasticsearch, Docker, etcd... over HTTP) is planned there."""
NAMED_BY_GENERIC = frozenset({*GENERIC, UNKNOWN, "tls"})
"""Protocols whose identification plans only their generic check (and `any_port` ones);
every other named protocol gets each check of that protocol."""
ANY_PROTOCOL = "any"
"""A check that runs on its ports whatever identification named there (a nuclei tcp
template: it carries its own proof)."""
EVERY_PORT = "every port identified as its protocol"
"""Why an `any_port` check (an admin console, a dump in the web root) runs on a port."""


def plan(
    target: Target,
    open_ports: list[Mapping[str, Any]],
    identities: Mapping[int, Identity | str] | None = None,
    checks: Sequence[ServiceCheck] | None = None,
) -> list[tuple[int, ServiceCheck, str]]:
    """(port, check, why) for every service to check on this target's open TCP ports.

    `identities` maps a port to what identification named there (or to the error that
    stopped it); a port missing from it is planned from names and numbers alone.
    """
    declared = {
        e.port: (e.service or "").lower()
        for e in (target.change.exposes if target.change else ())
        if e.proto == "tcp"
    }
    planned: list[tuple[int, ServiceCheck, str]] = []
    checks = load_checks() if checks is None else checks
    for port in open_ports:
        number = int(port["number"])
        if port.get("proto") != "tcp" or port.get("state") != "open":
            continue
        found = (identities or {}).get(number)
        protocol = found.protocol if isinstance(found, Identity) else UNKNOWN
        chosen: list[tuple[int, ServiceCheck, str]] = []
        for check in checks:
            reasons = []
            guesses = []
            if port.get("service") in check.names:
                guesses.append(f"nmap ({port.get('service_source', 'port-table')})")
            if number in check.ports:
                guesses.append("well-known port")
            if protocol in (UNKNOWN, check.protocol) or check.protocol == ANY_PROTOCOL:
                reasons += guesses  # names and numbers count unless the server contradicts them
            if declared.get(number) in (check.kind, *check.names):
                reasons.append("declared")
            if reasons:
                chosen.append((number, check, ", ".join(reasons)))
        generic = GENERIC.get(protocol)
        if generic is not None:  # the active variant of that check (e.g. with a login)
            generic = next((c for c in checks if c.kind == generic.kind), generic)
        if generic is not None and not any(c.protocol == protocol for _, c, _ in chosen):
            chosen.append((number, generic, f"identified as {protocol}"))
        if protocol not in NAMED_BY_GENERIC and not any(
            c.protocol == protocol for _, c, _ in chosen
        ):
            # a protocol identification named (gmond's XML, ClickHouse's reply to HTTP, a
            # Dubbo prompt) gets its checks on whatever port it was found
            chosen += [
                (number, c, f"identified as {protocol}") for c in checks if c.protocol == protocol
            ]
        mine = {c.kind for _, c, _ in chosen}
        chosen += [
            (number, c, EVERY_PORT)
            for c in checks
            if c.any_port and protocol in c.protocols and c.kind not in mine
        ]
        planned += chosen
    return planned


def _identify_all(ip: str, ports: list[int], deadline: Deadline) -> dict[int, Identity | str]:
    """Identity (or the error that stopped identification) of each port, in parallel."""

    def one(port: int) -> Identity | str:
        try:
            return identify(ip, port, deadline.sub(PER_PORT_IDENTIFY_SECONDS))
        except ServiceError as exc:
            return f"identifying {port}/tcp: {exc}"
        except Exception as exc:  # noqa: BLE001 - one odd reply must not sink the others
            return f"identifying {port}/tcp: unreadable reply ({type(exc).__name__})"

    if not ports:
        return {}
    with ThreadPoolExecutor(min(IDENTIFY_IN_PARALLEL, len(ports))) as pool:
        return dict(zip(ports, pool.map(one, ports), strict=True))


def _guessed(why: str) -> bool:
    """Planned only from nmap's name or the port number, not declared or identified."""
    return "declared" not in why and not why.startswith("identified as") and why != EVERY_PORT


def _without_disproven_guesses(
    planned: Sequence[tuple[int, ServiceCheck, str]],
    results: Sequence[dict[str, Any] | None],
) -> list[dict[str, Any]]:
    """The records, less the errors of checks that only a guess planned on a port whose
    protocol another check has proven: JDWP answering on 8000 (nmap's `http-alt`) proves
    that the HTTP check's reset there is not an HTTP server failing, but no HTTP server.
    Every other error stays, and fails the server closed."""
    proven = {
        (port, check.protocol)
        for (port, check, _), record in zip(planned, results, strict=True)
        if record is not None and not record["error"]
    }
    kept = []
    for (port, check, why), record in zip(planned, results, strict=True):
        if record is None:
            continue
        disproven = any(p == port and protocol != check.protocol for p, protocol in proven)
        if record["error"] and _guessed(why) and disproven:
            continue
        kept.append(record)
    return kept


class ServicesProbe(PerTargetProbe):
    """Facts root `services`: one record per service checked on an open port."""

    name = "services"
    needs = ("ports",)

    def __init__(self, concurrency: int = 16, checks: Sequence[ServiceCheck] | None = None) -> None:
        super().__init__(concurrency)
        self.checks = tuple(load_checks() if checks is None else checks)

    def probe(
        self,
        target: Target,
        scope: Scope,
        timeout: float,
        upstream: Mapping[str, ProbeOutcome],
    ) -> ProbeOutcome:
        ip = address_of(target, scope)
        open_ports = upstream["ports"].facts.get("ports", [])
        numbers = [
            int(p["number"])
            for p in open_ports
            if p.get("proto") == "tcp" and p.get("state") == "open"
        ]
        deadline = Deadline(timeout)  # one deadline for this probe on this target
        with ThreadPoolExecutor(1, thread_name_prefix="udp") as background:
            # UDP waits mostly on silence: it runs beside the TCP checks, not after them
            udp = background.submit(udp_records, ip, target, deadline)
            records = self._tcp(ip, target, open_ports, numbers, deadline)
            records += udp.result()
        return ProbeOutcome(self.name, facts={"services": records})

    def _tcp(
        self,
        ip: str,
        target: Target,
        open_ports: list[Mapping[str, Any]],
        numbers: list[int],
        deadline: Deadline,
    ) -> list[dict[str, Any]]:
        identities = _identify_all(ip, numbers, deadline)
        planned = plan(target, open_ports, identities, self.checks)

        def run(item: tuple[int, ServiceCheck, str]) -> dict[str, Any] | None:
            port, check, why = item
            identity = identities.get(port)
            record = self._check(ip, port, check, why, identity, deadline)
            if record is None and why == EVERY_PORT:
                return None  # not that product: it was only looked for, as everywhere
            if record is None:  # not that service, and only its port number said it was
                record = self._instead(ip, port, check, planned, identity, deadline)
            return record

        # A web port is asked by every console check (some 60 GETs): they wait on the
        # network, so a few at a time keep a slow server's port inside the deadline.
        with ThreadPoolExecutor(CHECKS_IN_PARALLEL, thread_name_prefix="check") as pool:
            results = list(pool.map(run, planned))
        records = _without_disproven_guesses(planned, results)
        checked = {int(r["port"]) for r in records}
        for port in numbers:
            if port not in checked:
                records.append(_identified_only(port, identities[port]))
        return records

    def _check(
        self,
        ip: str,
        port: int,
        check: ServiceCheck,
        why: str,
        identity: Identity | str | None,
        deadline: Deadline,
    ) -> dict[str, Any] | None:
        """The check's record; None when the port proved not to be that service and only
        its number or nmap's name had said it was."""
        record = _record(port, check.kind, why, identity)
        record["reference"] = check.reference
        record["rule"] = check.rule
        over_tls = isinstance(identity, Identity) and identity.protocol == "https"
        run = check.over_tls if over_tls and check.over_tls is not None else check.check
        try:
            answer = run(ip, port, deadline.sub(PER_CHECK_SECONDS))
        except NotThisService as exc:
            if "declared" in why:  # the change record says it is: fail closed
                record["error"] = f"{check.kind} check on {port}/tcp: {exc}"
            else:
                return None
        except ServiceError as exc:
            record["error"] = f"{check.kind} check on {port}/tcp: {exc}"
        except OSError as exc:  # a send on a connection the server dropped
            record["error"] = f"{check.kind} check on {port}/tcp: {exc.strerror or exc}"
        except Exception as exc:  # noqa: BLE001 - one reply must not sink the other checks
            record["error"] = (
                f"{check.kind} check on {port}/tcp: unreadable reply "
                f"({type(exc).__name__}: {str(exc)[:120]})"
            )
        else:
            record.update(
                unauthenticated=answer.unauthenticated,
                evidence=answer.evidence,
                details=answer.details,
            )
        return record

    def _instead(
        self,
        ip: str,
        port: int,
        wrong: ServiceCheck,
        planned: Sequence[tuple[int, ServiceCheck, str]],
        identity: Identity | str | None,
        deadline: Deadline,
    ) -> dict[str, Any] | None:
        """The generic check of the protocol the port was identified as, when the specific
        check planned there (Jenkins on 8080) met something else; None when another planned
        check covers the port or nothing generic applies (it is then `identified` only)."""
        if any(p == port and c is not wrong and w != EVERY_PORT for p, c, w in planned):
            return None
        protocol = identity.protocol if isinstance(identity, Identity) else UNKNOWN
        generic = GENERIC.get(protocol)
        if generic is None:
            return None
        generic = next((c for c in self.checks if c.kind == generic.kind), generic)
        why = f"identified as {protocol} (not {wrong.kind})"
        return self._check(ip, port, generic, why, identity, deadline)


def _record(port: int, kind: str, why: str, identity: Identity | str | None) -> dict[str, Any]:
    identified = identity.protocol if isinstance(identity, Identity) else UNKNOWN
    return service_record(port, kind, why, identified)


def _identified_only(port: int, identity: Identity | str) -> dict[str, Any]:
    """A port no check covers: its protocol as identified, or `unknown` (a finding)."""
    if isinstance(identity, Identity):
        record = _record(port, identity.protocol, "identified", identity)
        record["evidence"] = identity.evidence
        return record
    record = _record(port, UNKNOWN, "identified", identity)
    record["error"] = identity
    return record
