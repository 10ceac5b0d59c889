"""Issue 24 #8, #9: a merge that says GO only for a fleet every shard audited the same way.

Shard reports come from real `auditor audit --shard` runs against loopback addresses where
nothing listens (the port probe gets real refusals), so they are what a CI job uploads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_auditor

# a and c fall in shard 1 of 2, d and g in shard 2 (SHA-256 of the name).
SERVERS = {"a": 241, "c": 242, "d": 243, "g": 244}


def _inventory(path: Path, names: dict[str, int]) -> Path:
    servers = ", ".join(
        f"{{name: {name}, address: 127.79.0.{octet}, ports: '1', rules: [baseline], "
        f"change: {{id: C-1, approved: true}}}}"
        for name, octet in names.items()
    )
    path.write_text(f"version: 1\nscope: [127.79.0.0/24]\nservers: [{servers}]\n")
    return path


def _shard(tmp_path: Path, inventory: Path, k: int, *extra: str) -> Path:
    out = tmp_path / f"shard-{k}-{len(list(tmp_path.iterdir()))}.json"
    result = run_auditor(
        "audit", str(inventory), "--no-history", "-q", "--shard", f"{k}/2",
        "-f", f"json={out}", *extra,
    )  # fmt: skip
    assert result.code in (0, 1, 3), result.stderr
    return out


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _inventory(tmp_path_factory.mktemp("merge") / "inv.yaml", SERVERS)


def test_shards_of_one_run_merge_to_go(inventory: Path, tmp_path: Path) -> None:
    one, two = _shard(tmp_path, inventory, 1), _shard(tmp_path, inventory, 2)
    merged = run_auditor("merge", str(one), str(two), "-f", "json", "--no-history")
    assert merged.code == 0, merged.stderr
    assert sorted(t["name"] for t in merged.json()["targets"]) == sorted(SERVERS)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (("--only", "baseline.change-record"), "rule packs and the rules selected"),
        (("--skip", "baseline.port-undeclared"), "rule packs and the rules selected"),
        (("--param", "baseline.sensitive-port-undeclared.sensitive_ports=[1]"), "--param"),
        (("--fail-on", "medium"), "--fail-on"),
        (("--timeout", "7"), "how servers are probed"),
    ],
)
def test_shards_run_with_other_options_are_refused(
    inventory: Path, tmp_path: Path, extra: tuple[str, ...], named: str
) -> None:
    one, two = _shard(tmp_path, inventory, 1), _shard(tmp_path, inventory, 2, *extra)
    merged = run_auditor("merge", str(one), str(two), "--no-history")
    assert merged.code == 2 and named in merged.stderr, merged.stderr
    assert merged.stderr.count("\n") == 1


def test_a_shard_on_other_imports_or_waivers_is_refused(inventory: Path, tmp_path: Path) -> None:
    """On main: shard 1 ran with another --ansible file, so a server with open Redis was
    audited by no shard, and merge said GO."""
    hosts = tmp_path / "hosts.ini"
    hosts.write_text("[web]\nredis-box ansible_host=127.79.0.245\n")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("version: 1\nwaivers: []\n")
    two = _shard(tmp_path, inventory, 2)
    for extra, named in (
        (("--ansible", str(hosts)), "--ansible"),
        (("--waivers", str(waivers)), "waivers"),
    ):
        one = _shard(tmp_path, inventory, 1, *extra)
        merged = run_auditor("merge", str(one), str(two), "--no-history")
        assert merged.code == 2 and named in merged.stderr, merged.stderr


def test_a_server_no_shard_judged_is_refused(inventory: Path, tmp_path: Path) -> None:
    one, two = _shard(tmp_path, inventory, 1), _shard(tmp_path, inventory, 2)
    report: dict[str, Any] = json.loads(two.read_text())
    report["targets"] = [t for t in report["targets"] if t["name"] != "g"]
    two.write_text(json.dumps(report))
    merged = run_auditor("merge", str(one), str(two), "--no-history")
    assert merged.code == 2 and "judged by no shard: g" in merged.stderr, merged.stderr


def test_verdicts_are_recomputed_from_findings(inventory: Path, tmp_path: Path) -> None:
    """On main: an edited shard with `verdict: go` and two critical failures stayed GO."""
    one, two = _shard(tmp_path, inventory, 1), _shard(tmp_path, inventory, 2)
    report: dict[str, Any] = json.loads(two.read_text())
    target = report["targets"][0]
    for port in (6379, 27017):
        target["findings"].append(
            {
                "rule": "baseline.sensitive-port-undeclared",
                "severity": "critical",
                "status": "fail",
                "resource": f"port:{port}/tcp",
                "message": f"{port}/tcp is open but the change record does not declare it",
            }
        )
    target["verdict"] = "go"
    two.write_text(json.dumps(report))
    merged = run_auditor("merge", str(one), str(two), "-f", "json", "--no-history")
    assert merged.code == 1, merged.stderr
    judged = {t["name"]: t["verdict"] for t in merged.json()["targets"]}
    assert judged[target["name"]] == "no-go"


def test_the_inventory_digest_is_of_the_text_that_was_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: the inventory's digest was taken by reading the file again after it was
    parsed; an edit in between (a shard's inventory rewritten by the next pipeline step)
    put the new file's digest on a report of the old one. The digest is now of the very
    text that was parsed."""
    import hashlib

    import auditor.app.pipeline as app_run
    from auditor.app import AuditRequest, InventoryFile, prepare

    inventory = tmp_path / "inv.yaml"
    original = (
        "version: 1\nscope: ['127.79.0.0/24']\nservers:\n"
        "  - {name: a, address: 127.79.0.250, ports: '1', rules: [baseline]}\n"
    )
    inventory.write_text(original)
    real = app_run.catalog_for

    def edited_meanwhile(*args: Any, **kwargs: Any) -> Any:
        inventory.write_text(original.replace("name: a", "name: b"))
        return real(*args, **kwargs)

    monkeypatch.setattr(app_run, "catalog_for", edited_meanwhile)
    prepared = prepare(AuditRequest(InventoryFile(inventory)), say=lambda _: None)
    assert prepared.inputs["inventory"] == hashlib.sha256(original.encode()).hexdigest()
    assert [t.name for t in prepared.inventory.targets] == ["a"]
