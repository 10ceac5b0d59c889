"""Issue 10: files other people wrote are bounded, and every bad one is exit 2 in one line.

Each case runs the real CLI (a fresh `python -m auditor`) on a hostile file: an alias bomb,
a file over the size limit, deep nesting, control bytes, an impossible date, a broken
Ansible or Terraform file, a rule pack that reaches outside its folder, a CEL bomb. None
may take long, print a traceback, or exit with anything but 2.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import CliResult, run_auditor

SERVER = "servers: [{name: a, address: 127.79.0.160}]\n"
HEAD = "version: 1\nscope: [127.79.0.0/24]\n"


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join(f"*a{i - 1}" for _ in range(9))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _one_line_exit_2(result: CliResult, elapsed: float, *needles: str) -> None:
    assert result.code == 2, (result.code, result.stderr[-2000:])
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert elapsed < 10, f"took {elapsed:.1f}s"


def _check(path: Path, *extra: str) -> tuple[CliResult, float]:
    started = time.monotonic()
    result = run_auditor("inventory", "check", str(path), *extra)
    return result, time.monotonic() - started


def test_alias_bomb_in_an_inventory(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + _alias_bomb() + SERVER)
    _one_line_exit_2(*_check(path), "expands to more than")


def test_alias_bomb_in_a_rule_pack(tmp_path: Path) -> None:
    pack = tmp_path / "bomb.yaml"
    pack.write_text("format: 1\npack: bomb\n" + _alias_bomb() + "rules: []\n")
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + "defaults: {rules: [./bomb.yaml]}\n" + SERVER)
    _one_line_exit_2(*_check(path), "bomb.yaml", "expands to more than")


def test_alias_bomb_in_a_waivers_file(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("version: 1\n" + _alias_bomb() + "waivers: []\n")
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + SERVER)
    started = time.monotonic()
    result = run_auditor("audit", str(path), "--waivers", str(waivers), "--no-history")
    _one_line_exit_2(result, time.monotonic() - started, "expands to more than")


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    with path.open("w") as handle:
        handle.write(HEAD + "servers:\n")
        for i in range(120_000):
            handle.write(f"  - {{name: s{i}, address: 127.79.0.1}}  # padding padding\n")
    assert path.stat().st_size > 4 * 1024 * 1024
    _one_line_exit_2(*_check(path), "more than the limit")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + "x: " + "[" * 300 + "]" * 300 + "\n" + SERVER)
    _one_line_exit_2(*_check(path), "nested deeper than")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("go_live: 2026-02-30", "ISO date"),
        ("id: \x00x", "U+0000"),
        ("id: \x1b[2Jx", "U+001B"),
        ("id: \u202egnp", "U+202E"),
    ],
)
def test_bad_values_and_bytes_are_refused_with_their_line(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        HEAD + "servers:\n  - name: a\n    address: 127.79.0.160\n    change:\n"
        f"      approved: true\n      {text}\n"
        + ("      id: C\n" if not text.startswith("id") else "")
    )
    result, elapsed = _check(path)
    _one_line_exit_2(result, elapsed, needle)
    assert "inv.yaml:" in result.stderr


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("hosts.ini", b"[web]\nweb1 ansible_host=127.79.0.161 ansible_port=notaport\n"),
        ("hosts.ini", b"[web]\nweb1 ansible_host=127.79.0.161\n\xff\xfe\n"),
        ("hosts.yml", b"all: [1, 2, 3]\n"),
        ("hosts.yml", b"all:\n  hosts:\n    web1: {ansible_host: [1, 2]}\n"),
    ],
)
def test_broken_ansible_inventories(tmp_path: Path, name: str, content: bytes) -> None:
    ansible = tmp_path / name
    ansible.write_bytes(content)
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + "servers: []\n")
    started = time.monotonic()
    result = run_auditor("audit", str(path), "--ansible", str(ansible), "--no-history")
    _one_line_exit_2(result, time.monotonic() - started)


@pytest.mark.parametrize(
    "content",
    [
        "[1, 2, 3]",
        '{"values": []}',
        '{"values": {"root_module": {"resources": [1]}}}',
        "[" * 10000 + "]" * 10000,
        "{not json",
    ],
)
def test_broken_terraform_state(tmp_path: Path, content: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + "servers: []\n")
    started = time.monotonic()
    result = run_auditor("audit", str(path), "--terraform", str(state), "--no-history")
    _one_line_exit_2(result, time.monotonic() - started, "state.json")


def test_a_rule_path_outside_the_inventory_folder_is_refused_unread(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "shadow.yaml").write_text("root:$6$SECRETHASH:19000:0:99999:7:::\n")
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "inv.yaml"
    path.write_text(HEAD + "defaults: {rules: [../secret/shadow.yaml]}\n" + SERVER)
    result, elapsed = _check(path)
    _one_line_exit_2(result, elapsed, "outside the inventory's folder")
    assert "SECRETHASH" not in result.stderr
    (folder / "linked.yaml").symlink_to(secret / "shadow.yaml")
    path.write_text(HEAD + "defaults: {rules: [./linked.yaml]}\n" + SERVER)
    result, elapsed = _check(path)
    _one_line_exit_2(result, elapsed, "outside the inventory's folder")
    assert "SECRETHASH" not in result.stderr


def test_a_nested_comprehension_bomb_is_refused_at_load(tmp_path: Path) -> None:
    items = "[" + ",".join(str(i) for i in range(10)) + "]"
    bomb = f"size({items}.map(a, {items}.map(b, {items}.map(c, {items})))) > 0"
    pack = tmp_path / "bomb.yaml"
    pack.write_text(
        "format: 1\npack: bomb\nrules:\n  - id: bomb.x\n    title: x\n    severity: low\n"
        f"    applies_to: host\n    check: '{bomb}'\n    references: [x]\n"
    )
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + "defaults: {rules: [./bomb.yaml]}\n" + SERVER)
    _one_line_exit_2(*_check(path), "bomb.yaml:8", "nested 3 deep")


def test_a_costly_rule_is_an_error_within_its_budget_not_a_hang(tmp_path: Path) -> None:
    """Depth 2 passes the load-time bound, yet costs ~50 s and 0.5 GB in the binding."""
    items = "[" + ",".join(str(i) for i in range(100, 250)) + "]"
    costly = f"size({items}.map(a, {items}.map(b, {items}))) > 0"
    pack = tmp_path / "costly.yaml"
    pack.write_text(
        "format: 1\npack: costly\nrules:\n"
        "  - id: costly.x\n    title: x\n    severity: low\n    applies_to: host\n"
        f"    check: '{costly}'\n    references: [x]\n"
        "  - id: costly.fine\n    title: fine\n    severity: low\n    applies_to: host\n"
        "    check: 'change.approved'\n    references: [x]\n"
    )
    path = tmp_path / "inv.yaml"
    path.write_text(
        HEAD + "servers: [{name: a, address: 127.79.0.160, rules: [./costly.yaml], "
        "change: {id: C, approved: true}}]\n"
    )
    started = time.monotonic()
    result = run_auditor("audit", str(path), "-f", "json", "--no-history")
    elapsed = time.monotonic() - started
    assert result.code == 3, result.stderr
    findings = {f["rule"]: f for f in result.json()["targets"][0]["findings"]}
    assert findings["costly.x"]["status"] == "error"
    assert "budget" in findings["costly.x"]["message"]
    assert findings["costly.fine"]["status"] == "pass"
    assert elapsed < 30


@pytest.mark.parametrize("option", ["-o", "--history"])
def test_unwritable_outputs_and_history_are_exit_2_before_any_probe(
    tmp_path: Path, option: str
) -> None:
    """A path under a regular file cannot be created, by root either. The server is a
    tarpit: had anything been probed first, the run would take the whole timeout."""
    path = tmp_path / "inv.yaml"
    path.write_text(
        HEAD + "servers: [{name: a, address: 127.79.0.83, rules: [services], ports: '7'}]\n"
    )
    not_a_folder = tmp_path / "plain-file"
    not_a_folder.write_text("x")
    target = str(not_a_folder / "out")
    extra = ["-f", "json"] if option == "-o" else []
    started = time.monotonic()
    result = run_auditor("audit", str(path), *extra, option, target, "--timeout", "30")
    _one_line_exit_2(result, time.monotonic() - started, "plain-file")


def test_an_output_that_is_a_folder_is_exit_2_before_any_probe(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + SERVER)
    started = time.monotonic()
    result = run_auditor("audit", str(path), "-f", "json", "-o", str(tmp_path), "--no-history")
    _one_line_exit_2(result, time.monotonic() - started, "is a directory")


def test_a_history_file_that_is_not_sqlite_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + SERVER)
    history = tmp_path / "history.sqlite"
    history.write_text("this is not a database\n" * 100)
    started = time.monotonic()
    result = run_auditor("audit", str(path), "--history", str(history))
    _one_line_exit_2(result, time.monotonic() - started, "history database")


def test_history_is_private(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(HEAD + "servers: [{name: a, address: 127.79.0.160, ports: '1'}]\n")
    history = tmp_path / "state" / "auditor" / "history.sqlite"
    result = run_auditor("audit", str(path), "--history", str(history))
    assert result.code in (0, 1, 3), result.stderr
    assert history.stat().st_mode & 0o777 == 0o600
    assert history.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    ("address", "needle"),
    [
        ("127.0.94.010", "standard form"),
        ("2130730250", "standard form"),
        ("0x7f.1", "standard form"),
        ("127.0.93.1-20", "standard form"),
    ],
)
def test_address_forms_the_resolver_would_misread_are_refused(address: str, needle: str) -> None:
    started = time.monotonic()
    result = run_auditor("scan", address, "--ports", "1", "--no-history")
    _one_line_exit_2(result, time.monotonic() - started, needle)


def test_an_ipv4_mapped_address_is_judged_as_ipv4(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: ['::ffff:0:0/96']\n"
        "servers: [{name: a, address: '::ffff:127.79.0.162', ports: '1'}]\n"
    )
    result, elapsed = _check(path)
    _one_line_exit_2(result, elapsed, "scope")
    path.write_text(
        "version: 1\nscope: [127.79.0.0/24]\n"
        "servers: [{name: a, address: '::ffff:127.79.0.162', ports: '1'}]\n"
    )
    result = run_auditor("inventory", "check", str(path))
    assert result.code == 0, result.stderr


def test_a_plain_http_cloud_endpoint_to_another_host_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        HEAD
        + "cloud: {aws: {regions: [eu-west-1], endpoint_url: 'http://s3.example.com'}}\n"
        + SERVER
    )
    _one_line_exit_2(*_check(path), "cloud.aws.endpoint_url", "https")


@pytest.mark.parametrize(
    "content",
    [
        "root:$6$CANARY-hash:19000:0:99999:7:::\n",
        "CANARY: value\n",
        "rules_x: 1\nCANARY-key-of-a-real-pack-typo: 2\nformat: 1\n",
        'key: "CANARY unterminated\n',
        "- CANARY\n",
    ],
)
def test_a_file_that_is_not_a_pack_is_never_quoted(tmp_path: Path, content: str) -> None:
    """Issue 24 #18: a shadow-like file in --rules-dir had its first line echoed."""
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(HEAD + SERVER)
    for command, folder in (
        (("rules", "list", "--rules-dir"), "rules"),  # reads every pack of the folder
        (("audit", str(inventory), "--service-checks-dir"), "checks"),
    ):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "shadow.yaml").write_text(content)
        result = run_auditor(*command, str(tmp_path / folder))
        assert result.code == 2, result.stderr
        assert "CANARY" not in result.stderr + result.stdout, result.stderr
        assert result.stderr.count("\n") == 1
