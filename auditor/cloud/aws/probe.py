"""AWS probe: the cloud side of each server — its buckets, security groups, instance,
databases — and the account's detection controls, read with Describe/Get/List calls only.

Facts root `aws`: lists of `buckets`, `security_groups`, `instances`, `db_instances`, and
one `account` record per region. A record whose calls failed carries an `error` naming the
call and the missing permission; every rule on it is then `error`, and the server
incomplete. Targets found by account-wide discovery carry just their one resource.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from auditor.cloud.aws.api import Aws, AwsCallError, call, make_session, regions
from auditor.cloud.aws.compute import (
    account_facts,
    db_instance_facts,
    instance_facts,
    security_group_facts,
)
from auditor.cloud.aws.s3 import bucket_facts
from auditor.cloud.aws.settings import AwsLink, AwsSettings
from auditor.models import ProbeOutcome, Target
from auditor.probes.base import NO_UPSTREAM, Done, Probe, Upstream, delivery
from auditor.scope import Scope


class AwsProbe(Probe):
    name = "aws"

    def __init__(self, settings: AwsSettings | None, concurrency: int = 16) -> None:
        self.settings = settings
        self.concurrency = max(1, concurrency)

    def collect(
        self,
        targets: Sequence[Target],
        scope: Scope,
        timeout: float,
        done: Done | None = None,
        upstream: Upstream = NO_UPSTREAM,
    ) -> Mapping[str, ProbeOutcome]:
        deliver, kept = delivery(done)
        if self.settings is None:
            return {
                t.name: self.failed("the inventory has no `cloud.aws` section") for t in targets
            }
        try:
            session = make_session(self.settings)
            default_regions = regions(self.settings, session)
            sts = Aws(session, default_regions[0], self.settings.endpoint_url).client("sts")
            account_id = str(call(sts, "GetCallerIdentity")["Account"])
        except AwsCallError as exc:
            return {t.name: self.failed(str(exc)) for t in targets}
        by_region: dict[str, list[Target]] = defaultdict(list)
        for target in targets:
            if target.clouds.get("aws") is None:
                deliver(target.name, self.failed("no AWS resources linked (`aws:` key)"))
            else:
                by_region[target.clouds["aws"].region or default_regions[0]].append(target)
        for region, members in by_region.items():
            clients = Aws(session, region, self.settings.endpoint_url)
            region_facts = _Region(clients, account_id)
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"aws-{region}") as pool:
                for target, facts in zip(
                    members, pool.map(region_facts.facts_for, members), strict=True
                ):
                    deliver(target.name, ProbeOutcome(self.name, facts=facts))
        return kept


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
