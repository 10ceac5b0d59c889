"""The lab's cloud part: seeds a moto server (real HTTP) with a well-built and a
vendor-built AWS side, and the Cloud Storage emulator (gcp-storage-emulator, real HTTP) with
a well-built and a public bucket. Fake or no credentials only; the endpoints are on
loopback, so nothing can reach AWS or Google."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config

from auditor.cloud.aws.api import strip_account_host_prefix

REGION = "eu-west-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
GOOD_BUCKET = "infra-audit-logs"
PUBLIC_BUCKET = "vendor-acme-exports"
PUBLIC_DB = "vendor-acme-db"
GCS_PROJECT = "lab-project"
GOOD_GCS_BUCKET = "infra-audit-logs-gcs"
PUBLIC_GCS_BUCKET = "vendor-acme-exports-gcs"


@dataclass(frozen=True)
class CloudIds:
    endpoint: str
    account_id: str
    good_instance: str
    vendor_instance: str
    good_group: str
    vendor_group: str


def client(endpoint: str, service: str, **credentials: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=credentials.get("key", "testing"),
        aws_secret_access_key=credentials.get("secret", "testing"),
        config=botocore.config.Config(s3={"addressing_style": "path"}),
    )


def seed(endpoint: str) -> CloudIds:
    s3, ec2, rds = (client(endpoint, s) for s in ("s3", "ec2", "rds"))
    location = {"LocationConstraint": REGION}
    account_id = client(endpoint, "sts").get_caller_identity()["Account"]

    # A bucket built the way the change record promised.
    s3.create_bucket(Bucket=GOOD_BUCKET, CreateBucketConfiguration=location)
    s3.put_public_access_block(
        Bucket=GOOD_BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket=GOOD_BUCKET,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    s3.put_bucket_encryption(
        Bucket=GOOD_BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    s3.put_bucket_versioning(Bucket=GOOD_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(
        Bucket=f"{GOOD_BUCKET}-access", CreateBucketConfiguration=location, ACL="log-delivery-write"
    )
    s3.put_bucket_logging(
        Bucket=GOOD_BUCKET,
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": f"{GOOD_BUCKET}-access", "TargetPrefix": "s3/"}
        },
    )
    s3.put_bucket_policy(
        Bucket=GOOD_BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            f"arn:aws:s3:::{GOOD_BUCKET}",
                            f"arn:aws:s3:::{GOOD_BUCKET}/*",
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=GOOD_BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": 30},
                }
            ]
        },
    )

    # The vendor's bucket: public-read ACL, personal data kept forever.
    s3.create_bucket(Bucket=PUBLIC_BUCKET, CreateBucketConfiguration=location, ACL="public-read")

    # Network: a tight group and the vendor's wide-open one.
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    good_group = ec2.create_security_group(
        GroupName="bastion", Description="ssh from office", VpcId=vpc
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=good_group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            }
        ],
    )
    vendor_group = ec2.create_security_group(GroupName="vendor-web", Description="web", VpcId=vpc)[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=vendor_group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
            for port in (80, 6379)
        ],
    )
    image = ec2.describe_images()["Images"][0]["ImageId"]

    def instance(group: str, imds: str, encrypted: bool) -> str:
        created = ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=subnet,
            SecurityGroupIds=[group],
            MetadataOptions={"HttpTokens": imds},
            BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": encrypted}}
            ],
        )
        return str(created["Instances"][0]["InstanceId"])

    good_instance = instance(good_group, "required", True)
    vendor_instance = instance(vendor_group, "optional", False)

    rds.create_db_instance(
        DBInstanceIdentifier=PUBLIC_DB,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="vendor",
        MasterUserPassword="lab-only-password",
        AllocatedStorage=20,
        PubliclyAccessible=True,
        StorageEncrypted=False,
    )

    # Account-wide: Block Public Access, a logging multi-region trail, GuardDuty.
    control = client(endpoint, "s3control")
    control.meta.events.register("before-sign.s3-control", strip_account_host_prefix)
    control.put_public_access_block(
        AccountId=account_id,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.create_bucket(Bucket="org-cloudtrail", CreateBucketConfiguration=location)
    trails = client(endpoint, "cloudtrail")
    trails.create_trail(Name="org-trail", S3BucketName="org-cloudtrail", IsMultiRegionTrail=True)
    trails.start_logging(Name="org-trail")
    client(endpoint, "guardduty").create_detector(Enable=True)
    return CloudIds(endpoint, account_id, good_instance, vendor_instance, good_group, vendor_group)


def gcs_client(endpoint: str) -> Any:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project=GCS_PROJECT,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=endpoint),
    )


def seed_gcs(endpoint: str) -> None:
    """The hardened server's bucket as the change record promised (uniform access, public
    access prevention, a CMEK, 30-day deletion, logs, versions) and the vendor's: readable by
    allUsers through IAM, ACLs on, nothing expiring."""
    storage = gcs_client(endpoint)
    good = storage.create_bucket(GOOD_GCS_BUCKET, timeout=10, retry=None)
    good.iam_configuration.uniform_bucket_level_access_enabled = True
    good.iam_configuration.public_access_prevention = "enforced"
    good.versioning_enabled = True
    good.add_lifecycle_delete_rule(age=30)
    good.default_kms_key_name = (
        f"projects/{GCS_PROJECT}/locations/europe-west1/keyRings/lab/cryptoKeys/data"
    )
    good.enable_logging(GOOD_GCS_BUCKET + "-logs")
    good.patch(timeout=10, retry=None)
    public = storage.create_bucket(PUBLIC_GCS_BUCKET, timeout=10, retry=None)
    policy = public.get_iam_policy(timeout=10, retry=None)
    policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"allUsers"}})
    public.set_iam_policy(policy, timeout=10, retry=None)
