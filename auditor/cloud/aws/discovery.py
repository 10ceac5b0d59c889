"""Account-wide discovery: every bucket, security group, instance and RDS database in the
named regions becomes a target of its own, audited with the `aws` rule pack.

So an engineer can audit an account without listing its resources. Discovered targets
have no address (nothing is port-scanned) and no change record (so any internet exposure
counts as undeclared). Listing uses List/Describe calls only; a failed listing is an input
error naming the call, because an account that cannot be listed cannot be audited.
"""

from __future__ import annotations

from auditor.cloud.aws.api import Aws, AwsCallError, call, make_session, paginate, regions
from auditor.cloud.aws.settings import AwsLink, AwsSettings
from auditor.errors import AuditorError
from auditor.models import Target


class DiscoveryError(AuditorError):
    """The account could not be listed (credentials, permissions, endpoint)."""


def discover(settings: AwsSettings) -> list[Target]:
    try:
        session = make_session(settings)
        targets: list[Target] = []
        for region in regions(settings, session):
            clients = Aws(session, region, settings.endpoint_url)
            targets += _region_targets(clients, region, first=not targets)
    except AwsCallError as exc:
        raise DiscoveryError(f"AWS discovery failed: {exc}") from None
    return targets


def _region_targets(clients: Aws, region: str, first: bool) -> list[Target]:
    found: list[Target] = []

    def add(kind: str, name: str, link: AwsLink) -> None:
        found.append(
            Target(
                name=f"{kind}:{name}" if kind == "bucket" else f"{kind}:{region}:{name}",
                address=name,
                ip=None,
                ports="1",
                rules=("aws",),
                kind=kind,
                clouds={"aws": link},
            )
        )

    # The account's own settings (Block Public Access, CloudTrail, GuardDuty, public AMIs)
    # are judged once per region, on a target of their own: not under every resource.
    found.append(
        Target(
            name=f"aws_account:{region}",
            address=region,
            ip=None,
            ports="1",
            rules=("aws",),
            kind="aws_account",
            clouds={"aws": AwsLink(region=region)},
        )
    )
    if first:  # buckets are global: list them once, each audited in its own region
        s3 = clients.client("s3")
        for bucket in call(s3, "ListBuckets").get("Buckets", []):
            location = call(s3, "GetBucketLocation", Bucket=bucket["Name"])
            bucket_region = (location or {}).get("LocationConstraint") or "us-east-1"
            add("bucket", bucket["Name"], AwsLink(region=bucket_region, buckets=(bucket["Name"],)))
    ec2 = clients.client("ec2")
    for group in paginate(ec2, "DescribeSecurityGroups", "SecurityGroups"):
        add(
            "security_group",
            group["GroupId"],
            AwsLink(region=region, security_groups=(group["GroupId"],)),
        )
    for reservation in paginate(ec2, "DescribeInstances", "Reservations"):
        for instance in reservation.get("Instances", []):
            add(
                "instance",
                instance["InstanceId"],
                AwsLink(region=region, instance_id=instance["InstanceId"]),
            )
    rds = clients.client("rds")
    for db in paginate(rds, "DescribeDBInstances", "DBInstances"):
        identifier = db["DBInstanceIdentifier"]
        add("db_instance", identifier, AwsLink(region=region, db_instances=(identifier,)))
    return found
