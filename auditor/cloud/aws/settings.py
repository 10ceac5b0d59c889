"""What the inventory says about AWS: how to reach it (`cloud.aws`) and which resources
belong to a server (`servers[].aws`)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.addresses import check_endpoint
from auditor.yamlsource import Node

AWS_KEYS = {"profile", "regions", "endpoint_url", "role_arn", "discover"}
SERVER_AWS_KEYS = {"region", "instance_id", "buckets", "db_instances", "security_groups"}


@dataclass(frozen=True)
class AwsLink:
    """The cloud resources of one server (or, in discovery, the one resource audited)."""

    region: str | None = None
    instance_id: str | None = None
    buckets: tuple[str, ...] = ()
    db_instances: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class AwsSettings:
    """How to reach AWS: the standard credential chain unless told otherwise."""

    profile: str | None = None
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None
    role_arn: str | None = None
    discover: bool = False


def parse_settings(node: Node) -> AwsSettings:
    """`cloud.aws` of an inventory (docs/inventory.md)."""
    node.mapping(AWS_KEYS)
    profile, endpoint, role = node.get("profile"), node.get("endpoint_url"), node.get("role_arn")
    regions, discover = node.get("regions"), node.get("discover")
    return AwsSettings(
        profile=profile.string() if profile else None,
        regions=regions.string_list() if regions else (),
        endpoint_url=endpoint.convert(check_endpoint, "an https:// URL") if endpoint else None,
        role_arn=role.string() if role else None,
        discover=discover.as_(bool) if discover else False,
    )


def parse_link(node: Node) -> AwsLink:
    """A server's `aws:` link to its resources."""
    node.mapping(SERVER_AWS_KEYS)
    region, instance = node.get("region"), node.get("instance_id")
    buckets, databases, groups = (
        node.get("buckets"),
        node.get("db_instances"),
        node.get("security_groups"),
    )
    return AwsLink(
        region=region.string() if region else None,
        instance_id=instance.string() if instance else None,
        buckets=buckets.string_list() if buckets else (),
        db_instances=databases.string_list() if databases else (),
        security_groups=groups.string_list() if groups else (),
    )
