"""Project-wide discovery: every Cloud Storage bucket of `cloud.gcp.project` becomes a target
of its own, audited with the `gcp` rule pack. A failed listing is an input error naming
the call, because a project that cannot be listed cannot be audited."""

from __future__ import annotations

from auditor.cloud.gcp.api import CALL_SECONDS, GcpCallError, call, make_client
from auditor.cloud.gcp.settings import GcpLink, GcpSettings
from auditor.cloud.probe import resource_target
from auditor.errors import AuditorError
from auditor.models import Target
from auditor.probes.deadline import Deadline


class DiscoveryError(AuditorError):
    """The project could not be listed (credentials, permissions, endpoint)."""


def discover(settings: GcpSettings) -> list[Target]:
    try:
        client = make_client(settings)
        names = call(
            "buckets.list",
            lambda seconds: [
                b.name
                for b in client.list_buckets(project=settings.project, timeout=seconds, retry=None)
            ],
            Deadline(CALL_SECONDS),
        )
    except GcpCallError as exc:
        raise DiscoveryError(f"Google Cloud discovery failed: {exc}") from None
    return [resource_target("gcp", "gcs_bucket", n, GcpLink(buckets=(n,))) for n in names]
