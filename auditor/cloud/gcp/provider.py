"""Google Cloud (Cloud Storage) as a cloud provider of the seam (auditor/cloud/__init__.py)."""

from __future__ import annotations

from auditor.cloud import Provider, ResourceKind
from auditor.cloud.gcp import facts
from auditor.cloud.gcp.settings import GcpSettings, parse_link, parse_settings
from auditor.factschema import FactRoot
from auditor.models import Target
from auditor.probes.base import Probe


def _probe(settings: GcpSettings | None, concurrency: int) -> Probe:
    from auditor.cloud.gcp.probe import GcpProbe

    return GcpProbe(settings, concurrency)


def _discover(settings: GcpSettings) -> list[Target]:
    from auditor.cloud.gcp.discovery import discover

    return discover(settings)


GCP = Provider(
    name="gcp",
    title="Google Cloud",
    root=facts.ROOT,
    kinds=(
        ResourceKind(
            "gcs_bucket",
            FactRoot(
                "gcs_bucket",
                "gcp",
                "the Cloud Storage bucket a `gcs_bucket` rule judges",
                facts.GCS_BUCKET_FIELDS,
            ),
            lambda context: context.get("gcp", {}).get("buckets", []),
            lambda b: f"gcs_bucket:{b['name']}",
        ),
    ),
    parse_settings=parse_settings,
    parse_link=parse_link,
    settings_example="cloud: {gcp: {project: my-project}}",
    make_probe=_probe,
    discovers=lambda settings: bool(settings.discover),
    discover=_discover,
    sdk=("google.cloud.storage",),
    extra="gcp",
)
