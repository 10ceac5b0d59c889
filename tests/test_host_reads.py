"""The host probe's read-only commands run for real (`sh -c`, as the SSH session runs them),
as root and as an unprivileged user, on files the tests lay out: what a command cannot
prove is an error, never an empty answer (issue 24 #3)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.probes.ssh.commands import command
from auditor.probes.ssh.hostnet import firewall_facts, log_targets_leave

NOBODY = 65534


def _run(line: str, *, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    argv = ["sh", "-c", line]
    if as_nobody:
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "srv"
    old = root / "locked" / "inner" / "data" / "old.csv"
    old.parent.mkdir(parents=True)
    old.write_text("personal\n")
    then = time.time() - 200 * 86400
    os.utime(old, (then, then))
    for folder in (tmp_path, root, root / "locked" / "inner", old.parent):
        folder.chmod(0o755)
    (root / "locked").chmod(0o700)  # a grandparent the login user cannot search
    return root


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_a_data_path_behind_an_unsearchable_folder_is_an_error_not_empty(data: Path) -> None:
    """On main: "missing", so 0 files and a pass, when the login user could not search a
    grandparent of the data path."""
    path = str(data / "locked" / "inner" / "data")
    line = command("retention", sudo="", path=path, days="90")
    hidden = _run(line, as_nobody=True)
    assert hidden.returncode != 0 and "cannot search" in hidden.stderr
    seen = _run(line)  # root (or sudo) sees the file
    assert seen.returncode == 0 and seen.stdout.split()[0] == "1"
    beside = command("retention", sudo="", path=str(data / "locked" / "nope"), days="90")
    assert _run(beside, as_nobody=True).returncode != 0  # absent? nobody can tell


def test_only_a_path_proven_absent_is_missing(data: Path) -> None:
    absent = command("retention", sudo="", path=str(data / "never" / "made"), days="90")
    assert _run(absent).stdout.strip() == "missing"
    file_path = data / "a-file"
    file_path.write_text("x")
    not_folder = command("retention", sudo="", path=str(file_path), days="90")
    result = _run(not_folder)
    assert result.returncode != 0 and "not a folder" in result.stderr


# ---------------------------------------------------------------- firewall (issue 24 #4)

NFT_RULESETS = {
    "accept-all input hook": (
        "table inet filter {\n chain input {\n  type filter hook input priority 0;"
        " policy accept;\n  tcp dport 22 accept\n }\n}\n",
        False,
    ),
    "policy drop": (
        "table inet filter {\n chain input {\n  type filter hook input priority 0;"
        " policy drop;\n  ct state established,related accept\n  tcp dport 22 accept\n }\n}\n",
        True,
    ),
    "accept policy ending in a counted drop": (
        "table inet filter {\n chain input {\n  type filter hook input priority 0;"
        " policy accept;\n  tcp dport 22 accept\n  counter drop\n }\n}\n",
        True,
    ),
    "drop only on the output hook": (
        "table inet filter {\n chain output {\n  type filter hook output priority 0;"
        " policy drop;\n }\n chain input {\n  type filter hook input priority 0;"
        " policy accept;\n }\n}\n",
        False,
    ),
    "conditional reject is not a default": (
        "table inet filter {\n chain input {\n  type filter hook input priority 0;"
        " policy accept;\n  tcp dport 6379 reject\n }\n}\n",
        False,
    ),
}


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"auditor-fw-{os.getpid()}"
    if shutil.which("nft") is None or os.geteuid() != 0:
        pytest.skip("needs root and nftables (make system-deps)")
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.mark.parametrize("name", sorted(NFT_RULESETS))
def test_nftables_rulesets_are_judged_by_their_default(
    netns: str, tmp_path: Path, name: str
) -> None:
    """A real ruleset loaded into a network namespace the test made, listed by nft."""
    ruleset, denies = NFT_RULESETS[name]
    (tmp_path / "rules.nft").write_text(ruleset)
    subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", str(tmp_path / "rules.nft")],
                   check=True)  # fmt: skip
    listed = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "list", "ruleset"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    facts = firewall_facts("tool=nft\n" + listed)
    assert facts["active"] is denies, (name, listed)


@pytest.mark.parametrize(
    ("rules", "denies"),
    [
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n", False),
        ("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n", True),
        (
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n",
            True,
        ),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 23 -j DROP\nCOMMIT\n", False),
    ],
)
def test_iptables_rulesets_are_judged_by_their_default(
    netns: str, tmp_path: Path, rules: str, denies: bool
) -> None:
    if shutil.which("iptables-restore") is None:
        pytest.skip("iptables not installed")
    subprocess.run(["ip", "netns", "exec", netns, "iptables-restore"], input=rules,
                   text=True, check=True)  # fmt: skip
    listed = subprocess.run(
        ["ip", "netns", "exec", netns, "iptables", "-S"], capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    assert firewall_facts("tool=iptables\n" + listed)["active"] is denies, listed


# ---------------------------------------------------------------- log forwarding


@pytest.mark.parametrize(
    ("rsyslog", "journal", "leaves"),
    [
        ("*.* @localhost:514\n", "", False),  # on main: counted as forwarding
        ("*.* @@127.0.0.1:514\n", "", False),
        ("*.* @@logs.example.net:6514\n", "", True),
        ("auth.* @[2001:db8::5]:514\n", "", True),
        (
            '*.* action(type="omfwd"\n  target="siem.example.net" port="514" protocol="tcp")\n',
            "",
            True,
        ),  # on main: missed
        ('*.* action(type="omfwd" target="localhost" port="514")\n', "", False),
        ('module(load="imuxsock")\n*.* /var/log/syslog\n', "", False),
        ("", "URL=https://journal.example.net:19532\n", True),
        ("", "URL=http://localhost:19532\n", False),
    ],
)
def test_log_forwarding_means_leaving_the_host(rsyslog: str, journal: str, leaves: bool) -> None:
    text = f"== rsyslog\n{rsyslog}== journal-upload\n{journal}== end\n"
    assert log_targets_leave(text) is leaves


def test_a_cut_short_log_listing_is_unknown() -> None:
    with pytest.raises(ValueError, match="cut short"):
        log_targets_leave("== rsyslog\n*.* @localhost\n")


# ---------------------------------------------------------------- listeners (issue 24 #5)


def test_an_ipv4_mapped_loopback_listener_is_loopback(tmp_path: Path) -> None:
    """How Java binds localhost on a dual-stack socket: `[::ffff:127.0.131.60]:9301` was a
    high "reachable" finding. A real socket, listed by the real `ss`."""
    import socket

    from auditor.probes.ssh.host import _listening

    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::ffff:127.0.131.60", 0))
    sock.listen()
    port = sock.getsockname()[1]
    try:
        listed = _run(command("listening_sockets")).stdout
    finally:
        sock.close()
    (mine,) = [s for s in _listening(listed, "127.0.131.61") if s["port"] == port]
    assert mine["address"] == "127.0.131.60"
    assert mine["loopback"] is True and mine["reachable"] is False


def test_each_undeclared_socket_is_its_own_finding_and_a_waiver_covers_only_it() -> None:
    """One finding per host let a waiver for one socket hide a new Redis for 90 days."""
    import ipaddress
    from datetime import date, timedelta

    from auditor.models import ChangeRecord, Exposure, ProbeOutcome, Status, Target, Waiver
    from auditor.rules import evaluate_target, load_catalog
    from auditor.waivers import WaiverRule, WaiverSet

    rules = [r for r in load_catalog(["host"]).all_rules() if r.id == "host.undeclared-listener"]
    target = Target(
        name="web",
        address="10.0.0.5",
        ip=ipaddress.ip_address("10.0.0.5"),
        change=ChangeRecord(id="C", approved=True, exposes=(Exposure(22),)),
    )
    sockets = [
        {"address": a, "port": p, "wildcard": a == "0.0.0.0", "loopback": False,
         "reachable": True}
        for a, p in (("0.0.0.0", 22), ("0.0.0.0", 9100), ("0.0.0.0", 6379), ("::", 5432))
    ]  # fmt: skip
    outcome = ProbeOutcome("host", facts={"listening": sockets, "unavailable": {}})
    findings = evaluate_target(target, rules, {"host": outcome})
    by_resource = {f.resource: f.status for f in findings}
    assert by_resource == {
        "listener:0.0.0.0:22": Status.PASS,
        "listener:0.0.0.0:9100": Status.FAIL,
        "listener:0.0.0.0:6379": Status.FAIL,
        "listener:[::]:5432": Status.FAIL,
    }
    waiver = Waiver(
        rule="host.undeclared-listener",
        approver="ciso@example.com",
        justification="node exporter, firewalled",
        expires=date.today() + timedelta(days=30),
    )
    one_socket = WaiverRule(waiver, resource="listener:0.0.0.0:9100")
    judged = WaiverSet((one_socket,)).apply(target, findings, date.today())
    statuses = {f.resource: f.status for f in judged}
    assert statuses["listener:0.0.0.0:9100"] is Status.WAIVED
    assert statuses["listener:0.0.0.0:6379"] is Status.FAIL  # the new Redis still blocks


def test_a_failed_socket_listing_is_an_error_never_no_finding() -> None:
    import ipaddress

    from auditor.models import ProbeOutcome, Status, Target
    from auditor.rules import evaluate_target, load_catalog

    rules = [r for r in load_catalog(["host"]).all_rules() if r.id == "host.undeclared-listener"]
    target = Target(name="web", address="10.0.0.5", ip=ipaddress.ip_address("10.0.0.5"))
    why = {"listening": "`listening_sockets` exited 127: ss: not found"}
    outcome = ProbeOutcome("host", facts={"unavailable": why})
    (finding,) = evaluate_target(target, rules, {"host": outcome})
    assert finding.status is Status.ERROR and "exited 127" in finding.message


def test_a_bad_host_read_is_one_line_naming_file_line_and_key(tmp_path: Path) -> None:
    """Host reads are data (issue 26): a read that names a command outside the allowlist,
    or an argument that is not a kernel parameter name, is refused where it is written,
    before anything runs."""
    from auditor.errors import InputError
    from auditor.probes.ssh.hostreads import load_reads

    folder = tmp_path / "reads"
    folder.mkdir()
    bad = folder / "mine.yaml"
    bad.write_text(
        "format: 1\nreads:\n  - id: mine\n    command: sysctl\n    parse: key-value\n"
        "    args: [net.ipv4.ip_forward, 'x; rm -rf /']\n"
    )
    with pytest.raises(InputError) as caught:
        load_reads([folder])
    assert "mine.yaml:6" in str(caught.value) and "reads[0].args" in str(caught.value)
    bad.write_text("format: 1\nreads:\n  - id: mine\n    command: cat\n    parse: key-value\n")
    with pytest.raises(InputError, match=r"mine.yaml:4.*reads\[0\]\.command"):
        load_reads([folder])
    bad.write_text(
        "format: 1\nreads:\n  - id: sysctl\n    command: sudoers\n    parse: sudo-rules\n"
    )
    with pytest.raises(InputError, match="declared twice"):
        load_reads([folder])


def test_sudo_rules_are_read_the_way_sudo_reads_them() -> None:
    """Comments, Defaults and aliases are not rules; a rule continued with a backslash is
    one rule; `#include` lines are directives, not comments."""
    from auditor.probes.ssh.hostreads import PARSERS

    text = (
        "# comment\nDefaults env_reset\nCmnd_Alias X = /bin/ls\n"
        "root ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) \\\n    NOPASSWD: ALL  # vendor\n"
        "#includedir /etc/sudoers.d\n@includedir /etc/sudoers.d\n"
    )
    assert PARSERS["sudo-rules"](text) == [
        "root ALL=(ALL:ALL) ALL",
        "%sudo ALL=(ALL:ALL) NOPASSWD: ALL",
    ]
