"""Issue 12: a fleet audited as 3 shards (3 processes) and merged gives exactly the
findings, verdicts and exit code of one run; incomplete sets of shards are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import InputError
from auditor.merge import Shard
from tests.conftest import REPO, run_auditor
from tests.lab.lab import Lab

HOSTS = ["hardened", "vendor-built", "cache", "files", "platform", "legacy", "alt-port"]


def _judged(report: dict[str, Any]) -> dict[str, Any]:
    return {
        t["name"]: (
            t["verdict"],
            t["complete"],
            sorted((f["rule"], f["resource"], f["status"]) for f in t["findings"]),
        )
        for t in report["targets"]
    }


def test_shards_merged_equal_one_run(lab: Lab, tmp_path: Path) -> None:
    inventory = lab.write_inventory(tmp_path / "inv.yaml", HOSTS)
    whole = run_auditor("audit", str(inventory), "-f", "json", "--no-history")
    shards = [tmp_path / f"shard-{k}.json" for k in (1, 2, 3)]
    # One process per shard, one after another: `make test` already runs three pytest
    # groups side by side on two cores, and three audits of the whole lab at once on top
    # of that left a deadline too short for a service check once.
    codes = [
        subprocess.run(
            [
                *(sys.executable, "-m", "auditor", "audit", str(inventory), "--no-history"),
                *("-q", "--shard", f"{k}/3", "-f", f"json={path}"),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            timeout=300,
            check=False,
        ).returncode
        for k, path in zip((1, 2, 3), shards, strict=True)
    ]
    assert all(code in (0, 1, 3) for code in codes), codes
    sizes = [len(json.loads(p.read_text())["targets"]) for p in shards]
    assert sum(sizes) == len(HOSTS) and max(sizes) < len(HOSTS)  # really split
    merged = run_auditor("merge", *map(str, shards), "-f", "json")
    errors = {
        t["name"]: [f["message"] for f in t["findings"] if f["status"] == "error"][:3]
        for report in (merged.json(), whole.json())
        for t in report["targets"]
        if not t["complete"]
    }
    assert merged.code == whole.code, (merged.stderr, whole.stderr, errors)
    assert _judged(merged.json()) == _judged(whole.json()), errors
    assert merged.json()["verdict"] == whole.json()["verdict"]
    sarif = run_auditor("merge", *map(str, shards), "-f", f"sarif={tmp_path / 'm.sarif'}")
    assert sarif.code == whole.code and json.loads((tmp_path / "m.sarif").read_text())["runs"]

    missing = run_auditor("merge", str(shards[0]), str(shards[2]))
    assert missing.code == 2 and "shard(s) 2/3 missing" in missing.stderr
    twice = run_auditor("merge", str(shards[0]), str(shards[0]), str(shards[1]))
    assert twice.code == 2 and "given twice" in twice.stderr
    other = json.loads(shards[1].read_text())
    other["rule_packs"][0]["sha256"] = "0" * 64
    (tmp_path / "other.json").write_text(json.dumps(other))
    mixed = run_auditor("merge", str(shards[0]), str(tmp_path / "other.json"), str(shards[2]))
    assert mixed.code == 2 and "rule packs" in mixed.stderr
    unsharded = run_auditor("merge", str(tmp_path / "whole.json"))
    assert unsharded.code == 2


def test_shard_membership_is_stable_as_the_fleet_grows() -> None:
    names = [f"web-{i:04d}" for i in range(300)]
    before = {n: next(k for k in (1, 2, 3) if Shard(k, 3).owns(n)) for n in names}
    after = {n: next(k for k in (1, 2, 3) if Shard(k, 3).owns(n)) for n in [*names, "new"]}
    assert all(before[n] == after[n] for n in names)  # adding a server moves only it
    assert 80 < sum(1 for k in before.values() if k == 1) < 120  # roughly even
    with pytest.raises(InputError):
        Shard.parse("4/3")


def test_the_engine_recipes_are_valid_and_use_real_options() -> None:
    import kubernetes_validate
    import yaml

    docs = REPO / "docs" / "examples"
    manifests = list(yaml.safe_load_all((docs / "kubernetes-shards.yaml").read_text()))
    version = kubernetes_validate.latest_version()
    for manifest in manifests:
        kubernetes_validate.validate(manifest, version, strict=True)
    indexed = manifests[0]["spec"]
    assert indexed["completionMode"] == "Indexed" and indexed["completions"] == 4
    script = " ".join(manifests[0]["spec"]["template"]["spec"]["containers"][0]["args"])
    assert '--shard "$((JOB_COMPLETION_INDEX + 1))/4"' in script
    assert "auditor merge" in " ".join(
        manifests[1]["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    github = yaml.safe_load((docs / "github-actions-shards.yml").read_text())
    assert github["jobs"]["audit"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert github["jobs"]["merge"]["needs"] == "audit"
    gitlab = yaml.safe_load((docs / "gitlab-ci-shards.yml").read_text())
    assert gitlab["audit"]["parallel"] == 3
    assert "auditor merge" in " ".join(gitlab["merge"]["script"])
    help_text = run_auditor("audit", "--help").stdout + run_auditor("merge", "--help").stdout
    for option in ("--shard", "-f"):
        assert option in help_text
