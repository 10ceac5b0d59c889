"""Terraform state (`terraform show -json`) as a source of servers and cloud resources.

`aws_instance` → a server: name from its `Name` tag (else the resource address), address
from its public or private IP, `aws.instance_id`. `aws_s3_bucket`, `aws_db_instance` and
`aws_security_group` with a `Server` tag attach to that server; untagged ones become
targets of their own kind, like account-wide discovery. Child modules are walked too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.cloud.aws.settings import AwsLink
from auditor.errors import InputError
from auditor.models import Target
from auditor.yamlsource import read_json

LINK_KEYS = {
    "aws_s3_bucket": ("buckets", "bucket", "bucket"),
    "aws_db_instance": ("db_instances", "identifier", "db_instance"),
    "aws_security_group": ("security_groups", "id", "security_group"),
}


def terraform_sources(path: Path) -> tuple[list[dict[str, Any]], list[Target]]:
    """(server entries for the inventory, stand-alone cloud targets)."""
    state = read_json(path, "`terraform show -json` output")
    try:
        return _sources(path, state)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        raise InputError(
            f"unexpected structure for `terraform show -json` output ({type(exc).__name__})",
            path=path,
            hint="give the output of `terraform show -json`, unedited",
        ) from None


def _sources(path: Path, state: Any) -> tuple[list[dict[str, Any]], list[Target]]:
    root = (state.get("values") or {}).get("root_module")
    if root is None:
        raise InputError("no values.root_module: is this `terraform show -json` output?", path=path)
    resources = list(_resources(root))
    servers: dict[str, dict[str, Any]] = {}
    for resource in resources:
        if resource.get("type") != "aws_instance":
            continue
        values = resource.get("values") or {}
        name = (values.get("tags") or {}).get("Name") or resource["address"]
        address = values.get("public_ip") or values.get("private_ip")
        if not address:
            raise InputError(f"{resource['address']} has no IP address in the state", path=path)
        servers[name] = {
            "name": name,
            "address": address,
            "tags": {k: str(v) for k, v in (values.get("tags") or {}).items() if k != "Name"},
            "aws": {"instance_id": values["id"]},
        }
    standalone: list[Target] = []
    for resource in resources:
        link = LINK_KEYS.get(str(resource.get("type")))
        if link is None:
            continue
        key, field, kind = link
        values = resource.get("values") or {}
        identifier = str(values.get(field, ""))
        owner = (values.get("tags") or {}).get("Server")
        if owner in servers:
            servers[owner]["aws"].setdefault(key, []).append(identifier)
        else:
            standalone.append(
                Target(
                    name=f"{kind}:{identifier}",
                    address=identifier,
                    ip=None,
                    ports="1",
                    rules=("aws",),
                    kind=kind,
                    clouds={
                        "aws": AwsLink(
                            buckets=(identifier,) if key == "buckets" else (),
                            db_instances=(identifier,) if key == "db_instances" else (),
                            security_groups=(identifier,) if key == "security_groups" else (),
                        )
                    },
                )
            )
    return list(servers.values()), standalone


def _resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _resources(child)
