"""The SSH probe: every SSH fact root of a server, read through one endpoint, one route,
one session and one deadline.

Roots, in the order they are read on each server:
- `ssh`: banner and the algorithms offered before login (the server's KEXINIT, read raw:
  paramiko cannot negotiate the weakest offers, which are exactly the ones to see);
- `ssh_auth`: the methods offered to `none` and each host key's type, size, fingerprint;
- `sshd`: the effective settings of the daemon serving the audited socket (logs in);
- `host`: the host's own settings (logs in).

Only the roots some rule of the server reads are read (`plan`); the login happens only
when `sshd` or `host` is among them. Every connection goes through the server's
`SshEndpoint` (inventory + ssh_config, ProxyJump hops), so every root describes the same
daemon. A root that cannot be read is an error on that root, never a pass: a login that
fails is the error of `sshd` and `host`, while `ssh_auth` then reads the methods on a
connection of its own (that needs no trust).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import paramiko

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import (
    NO_UPSTREAM,
    Done,
    FactPath,
    Probe,
    ProbeFailure,
    Upstream,
    delivery,
    failure,
)
from auditor.probes.deadline import Deadline
from auditor.probes.ssh.auth import auth_facts, unauthenticated
from auditor.probes.ssh.connection import Login, Route
from auditor.probes.ssh.endpoint import read_ssh_config, resolve_endpoint
from auditor.probes.ssh.host import read_host
from auditor.probes.ssh.hostreads import HostRead, load_reads, reads_read
from auditor.probes.ssh.options import SshOptions
from auditor.probes.ssh.session import Session
from auditor.probes.ssh.sshd_config import read_sshd
from auditor.probes.ssh.wire import hello_facts, read_server_hello
from auditor.scope import Scope

ROOTS = ("ssh", "ssh_auth", "sshd", "host")
LOGIN_ROOTS = frozenset({"sshd", "host"})
"""The roots read after logging in: without them, the probe never logs in."""


class SshProbe(Probe):
    name = "ssh"
    provides = ROOTS

    def __init__(
        self,
        options: SshOptions | None = None,
        concurrency: int = 16,
        roots: Iterable[str] = ROOTS,
        reads: Sequence[HostRead] | None = None,
    ) -> None:
        self.options = options or SshOptions()
        self.reads = tuple(load_reads()) if reads is None else tuple(reads)
        """The host reads declared as data (rules/hostreads/), loaded once per run."""
        self.concurrency = max(1, concurrency)
        self.default_roots = frozenset(roots) & set(ROOTS)
        self.wanted: Mapping[str, frozenset[str]] = {}
        self.read_ids: Mapping[str, frozenset[str] | None] = {}

    def plan(
        self,
        needs: Mapping[str, set[str]],
        paths: Mapping[str, frozenset[FactPath]] | None = None,
    ) -> None:
        self.wanted = {name: frozenset(roots) & set(ROOTS) for name, roots in needs.items()}
        self.read_ids = {name: reads_read(found) for name, found in (paths or {}).items()}

    def reads_for(self, target: Target) -> tuple[HostRead, ...]:
        """The host reads some rule of the target reads (all of them without a plan): a
        hundred reads nobody judges would cost every server their commands."""
        wanted = self.read_ids.get(target.name)
        if wanted is None:
            return self.reads
        return tuple(r for r in self.reads if r.id in wanted)

    def roots_for(self, target: Target) -> frozenset[str]:
        return self.wanted.get(target.name, self.default_roots)

    def collect(
        self,
        targets: Iterable[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        """Each target's roots, handed to `done` one by one; without `done`, the probe
        must read one root (the returned mapping has one outcome per target)."""
        if done is None and len(self.default_roots) != 1:
            raise ValueError("without `done`, an SshProbe reads exactly one root")
        deliver, kept = delivery(done)
        try:
            config = read_ssh_config(self.options.config_file)
        except ProbeFailure as exc:
            for target in targets:  # every target, as it comes
                for root in sorted(self.roots_for(target)):
                    deliver(target.name, self.failed(str(exc), root))
            return kept

        def one(target: Target) -> None:
            for outcome in self.read(target, scope, config, Deadline(timeout)).values():
                deliver(target.name, outcome)

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix=self.name) as pool:
            for _ in pool.map(one, targets):
                pass
        return kept

    def read(
        self, target: Target, scope: Scope, config: paramiko.SSHConfig, deadline: Deadline
    ) -> dict[str, ProbeOutcome]:
        """One outcome for each of the target's roots, whatever happens."""
        roots = self.roots_for(target)
        results: dict[str, ProbeOutcome] = {}
        try:
            endpoint = resolve_endpoint(target, scope, config)
        except ProbeFailure as exc:
            return {root: self.failed(str(exc), root) for root in sorted(roots)}
        route = Route(endpoint, self.options, deadline)
        try:
            self._read(route, target, roots, results)
        except Exception as exc:  # noqa: BLE001 - contained: the roots not yet read fail
            for root in sorted(roots - set(results)):
                results[root] = self._failure(root, exc, route, target)
        finally:
            route.close()
        return {root: results[root] for root in ROOTS if root in roots}

    def _read(
        self, route: Route, target: Target, roots: frozenset[str], results: dict[str, ProbeOutcome]
    ) -> None:
        offered: list[str] = []
        if roots & {"ssh", "ssh_auth"}:
            try:
                stream = route.stream()
                try:
                    hello = read_server_hello(stream, route.deadline, route.endpoint.where)
                finally:
                    stream.close()
                offered = hello.lists["host_key_algorithms"]
                facts = ProbeOutcome("ssh", facts=hello_facts(hello))
            except ProbeFailure as exc:
                facts = self.failed(route.why(exc), "ssh")
                if "ssh_auth" in roots:
                    results["ssh_auth"] = self.failed(
                        f"the server's host-key offer is unknown: {route.why(exc)}", "ssh_auth"
                    )
            if "ssh" in roots:
                results["ssh"] = facts
        login: Login | None = None
        why = ""
        if roots & LOGIN_ROOTS:
            try:
                login = route.login(route.endpoint.target)
            except ProbeFailure as exc:
                why = route.why(exc)
        if "ssh_auth" in roots and "ssh_auth" not in results:
            results["ssh_auth"] = self._part(
                "ssh_auth",
                route,
                target,
                lambda: ProbeOutcome(
                    "ssh_auth",
                    facts=auth_facts(
                        route,
                        login if login and login.methods else unauthenticated(route),
                        offered,
                    ),
                ),
            )
        limit = min(route.deadline.seconds, self.options.command_timeout)
        session = Session(login, route.deadline) if login is not None else None
        server = route.endpoint.target
        readers: dict[str, Callable[[Session], ProbeOutcome]] = {
            "sshd": lambda s: read_sshd(s, server, limit),
            "host": lambda s: read_host(s, target, limit, self.reads_for(target)),
        }
        for root, reader in readers.items():
            if root not in roots:
                continue
            if session is None:
                results[root] = self.failed(why, root)
                continue
            results[root] = self._part(root, route, target, partial(reader, session))

    def _part(
        self, root: str, route: Route, target: Target, work: Callable[[], ProbeOutcome]
    ) -> ProbeOutcome:
        try:
            return work()
        except Exception as exc:  # noqa: BLE001 - one root's surprise must not sink the others
            return self._failure(root, exc, route, target)

    def _failure(self, root: str, exc: Exception, route: Route, target: Target) -> ProbeOutcome:
        """`exc` as the error of `root`, in the deadline's words when it was the watchdog."""
        if isinstance(exc, ProbeFailure):
            exc = ProbeFailure(route.why(exc))
        return failure(self, exc, target.name, root)
