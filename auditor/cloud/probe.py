"""The probe shape Azure and GCP share: one client for the run, then each target's linked
resources read one by one, each record carrying its own `error` when its calls failed.

Fail closed at every level: no `cloud.<name>` section, or a client that cannot be made,
fails every target; a target without a link fails on its own; a resource whose call failed
is a record with `error`, which makes every rule on it `error`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import NO_UPSTREAM, Done, Probe, Upstream, delivery
from auditor.probes.deadline import Deadline
from auditor.scope import Scope


class CloudClientError(Exception):
    """The provider's client could not be made (credentials, configuration)."""


class LinkedResourcesProbe(Probe):
    """Facts root `name`: `{records_key: [record, ...]}`, one record per linked resource."""

    records_key: str
    """The list under the facts root: `buckets`, `storage_accounts`."""

    def __init__(self, settings: Any, concurrency: int = 16) -> None:
        self.settings = settings
        self.concurrency = max(1, concurrency)

    @abstractmethod
    def connect(self) -> Any:
        """The client, made once for the run; raises CloudClientError."""

    @abstractmethod
    def resources(self, link: Any) -> Sequence[str]:
        """The resources a server's link names."""

    @abstractmethod
    def read(self, client: Any, resource: str, deadline: Deadline) -> dict[str, Any]:
        """One resource's record, every call within `deadline`; a failed call is its
        `error`, never an exception."""

    def collect(
        self,
        targets: Sequence[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        deliver, kept = delivery(done)
        if self.settings is None:
            return {
                t.name: self.failed(f"the inventory has no `cloud.{self.name}` section")
                for t in targets
            }
        try:
            client = self.connect()
        except CloudClientError as exc:
            return {t.name: self.failed(str(exc)) for t in targets}

        def one(target: Target) -> None:
            link = target.clouds.get(self.name)
            if link is None:
                deliver(target.name, self.failed(f"no resources linked (`{self.name}:` key)"))
                return
            deadline = Deadline(timeout)  # one deadline for this probe on this target
            records = [self.read(client, r, deadline) for r in self.resources(link)]
            deliver(
                target.name, ProbeOutcome(self.name, facts={self.name: {self.records_key: records}})
            )

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(one, targets))
        return kept


def resource_target(provider: str, kind: str, name: str, link: Any) -> Target:
    """A resource found by discovery, as a target of its own: no address, judged by its
    provider's rule pack alone, named `kind:name` in every report."""
    return Target(
        name=f"{kind}:{name}",
        address=name,
        ip=None,
        ports="1",
        rules=(provider,),
        kind=kind,
        clouds={provider: link},
    )
