"""AWS probe against moto in server mode (real HTTP on loopback, fake credentials)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
import yaml

from auditor.cloud.aws import api as aws_api
from auditor.engine import AuditSettings, run_audit
from auditor.inventory import load_inventory
from auditor.probes.registry import ProbeSettings, build_probes
from auditor.probes.ssh.options import SshOptions
from auditor.rules import catalog_for
from tests.conftest import REPO, run_auditor
from tests.lab import cloud
from tests.lab.lab import Lab, LabHost
from tests.lab.services import MotoServer
from tests.test_cli import validate

POLICY = json.loads((REPO / "docs" / "aws-iam-policy.json").read_text())
ALLOWED = set(POLICY["Statement"][0]["Action"])


@pytest.fixture(scope="module")
def report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inventory = lab.write_inventory(
        tmp_path_factory.mktemp("aws") / "inv.yaml", ["hardened", "vendor-built"]
    )
    result = run_auditor("audit", str(inventory), "-f", "json")
    assert result.code == 1, result.stderr
    return result.json()


def _aws(report: dict[str, Any], host: str) -> dict[tuple[str, str], dict[str, Any]]:
    target = next(t for t in report["targets"] if t["name"] == host)
    return {
        (f["rule"], f["resource"]): f for f in target["findings"] if f["rule"].startswith("aws.")
    }


def test_public_bucket_kept_forever_makes_the_vendor_server_no_go(report: dict[str, Any]) -> None:
    found = _aws(report, "vendor-built")
    bucket = f"bucket:{cloud.PUBLIC_BUCKET}"
    assert found[("aws.s3-public-acl-read", bucket)]["status"] == "fail"
    retention = found[("aws.s3-retention", bucket)]
    assert retention["status"] == "fail"
    assert "never expire" in retention["message"] and "promises 90" in retention["message"]
    assert found[("aws.rds-public", f"db_instance:{cloud.PUBLIC_DB}")]["status"] == "fail"


def test_declared_versus_configured_exposure(report: dict[str, Any], lab: Lab) -> None:
    ids = lab.cloud_ids()
    assert ids is not None
    found = _aws(report, "vendor-built")
    group = f"security_group:{ids.vendor_group}"
    undeclared = found[("aws.sg-undeclared-internet-ports", group)]
    assert undeclared["status"] == "fail"
    assert undeclared["evidence"] == {"declared": [80, 443]}  # 6379 is open to the internet too
    assert found[("aws.sg-database-ports-internet", group)]["evidence"] == {"ports": [6379]}
    instance = f"instance:{ids.vendor_instance}"
    assert found[("aws.ec2-imdsv2", instance)]["status"] == "fail"
    assert found[("aws.ec2-ebs-encryption", instance)]["status"] == "fail"


def test_well_built_cloud_side_passes_every_aws_rule(report: dict[str, Any]) -> None:
    found = _aws(report, "hardened")
    statuses = {rule: f["status"] for (rule, _), f in found.items()}
    assert statuses and set(statuses.values()) <= {"pass", "skip"}, statuses
    assert statuses["aws.account-cloudtrail"] == "pass"
    assert statuses["aws.s3-kms-for-personal-data"] == "skip"  # no personal data declared
    target = next(t for t in report["targets"] if t["name"] == "hardened")
    assert target["verdict"] == "go"


def test_full_audit_calls_only_actions_of_the_published_policy(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Least privilege, proven: every API call of a full audit, seen by botocore itself."""
    calls: set[str] = set()
    original = aws_api.Aws.client

    def recording(self: aws_api.Aws, service: str) -> Any:
        client = original(self, service)

        def record(model: Any, **_: Any) -> None:
            calls.add(aws_api.iam_action(service, model.name))

        client.meta.events.register("before-call.*.*", record)
        return client

    monkeypatch.setattr(aws_api.Aws, "client", recording)
    path = lab.write_inventory(tmp_path / "inv.yaml", ["hardened", "vendor-built"])
    data = yaml.safe_load(path.read_text())
    data["cloud"]["aws"]["discover"] = True  # account-wide listing too
    path.write_text(yaml.safe_dump(data))

    inventory = load_inventory(path).with_discovered()
    probes = build_probes(
        ProbeSettings(ssh=SshOptions(known_hosts=(lab.known_hosts,)), clouds=inventory.clouds)
    )
    report = run_audit(
        inventory, catalog_for(inventory), probes, AuditSettings(show_progress=False)
    )
    assert any(r.target.kind == "bucket" for r in report.results)
    assert calls, "no AWS call was recorded"
    assert calls <= ALLOWED, f"not in docs/aws-iam-policy.json: {sorted(calls - ALLOWED)}"
    for action in ALLOWED:
        verb = action.split(":")[1]
        assert verb.startswith(("Describe", "Get", "List")), f"{action} is not read-only"


