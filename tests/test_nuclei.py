"""`--nuclei-templates DIR` (issue 27): the templates a user already has, run read-only in
the same fail-closed engine, everything else skipped and counted. The templates are our
own (tests/data/nuclei, written from nuclei's published format); the servers are real:
Python's http.server and redis-server."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.nuclei import load_templates
from tests.conftest import LISTENER_NETWORK, REPO, run_auditor
from tests.lab.services import stop_group, wait_for_port
from tests.test_network_checks import _http_server

TEMPLATES = REPO / "tests" / "data" / "nuclei"


def test_only_the_read_only_subset_runs_and_every_other_template_is_counted() -> None:
    checks, summary = load_templates([TEMPLATES])
    assert sorted(c.kind for c in checks) == [
        "nuclei-acme-banner-info",
        "nuclei-acme-status-exposed",
        "nuclei-redis-open-info",
    ]
    assert (summary.templates, summary.run) == (10, 3)
    assert summary.skipped == {
        "method POST": 1,
        "dsl": 1,
        "raw requests": 1,
        "interactsh (out-of-band)": 1,
        "tcp input not in the read-only list": 1,
        "protocol code": 1,
        "not readable as YAML (or over the size and depth limits)": 1,
    }


@pytest.mark.lab
def test_matching_templates_fail_the_gate_with_their_proof_and_nothing_secret(
    tmp_path: Path,
) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    ip = f"{LISTENER_NETWORK}.102"
    site = tmp_path / "site"
    (site / "admin").mkdir(parents=True)
    secret = "tok-0123456789abcdef"
    (site / "admin" / "status.json").write_text(
        json.dumps({"build": {"version": "4.2.0"}, "version": "4.2.0", "token": secret})
    )
    redis = subprocess.Popen(
        ["redis-server", "--bind", ip, "--port", "6379", "--save", "", "--protected-mode", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(ip, 6379, redis, timeout=10)
        with _http_server(ip, 8089, site):
            inventory = tmp_path / "inv.yaml"
            inventory.write_text(
                f"version: 1\nscope: [{ip}/32]\nservers:\n"
                f"  - {{name: acme, address: {ip}, ports: '6379,8089', rules: [services]}}\n"
            )
            result = run_auditor(
                "audit", str(inventory), "--no-history", "-f", "json",
                "--nuclei-templates", str(TEMPLATES),
            )  # fmt: skip
    finally:
        stop_group(redis.pid)
    assert result.code == 1, result.stderr
    assert "nuclei templates: 10 found, 3 run read-only, 7 skipped (" in result.stderr
    report = result.json()
    assert report["nuclei"]["run"] == 3 and report["nuclei"]["skipped"]["method POST"] == 1
    findings = {
        f["resource"]: f
        for f in report["targets"][0]["findings"]
        if f["rule"] == "services.nuclei-template"
    }
    status = findings["service:nuclei-acme-status-exposed@8089/tcp"]
    assert status["status"] == "fail"
    assert "GET /admin/status.json → HTTP 200" in status["message"]
    assert "extracted tok-…(20 chars), 4.2.…(5 chars)" in status["message"]
    assert secret not in json.dumps(report), "an extracted token never reaches the report"
    redis_info = findings["service:nuclei-redis-open-info@6379/tcp"]
    assert redis_info["status"] == "fail" and "(critical)" in redis_info["message"]
    banner = findings["service:nuclei-acme-banner-info@8089/tcp"]
    assert banner["status"] == "skip", "an info template's match is a fact, not a NO-GO"
    assert not any("acme-status-exposed@6379" in r for r in findings), "http only on web ports"


def test_a_missing_template_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "version: 1\nscope: [127.79.0.0/24]\nservers: [{name: a, address: 127.79.0.102}]\n"
    )
    result = run_auditor(
        "audit", str(inventory), "--no-history", "--nuclei-templates", str(tmp_path / "none")
    )
    assert result.code == 2
    assert "nuclei templates folder not found" in result.stderr
    assert "Traceback" not in result.stderr
