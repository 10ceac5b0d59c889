"""The probe shape Azure and GCP share: one client for the run, then each target's linked
resources read one by one, each record carrying its own `error` when its calls failed.

Fail closed at every level: no `cloud.<name>` section, or a client that cannot be made,
fails every target; a target without a link fails on its own; a resource whose call failed
is a record with `error`, which makes every rule on it `error`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import ProbeFailure, RunClientProbe
from auditor.probes.deadline import Deadline


class LinkedResourcesProbe(RunClientProbe):
    """Facts root `name`: `{records_key: [record, ...]}`, one record per linked resource."""

    records_key: str
    """The list under the facts root: `buckets`, `storage_accounts`."""

    @abstractmethod
    def resources(self, link: Any) -> Sequence[str]:
        """The resources a server's link names."""

    @abstractmethod
    def read_resource(self, client: Any, resource: str, deadline: Deadline) -> dict[str, Any]:
        """One resource's record, every call within `deadline`; a failed call is its
        `error`, never an exception."""

    def read(self, client: Any, target: Target, deadline: Deadline) -> ProbeOutcome:
        link = target.clouds.get(self.name)
        if link is None:
            raise ProbeFailure(f"no resources linked (`{self.name}:` key)")
        records = [self.read_resource(client, r, deadline) for r in self.resources(link)]
        return ProbeOutcome(self.name, facts={self.name: {self.records_key: records}})


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
