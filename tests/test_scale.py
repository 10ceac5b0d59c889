"""Scale (issue 12): memory that follows concurrency, reports that state each rule once.

Fast tier: a stand-in `sshd` probe, because what is under test is how the engine and the
writers hold results, not any protocol (the bench audits real sshd fleets for the figures).
"""

from __future__ import annotations

import ipaddress
import json
import tracemalloc
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.engine import AuditSettings, run_audit
from auditor.history import History
from auditor.inventory import Inventory
from auditor.merge import merge
from auditor.models import ProbeOutcome, Report, Status, Target
from auditor.probes.base import Done, PerTargetProbe, Upstream
from auditor.reporting.json import JsonReporter
from auditor.reporting.serialize import report_to_dict
from auditor.rules import load_catalog
from auditor.scope import Scope
from auditor.spool import StoredResults
from tests.conftest import REPO, run_auditor

SCOPE = Scope((ipaddress.ip_network("127.80.0.0/16"),))
SETTINGS = AuditSettings(show_progress=False)
BLOB = 100_000
"""Bytes of facts per server that no rule reads (a huge `sshd -T`, a long banner...)."""


def _targets(count: int) -> tuple[Target, ...]:
    return tuple(
        Target(
            name=f"srv-{i:04d}",
            address=f"127.80.{i // 250}.{i % 250 + 1}",
            ip=ipaddress.ip_address(f"127.80.{i // 250}.{i % 250 + 1}"),
            ports="22",
            rules=("ssh",),
        )
        for i in range(count)
    )


class _Sshd(PerTargetProbe):
    """Stand-in `sshd` probe: hardened settings plus a megabyte no rule reads."""

    name = "sshd"

    def probe(
        self, target: Target, scope: Scope, timeout: float, upstream: Mapping[str, ProbeOutcome]
    ) -> ProbeOutcome:
        settings = {"permitrootlogin": "no", "passwordauthentication": "no", "x": "y" * BLOB}
        return ProbeOutcome(self.name, facts={"settings": settings, "source": "sshd -T"})


def _report(count: int) -> Report:
    inventory = Inventory(path="<test>", version=1, scope=SCOPE, targets=_targets(count))
    return run_audit(inventory, load_catalog(["ssh"]), [_Sshd(concurrency=4)], SETTINGS)


def test_memory_follows_concurrency_not_the_fleet() -> None:
    """200 servers with 100 KB of facts each: a run that kept facts or results until the
    end peaks near 30 MB (measured on the commit before the spool); judged targets must be
    dropped and spooled as they come (about 4 MB: a few targets in flight)."""
    _report(2)  # start the shared rule workers outside the measurement
    tracemalloc.start()
    try:
        report = _report(200)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(report.results, StoredResults)
    assert len(report.results) == 200
    root_login = [
        f for r in report.results for f in r.findings if f.rule == "ssh.permit-root-login"
    ]
    assert len(root_login) == 200 and all(f.status is Status.PASS for f in root_login)
    assert peak < 100 * BLOB, f"peak {peak / 1e6:.1f} MB for 200 servers"


def test_a_probe_that_hands_outcomes_on_keeps_none_and_a_forgotten_target_fails() -> None:
    delivered: dict[str, ProbeOutcome] = {}
    targets = _targets(3)
    kept = _Sshd().collect(targets, SCOPE, 5.0, lambda n, o: delivered.__setitem__(n, o))
    assert kept == {} and set(delivered) == {t.name for t in targets}

    class Forgetful(_Sshd):
        def collect(
            self,
            targets: Any,
            scope: Scope,
            timeout: float,
            done: Done | None = None,
            upstream: Upstream = {},  # noqa: B006 - read only
        ) -> Mapping[str, ProbeOutcome]:
            return super().collect(list(targets)[:1], scope, timeout, done, upstream)

    inventory = Inventory(path="<test>", version=1, scope=SCOPE, targets=targets)
    report = run_audit(inventory, load_catalog(["ssh"]), [Forgetful()], SETTINGS)
    forgotten = [
        any(e.probe == "sshd" and "returned no result" in e.message for e in r.errors)
        for r in report.results
    ]
    assert forgotten == [False, True, True]
    assert all(not r.complete and r.verdict.value == "no-go" for r in report.results[1:])