def test_missing_permission_is_incomplete_and_names_it(tmp_path: Path) -> None:
    """moto with IAM enforced: a user whose policy lacks s3:GetBucketPolicy."""
    lab = Lab(
        tmp_path / "iam-lab",
        "127.79.0",
        (LabHost("iam-cloud", 90, (MotoServer(auth_after=400),), rules=()),),
    )
    lab.up()
    try:
        endpoint = lab.aws_endpoint
        assert endpoint is not None
        iam = cloud.client(endpoint, "iam")
        iam.create_user(UserName="auditor-limited")
        iam.put_user_policy(
            UserName="auditor-limited",
            PolicyName="almost-enough",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": sorted(ALLOWED - {"s3:GetBucketPolicy"}),
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )
        key = iam.create_access_key(UserName="auditor-limited")["AccessKey"]
        _spend_unauthenticated_requests(endpoint)
        inventory = tmp_path / "inv.yaml"
        inventory.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "scope": ["127.79.0.0/24"],
                    "cloud": {"aws": {"endpoint_url": endpoint, "regions": [cloud.REGION]}},
                    "servers": [
                        {
                            "name": "web",
                            "address": "127.79.0.91",
                            "rules": ["aws"],
                            "change": {"id": "C", "approved": True},
                            "aws": {"buckets": [cloud.GOOD_BUCKET]},
                        }
                    ],
                }
            )
        )
        env = {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_SESSION_TOKEN": "",
        }
        result = run_auditor("audit", str(inventory), "-f", "json", env=env)
    finally:
        lab.down()
    assert result.code == 3, result.stdout
    (target,) = result.json()["targets"]
    assert target["verdict"] == "no-go" and target["complete"] is False
    bucket_rules = [f for f in target["findings"] if f["resource"] == f"bucket:{cloud.GOOD_BUCKET}"]
    # Every rule that applies is `error`; only rules whose `when` excludes this server skip.
    assert {f["status"] for f in bucket_rules} == {"error", "skip"}
    assert {f["rule"] for f in bucket_rules if f["status"] == "skip"} == {
        "aws.s3-kms-for-personal-data",
        "aws.s3-retention",
    }
    assert "needs s3:GetBucketPolicy" in bucket_rules[0]["message"]
    assert not any(f["status"] == "pass" for f in bucket_rules)


