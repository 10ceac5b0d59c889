"""GCP probe: the Cloud Storage buckets each server links, read with Get calls only.

Facts root `gcp`: a list of `buckets`. A bucket whose calls failed carries an `error` naming
the call and the permission it needs; every rule on it is then `error`, and the server
incomplete. Targets found by project-wide discovery carry their one bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.cloud.gcp.api import GcpCallError, make_client
from auditor.cloud.gcp.settings import GcpLink
from auditor.cloud.gcp.storage import bucket_facts
from auditor.cloud.probe import LinkedResourcesProbe
from auditor.probes.base import ClientError
from auditor.probes.deadline import Deadline


class GcpProbe(LinkedResourcesProbe):
    name = "gcp"
    records_key = "buckets"

    def connect(self) -> Any:
        try:
            return make_client(self.settings)
        except GcpCallError as exc:
            raise ClientError(str(exc)) from None

    def resources(self, link: GcpLink) -> Sequence[str]:
        return link.buckets

    def read_resource(self, client: Any, resource: str, deadline: Deadline) -> dict[str, Any]:
        return bucket_facts(client, resource, deadline)
