"""The whole command, run as users and CI run it: exit codes 0/1/2/3 and valid reports."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import (
    LISTENER_NETWORK,
    REPO,
    Listeners,
    run_auditor,
    validate,
    write_inventory,
)
from tests.lab.lab import Lab
from tests.lab.services import Redis, stop_group, wait_for_port

DEMO_HOSTS = ["hardened", "vendor-built"]


def _change(*ports: int) -> dict[str, Any]:
    return {
        "id": "CHG-7",
        "approved": True,
        "exposes": [{"port": p, "service": "app", "to": "internal"} for p in ports],
    }


def test_exit_0_when_every_server_matches_its_change_record(
    listeners: Listeners, tmp_path: Path
) -> None:
    ip, port = listeners.open(40, 8081)
    inventory = write_inventory(
        tmp_path / "inv.yaml",
        [{"name": "app-01", "address": ip, "ports": "8080-8090", "change": _change(port)}],
    )
    result = run_auditor("audit", str(inventory), "-f", "json")
    assert result.code == 0, result.stderr
    report = result.json()
    validate(report)
    assert report["verdict"] == "go"
    (target,) = report["targets"]
    assert target["complete"] is True and target["verdict"] == "go"
    # No progress noise when stderr is not a terminal: only the verdict, since stdout
    # carries JSON and no table (issue 11).
    assert result.stderr == "auditor: GO: 1 of 1 server(s) may go live\n"


def test_exit_1_and_findings_for_the_lab(lab: Lab, tmp_path: Path) -> None:
    inventory = lab.write_inventory(tmp_path / "lab.yaml", DEMO_HOSTS)
    result = run_auditor("audit", str(inventory), "-f", "json")
    assert result.code == 1, result.stderr
    report = result.json()
    validate(report)
    verdicts = {t["name"]: t["verdict"] for t in report["targets"]}
    assert verdicts == {"hardened": "go", "vendor-built": "no-go"}
    vendor = next(t for t in report["targets"] if t["name"] == "vendor-built")
    failing = {(f["rule"], f["resource"]) for f in vendor["findings"] if f["status"] == "fail"}
    assert ("baseline.sensitive-port-undeclared", "port:6379/tcp") in failing
    assert all(t["complete"] for t in report["targets"])


def test_table_output_shows_verdicts_and_reasons(lab: Lab, tmp_path: Path) -> None:
    inventory = lab.write_inventory(tmp_path / "lab.yaml", DEMO_HOSTS)
    result = run_auditor("audit", str(inventory))
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("hardened") and " GO " in line for line in lines)
    assert any(line.startswith("vendor-built") and "NO-GO" in line for line in lines)
    assert any("baseline.sensitive-port-undeclared" in line and "6379" in line for line in lines)
    assert lines[-1].startswith("NO-GO: 1 of 2 server(s) may go live")


def test_several_formats_at_once(lab: Lab, tmp_path: Path) -> None:
    inventory = lab.write_inventory(tmp_path / "lab.yaml", DEMO_HOSTS)
    out = tmp_path / "report.json"
    result = run_auditor("audit", str(inventory), "-f", "json", "-o", str(out), "-f", "table")
    assert result.code == 1
    validate(json.loads(out.read_text()))
    assert "NO-GO" in result.stdout


def test_exit_2_for_bad_input_and_nothing_on_stdout(tmp_path: Path) -> None:
    bad = REPO / "tests" / "data" / "inventories" / "bad" / "address-out-of-scope.yaml"
    result = run_auditor("audit", str(bad), "-f", "json")
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "outside the inventory scope" in result.stderr
    usage = run_auditor("audit", str(bad), "-o", str(tmp_path / "x"), "-o", str(tmp_path / "y"))
    assert usage.code == 2
    # -o without a format, and no extension to tell it: refused, pointing at FORMAT=FILE.
    assert "cannot tell the format" in usage.stderr and "-f FORMAT=" in usage.stderr
    param = run_auditor("audit", str(REPO / "inventories" / "lab.yaml"), "--param", "nodot=1")
    assert param.code == 2
    missing = run_auditor("audit", str(tmp_path / "does-not-exist.yaml"))
    assert missing.code == 2 and "file not found" in missing.stderr


def test_exit_3_when_a_probe_times_out(listeners: Listeners, tmp_path: Path) -> None:
    ip, port = listeners.open(41, 8081)
    inventory = write_inventory(
        tmp_path / "inv.yaml",
        [{"name": "slow", "address": ip, "ports": "1-65535", "change": _change(port)}],
    )
    result = run_auditor("audit", str(inventory), "-f", "json", "--timeout", "0.01")
    assert result.code == 3, result.stdout
    report = result.json()
    validate(report)
    (target,) = report["targets"]
    assert target["complete"] is False
    assert target["verdict"] == "no-go"  # fail closed: incomplete is never GO
    assert target["errors"][0]["probe"] == "ports"
    assert "host timeout" in target["errors"][0]["message"]
    assert not any(
        f["status"] == "pass" and f["resource"].startswith("port") for f in target["findings"]
    )


def test_findings_beat_incomplete_for_the_exit_code(listeners: Listeners, tmp_path: Path) -> None:
    ip, _ = listeners.open(42, 8081)
    inventory = write_inventory(
        tmp_path / "inv.yaml",
        [
            {"name": "slow", "address": ip, "ports": "1-65535", "change": _change(8081)},
            {"name": "unapproved", "address": "127.79.0.43", "ports": "1-65535"},
        ],
    )
    result = run_auditor("audit", str(inventory), "-f", "json", "--timeout", "0.01")
    assert result.code == 1


def test_fail_on_sets_the_blocking_severity(listeners: Listeners, tmp_path: Path) -> None:
    ip, _ = listeners.open(44, 8081)
    inventory = write_inventory(
        tmp_path / "inv.yaml",
        [{"name": "a", "address": ip, "ports": "8080-8090", "change": _change(8081, 8082)}],
    )
    # 8082 is declared but closed: an info finding, blocking only with --fail-on info.
    assert run_auditor("audit", str(inventory)).code == 0
    assert run_auditor("audit", str(inventory), "--fail-on", "info").code == 1


def test_scan_without_an_inventory(listeners: Listeners) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    try:
        result = run_auditor("scan", "127.0.0.1", "--rules", "baseline", "-f", "json")
    finally:
        sock.close()
    report = result.json()
    validate(report)
    assert result.code == 0, result.stderr  # no change record: open ports are information
    (target,) = report["targets"]
    assert target["name"] == "127.0.0.1" and target["complete"] is True
    failing = {f["resource"]: f for f in target["findings"] if f["status"] == "fail"}
    assert failing[f"port:{port}/tcp"]["severity"] == "info"  # listed for the reader
    # An ad-hoc scan has no change record by design: it is not failed for lacking one
    # (issue 11), and the report says that no change record was checked.
    change = [f for f in target["findings"] if f["rule"] == "baseline.change-record"]
    assert [f["status"] for f in change] == ["skip"]
    assert any("no change record was checked" in n for n in target["notes"])


def test_scan_of_a_host_where_nothing_answered_says_so_instead_of_go(
    listeners: Listeners,
) -> None:
    """Issue 23: an address where nothing answered was GO."""
    result = run_auditor("scan", f"{LISTENER_NETWORK}.96", "-p", "1", "--no-history", "-f", "json")
    assert result.code == 1, result.stdout + result.stderr
    (target,) = result.json()["targets"]
    (answered,) = [f for f in target["findings"] if f["rule"] == "baseline.host-answered"]
    assert answered["status"] == "fail" and "nothing answered" in answered["message"]
    refused = run_auditor(
        "scan", f"{LISTENER_NETWORK}.96", "-p", "1,22", "--no-history", "-f", "json"
    )  # port 22 scanned but refused: no SSH server, so the SSH checks do not apply
    assert "port 22 refused the connection" in refused.stderr
    assert refused.json()["targets"][0]["complete"] is True


def test_scan_judges_what_answers_and_lists_open_ports_as_information(
    tmp_path: Path,
) -> None:
    """Issue 23: with the baseline pack alone every open port was a high "undeclared"
    NO-GO, and an open Redis showed only with --rules services. Now a real Redis without a
    password fails the services check by default, its port is information, and the draft
    inventory that --emit-inventory writes is a valid inventory declaring it."""
    ip = f"{LISTENER_NETWORK}.91"
    redis = Redis(port=6390).start(ip, tmp_path)
    try:
        wait_for_port(ip, 6390, redis, timeout=10)
        draft = tmp_path / "draft.yaml"
        result = run_auditor(
            "scan", ip, "-p", "6390", "--no-history", "-f", "json",
            "--emit-inventory", str(draft),
        )  # fmt: skip
    finally:
        stop_group(redis.pid)
    assert result.code == 1, result.stderr
    assert "port 22 is not among the ports scanned" in result.stderr
    (target,) = result.json()["targets"]
    assert target["complete"] is True  # no SSH server asked for: no SSH rule in error
    findings = target["findings"]
    failing = {(f["rule"], f["severity"]) for f in findings if f["status"] == "fail"}
    assert ("services.redis-unauthenticated", "critical") in failing
    assert ("baseline.open-port", "info") in failing
    assert not any("undeclared" in rule for rule, _ in failing)
    assert not any(f["rule"].startswith(("sshd.", "host.")) for f in findings)
    text = draft.read_text()
    assert "port: 6390" in text and "approved: false" in text
    assert run_auditor("inventory", "check", str(draft)).code == 0


def test_two_host_port_targets_stay_apart_in_the_table(listeners: Listeners) -> None:
    """Issue 23: both `127.0.131.1:2222` and `:2223` were cut to `127.0.131.1…`."""
    ip, first = listeners.open(93, 2222)
    _, second = listeners.open(93, 2223)
    result = run_auditor(
        "scan", f"{ip}:{first}", f"{ip}:{second}", "--rules", "baseline", "--no-history",
        env={"COLUMNS": "80"},
    )  # fmt: skip
    rows = [line.split()[0] for line in result.stdout.splitlines()[2:] if line.strip()]
    shown = {row for row in rows if row.endswith(("2222", "2223"))}
    assert len(shown) == 2, result.stdout


def test_scan_host_port_and_cidr_forms(listeners: Listeners) -> None:
    ip, port = listeners.open(97, 2222)
    result = run_auditor(
        "scan", f"{ip}:{port}", "--rules", "baseline", "-f", "json", "--no-history"
    )
    (target,) = result.json()["targets"]
    assert target["address"] == ip and target["name"] == f"{ip}:{port}"
    undeclared = {f["resource"] for f in target["findings"] if f["status"] == "fail"}
    assert f"port:{port}/tcp" in undeclared
    ranged = run_auditor(
        "scan", f"{LISTENER_NETWORK}.96/30", "--ports", "1", "-f", "json", "--no-history"
    )
    names = [t["name"] for t in ranged.json()["targets"]]
    assert names == [f"{LISTENER_NETWORK}.97", f"{LISTENER_NETWORK}.98"], ranged.stderr
    ranged_ports = run_auditor(
        "scan", f"{ip}:{port - 1}-{port + 1}", "--rules", "baseline", "-f", "json", "--no-history"
    )  # a port range after the host (issue 23)
    (target,) = ranged_ports.json()["targets"]
    assert {f["resource"] for f in target["findings"] if f["status"] == "fail"} == {
        f"port:{port}/tcp"
    }, ranged_ports.stderr
    too_wide = run_auditor("scan", "127.79.0.0/16", "--no-history")
    assert too_wide.code == 2 and "more than 256" in too_wide.stderr


def test_scan_refuses_nothing_outside_its_hosts() -> None:
    result = run_auditor("scan", "127.79.0.50", "--ports", "22", "-f", "json")
    report = result.json()
    assert [t["ip"] for t in report["targets"]] == ["127.79.0.50"]


def test_help_and_version() -> None:
    for args in (["--help"], ["audit", "--help"], ["scan", "--help"], ["rules", "--help"]):
        result = run_auditor(*args)
        assert result.code == 0 and "Usage:" in result.stdout
    assert "Examples:" in run_auditor("audit", "--help").stdout
    assert run_auditor("--version").stdout.startswith("auditor, version ")


def test_lab_inventory_file_matches_the_lab() -> None:
    """inventories/lab.yaml is hand-commented; it must still say what the lab is."""
    from tests.lab.__main__ import demo_lab

    committed = yaml.safe_load((REPO / "inventories" / "lab.yaml").read_text())
    generated = demo_lab().inventory()
    for server in committed["servers"]:
        server["change"]["go_live"] = str(server["change"]["go_live"])
    committed["defaults"]["ports"] = str(committed["defaults"]["ports"])
    if (
        committed["defaults"]["ssh"]["identity_file"]
        != generated["defaults"]["ssh"]["identity_file"]
    ):
        pytest.skip("AUDITOR_LAB_DIR moves the demo key; the file names the default one")
    assert committed == generated


def test_output_routing_cannot_send_a_format_to_the_wrong_file(tmp_path: Path) -> None:
    """Issue 11: `-f table -f json -o a.json -f html -o a.html` wrote the table into a.json.
    Issue 23: by the one rule (-o takes its format from the extension) it means what it says."""
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "version: 1\nscope: [127.79.0.0/24]\n"
        "servers: [{name: a, address: 127.79.0.95, ports: '1'}]\n"
    )
    a_json, a_html = tmp_path / "a.json", tmp_path / "a.html"
    mixed = ("-f", "table", "-f", "json", "-o", str(a_json), "-f", "html", "-o", str(a_html))
    result = run_auditor("audit", str(inventory), "--no-history", *mixed)
    assert result.code in (0, 1, 3), result.stderr
    assert a_json.read_text().lstrip().startswith("{")
    assert a_html.read_text().lstrip().lower().startswith("<!doctype html")
    assert "verdict" in result.stdout  # the table, on stdout
    a_json.unlink()
    inferred = run_auditor("audit", str(inventory), "--no-history", "-o", str(a_json))
    assert inferred.code in (0, 1, 3)
    assert a_json.read_text().lstrip().startswith("{")  # format from .json
    assert "verdict" in inferred.stdout  # and the table stays on stdout


def test_the_param_help_example_works_and_errors_name_the_command_line(tmp_path: Path) -> None:
    from auditor.cli.options import PARAM_EXAMPLE

    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "version: 1\nscope: [127.79.0.0/24]\n"
        "servers: [{name: a, address: 127.79.0.99, ports: '1', rules: [ssh]}]\n"
    )
    ok = run_auditor("audit", str(inventory), "--param", PARAM_EXAMPLE, "--no-history")
    assert ok.code in (0, 1, 3), ok.stderr  # probed: the parameter was accepted
    wrong = run_auditor("audit", str(inventory), "--param", "ssh.max-auth-tries.max=[3]")
    assert wrong.code == 2
    assert wrong.stderr.startswith("auditor: error: --param: ssh.max-auth-tries.max: expected")
    unknown = run_auditor("audit", str(inventory), "--param", "ssh.max-auth-tries.limit=3")
    assert unknown.code == 2 and "--param: rule ssh.max-auth-tries has no parameter" in (
        unknown.stderr
    )


def test_the_table_fits_the_terminal_and_colours_only_when_asked(listeners: Listeners) -> None:
    ip, _ = listeners.open(98, 6399)
    listeners.open(98, 8081)
    # Open ports of a scan are information: --fail-on info makes them block, for a NO-GO.
    base = ("scan", ip, "--ports", "6399,8081", "--rules", "baseline", "--no-history")
    base += ("--fail-on", "info")
    for columns in ("80", "120"):
        result = run_auditor(*base, env={"COLUMNS": columns})
        assert result.code == 1, result.stderr
        widest = max(len(line) for line in result.stdout.splitlines())
        assert widest <= int(columns), (widest, result.stdout)
        assert "\x1b[" not in result.stdout  # piped: no colour by default
    coloured = run_auditor(*base, "--color", "always")
    assert "\x1b[1;31mNO-GO\x1b[0m" in coloured.stdout
    plain = run_auditor(*base, "--color", "auto", env={"NO_COLOR": "1"})
    assert "\x1b[" not in plain.stdout


def test_verbosity_flags_work_after_the_subcommand(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "version: 1\nscope: [127.79.0.0/24]\n"
        "servers: [{name: a, address: 127.79.0.103, ports: '1', "
        "change: {id: C, approved: true}}]\n"
    )
    quiet = run_auditor("audit", str(inventory), "-q", "-f", "json")
    assert quiet.code == 0 and quiet.stderr == ""
    loud = run_auditor("audit", str(inventory), "-v", "-f", "json")
    assert loud.code == 0 and "INFO: recorded as run" in loud.stderr


def test_selection_filters_and_environment_options(listeners: Listeners, tmp_path: Path) -> None:
    ip, _ = listeners.open(104, 6379)
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        f"version: 1\nscope: [127.79.0.0/24]\nservers: [{{name: a, address: {ip}, "
        "ports: '6379', change: {id: C, approved: true}}]\n"
    )
    every = run_auditor("audit", str(inventory), "-f", "json", "--no-history").json()
    rules = {f["rule"] for f in every["targets"][0]["findings"]}
    assert {"baseline.change-record", "baseline.sensitive-port-undeclared"} <= rules
    only = run_auditor(
        "audit", str(inventory), "-f", "json", "--no-history", "--only", "baseline.sens*"
    ).json()
    assert {f["rule"] for f in only["targets"][0]["findings"]} == {
        "baseline.sensitive-port-undeclared"
    }
    skipped = run_auditor(
        "audit", str(inventory), "-f", "json", "--no-history", "--skip", "baseline.sens*"
    ).json()
    assert "baseline.sensitive-port-undeclared" not in {
        f["rule"] for f in skipped["targets"][0]["findings"]
    }
    typo = run_auditor("audit", str(inventory), "--only", "baseline.sensitiv-*")
    assert typo.code == 2 and "matches no rule" in typo.stderr
    # --severity filters what is shown; the gate still follows --fail-on.
    shown = run_auditor(
        "audit", str(inventory), "-f", "json", "--no-history", "--severity", "critical"
    )
    assert shown.code == 1
    severities = {f["severity"] for f in shown.json()["targets"][0]["findings"]}
    assert severities == {"critical"}
    # Every option also comes from the environment: AUDITOR_<COMMAND>_<OPTION>.
    env = run_auditor(
        "audit",
        str(inventory),
        "--no-history",
        "--only",
        "baseline.change-record",
        env={"AUDITOR_AUDIT_FAIL_ON": "critical", "AUDITOR_FORMAT": "json"},
    )
    assert env.code == 0 and env.json()["fail_on"] == "critical"


def test_rules_list_filters_and_json() -> None:
    import json

    result = run_auditor("rules", "list", "--pack", "ssh", "--severity", "high", "-f", "json")
    assert result.code == 0, result.stderr
    entries = json.loads(result.stdout)
    assert entries and all(e["pack"] == "ssh" for e in entries)
    assert all(e["severity"] in ("high", "critical") for e in entries)


def test_full_facts_are_written_once_per_server_only_when_asked(listeners: Listeners) -> None:
    ip, port = listeners.open(107, 8443)
    base = ("scan", ip, "--ports", str(port), "-f", "json", "--no-history", "--timeout", "5")
    plain = run_auditor(*base).json()["targets"][0]
    assert "facts" not in plain
    full = run_auditor(*base, "--include-facts").json()["targets"][0]
    assert [p["number"] for p in full["facts"]["ports"]["ports"]] == [port]
    # Findings still carry only what their rule read.
    listed = next(f for f in full["findings"] if f["rule"] == "baseline.open-port")
    assert set(listed["evidence"]) == {"port"}


def test_scan_of_a_hardened_sshd_is_go_with_its_ssh_checks(lab: Lab) -> None:
    """Issue 23: a hardened sshd was a high "undeclared" NO-GO under `auditor scan`. Now
    its port is information and the SSH checks before login run, and pass."""
    result = run_auditor(
        "scan", lab.ip("hardened"), "-p", "22", "--no-history", "-f", "json", "--timeout", "30"
    )
    assert result.code == 0, result.stdout + result.stderr
    (target,) = result.json()["targets"]
    assert target["complete"] is True
    ssh = [f for f in target["findings"] if f["rule"].startswith("ssh.")]
    assert len(ssh) >= 10 and {f["status"] for f in ssh} <= {"pass", "skip"}
    (port,) = [f for f in target["findings"] if f["rule"] == "baseline.open-port"]
    assert port["severity"] == "info"
