"""EC2, RDS and account-level facts: network exposure, encryption, detection."""

from __future__ import annotations

from typing import Any

from auditor.cloud.aws.api import AwsCallError, call, paginate

INTERNET = {"0.0.0.0/0", "::/0"}
MAX_EXPANDED_PORTS = 1024


def security_group_facts(ec2: Any, group_ids: list[str]) -> list[dict[str, Any]]:
    if not group_ids:
        return []
    try:
        groups = list(paginate(ec2, "DescribeSecurityGroups", "SecurityGroups", GroupIds=group_ids))
    except AwsCallError as exc:
        return [{"id": gid, "error": f"security group {gid}: {exc}"} for gid in group_ids]
    return [_group(g) for g in groups]


def all_security_groups(ec2: Any) -> list[dict[str, Any]]:
    return [_group(g) for g in paginate(ec2, "DescribeSecurityGroups", "SecurityGroups")]


def _group(group: dict[str, Any]) -> dict[str, Any]:
    open_ranges: list[dict[str, Any]] = []
    for permission in group.get("IpPermissions", []):
        sources = {r.get("CidrIp") for r in permission.get("IpRanges", [])} | {
            r.get("CidrIpv6") for r in permission.get("Ipv6Ranges", [])
        }
        if not sources & INTERNET:
            continue
        protocol = str(permission.get("IpProtocol", "-1"))
        low = int(permission.get("FromPort", 0) if protocol != "-1" else 0)
        high = int(permission.get("ToPort", 65535) if protocol != "-1" else 65535)
        if low == -1 or high == -1:
            low, high = 0, 65535
        open_ranges.append({"proto": protocol, "from": low, "to": high})
    all_ports = any(
        r["proto"] == "-1" or (r["from"] <= 1 and r["to"] >= 65535) for r in open_ranges
    )
    ports: set[int] = set()
    wide = []
    for r in open_ranges:
        if r["to"] - r["from"] + 1 > MAX_EXPANDED_PORTS:
            wide.append(r)
        else:
            ports.update(range(r["from"], r["to"] + 1))
    return {
        "id": group["GroupId"],
        "name": group.get("GroupName", ""),
        "vpc_id": group.get("VpcId", ""),
        "error": "",
        "internet_ranges": open_ranges,
        "internet_ports": sorted(ports),
        "internet_wide_ranges": wide,
        "all_ports_open": all_ports,
    }


def instance_facts(ec2: Any, instance_id: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": instance_id, "error": ""}
    try:
        reservations = call(ec2, "DescribeInstances", InstanceIds=[instance_id])["Reservations"]
        instances = [i for r in reservations for i in r.get("Instances", [])]
        if not instances:
            raise AwsCallError(f"instance {instance_id} not found")
        instance = instances[0]
        volume_ids = [
            m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m
        ]
        volumes = (
            list(paginate(ec2, "DescribeVolumes", "Volumes", VolumeIds=volume_ids))
            if volume_ids
            else []
        )
        snapshots = _public_snapshots(ec2, volume_ids)
        groups = [g["GroupId"] for g in instance.get("SecurityGroups", [])]
        for interface in instance.get("NetworkInterfaces", []):
            groups += [g["GroupId"] for g in interface.get("Groups", [])]
        record.update(
            {
                "public_ip": instance.get("PublicIpAddress", "") or "",
                "private_ip": instance.get("PrivateIpAddress", "") or "",
                "state": instance.get("State", {}).get("Name", ""),
                "imdsv2_required": instance.get("MetadataOptions", {}).get("HttpTokens")
                == "required",
                "security_group_ids": sorted(set(groups)),
                "volumes": [
                    {"id": v["VolumeId"], "encrypted": bool(v.get("Encrypted"))} for v in volumes
                ],
                "public_snapshots": snapshots,
            }
        )
    except AwsCallError as exc:
        record["error"] = f"instance {instance_id}: {exc}"
    return record


def _public_snapshots(ec2: Any, volume_ids: list[str]) -> list[str]:
    if not volume_ids:
        return []
    public = []
    snapshots = paginate(
        ec2,
        "DescribeSnapshots",
        "Snapshots",
        OwnerIds=["self"],
        Filters=[{"Name": "volume-id", "Values": volume_ids}],
    )
    for snapshot in snapshots:
        attribute = call(
            ec2,
            "DescribeSnapshotAttribute",
            SnapshotId=snapshot["SnapshotId"],
            Attribute="createVolumePermission",
        )
        if any(p.get("Group") == "all" for p in attribute.get("CreateVolumePermissions", [])):
            public.append(snapshot["SnapshotId"])
    return public


def db_instance_facts(rds: Any, identifier: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": identifier, "error": ""}
    try:
        found = call(rds, "DescribeDBInstances", DBInstanceIdentifier=identifier)["DBInstances"]
        if not found:
            raise AwsCallError(f"RDS instance {identifier} not found")
        db = found[0]
        record.update(
            {
                "engine": db.get("Engine", ""),
                "publicly_accessible": bool(db.get("PubliclyAccessible")),
                "storage_encrypted": bool(db.get("StorageEncrypted")),
            }
        )
    except AwsCallError as exc:
        record["error"] = f"RDS {identifier}: {exc}"
    return record


def account_facts(aws_clients: Any, account_id: str) -> dict[str, Any]:
    """Account-wide controls: S3 Block Public Access, CloudTrail, GuardDuty, public AMIs."""
    record: dict[str, Any] = {"id": account_id, "error": "", "region": aws_clients.region}
    try:
        control = aws_clients.client("s3control")
        pab = call(
            control,
            "GetPublicAccessBlock",
            absent=("NoSuchPublicAccessBlockConfiguration",),
            AccountId=account_id,
        )
        block = (pab or {}).get("PublicAccessBlockConfiguration", {})
        cloudtrail = aws_clients.client("cloudtrail")
        trails = call(cloudtrail, "DescribeTrails")["trailList"]
        logging_multi_region = False
        for trail in trails:
            if not trail.get("IsMultiRegionTrail"):
                continue
            status = call(cloudtrail, "GetTrailStatus", Name=trail["TrailARN"])
            logging_multi_region |= bool(status.get("IsLogging"))
        guardduty = aws_clients.client("guardduty")
        detectors = list(paginate(guardduty, "ListDetectors", "DetectorIds"))
        enabled = False
        for detector in detectors:
            state = call(guardduty, "GetDetector", DetectorId=detector)
            enabled |= state.get("Status") == "ENABLED"
        images = call(aws_clients.client("ec2"), "DescribeImages", Owners=["self"])["Images"]
        record.update(
            {
                "public_access_block": all(
                    block.get(f)
                    for f in (
                        "BlockPublicAcls",
                        "IgnorePublicAcls",
                        "BlockPublicPolicy",
                        "RestrictPublicBuckets",
                    )
                ),
                "cloudtrail_multi_region_logging": logging_multi_region,
                "guardduty_enabled": enabled,
                "public_amis": sorted(i["ImageId"] for i in images if i.get("Public")),
            }
        )
    except AwsCallError as exc:
        record["error"] = f"account {account_id}: {exc}"
    return record
