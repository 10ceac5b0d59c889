"""AWS as a cloud provider of the seam (auditor/cloud/__init__.py)."""

from __future__ import annotations

from typing import Any

from auditor.cloud import Provider, ResourceKind
from auditor.cloud.aws import facts
from auditor.cloud.aws.settings import AwsSettings, parse_link, parse_settings
from auditor.factschema import FactRoot
from auditor.models import Target
from auditor.probes.base import Probe


def _probe(settings: AwsSettings | None, concurrency: int) -> Probe:
    from auditor.cloud.aws.probe import AwsProbe

    return AwsProbe(settings, concurrency)


def _discover(settings: AwsSettings) -> list[Target]:
    from auditor.cloud.aws.discovery import discover

    return discover(settings)


def _records(key: str) -> Any:
    return lambda context: context.get("aws", {}).get(key, [])


AWS = Provider(
    name="aws",
    title="AWS",
    root=facts.ROOT,
    kinds=(
        ResourceKind(
            "bucket",
            FactRoot("bucket", "aws", "the bucket a `bucket` rule judges", facts.BUCKET_FIELDS),
            _records("buckets"),
            lambda b: f"bucket:{b['name']}",
        ),
        ResourceKind(
            "security_group",
            FactRoot(
                "security_group",
                "aws",
                "the group a `security_group` rule judges",
                facts.GROUP_FIELDS,
            ),
            _records("security_groups"),
            lambda g: f"security_group:{g['id']}",
        ),
        ResourceKind(
            "instance",
            FactRoot(
                "instance",
                "aws",
                "the EC2 instance an `instance` rule judges",
                facts.INSTANCE_FIELDS,
            ),
            _records("instances"),
            lambda i: f"instance:{i['id']}",
        ),
        ResourceKind(
            "db_instance",
            FactRoot(
                "db_instance",
                "aws",
                "the RDS instance a `db_instance` rule judges",
                facts.DB_FIELDS,
            ),
            _records("db_instances"),
            lambda d: f"db_instance:{d['id']}",
        ),
        ResourceKind(
            "aws_account",
            FactRoot(
                "aws_account",
                "aws",
                "the account an `aws_account` rule judges",
                facts.ACCOUNT_FIELDS,
            ),
            lambda c: [c["aws"]["account"]] if "account" in c.get("aws", {}) else [],
            lambda a: f"aws_account:{a['id']}/{a.get('region', '')}",
        ),
    ),
    parse_settings=parse_settings,
    parse_link=parse_link,
    settings_example="cloud: {aws: {regions: [eu-west-1]}}",
    make_probe=_probe,
    discovers=lambda settings: bool(settings.discover),
    discover=_discover,
)
