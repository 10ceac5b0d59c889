"""How the AWS probe talks to AWS: read-only calls, each failure named with its permission.

Clients come from boto3's standard credential chain (env, AWS_PROFILE, config files,
instance roles), honour AWS_ENDPOINT_URL / `cloud.aws.endpoint_url`, retry adaptively, and
are created per run, never at import. `call()` is the only way the probe reaches AWS: it
refuses any operation that is not Describe/Get/List (plus STS GetCallerIdentity, which
needs no permission), and turns AccessDenied, throttling past retries or a network error
into `AwsCallError` naming the API call and the IAM action it needs — fail closed, where
Prowler's users report AccessDenied turning into PASS or FAIL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.config
import botocore.exceptions
from botocore import xform_name

from auditor.cloud.aws.settings import AwsSettings

READ_PREFIXES = ("Describe", "Get", "List")

# IAM action names that differ from "<service>:<Operation>" (AWS service authorization reference).
IAM_ACTION_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("sts", "GetCallerIdentity"): "sts:GetCallerIdentity",
}
SERVICE_PREFIX = {"s3control": "s3"}
DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
    "InvalidClientTokenId",
    "ExpiredToken",
    "SignatureDoesNotMatch",
}


def iam_action(service: str, operation: str) -> str:
    key = (service, operation)
    if key in IAM_ACTION_EXCEPTIONS:
        return IAM_ACTION_EXCEPTIONS[key]
    return f"{SERVICE_PREFIX.get(service, service)}:{operation}"


class AwsCallError(Exception):
    """One AWS call failed; the message names the call and the permission it needs."""


@dataclass
class Aws:
    """Clients for one region, made from one boto3 session."""

    session: boto3.Session
    region: str
    endpoint_url: str | None

    def client(self, service: str) -> Any:
        config = botocore.config.Config(
            retries={"mode": "adaptive", "max_attempts": 6},
            connect_timeout=10,
            read_timeout=30,
            user_agent_extra="server-auditor",
        )
        custom = self.endpoint_url or _endpoint_from_environment(service)
        if custom:
            # S3-compatible and emulated endpoints serve buckets by path, not by host name.
            config = config.merge(botocore.config.Config(s3={"addressing_style": "path"}))
        session: Any = self.session  # typed stubs overload on literal service names
        with _CLIENTS:  # a boto3 session is not thread-safe while it makes clients
            client = session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url, config=config
            )
        if custom and service == "s3control":
            client.meta.events.register("before-sign.s3-control", strip_account_host_prefix)
        return client


_CLIENTS = threading.Lock()
_SESSIONS: dict[AwsSettings, boto3.Session] = {}


def make_session(settings: AwsSettings) -> boto3.Session:
    """One session per settings for the whole run: discovery and the probe share it, and
    with it botocore's parsed service models (EC2's alone is ~25 MB in memory)."""
    with _CLIENTS:
        if settings in _SESSIONS:
            return _SESSIONS[settings]
    session = _new_session(settings)
    with _CLIENTS:
        return _SESSIONS.setdefault(settings, session)


def _new_session(settings: AwsSettings) -> boto3.Session:
    try:
        session = boto3.Session(profile_name=settings.profile)
    except botocore.exceptions.ProfileNotFound as exc:
        raise AwsCallError(f"AWS profile not found: {exc}") from None
    if settings.role_arn:
        sts = session.client("sts", endpoint_url=settings.endpoint_url)
        try:
            creds = sts.assume_role(RoleArn=settings.role_arn, RoleSessionName="server-auditor")[
                "Credentials"
            ]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise AwsCallError(f"sts:AssumeRole {settings.role_arn} failed: {exc}") from None
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    return session


def regions(settings: AwsSettings, session: boto3.Session) -> tuple[str, ...]:
    if settings.regions:
        return settings.regions
    if session.region_name:
        return (session.region_name,)
    raise AwsCallError(
        "no AWS region: set cloud.aws.regions, AWS_REGION/AWS_DEFAULT_REGION or a profile region"
    )


def call(client: Any, operation: str, absent: tuple[str, ...] = (), **kwargs: Any) -> Any:
    """One read-only call. Error codes listed in `absent` mean "not configured": None."""
    service = _read_only(client, operation)
    try:
        return getattr(client, _snake(operation))(**kwargs)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") in absent:
            return None
        raise _failure(service, operation, exc) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise _failure(service, operation, exc) from None


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item of a paginated List/Describe call."""
    service = _read_only(client, operation)
    try:
        for page in client.get_paginator(_snake(operation)).paginate(**kwargs):
            yield from page.get(key, [])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _failure(service, operation, exc) from None


def _read_only(client: Any, operation: str) -> str:
    service = str(client.meta.service_model.service_name)
    if not operation.startswith(READ_PREFIXES) and (service, operation) != (
        "sts",
        "GetCallerIdentity",
    ):
        raise AwsCallError(f"{service}:{operation} is not a read-only call; refusing")
    return service


def _failure(service: str, operation: str, exc: Exception) -> AwsCallError:
    """The one place an AWS failure becomes a message naming the call and permission."""
    name = f"{service}:{operation}"
    if not isinstance(exc, botocore.exceptions.ClientError):
        return AwsCallError(f"{name} failed: {exc}")
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    if code in DENIED:
        return AwsCallError(f"{name} denied ({code}): needs {iam_action(service, operation)}")
    if "Throttl" in code or code == "RequestLimitExceeded":
        return AwsCallError(f"{name} throttled past retries ({code})")
    return AwsCallError(f"{name} failed ({code}): {error.get('Message', '')}")


def _endpoint_from_environment(service: str) -> str | None:
    """boto3 honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> by itself; we only need
    to know that one is set, to apply the custom-endpoint conventions above."""
    specific = f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"
    return os.environ.get(specific) or os.environ.get("AWS_ENDPOINT_URL")


def strip_account_host_prefix(request: Any, **_: Any) -> None:
    """botocore puts the account id in front of the s3control host (`123.s3-control...`);
    a custom endpoint (an emulator, an S3-compatible store) has no such host names."""
    parts = urlsplit(request.url)
    host, _, rest = parts.netloc.partition(".")
    if host.isdigit() and rest:
        request.url = urlunsplit(parts._replace(netloc=rest))


def _snake(operation: str) -> str:
    return str(xform_name(operation))
