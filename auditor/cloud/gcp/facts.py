"""The facts the GCP probe gives: root `gcp` for a server's buckets, and `gcs_bucket` for
the rules that judge each bucket (documented in docs/rules.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.factschema import FactRoot, ListOf

GCS_BUCKET_FIELDS: Mapping[str, Any] = {
    "name": "str: bucket name",
    "error": "str: why its facts could not be read (then every rule on it is `error`), else empty",
    "public_members": "list: IAM bindings to allUsers/allAuthenticatedUsers, as `member role`",
    "acl_public": "list: ACL entries (bucket or default object ACL) for allUsers or "
    "allAuthenticatedUsers",
    "public_access_prevention": "str: `enforced`, `inherited` (not enforced), or empty",
    "uniform_access": "bool: uniform bucket-level access on: ACLs are ignored",
    "retention_days": "int: retention policy in days; -1 when none",
    "delete_after_days": "int: shortest lifecycle Delete age covering every object; -1 when none",
    "cmek": "bool: encrypted by default with a customer-managed Cloud KMS key",
    "logging": "bool: usage logging to a log bucket on",
    "versioning": "bool: object versioning on",
}

ROOT = FactRoot(
    "gcp",
    "gcp",
    "the server's linked Cloud Storage buckets, judged one at a time through the resource "
    "kind `gcs_bucket`; a record whose calls failed has `error`, naming the call and the "
    "permission, and every rule on it is `error` (see [gcp.md](gcp.md))",
    {"buckets": ListOf(GCS_BUCKET_FIELDS)},
)
