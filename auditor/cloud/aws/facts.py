"""The facts the AWS probe gives: one root for a server's linked resources, and one per
resource kind for the rules that judge each resource (documented in docs/rules.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.factschema import FactRoot, ListOf

BUCKET_FIELDS: Mapping[str, Any] = {
    "name": "str: bucket name",
    "error": "str: why its facts could not be read (then every rule on it is `error`), else empty",
    "acl_public_permissions": "list: ACL permissions granted to AllUsers/AuthenticatedUsers",
    "acl_public_read": "bool: ACL lets everyone list or read",
    "acl_public_write": "bool: ACL lets everyone write or change ACLs",
    "policy_public": "bool: bucket policy allows Principal * without a restricting condition",
    "policy_public_write": "bool: ... and allows writing",
    "policy_status_public": "bool: S3's own verdict (GetBucketPolicyStatus IsPublic)",
    "tls_only": "bool: policy denies requests without aws:SecureTransport",
    "cross_account_principals": "list: other account ids the policy allows",
    "public_access_block": "map: map: block_public_acls, ignore_public_acls, "
    "block_public_policy, restrict_public_buckets",
    "ownership": "str: `BucketOwnerEnforced` (ACLs disabled), `BucketOwnerPreferred`, ... or empty",
    "encryption": "str: default encryption: `AES256`, `aws:kms`, `aws:kms:dsse`, or empty",
    "versioning": "str: `Enabled`, `Suspended` or empty",
    "logging": "bool: server access logging on",
    "expiration_days": "int: shortest lifecycle expiry covering every object; -1 when none",
}
GROUP_FIELDS: Mapping[str, Any] = {
    "id": "str: security group id",
    "name": "str: group name",
    "vpc_id": "str: VPC id",
    "error": "str: why it could not be read, else empty",
    "internet_ranges": "list: ingress open to 0.0.0.0/0 or ::/0: list of {proto, from, to}",
    "internet_ports": "list: ports open to the internet (ranges of up to 1,024 ports expanded)",
    "internet_wide_ranges": "list: wider open ranges, not expanded",
    "all_ports_open": "bool: every port open to the internet",
}
INSTANCE_FIELDS: Mapping[str, Any] = {
    "id": "str: instance id",
    "error": "str: why it could not be read, else empty",
    "public_ip": "str: public IPv4 address, else empty",
    "private_ip": "str: private IPv4 address",
    "state": "str: `running`, `stopped`, ...",
    "imdsv2_required": "bool: instance metadata requires tokens (IMDSv2)",
    "security_group_ids": "list: security groups attached",
    "volumes": "list: list of {id, encrypted}",
    "public_snapshots": "list: ids of snapshots of its volumes shared with everyone",
}
DB_FIELDS: Mapping[str, Any] = {
    "id": "str: DB instance identifier",
    "error": "str: why it could not be read, else empty",
    "engine": "str: database engine",
    "publicly_accessible": "bool: reachable from outside its VPC",
    "storage_encrypted": "bool: its storage is encrypted",
}
ACCOUNT_FIELDS: Mapping[str, Any] = {
    "id": "str: account id",
    "region": "str: region the record was read in",
    "error": "str: why it could not be read, else empty",
    "public_access_block": "bool: account-level S3 Block Public Access fully on",
    "cloudtrail_multi_region_logging": "bool: a multi-region trail is logging",
    "guardduty_enabled": "bool: a GuardDuty detector is enabled in this region",
    "public_amis": "list: ids of the account's AMIs shared with everyone",
}

ROOT = FactRoot(
    "aws",
    "aws",
    "the server's linked AWS resources (only the kinds it links), judged one at a time "
    "through the resource kinds `bucket`, `security_group`, `instance`, `db_instance` and "
    "`aws_account`; a record whose calls failed has `error`, naming the call and the IAM "
    "permission, and every rule on it is `error` (see [aws.md](aws.md))",
    {
        "account": ACCOUNT_FIELDS,
        "buckets": ListOf(BUCKET_FIELDS),
        "security_groups": ListOf(GROUP_FIELDS),
        "instances": ListOf(INSTANCE_FIELDS),
        "db_instances": ListOf(DB_FIELDS),
    },
)
