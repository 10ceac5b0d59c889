"""One bucket's facts from two read-only calls: the bucket with its ACLs (`projection=full`)
and its IAM policy. Public means a binding or ACL entry for allUsers or
allAuthenticatedUsers, as Prowler's cloudstorage_bucket_public_access reads it."""

from __future__ import annotations

from typing import Any

from auditor.cloud.gcp.api import GcpCallError, call
from auditor.probes.deadline import Deadline

PUBLIC = ("allUsers", "allAuthenticatedUsers")
DAY = 86400


def bucket_facts(client: Any, name: str, deadline: Deadline) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name, "error": ""}
    bucket = client.bucket(name)
    try:
        call(
            "buckets.get",
            lambda seconds: bucket.reload(projection="full", timeout=seconds, retry=None),
            deadline,
        )
        policy = call(
            "buckets.getIamPolicy",
            lambda seconds: bucket.get_iam_policy(
                requested_policy_version=3, timeout=seconds, retry=None
            ),
            deadline,
        )
    except GcpCallError as exc:
        record["error"] = f"bucket {name}: {exc}"
        return record
    props: dict[str, Any] = bucket._properties  # the API's own JSON, as documented
    iam = props.get("iamConfiguration") or {}
    record["public_members"] = sorted(
        f"{member} {binding.get('role', '')}"
        for binding in policy.bindings
        for member in binding.get("members", ())
        if member in PUBLIC
    )
    record["acl_public"] = sorted(
        f"{entry.get('entity')} {entry.get('role', '')}"
        for entry in (*(props.get("acl") or ()), *(props.get("defaultObjectAcl") or ()))
        if entry.get("entity") in PUBLIC
    )
    record["public_access_prevention"] = str(iam.get("publicAccessPrevention") or "")
    record["uniform_access"] = bool((iam.get("uniformBucketLevelAccess") or {}).get("enabled"))
    period = (props.get("retentionPolicy") or {}).get("retentionPeriod")
    record["retention_days"] = int(period) // DAY if period is not None else -1
    record["delete_after_days"] = _delete_after(props.get("lifecycle") or {})
    record["cmek"] = bool((props.get("encryption") or {}).get("defaultKmsKeyName"))
    record["logging"] = bool((props.get("logging") or {}).get("logBucket"))
    record["versioning"] = bool((props.get("versioning") or {}).get("enabled"))
    return record


def _delete_after(lifecycle: dict[str, Any]) -> int:
    """The shortest `Delete` age that applies to every object: a rule narrowed by prefix,
    storage class or anything else but age covers only some, so it does not count."""
    ages = [
        int(rule["condition"]["age"])
        for rule in lifecycle.get("rule") or ()
        if (rule.get("action") or {}).get("type") == "Delete"
        and set(rule.get("condition") or {}) == {"age"}
    ]
    return min(ages) if ages else -1