def _spend_unauthenticated_requests(endpoint: str) -> None:
    """moto authenticates after INITIAL_NO_AUTH_ACTION_COUNT requests: use up the rest."""
    stranger = boto3.client(
        "sts",
        region_name=cloud.REGION,
        endpoint_url=endpoint,
        aws_access_key_id="AKIAUNKNOWN000000000",
        aws_secret_access_key="x",
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            stranger.get_caller_identity()
        except botocore.exceptions.ClientError:
            return
    raise AssertionError("moto never started enforcing IAM")


def test_aws_endpoint_url_from_the_environment(lab: Lab, tmp_path: Path) -> None:
    path = lab.write_inventory(tmp_path / "inv.yaml", ["hardened"])
    data = yaml.safe_load(path.read_text())
    del data["cloud"]["aws"]["endpoint_url"]
    data["servers"][0]["rules"] = ["aws"]
    path.write_text(yaml.safe_dump(data))
    result = run_auditor(
        "audit", str(path), "-f", "json", env={"AWS_ENDPOINT_URL": lab.aws_endpoint or ""}
    )
    assert result.code == 0, result.stdout
    (target,) = result.json()["targets"]
    assert target["complete"] and any(
        f["rule"] == "aws.account-guardduty" for f in target["findings"]
    )


def test_account_wide_discovery_from_scan(lab: Lab) -> None:
    result = run_auditor(
        "scan",
        "--aws-discover",
        "--aws-region",
        cloud.REGION,
        "--aws-endpoint-url",
        lab.aws_endpoint or "",
        "-f",
        "json",
    )
    assert result.code == 1, result.stderr
    targets = {t["name"]: t for t in result.json()["targets"]}
    assert {"bucket:vendor-acme-exports", "bucket:infra-audit-logs"} <= set(targets)
    assert targets["bucket:vendor-acme-exports"]["verdict"] == "no-go"
    assert targets["bucket:vendor-acme-exports"]["kind"] == "bucket"
    assert any(name.startswith("security_group:") for name in targets)
    assert f"db_instance:{cloud.REGION}:{cloud.PUBLIC_DB}" in targets


def test_account_level_findings_are_judged_once_on_an_account_target(lab: Lab) -> None:
    """Issue 11: with discovery, the account's own findings repeated under every bucket,
    group and instance (3,600 copies in a 1,000-bucket account)."""
    result = run_auditor(
        *("scan", "--aws-discover", "--aws-region", cloud.REGION),
        *("--aws-endpoint-url", lab.aws_endpoint or "", "-f", "json", "--no-history"),
    )
    targets = result.json()["targets"]
    account_rules = {"aws.account-block-public-access", "aws.account-cloudtrail"}
    holders = [
        t["name"]
        for t in targets
        if any(f["rule"] in account_rules and f["status"] != "skip" for f in t["findings"])
    ]
    assert holders == [f"aws_account:{cloud.REGION}"], holders
    (account,) = [t for t in targets if t["kind"] == "aws_account"]
    validate(result.json())
    assert account["complete"] is True


def test_a_crash_on_one_bucket_stays_with_its_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 24 #6: one bucket raising KeyError turned every other target of the region
    into "probe crashed: KeyError". A real moto server; the crash is injected into our own
    code for one bucket, as an unforeseen reply would cause it."""
    import ipaddress

    from auditor.cloud.aws import probe as aws_probe
    from auditor.cloud.aws.probe import AwsProbe
    from auditor.cloud.aws.settings import AwsLink, AwsSettings
    from auditor.models import Target
    from auditor.scope import Scope

    lab = Lab(
        tmp_path / "lab", "127.79.0", (LabHost("crash-cloud", 93, (MotoServer(),), rules=()),)
    )
    lab.up()
    try:
        real = aws_probe.bucket_facts

        def fragile(s3: Any, bucket: str, account: str) -> dict[str, Any]:
            if bucket == cloud.PUBLIC_BUCKET:
                raise KeyError("Grants")
            return real(s3, bucket, account)

        monkeypatch.setattr(aws_probe, "bucket_facts", fragile)
        settings = AwsSettings(regions=(cloud.REGION,), endpoint_url=lab.aws_endpoint)

        def server(name: str, bucket: str) -> Target:
            ip = ipaddress.ip_address("127.79.0.93")
            link = AwsLink(buckets=(bucket,))
            return Target(name=name, address=str(ip), ip=ip, clouds={"aws": link})

        targets = [server("a", cloud.GOOD_BUCKET), server("b", cloud.PUBLIC_BUCKET),
                   server("c", cloud.GOOD_BUCKET)]  # fmt: skip
        outcomes = AwsProbe(settings, concurrency=2).collect(
            targets, Scope.of_addresses([t.ip for t in targets if t.ip]), 30
        )
    finally:
        lab.down()
    assert outcomes["b"].error is not None and "KeyError" in outcomes["b"].error.message
    for name in ("a", "c"):
        assert outcomes[name].error is None, outcomes[name].error
        assert outcomes[name].facts["buckets"][0]["name"] == cloud.GOOD_BUCKET