def _schema(version: int) -> dict[str, Any]:
    text = (REPO / "auditor" / "schemas" / f"auditor-report-{version}.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_schema_2_states_each_rule_once_and_schema_1_is_unchanged() -> None:
    report = _report(3)
    v2 = json.loads(JsonReporter().render(report))
    v1 = json.loads(JsonReporter(1).render(report))
    jsonschema.validate(v2, _schema(2), format_checker=jsonschema.FormatChecker())
    jsonschema.validate(v1, _schema(1), format_checker=jsonschema.FormatChecker())
    assert v2["schema"] == "auditor-report/2" and v1["schema"] == "auditor-report/1"
    for finding in (f for t in v2["targets"] for f in t["findings"]):
        assert not {"title", "remediation", "references"} & set(finding)
        rule = v2["rules"][finding["rule"]]
        assert rule["title"] and rule["remediation"] and rule["references"]
    old = v1["targets"][0]["findings"][0]
    assert old["title"] == v2["rules"][old["rule"]]["title"]
    assert old["remediation"] == v2["rules"][old["rule"]]["remediation"]
    # Everything else is the same data.
    strip = {"title", "remediation", "references"}
    assert [
        {k: v for k, v in f.items() if k not in strip} for f in v1["targets"][0]["findings"]
    ] == v2["targets"][0]["findings"]


@pytest.mark.parametrize("version", [1, 2])
def test_the_streamed_json_is_the_whole_document(version: int) -> None:
    report = _report(3)
    assert json.loads(JsonReporter(version).render(report)) == report_to_dict(report, version)
    empty = replace(report, results=())
    assert json.loads(JsonReporter(version).render(empty))["targets"] == []


def test_evidence_of_a_finding_is_what_its_rule_read_not_the_megabyte() -> None:
    text = JsonReporter().render(_report(2))
    assert len(text) < 40_000, "the unread facts leaked into the evidence"


def test_merge_reads_shards_of_either_schema(tmp_path: Path) -> None:
    report = _report(4)
    results = list(report.results)
    # As a real --shard run writes: every server of the whole inventory is expected.
    expected = tuple(r.target.name for r in results)
    shard = replace(report, inventory_digest="d" * 64, expected=expected)
    one = replace(shard, results=tuple(results[:2]), shard=(1, 2))
    two = replace(shard, results=tuple(results[2:]), shard=(2, 2))
    (tmp_path / "1.json").write_text(JsonReporter(1).render(one))
    (tmp_path / "2.json").write_text(JsonReporter(2).render(two))
    merged = merge([tmp_path / "1.json", tmp_path / "2.json"])
    assert [r.target.name for r in merged.results] == [r.target.name for r in results]
    by_rule = {f.rule: f for r in merged.results for f in r.findings}
    root = by_rule["ssh.permit-root-login"]
    assert root.status is Status.PASS and root.remediation and root.references
    assert merged.rules["ssh.permit-root-login"].title == root.title
    assert merged.started <= datetime.now(UTC)


def test_a_merged_run_goes_into_the_history_for_diff(tmp_path: Path) -> None:
    report = replace(_report(4), inventory_digest="e" * 64, inventory="<fleet>")
    results = list(report.results)
    report = replace(report, expected=tuple(r.target.name for r in results))
    for index, part in ((1, results[:3]), (2, results[3:])):
        shard = replace(report, results=tuple(part), shard=(index, 2))
        (tmp_path / f"{index}.json").write_text(JsonReporter().render(shard))
    database = tmp_path / "history.sqlite"
    shards = [str(tmp_path / "1.json"), str(tmp_path / "2.json")]
    merged = run_auditor("merge", *shards, "--history", str(database), "-f", "json")
    assert merged.code == 3, merged.stderr  # the stand-in probes leave the ssh pack incomplete
    history = History(database)
    try:
        (run,) = history.runs()
        assert run.inventory == "<fleet>" and run.finished and run.verdict == "no-go"
        assert set(history.findings(run.id)) == {r.target.name for r in results}
    finally:
        history.close()
    again = run_auditor("merge", *shards, "--history", str(database), "-f", "json")
    assert again.code == 3
    diff = run_auditor("diff", "--db", str(database), "-f", "json")
    assert diff.code == 0, diff.stderr
    assert (json.loads(diff.stdout)["from"], json.loads(diff.stdout)["to"]) == (1, 2)


def test_known_hosts_is_read_once_and_again_only_when_it_changes(tmp_path: Path) -> None:
    """One parse per run, not one per login (paramiko's load is quadratic in the file)."""
    import subprocess

    import paramiko

    from auditor.probes.ssh import known_hosts as ssh_known_hosts

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")])
    kind, blob = (tmp_path / "k.pub").read_text().split()[:2]
    hashed = paramiko.HostKeys.hash_host("10.0.0.7")
    path = tmp_path / "known_hosts"
    lines = [f"10.1.{i // 250}.{i % 250} {kind} {blob}" for i in range(1000)]
    path.write_text("\n".join([*lines, f"{hashed} {kind} {blob}", "bad line"]) + "\n")
    first = ssh_known_hosts.load([path, tmp_path / "absent"])
    assert ssh_known_hosts.load([path, tmp_path / "absent"]) is first  # not read again
    assert [k.get_base64() for k in first.lookup("10.1.3.249")] == [blob]
    assert [k.get_base64() for k in first.lookup("10.0.0.7")] == [blob]  # hashed entry
    assert first.lookup("10.0.0.8") == []
    with path.open("a") as more:  # as trust-on-first-use appends
        more.write(f"[10.0.0.9]:2222 {kind} {blob}\n")
    again = ssh_known_hosts.load([path, tmp_path / "absent"])
    assert again is not first and len(again.lookup("[10.0.0.9]:2222")) == 1


def test_verdicts_summaries_and_server_tables_read_no_findings_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 25: each server's result was read back from the spool about ten times per run
    (21 reads for one server with six report formats). The exit code, the verdict line,
    the JSON summary and every format's server table come from the standings kept beside
    the offsets; only a format's list of findings reads a server back."""
    from auditor.gate import exit_code
    from auditor.reporting.common import verdict_line
    from auditor.reporting.serialize import summary
    from auditor.spool import ResultSpool

    report = _report(5)
    reads: list[str] = []
    original = ResultSpool.get

    def counted(self: ResultSpool, name: str) -> Any:
        reads.append(name)
        return original(self, name)

    monkeypatch.setattr(ResultSpool, "get", counted)
    assert exit_code(report) in (0, 1, 3)
    assert verdict_line(report) and report.verdict
    assert summary(report)["targets"] == 5
    assert reads == []
    JsonReporter().render(report)
    assert len(reads) == 5  # one pass over the servers for the body, none for the head
