"""AWS probe: the cloud side of each server — its buckets, security groups, instance,
databases — and the account's detection controls, read with Describe/Get/List calls only.

Facts root `aws`: lists of `buckets`, `security_groups`, `instances`, `db_instances`, and
one `account` record per region. A record whose calls failed carries an `error` naming the
call and the missing permission; every rule on it is then `error`, and the server
incomplete. Targets found by account-wide discovery carry just their one resource.
"""

from __future__ import annotations

from typing import Any

from auditor.cloud.aws.api import Aws, AwsCallError, call, make_session, regions
from auditor.cloud.aws.compute import (
    account_facts,
    db_instance_facts,
    instance_facts,
    security_group_facts,
)
from auditor.cloud.aws.s3 import bucket_facts
from auditor.cloud.aws.settings import AwsLink
from auditor.models import ProbeOutcome, Target
from auditor.probes.base import ClientError, ProbeFailure, RunClientProbe
from auditor.probes.deadline import Deadline


class AwsProbe(RunClientProbe):
    name = "aws"

    def connect(self) -> Any:
        """The session, the default regions and the account id, once for the run."""
        try:
            session = make_session(self.settings)
            default_regions = regions(self.settings, session)
            sts = Aws(session, default_regions[0], self.settings.endpoint_url).client("sts")
            account_id = str(call(sts, "GetCallerIdentity")["Account"])
        except AwsCallError as exc:
            raise ClientError(str(exc)) from None
        return session, default_regions, account_id

    def group(self, target: Target) -> str:
        link: AwsLink | None = target.clouds.get("aws")
        return link.region or "" if link is not None else ""

    def client(self, run: Any, group: str) -> Any:
        """One region's clients and its account facts, shared by that region's targets."""
        session, default_regions, account_id = run
        region = group or default_regions[0]
        try:
            return _Region(Aws(session, region, self.settings.endpoint_url), account_id)
        except AwsCallError as exc:
            raise ClientError(str(exc)) from None

    def read(self, client: Any, target: Target, deadline: Deadline) -> ProbeOutcome:
        if target.clouds.get("aws") is None:
            raise ProbeFailure("no AWS resources linked (`aws:` key)")
        return ProbeOutcome(self.name, facts=client.facts_for(target))


class _Region:
    """Clients for one region (created once, shared by threads) and account facts, once."""

    def __init__(self, clients: Aws, account_id: str) -> None:
        self.clients = clients
        self.s3 = clients.client("s3")
        self.ec2 = clients.client("ec2")
        self.rds = clients.client("rds")
        self.account = account_facts(clients, account_id)
        self.account_id = account_id

    def facts_for(self, target: Target) -> dict[str, Any]:
        link: AwsLink = target.clouds["aws"]
        instances = [instance_facts(self.ec2, link.instance_id)] if link.instance_id else []
        group_ids = set(link.security_groups)
        if target.kind == "server":  # a discovered instance's groups are targets of their own
            for instance in instances:
                group_ids |= set(instance.get("security_group_ids", []))
        facts: dict[str, Any] = {
            "instances": instances,
            "security_groups": security_group_facts(self.ec2, sorted(group_ids)),
            "buckets": [bucket_facts(self.s3, b, self.account_id) for b in link.buckets],
            "db_instances": [db_instance_facts(self.rds, d) for d in link.db_instances],
        }
        if target.kind in ("server", "aws_account"):  # a discovered resource: judged there
            facts["account"] = self.account
        return facts
