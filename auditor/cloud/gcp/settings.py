"""What the inventory says about Google Cloud: how to reach it (`cloud.gcp`) and which
buckets belong to a server (`servers[].gcp`)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.addresses import check_endpoint
from auditor.yamlsource import Node

GCP_KEYS = {"project", "endpoint_url", "discover"}
SERVER_GCP_KEYS = {"buckets"}


@dataclass(frozen=True)
class GcpLink:
    """The Cloud Storage buckets of one server (or, in discovery, the one bucket audited)."""

    buckets: tuple[str, ...] = ()


@dataclass(frozen=True)
class GcpSettings:
    """How to reach Google Cloud: Application Default Credentials unless an emulator's
    loopback `endpoint_url` is given (then no credentials at all are sent)."""

    project: str | None = None
    endpoint_url: str | None = None
    discover: bool = False


def parse_settings(node: Node) -> GcpSettings:
    """`cloud.gcp` of an inventory (docs/inventory.md)."""
    node.mapping(GCP_KEYS)
    project, endpoint, discover = (
        node.get("project"),
        node.get("endpoint_url"),
        node.get("discover"),
    )
    settings = GcpSettings(
        project=project.string() if project else None,
        endpoint_url=endpoint.convert(check_endpoint, "an https:// URL") if endpoint else None,
        discover=discover.as_(bool) if discover else False,
    )
    if settings.discover and not settings.project:
        raise node.error("discovery lists one project's buckets", hint="add `project: ID`")
    return settings


def parse_link(node: Node) -> GcpLink:
    """A server's `gcp:` link to its buckets."""
    node.mapping(SERVER_GCP_KEYS)
    buckets = node.get("buckets")
    return GcpLink(buckets=buckets.string_list() if buckets else ())
