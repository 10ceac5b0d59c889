"""What every probe is: a thing that turns targets into facts (or error facts), nothing else.

Probes receive their clients and settings in the constructor (never at import time), check
every address against the scope before touching it, and return one `ProbeOutcome` per
target. A probe that cannot look returns an outcome with an `error`: the engine and the
rules treat that as "incomplete", never as clean.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from auditor.errors import ScopeError
from auditor.models import ProbeError, ProbeOutcome, Target
from auditor.probes.deadline import Deadline
from auditor.scope import Scope

log = logging.getLogger(__name__)

FactPath = tuple[str, tuple[str, ...]]
"""A dotted fact path a rule reads: its root and fields (`host.reads.sysctl`)."""


class ProbeFailure(Exception):
    """Raised inside a probe for an expected failure on one target (timeout, refused...)."""


def address_of(target: Target, scope: Scope) -> str:
    """The target's IP, checked against the scope; cloud-only targets have none."""
    if target.ip is None:
        raise ProbeFailure(f"{target.name} has no network address to probe ({target.kind})")
    return str(scope.check(target.ip))


Done = Callable[[str, ProbeOutcome], None]
"""Called with a target's name and outcome as soon as the probe has it, so the engine can
judge each server the moment its last probe reports (and keep it if the run is stopped)."""


def delivery(done: Done | None) -> tuple[Done, dict[str, ProbeOutcome]]:
    """Where a probe puts each outcome, and what `collect` returns.

    Every outcome goes exactly once either to the caller's `done` or, when there is none,
    into the returned mapping. A probe never keeps what it has handed on: the engine judges
    and drops each target as it comes, so memory follows concurrency, not the fleet.
    """
    kept: dict[str, ProbeOutcome] = {}
    return (kept.__setitem__ if done is None else done), kept


Upstream = Mapping[str, Mapping[str, ProbeOutcome]]
"""Outcomes of the probes a probe `needs`, by target name then probe name (all succeeded)."""

NO_UPSTREAM: Upstream = {}


class Probe(ABC):
    name: str = ""
    provides: tuple[str, ...] = ()
    """The fact roots this probe delivers, when not just the one named like it (the SSH
    probe reads `ssh`, `ssh_auth`, `sshd` and `host` on one connection)."""
    needs: tuple[str, ...] = ()
    """Probes whose facts this one builds on (e.g. services probe the ports found open).
    The engine runs those first and hands their outcomes in; where one failed on a target,
    this probe is not run there and the target gets an error instead."""

    @abstractmethod
    def collect(
        self,
        targets: Iterable[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        """An outcome for every target, exactly once: handed to `done` as soon as it is
        ready when the caller gives one, else in the returned mapping (by target name)."""

    @property
    def roots(self) -> tuple[str, ...]:
        return self.provides or (self.name,)

    def failed(self, message: str, root: str = "") -> ProbeOutcome:
        root = root or self.name
        return ProbeOutcome(root, error=ProbeError(root, message))

    def plan(  # noqa: B027 - optional hook
        self,
        needs: Mapping[str, set[str]],
        paths: Mapping[str, frozenset[FactPath]] | None = None,
    ) -> None:
        """Before any probe starts: which fact roots each target needs (by target name),
        and which fact paths its rules read. A probe of several roots reads only those;
        others ignore it."""


def contained(probe: Probe, target: Target, work: Callable[[], ProbeOutcome]) -> ProbeOutcome:
    """`work()`'s outcome for one target, with any failure kept to that target.

    Every probe family goes through here: a reply nobody foresaw (malformed BSON, a
    60,000-deep JSON body, a bucket whose answer lacks a key) costs this target this probe's
    facts, never the other targets' results. A scope violation is never contained: the run
    stops before touching anything else."""
    try:
        return work()
    except Exception as exc:  # noqa: BLE001 - failure() logs it, or raises a scope error
        return failure(probe, exc, target.name)


def failure(probe: Probe, exc: Exception, where: str, root: str = "") -> ProbeOutcome:
    """The error outcome an exception leaves (on `root`, for a probe of several); a scope
    violation is raised again."""
    if isinstance(exc, ScopeError):
        raise exc
    if isinstance(exc, ProbeFailure):
        return probe.failed(str(exc), root)
    log.debug("probe %s crashed on %s", probe.name, where, exc_info=exc)
    return probe.failed(f"probe crashed on this target: {type(exc).__name__}: {exc}", root)


class ClientError(ProbeFailure):
    """A probe's client could not be made (credentials, configuration, a first call)."""


class RunClientProbe(Probe):
    """A probe that makes its API clients once per run (the clouds), then reads each target
    on a bounded pool. One shape for every such probe: no `cloud.<name>` settings or a
    client that cannot be made fails every target it concerns; a target's crash is kept
    to that target (`contained`)."""

    def __init__(self, settings: Any, concurrency: int = 16) -> None:
        self.settings = settings
        self.concurrency = max(1, concurrency)

    @abstractmethod
    def connect(self) -> Any:
        """What the run shares (a session, a client); raises ClientError."""

    def group(self, target: Target) -> str:
        """Targets that share one client (AWS: a region); one group by default."""
        return ""

    def client(self, run: Any, group: str) -> Any:
        """The client of one group, made once; raises ClientError."""
        return run

    @abstractmethod
    def read(self, client: Any, target: Target, deadline: Deadline) -> ProbeOutcome:
        """One target's outcome, every call within `deadline`; raise ProbeFailure for a
        target that cannot be read at all."""

    def collect(
        self,
        targets: Iterable[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        deliver, kept = delivery(done)
        targets = list(targets)  # grouped by client before any is read

        def fail(members: Sequence[Target], outcome: ProbeOutcome) -> None:
            for target in members:
                deliver(target.name, outcome)

        if self.settings is None:
            fail(targets, self.failed(f"the inventory has no `cloud.{self.name}` section"))
            return kept
        try:
            run = self.connect()
        except Exception as exc:  # noqa: BLE001 - every target: there is no client at all
            fail(targets, failure(self, exc, "every target"))
            return kept
        groups: dict[str, list[Target]] = {}
        for target in targets:
            groups.setdefault(self.group(target), []).append(target)
        for group, members in groups.items():
            try:
                client = self.client(run, group)
            except Exception as exc:  # noqa: BLE001 - a group's client: its targets only
                fail(members, failure(self, exc, f"group {group or 'default'}"))
                continue

            def one(target: Target, client: Any = client) -> None:
                def work() -> ProbeOutcome:
                    return self.read(client, target, Deadline(timeout))

                deliver(target.name, contained(self, target, work))

            with ThreadPoolExecutor(self.concurrency, thread_name_prefix=self.name) as pool:
                for _ in pool.map(one, members):
                    pass
        return kept


class PerTargetProbe(Probe):
    """A probe that talks to one target at a time, run on a bounded thread pool."""

    def __init__(self, concurrency: int = 16) -> None:
        self.concurrency = max(1, concurrency)

    @abstractmethod
    def probe(
        self,
        target: Target,
        scope: Scope,
        timeout: float,
        upstream: Mapping[str, ProbeOutcome],
    ) -> ProbeOutcome:
        """Probe one target; raise ProbeFailure for expected failures."""

    def collect(
        self,
        targets: Iterable[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        deliver, kept = delivery(done)

        def one(target: Target) -> None:
            def work() -> ProbeOutcome:
                address_of(target, scope)
                return self.probe(target, scope, timeout, upstream.get(target.name, {}))

            deliver(target.name, contained(self, target, work))

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix=self.name) as pool:
            for _ in pool.map(one, targets):
                pass
        return kept
