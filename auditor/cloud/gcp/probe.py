"""GCP probe: the Cloud Storage buckets each server links, read with Get calls only.

Facts root `gcp`: a list of `buckets`. A bucket whose calls failed carries an `error` naming
the call and the permission it needs; every rule on it is then `error`, and the server
incomplete. Targets found by project-wide discovery carry their one bucket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from auditor.cloud.gcp.api import GcpCallError, make_client
from auditor.cloud.gcp.settings import GcpLink, GcpSettings
from auditor.cloud.gcp.storage import bucket_facts
from auditor.models import ProbeOutcome, Target
from auditor.probes.base import NO_UPSTREAM, Done, Probe, Upstream, delivery
from auditor.scope import Scope


class GcpProbe(Probe):
    name = "gcp"

    def __init__(self, settings: GcpSettings | None, concurrency: int = 16) -> None:
        self.settings = settings
        self.concurrency = max(1, concurrency)

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
                t.name: self.failed("the inventory has no `cloud.gcp` section") for t in targets
            }
        try:
            client = make_client(self.settings)
        except GcpCallError as exc:
            return {t.name: self.failed(str(exc)) for t in targets}

        def one(target: Target) -> None:
            link: GcpLink | None = target.clouds.get("gcp")
            if link is None:
                deliver(target.name, self.failed("no Google Cloud resources linked (`gcp:` key)"))
                return
            buckets: list[dict[str, Any]] = [bucket_facts(client, b) for b in link.buckets]
            deliver(target.name, ProbeOutcome(self.name, facts={"gcp": {"buckets": buckets}}))

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(one, targets))
        return kept
