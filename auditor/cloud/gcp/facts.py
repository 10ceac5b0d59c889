"""The facts the GCP probe gives: root `gcp` for a server's buckets, and `gcs_bucket` for
the rules that judge each bucket (documented in docs/rules.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.factschema import FactRoot, ListOf

GCS_BUCKET_FIELDS: Mapping[str, Any] = {
    "name": "bucket name",
    "error": "why its facts could not be read (then every rule on it is `error`), else empty",
    "public_members": "IAM bindings to allUsers/allAuthenticatedUsers, as `member role`",
    "acl_public": "ACL entries (bucket or default object ACL) for allUsers/allAuthenticatedUsers",
    "public_access_prevention": "`enforced`, `inherited` (not enforced), or empty",
    "uniform_access": "uniform bucket-level access on: ACLs are ignored (bool)",
    "retention_days": "retention policy in days; -1 when none",
    "delete_after_days": "shortest lifecycle Delete age covering every object; -1 when none",
    "cmek": "encrypted by default with a customer-managed Cloud KMS key (bool)",
    "logging": "usage logging to a log bucket on (bool)",
    "versioning": "object versioning on (bool)",
}

ROOT = FactRoot(
    "gcp",
    "gcp",
    "the server's Google Cloud Storage buckets",
    {"buckets": ListOf(GCS_BUCKET_FIELDS)},
)
