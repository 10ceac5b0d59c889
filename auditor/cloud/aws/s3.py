"""S3 bucket facts: who can read or write it, how it is protected, how long it keeps data.

Each bucket is one record. If any call for it fails, the record carries the error and the
rules on it are `error` — never judged on half its facts.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.cloud.aws.api import AwsCallError, call

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
# Conditions that restrict who the principal "*" really is (Prowler does the same).
RESTRICTING_CONDITION_KEYS = {
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:principalarn",
    "aws:userid",
    "aws:username",
    "s3:dataaccesspointaccount",
}
WRITE_ACTIONS = ("s3:put", "s3:delete", "s3:*", "*", "s3:restore", "s3:replicate")


def bucket_facts(s3: Any, name: str, account_id: str) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name, "error": ""}
    try:
        record.update(_collect(s3, name, account_id))
    except AwsCallError as exc:
        record["error"] = f"bucket {name}: {exc}"
    return record


def _collect(s3: Any, name: str, account_id: str) -> dict[str, Any]:
    acl = call(s3, "GetBucketAcl", Bucket=name)
    public_perms = sorted(
        {
            g["Permission"]
            for g in acl.get("Grants", [])
            if g.get("Grantee", {}).get("URI") in (ALL_USERS, AUTHENTICATED_USERS)
        }
    )
    policy_text = call(s3, "GetBucketPolicy", absent=("NoSuchBucketPolicy",), Bucket=name)
    policy = json.loads(policy_text["Policy"]) if policy_text else {}
    status = call(s3, "GetBucketPolicyStatus", absent=("NoSuchBucketPolicy",), Bucket=name)
    pab = call(
        s3, "GetPublicAccessBlock", absent=("NoSuchPublicAccessBlockConfiguration",), Bucket=name
    )
    ownership = call(
        s3,
        "GetBucketOwnershipControls",
        absent=("OwnershipControlsNotFoundError",),
        Bucket=name,
    )
    encryption = call(
        s3,
        "GetBucketEncryption",
        absent=("ServerSideEncryptionConfigurationNotFoundError",),
        Bucket=name,
    )
    versioning = call(s3, "GetBucketVersioning", Bucket=name)
    logging = call(s3, "GetBucketLogging", Bucket=name)
    lifecycle = call(
        s3,
        "GetBucketLifecycleConfiguration",
        absent=("NoSuchLifecycleConfiguration",),
        Bucket=name,
    )
    statements = _statements(policy)
    public = [s for s in statements if _allows_everyone(s)]
    algorithm = ""
    if encryption:
        rules = encryption.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        if rules:
            algorithm = (
                rules[0].get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "")
            )
    block = (pab or {}).get("PublicAccessBlockConfiguration", {})
    return {
        "acl_public_permissions": public_perms,
        "acl_public_read": bool({"READ", "FULL_CONTROL"} & set(public_perms)),
        "acl_public_write": bool({"WRITE", "WRITE_ACP", "FULL_CONTROL"} & set(public_perms)),
        "policy_public": bool(public),
        "policy_public_write": any(_writes(s) for s in public),
        "policy_status_public": bool((status or {}).get("PolicyStatus", {}).get("IsPublic")),
        "tls_only": any(_denies_plain_http(s) for s in statements),
        "cross_account_principals": sorted(_foreign_accounts(statements, account_id)),
        "public_access_block": {
            key: bool(block.get(field))
            for key, field in (
                ("block_public_acls", "BlockPublicAcls"),
                ("ignore_public_acls", "IgnorePublicAcls"),
                ("block_public_policy", "BlockPublicPolicy"),
                ("restrict_public_buckets", "RestrictPublicBuckets"),
            )
        },
        "ownership": _ownership(ownership),
        "encryption": algorithm,
        "versioning": (versioning or {}).get("Status", "") or "",
        "logging": bool((logging or {}).get("LoggingEnabled")),
        "expiration_days": _expiration_days(lifecycle),
    }


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal", {})
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        values = principal.get("AWS", [])
        return [values] if isinstance(values, str) else list(values)
    return []


def _allows_everyone(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Allow" or "*" not in _principals(statement):
        return False
    condition_keys = {
        key.lower() for operator in (statement.get("Condition") or {}).values() for key in operator
    }
    return not (condition_keys & RESTRICTING_CONDITION_KEYS)


def _writes(statement: dict[str, Any]) -> bool:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return any(a.lower().startswith(WRITE_ACTIONS) or a == "*" for a in actions)


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    for operator, values in (statement.get("Condition") or {}).items():
        if operator.lower() == "bool":
            for key, value in values.items():
                if key.lower() == "aws:securetransport" and str(value).lower() == "false":
                    return True
    return False


def _foreign_accounts(statements: list[dict[str, Any]], account_id: str) -> set[str]:
    accounts = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        for principal in _principals(statement):
            account = principal.split(":")[4] if principal.startswith("arn:") else principal
            if account.isdigit() and account != account_id:
                accounts.add(account)
    return accounts


def _ownership(response: dict[str, Any] | None) -> str:
    rules = (response or {}).get("OwnershipControls", {}).get("Rules", [])
    return str(rules[0].get("ObjectOwnership", "")) if rules else ""


def _expiration_days(lifecycle: dict[str, Any] | None) -> int:
    """Shortest expiry of an enabled rule that covers every object; -1 when none does."""
    days = []
    for rule in (lifecycle or {}).get("Rules", []):
        if rule.get("Status") != "Enabled":
            continue
        scope = rule.get("Filter", {}) or {}
        prefix = rule.get("Prefix", scope.get("Prefix", ""))
        if prefix or "Tag" in scope or "And" in scope:
            continue  # covers only part of the bucket
        expiry = rule.get("Expiration", {}).get("Days")
        if isinstance(expiry, int):
            days.append(expiry)
    return min(days) if days else -1
