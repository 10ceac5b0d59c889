"""What every probe is: a thing that turns targets into facts (or error facts), nothing else.

Probes receive their clients and settings in the constructor (never at import time), check
every address against the scope before touching it, and return one `ProbeOutcome` per
target. A probe that cannot look returns an outcome with an `error`: the engine and the
rules treat that as "incomplete", never as clean.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from auditor.errors import ScopeError
from auditor.models import ProbeError, ProbeOutcome, Target
from auditor.scope import Scope

log = logging.getLogger(__name__)


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
    needs: tuple[str, ...] = ()
    """Probes whose facts this one builds on (e.g. services probe the ports found open).
    The engine runs those first and hands their outcomes in; where one failed on a target,
    this probe is not run there and the target gets an error instead."""

    @abstractmethod
    def collect(
        self,
        targets: Sequence[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        """An outcome for every target, exactly once: handed to `done` as soon as it is
        ready when the caller gives one, else in the returned mapping (by target name)."""

    def failed(self, message: str) -> ProbeOutcome:
        return ProbeOutcome(self.name, error=ProbeError(self.name, message))

    def plan(self, needs: Mapping[str, set[str]]) -> None:  # noqa: B027 - optional hook
        """Before any probe starts: which probes each target needs (by target name). The
        SSH probes use it to share one session per server; others ignore it."""


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
        targets: Sequence[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        deliver, kept = delivery(done)

        def one(target: Target) -> None:
            try:
                address_of(target, scope)
                outcome = self.probe(target, scope, timeout, upstream.get(target.name, {}))
            except ProbeFailure as exc:
                outcome = self.failed(str(exc))
            except ScopeError:
                raise  # never a finding: the run stops before touching anything else
            except Exception as exc:
                # A reply nobody foresaw (malformed BSON, a 60,000-deep JSON body...) must
                # cost this target this probe's facts, never the other targets' results.
                log.debug("probe %s crashed on %s", self.name, target.name, exc_info=True)
                outcome = self.failed(f"probe crashed on this target: {type(exc).__name__}: {exc}")
            deliver(target.name, outcome)

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix=self.name) as pool:
            for _ in pool.map(one, targets):
                pass
        return kept
