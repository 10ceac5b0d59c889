"""The facts the AWS probe gives: one root for a server's linked resources, and one per
resource kind for the rules that judge each resource (documented in docs/rules.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.factschema import FactRoot, ListOf

BUCKET_FIELDS: Mapping[str, Any] = {
    "name": "bucket name",
    "error": "why its facts could not be read (then every rule on it is `error`), else empty",
    "acl_public_permissions": "ACL permissions granted to AllUsers/AuthenticatedUsers",
    "acl_public_read": "ACL lets everyone list or read (bool)",
    "acl_public_write": "ACL lets everyone write or change ACLs (bool)",
    "policy_public": "bucket policy allows Principal * without a restricting condition",
    "policy_public_write": "... and allows writing (bool)",
    "policy_status_public": "S3's own verdict (GetBucketPolicyStatus IsPublic)",
    "tls_only": "policy denies requests without aws:SecureTransport",
    "cross_account_principals": "other account ids the policy allows",
    "public_access_block": "map: block_public_acls, ignore_public_acls, "
    "block_public_policy, restrict_public_buckets (bools)",
    "ownership": "`BucketOwnerEnforced` (ACLs disabled), `BucketOwnerPreferred`, ... or empty",
    "encryption": "default encryption: `AES256`, `aws:kms`, `aws:kms:dsse`, or empty",
    "versioning": "`Enabled`, `Suspended` or empty",
    "logging": "server access logging on (bool)",
    "expiration_days": "shortest lifecycle expiry covering every object; -1 when none",
}
GROUP_FIELDS: Mapping[str, Any] = {
    "id": "security group id",
    "name": "group name",
    "vpc_id": "VPC id",
    "error": "why it could not be read, else empty",
    "internet_ranges": "ingress open to 0.0.0.0/0 or ::/0: list of {proto, from, to}",
    "internet_ports": "ports open to the internet (ranges of up to 1,024 ports expanded)",
    "internet_wide_ranges": "wider open ranges, not expanded",
    "all_ports_open": "every port open to the internet (bool)",
}
INSTANCE_FIELDS: Mapping[str, Any] = {
    "id": "instance id",
    "error": "why it could not be read, else empty",
    "public_ip": "public IPv4 address, else empty",
    "private_ip": "private IPv4 address",
    "state": "`running`, `stopped`, ...",
    "imdsv2_required": "instance metadata requires tokens (IMDSv2) (bool)",
    "security_group_ids": "security groups attached",
    "volumes": "list of {id, encrypted}",
    "public_snapshots": "ids of snapshots of its volumes shared with everyone",
}
DB_FIELDS: Mapping[str, Any] = {
    "id": "DB instance identifier",
    "error": "why it could not be read, else empty",
    "engine": "database engine",
    "publicly_accessible": "bool",
    "storage_encrypted": "bool",
}
ACCOUNT_FIELDS: Mapping[str, Any] = {
    "id": "account id",
    "region": "region the record was read in",
    "error": "why it could not be read, else empty",
    "public_access_block": "account-level S3 Block Public Access fully on (bool)",
    "cloudtrail_multi_region_logging": "a multi-region trail is logging (bool)",
    "guardduty_enabled": "a GuardDuty detector is enabled in this region (bool)",
    "public_amis": "ids of the account's AMIs shared with everyone",
}

ROOT = FactRoot(
    "aws",
    "aws",
    "the server's AWS resources (only the kinds it links)",
    {
        "account": ACCOUNT_FIELDS,
        "buckets": ListOf(BUCKET_FIELDS),
        "security_groups": ListOf(GROUP_FIELDS),
        "instances": ListOf(INSTANCE_FIELDS),
        "db_instances": ListOf(DB_FIELDS),
    },
)
