"""The gate in practice: waivers, CI formats, the evidence report, history and imports."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from junitparser import Error, Failure, JUnitXml, Skipped

from auditor.errors import InputError
from auditor.waivers import load_waivers
from tests.conftest import LISTENER_NETWORK, REPO, run_auditor
from tests.lab.lab import Lab, LabHost
from tests.lab.services import Redis

DEMO_HOSTS = ["hardened", "vendor-built"]
SARIF_SCHEMA = json.loads(
    (REPO / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text()
)
TODAY = datetime.now(UTC).date()


def _waivers(
    path: Path, expires: date, rule: str = "ssh.permit-root-login", target: str = "vendor-built"
) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "waivers": [
                    {
                        "rule": rule,
                        "target": target,
                        "approver": "jane.doe@client.example",
                        "justification": "vendor migrates root logins in sprint 12",
                        "ticket": "SEC-118",
                        "expires": expires.isoformat(),
                    }
                ],
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def lab_inventory(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lab.write_inventory(tmp_path_factory.mktemp("gate") / "lab.yaml", DEMO_HOSTS)


@pytest.fixture(scope="module")
def reports(lab_inventory: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    waivers = _waivers(out / "waivers.yaml", TODAY + timedelta(days=30))
    files = {fmt: out / f"report.{fmt}" for fmt in ("sarif", "junit", "html", "markdown", "json")}
    args = [part for fmt, path in files.items() for part in ("-f", fmt, "-o", str(path))]
    result = run_auditor(
        "audit", str(lab_inventory), "--waivers", str(waivers), *args, cwd=lab_inventory.parent
    )
    assert result.code == 1, result.stderr
    return files


# ---------------------------------------------------------------- waivers


def test_waiver_marks_the_failure_with_who_and_until_when(reports: dict[str, Path]) -> None:
    report = json.loads(reports["json"].read_text())
    vendor = next(t for t in report["targets"] if t["name"] == "vendor-built")
    (waived,) = [f for f in vendor["findings"] if f["status"] == "waived"]
    assert waived["rule"] == "ssh.permit-root-login"
    assert waived["waiver"]["approver"] == "jane.doe@client.example"
    assert waived["waiver"]["expires"] == (TODAY + timedelta(days=30)).isoformat()


def test_an_expired_waiver_turns_go_back_into_no_go(lab: Lab, tmp_path: Path) -> None:
    inventory = lab.write_inventory(tmp_path / "inv.yaml", ["bastion"])
    # bastion fails only SSH rules below high (forwarding, DEBUG1 logging): block on low
    # so that they matter, and waive them; a waiver applies through its expiry day.
    live = _waivers(tmp_path / "live.yaml", TODAY, rule="ssh.*", target="bastion")
    args = ["audit", str(inventory), "--fail-on", "low", "-f", "json", "--waivers"]
    go = run_auditor(*args, str(live))
    assert go.code == 0, go.stdout
    expired = _waivers(
        tmp_path / "expired.yaml",
        TODAY - timedelta(days=1),
        rule="ssh.tcp-forwarding",
        target="bastion",
    )
    no_go = run_auditor(*args, str(expired))
    assert no_go.code == 1
    (target,) = no_go.json()["targets"]
    (failure,) = [
        f for f in target["findings"] if f["rule"] == "ssh.tcp-forwarding" and f["status"] == "fail"
    ]
    assert f"expired {TODAY - timedelta(days=1)}" in failure["message"]


def test_waivers_never_hide_errors(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        f"version: 1\nscope: ['{LISTENER_NETWORK}.0/24']\nservers:\n"
        f"  - {{name: slow, address: {LISTENER_NETWORK}.120, ports: '1-65535',"
        " change: {id: C, approved: true}}\n"
    )
    waivers = _waivers(tmp_path / "w.yaml", TODAY + timedelta(days=5), rule="*", target="*")
    result = run_auditor(
        "audit", str(inventory), "--timeout", "0.01", "--waivers", str(waivers), "-f", "json"
    )
    assert result.code == 3
    (target,) = result.json()["targets"]
    assert not target["complete"] and target["verdict"] == "no-go"
    assert {f["status"] for f in target["findings"] if f["resource"] != "host"} == {"error"}


def test_waivers_without_expiry_or_too_long_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("version: 1\nwaivers:\n  - {rule: x, approver: a, justification: j}\n")
    with pytest.raises(InputError, match="must have an `expires` date"):
        load_waivers(path)
    far = _waivers(tmp_path / "far.yaml", TODAY + timedelta(days=400))
    with pytest.raises(InputError, match="more than 90 days"):
        load_waivers(far)
    assert load_waivers(far, max_days=500).rules
    result = run_auditor("audit", str(REPO / "inventories" / "lab.yaml"), "--waivers", str(far))
    assert result.code == 2 and "far.yaml:" in result.stderr and result.stdout == ""


# ---------------------------------------------------------------- formats


def test_sarif_is_schema_valid_and_fit_for_github(
    reports: dict[str, Path], lab_inventory: Path
) -> None:
    sarif = json.loads(reports["sarif"].read_text())
    jsonschema.validate(sarif, SARIF_SCHEMA)
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["markdown"]
        assert float(rule["properties"]["security-severity"]) >= 0
    lines = lab_inventory.read_text().splitlines()
    assert run["results"]
    for result in run["results"]:
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert "://" not in uri and not uri.startswith("/"), uri  # repository-relative
        assert uri == lab_inventory.name
        line = location["physicalLocation"]["region"]["startLine"]
        assert f"name: {result['properties']['target']}" in lines[line - 1]
        assert result["partialFingerprints"]["auditorFinding/v1"]
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert [r["ruleId"] for r in suppressed] == ["ssh.permit-root-login"]


def test_junit_reads_in_a_junit_parser(reports: dict[str, Path]) -> None:
    xml = JUnitXml.fromfile(str(reports["junit"]))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == set(DEMO_HOSTS)
    vendor = suites["vendor-built"]
    outcomes: dict[str, type] = {}
    for case in vendor:
        for result in case.result:
            outcomes[case.name] = type(result)
    assert outcomes["services.redis-unauthenticated service:redis@6379/tcp"] is Failure
    assert outcomes["ssh.permit-root-login host"] is Skipped  # waived
    assert vendor.failures > 0 and suites["hardened"].failures == 0
    assert not any(t is Error for t in outcomes.values())


def test_markdown_summary(reports: dict[str, Path]) -> None:
    text = reports["markdown"].read_text()
    assert text.startswith("## ⛔ Server audit: NO-GO")
    assert "| vendor-built | **NO-GO** | yes |" in text
    assert "`services.redis-unauthenticated`" in text


def test_html_report_renders_in_chromium_without_console_errors(
    reports: dict[str, Path], tmp_path: Path
) -> None:
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    messages: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on(
            "console",
            lambda m: messages.append(f"{m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: messages.append(str(e)))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(reports["html"].as_uri())
        heading = page.inner_text("h1")
        rows = page.locator("table tr").count()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        browser.close()
    assert messages == []
    assert requests == [reports["html"].as_uri()]  # self-contained: nothing else is fetched
    assert "NO-GO" in heading
    assert rows > 20
    html = reports["html"].read_text()
    for evidence in ("CHG-2041", "sha256", "jane.doe@client.example", "redis_version:", "Fix:"):
        assert evidence in html


def test_html_evidence_report_is_client_ready_and_prints(
    reports: dict[str, Path], tmp_path: Path
) -> None:
    """Issue 11: readable evidence, sensible order, no "Fix:" on rows never evaluated,
    timestamps to the second, where the audit ran from, and a PDF of sensible length."""
    import re
    import subprocess

    html = reports["html"].read_text()
    assert re.search(r"<td>Started</td><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>", html)
    assert "<td>Ran from</td><td>" in html and "+00:00" not in html
    assert "<dl class='evidence'>" in html and "\\u2192" not in html
    assert "<code>requirepass</code>" in html  # remediation Markdown rendered
    for row in re.findall(r"<tr><td class='sev-[a-z]+'>.*?</tr>", html):
        if "class='st-error'" in row:
            assert "Fix:" not in row  # nothing was judged: nothing to fix yet
    vendor = html[html.index("vendor-built <span") :]
    statuses = re.findall(r"<td class='st-(fail|error|waived)'>", vendor)
    order = {"fail": 0, "error": 1, "waived": 2}
    assert statuses == sorted(statuses, key=order.__getitem__), statuses
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [
            str(chromium),
            *("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"),
            *("--disable-component-update", "--disable-sync", "--no-first-run"),
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            reports["html"].as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert 1 <= pages <= 40, pages  # rows may break across pages: no page per finding


# ---------------------------------------------------------------- history and diff


def test_diff_shows_a_fixed_finding_as_resolved(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    host = LabHost(
        "cache-box", 121, (Redis(),), change={"id": "C-9", "approved": True, "exposes": []}
    )
    inventory = tmp_path / "inv.yaml"
    broken = Lab(tmp_path / "lab", LISTENER_NETWORK, (host,))
    broken.write_inventory(inventory)
    data = yaml.safe_load(inventory.read_text())
    data["defaults"]["rules"] = ["baseline", "services"]
    inventory.write_text(yaml.safe_dump(data))
    args = ["audit", str(inventory), "--history", str(db), "-f", "json"]
    broken.up()
    try:
        first = run_auditor(*args)
    finally:
        broken.down()
    assert first.code == 1
    fixed = run_auditor(*args)  # Redis is gone: the vendor removed it
    assert fixed.code == 0, fixed.stdout
    history = run_auditor("history", "--db", str(db))
    assert history.code == 0 and history.stdout.count("finished") == 2
    result = run_auditor("diff", "--db", str(db), "-f", "json")
    assert result.code == 0, result.stderr
    changes = {
        (c["rule"], c["resource"]): c["change"] for c in json.loads(result.stdout)["changes"]
    }
    assert changes[("baseline.sensitive-port-undeclared", "port:6379/tcp")] == "resolved"
    assert changes[("services.redis-unauthenticated", "service:redis@6379/tcp")] == "resolved"
    assert "new" not in changes.values()


def test_interrupted_run_is_kept_and_marked(tmp_path: Path) -> None:
    from auditor.history import History

    db = History(tmp_path / "h.sqlite")
    db.start("/inv.yaml", "2026-11-26T00:00:00+00:00", "test")
    (run,) = db.runs()
    assert run.status == "interrupted"
    with pytest.raises(InputError, match="fewer than two finished runs"):
        db.last_two("/inv.yaml")


# ---------------------------------------------------------------- imports


def _verdicts(result: Any) -> dict[str, tuple[str, frozenset[tuple[str, str, str]]]]:
    return {
        t["name"]: (
            t["verdict"],
            frozenset((f["rule"], f["resource"], f["status"]) for f in t["findings"]),
        )
        for t in result.json()["targets"]
    }


def _changes_only(lab_inventory: Path, target: Path, keep_aws: bool = True) -> Path:
    data = yaml.safe_load(lab_inventory.read_text())
    for server in data["servers"]:
        del server["address"]
        server.pop("ssh", None)
        if not keep_aws:
            server.pop("aws", None)
    target.write_text(yaml.safe_dump(data))
    return target


def test_ansible_inventory_audits_the_same_as_the_yaml(
    lab: Lab, lab_inventory: Path, tmp_path: Path
) -> None:
    reference = run_auditor("audit", str(lab_inventory), "-f", "json")
    changes = _changes_only(lab_inventory, tmp_path / "changes.yaml")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(
        yaml.safe_dump(
            {"ansible_user": "root", "ansible_ssh_private_key_file": str(lab.client_key)}
        )
    )
    hosts = tmp_path / "hosts.ini"
    hosts.write_text(
        "[bastions]\n"
        f"hardened ansible_host={lab.ip('hardened')}\n\n"
        "[web]\n"
        f"vendor-built ansible_host={lab.ip('vendor-built')} ansible_port=22\n\n"
        "[prod:children]\nbastions\nweb\n"
    )
    imported = run_auditor("audit", str(changes), "--ansible", str(hosts), "-f", "json")
    assert imported.code == reference.code == 1
    assert _verdicts(imported) == _verdicts(reference)
    tags = {t["name"]: t["tags"] for t in imported.json()["targets"]}
    assert tags["vendor-built"]["ansible_groups"] == "prod,web"


def test_terraform_state_audits_the_same_as_the_yaml(
    lab: Lab, lab_inventory: Path, tmp_path: Path
) -> None:
    reference = run_auditor("audit", str(lab_inventory), "-f", "json")
    ids = lab.cloud_ids()
    assert ids is not None
    changes = _changes_only(lab_inventory, tmp_path / "changes.yaml", keep_aws=False)
    data = yaml.safe_load(changes.read_text())
    data["defaults"]["ssh"] = {
        "user": "root",
        "identity_file": str(lab.client_key),
        "known_hosts": str(lab.known_hosts),
    }
    changes.write_text(yaml.safe_dump(data))

    def resource(kind: str, name: str, values: dict[str, Any]) -> dict[str, Any]:
        return {"address": f"{kind}.{name}", "type": kind, "name": name, "values": values}

    state = {
        "format_version": "1.0",
        "values": {
            "root_module": {
                "resources": [
                    resource(
                        "aws_instance",
                        "bastion",
                        {
                            "id": ids.good_instance,
                            "private_ip": lab.ip("hardened"),
                            "tags": {"Name": "hardened"},
                        },
                    ),
                    resource(
                        "aws_s3_bucket",
                        "logs",
                        {"bucket": "infra-audit-logs", "tags": {"Server": "hardened"}},
                    ),
                ],
                "child_modules": [
                    {
                        "resources": [
                            resource(
                                "aws_instance",
                                "web",
                                {
                                    "id": ids.vendor_instance,
                                    "private_ip": lab.ip("vendor-built"),
                                    "tags": {"Name": "vendor-built"},
                                },
                            ),
                            resource(
                                "aws_s3_bucket",
                                "exports",
                                {
                                    "bucket": "vendor-acme-exports",
                                    "tags": {"Server": "vendor-built"},
                                },
                            ),
                            resource(
                                "aws_db_instance",
                                "db",
                                {
                                    "identifier": "vendor-acme-db",
                                    "tags": {"Server": "vendor-built"},
                                },
                            ),
                        ]
                    }
                ],
            }
        },
    }
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state))
    imported = run_auditor("audit", str(changes), "--terraform", str(state_file), "-f", "json")
    assert imported.code == reference.code == 1
    assert _verdicts(imported) == _verdicts(reference)


# ---------------------------------------------------------------- CI use


def test_pre_deploy_hook_blocks_on_no_go_and_passes_on_go(lab: Lab, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = REPO / "scripts" / "pre-deploy-gate.sh"
    env = {
        **os.environ,
        "AUDITOR": f"{sys.executable} -m auditor",
        "AUDIT_OUT": str(tmp_path / "out"),
    }
    go_inventory = lab.write_inventory(tmp_path / "go.yaml", ["hardened"])
    go = subprocess.run(
        [str(script), str(go_inventory), "--no-history"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert go.returncode == 0, go.stderr
    assert "pre-deploy gate: GO" in go.stdout
    for name in ("report.json", "report.sarif", "junit.xml", "report.html", "summary.md"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    no_go_inventory = lab.write_inventory(tmp_path / "no-go.yaml", ["vendor-built"])
    no_go = subprocess.run(
        [str(script), str(no_go_inventory), "--no-history"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert no_go.returncode == 1
    assert "NO-GO (blocking findings" in no_go.stderr


def test_ci_examples_are_valid_and_use_real_options() -> None:
    from click.testing import CliRunner

    from auditor.cli import cli

    help_text = CliRunner().invoke(cli, ["audit", "--help"]).output
    for example in ("github-actions.yml", "gitlab-ci.yml"):
        text = (REPO / "docs" / "examples" / example).read_text()
        yaml.safe_load(text)
        for option in ("--waivers", "-f", "-o"):
            assert option in text and option in help_text
        for fmt in ("sarif", "junit", "json", "html", "markdown"):
            if f"-f {fmt}" in text:
                assert fmt in help_text


def test_the_github_action_is_a_valid_composite_that_runs_real_options() -> None:
    from click.testing import CliRunner

    from auditor.cli import cli

    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert action["inputs"]["inventory"]["required"] is True
    steps = action["runs"]["steps"]
    assert all("shell" in s for s in steps if "run" in s)  # composite run steps need a shell
    audit = next(s for s in steps if s.get("id") == "audit")["run"]
    help_text = CliRunner().invoke(cli, ["audit", "--help"]).output
    for option in ("--fail-on", "--waivers", "-f"):
        assert option in audit and option in help_text
    for fmt in ("sarif", "junit", "html", "markdown"):
        assert f"-f {fmt}=" in audit
    uses = [s["uses"] for s in steps if "uses" in s]
    assert "github/codeql-action/upload-sarif@v3" in uses
