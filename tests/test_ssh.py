"""SSH probes against real OpenSSH servers from the lab, and hostile servers within deadlines."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.models import ProbeOutcome, SshSettings, Target
from auditor.probes.ssh.commands import UnsafeCommand, command
from auditor.probes.ssh.options import SshOptions
from auditor.probes.ssh.probe import SshProbe
from auditor.probes.ssh.sshd_files import parse_sshd_config
from auditor.rules import load_catalog
from auditor.scope import Scope
from tests.conftest import LISTENER_NETWORK, audit_in_process
from tests.lab.lab import Lab

SSH_HOSTS = [
    "hardened",
    "vendor-built",
    "legacy",
    "alt-port",
    "bastion",
    "internal",
    "sudo-password",
    "sudo-nopasswd",
]

SSHD_RULES = {r.id for r in load_catalog(["ssh"]).all_rules() if "sshd" in r.required_probes}


def _audit(lab: Lab, tmp_path: Path, hosts: list[str]) -> tuple[int, dict[str, Any]]:
    inventory = lab.write_inventory(tmp_path / "inv.yaml", hosts)
    result = audit_in_process(inventory)
    assert result.code in (0, 1, 3)
    return result.code, result.report


def _failing(report: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    target = next(t for t in report["targets"] if t["name"] == host)
    return {f["rule"]: f for f in target["findings"] if f["status"] == "fail"}


def _target(lab: Lab, name: str, **ssh: Any) -> Target:
    import ipaddress

    host = lab.host(name)
    settings = {"user": "root", "identity_file": str(lab.client_key), "port": host.ssh_port}
    settings.update(ssh)
    ip = lab.ip(name)
    return Target(name=name, address=ip, ip=ipaddress.ip_address(ip), ssh=SshSettings(**settings))


def _scope(lab: Lab) -> Scope:
    import ipaddress

    return Scope((ipaddress.ip_network(f"{lab.network}.0/24"),))


@pytest.fixture(scope="module")
def lab_report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    _, report = _audit(lab, tmp_path_factory.mktemp("ssh"), SSH_HOSTS)
    return report


def test_verdicts_of_the_ssh_lab(lab_report: dict[str, Any]) -> None:
    verdicts = {t["name"]: (t["verdict"], t["complete"]) for t in lab_report["targets"]}
    assert verdicts == {
        "hardened": ("go", True),
        "vendor-built": ("no-go", True),
        "legacy": ("no-go", True),
        "alt-port": ("go", True),
        "bastion": ("go", True),
        "internal": ("go", True),
        # Without root or sudo for `ss -tlnp` the daemon on the port cannot be proven:
        # the sshd rules are `error` (issue 24), never judged on /etc/ssh/sshd_config.
        "sudo-password": ("no-go", False),
        "sudo-nopasswd": ("go", True),
    }


def test_hardened_sshd_passes_every_ssh_rule(lab_report: dict[str, Any]) -> None:
    hardened = next(t for t in lab_report["targets"] if t["name"] == "hardened")
    ssh_findings = [f for f in hardened["findings"] if f["rule"].startswith("ssh.")]
    assert len(ssh_findings) >= 20
    assert {f["status"] for f in ssh_findings} <= {"pass", "skip"}


def test_vendor_built_sshd_findings(lab_report: dict[str, Any]) -> None:
    failing = _failing(lab_report, "vendor-built")
    assert failing["ssh.password-auth-personal-data"]["severity"] == "critical"
    assert (
        "password" in failing["ssh.password-auth-personal-data"]["evidence"]["ssh_auth"]["methods"]
    )
    assert failing["ssh.permit-root-login"]["message"] == "PermitRootLogin is yes (from sshd -T)"
    for rule in ("ssh.x11-forwarding", "ssh.log-level", "ssh.max-auth-tries"):
        assert rule in failing
    assert "ssh.password-auth" not in failing  # its twin for servers without personal data


def test_legacy_sshd_fails_everything_ssh_audit_fails(lab: Lab, lab_report: dict[str, Any]) -> None:
    """Parity with the real ssh-audit on the same server: every algorithm it says to delete."""
    if importlib.util.find_spec("ssh_audit") is None:
        pytest.skip("ssh-audit is not installed (pip install ssh-audit)")
    proc = subprocess.run(
        [sys.executable, "-m", "ssh_audit", "-j", lab.ip("legacy")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    verdict = json.loads(proc.stdout)
    to_delete = {
        item["name"]
        for kind in verdict["recommendations"]["critical"]["del"].values()
        for item in kind
    }
    assert to_delete  # ssh-audit does fail this server
    failing = _failing(lab_report, "legacy")
    named = {
        algorithm
        for rule in (
            "ssh.weak-kex",
            "ssh.weak-host-key-algorithms",
            "ssh.weak-ciphers",
            "ssh.weak-macs",
        )
        for algorithm in failing[rule]["evidence"]["weak"]
    }
    assert to_delete <= named, f"ssh-audit fails {sorted(to_delete - named)} and we do not"
    assert failing["ssh.rsa-host-key-size"]["evidence"]["rsa"][0]["bits"] == 2048
    assert "ssh.cbc-ciphers" in failing


def test_password_login_is_detected_without_credentials(lab: Lab) -> None:
    target = _target(lab, "vendor-built", identity_file=None, user="root")
    outcome = SshProbe(roots=("ssh_auth",)).collect([target], _scope(lab), timeout=10)[
        "vendor-built"
    ]
    assert outcome.ok, outcome.error
    assert "password" in outcome.facts["methods"]
    hardened = SshProbe(roots=("ssh_auth",)).collect([_target(lab, "hardened")], _scope(lab), 10)[
        "hardened"
    ]
    assert hardened.facts["methods"] == ["publickey"]
    (key,) = hardened.facts["host_keys"]
    assert key["type"] == "ssh-ed25519" and key["fingerprint"].startswith("SHA256:")


def test_raw_probe_reads_weak_offers_paramiko_cannot_negotiate(lab: Lab) -> None:
    outcome = SshProbe(roots=("ssh",)).collect([_target(lab, "legacy")], _scope(lab), 10)["legacy"]
    facts = outcome.facts
    assert facts["software"] == "OpenSSH" and facts["version"].startswith("9.2")
    assert "diffie-hellman-group1-sha1" in facts["kex"]
    assert "ssh-dss" in facts["host_key_algorithms"]
    assert facts["strict_kex"] is True
    assert not any(k.startswith("kex-strict") for k in facts["kex"])


def _sshd(lab: Lab, name: str, options: SshOptions, **ssh: Any) -> ProbeOutcome:
    return SshProbe(options, roots=("sshd",)).collect([_target(lab, name, **ssh)], _scope(lab), 15)[
        name
    ]


def test_effective_config_comes_from_sshd_t(lab: Lab) -> None:
    outcome = _sshd(lab, "hardened", SshOptions(known_hosts=(lab.known_hosts,)))
    assert outcome.ok, outcome.error
    facts = outcome.facts
    assert facts["source"] == "sshd -T"
    assert facts["settings"]["permitrootlogin"] == "without-password"  # sshd -T's spelling
    assert facts["settings"]["loglevel"] == "VERBOSE"
    assert {f["path"] for f in facts["files"]} == {"/etc/ssh", "/etc/ssh/sshd_config"}
    assert facts["host_keys"][0]["type"] == "ed25519"


def test_non_root_user_reads_sshd_t_through_sudo_without_password(lab: Lab) -> None:
    outcome = _sshd(lab, "sudo-nopasswd", SshOptions(known_hosts=(lab.known_hosts,)), user="audit")
    assert outcome.ok, outcome.error
    assert outcome.facts["source"] == "sshd -T"
    assert outcome.notes == ()


def test_sudo_that_wants_a_password_cannot_prove_the_daemon_and_says_so(
    lab: Lab, lab_report: dict[str, Any]
) -> None:
    """Issue 24: reading /etc/ssh/sshd_config proves nothing about the daemon on the port.
    Without root or sudo for `ss -tlnp`, the sshd rules are `error`, and say why."""
    started = time.monotonic()
    outcome = _sshd(lab, "sudo-password", SshOptions(known_hosts=(lab.known_hosts,)), user="audit")
    assert time.monotonic() - started < 10  # sudo -n never waits for a password
    assert not outcome.ok and outcome.error is not None
    assert "cannot tell which daemon serves" in outcome.error.message
    assert "sudo -n needs a password" in outcome.error.message
    target = next(t for t in lab_report["targets"] if t["name"] == "sudo-password")
    sshd_rules = [f for f in target["findings"] if f["rule"] in SSHD_RULES]
    assert sshd_rules and {f["status"] for f in sshd_rules} == {"error"}


@pytest.mark.parametrize(
    ("host", "config", "loglevel"),
    [
        ("own-config", "/etc/ssh/other_config", "VERBOSE"),
        ("overrides", "/etc/ssh/sshd_config", "DEBUG"),
    ],
)
def test_the_daemon_on_the_audited_port_is_the_one_judged(
    lab: Lab, host: str, config: str, loglevel: str
) -> None:
    """Issue 24 #1: an sshd started as `sshd -f /etc/ssh/other_config` (or with `-o
    PermitRootLogin=yes`) on port 22 was judged by /etc/ssh/sshd_config: root login
    "pass", LogLevel INFO. The probe now reads the daemon that owns the socket."""
    outcome = _sshd(lab, host, SshOptions(known_hosts=(lab.known_hosts,)))
    assert outcome.ok, outcome.error
    facts = outcome.facts
    assert facts["describes"]["config"] == config
    assert facts["settings"]["permitrootlogin"] == "yes"
    assert facts["settings"]["loglevel"] == loglevel
    assert any("started with its own settings" in note for note in outcome.notes)


def test_unknown_host_key_is_refused(lab: Lab, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    outcome = _sshd(lab, "hardened", SshOptions(known_hosts=(empty,)))
    assert not outcome.ok
    assert outcome.error is not None
    assert "is unknown (ssh-ed25519 SHA256:" in outcome.error.message


def test_changed_host_key_stops_the_audit_of_that_host(lab: Lab, tmp_path: Path) -> None:
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    forged = tmp_path / "known_hosts"
    blob = other.with_suffix(".pub").read_text().split()[1]
    forged.write_text(f"{lab.ip('hardened')} ssh-ed25519 {blob}\n")
    inventory = lab.write_inventory(tmp_path / "inv.yaml", ["hardened"])
    text = inventory.read_text().replace(str(lab.known_hosts), str(forged))
    inventory.write_text(text)
    result = audit_in_process(inventory, ssh_config=Path("/dev/null"))
    assert result.code == 3
    (target,) = result.json()["targets"]
    assert target["verdict"] == "no-go" and target["complete"] is False
    (error,) = [e for e in target["errors"] if e["probe"] == "sshd"]
    assert "CHANGED" in error["message"] and "SHA256:" in error["message"]


def test_trust_on_first_use_records_then_refuses_a_change(lab: Lab, tmp_path: Path) -> None:
    tofu = tmp_path / "tofu_known_hosts"
    options = SshOptions(known_hosts=(), trust_on_first_use=tofu)
    first = _sshd(lab, "alt-port", options)
    assert first.ok, first.error
    recorded = tofu.read_text().split()
    assert recorded[0] == f"[{lab.ip('alt-port')}]:2222" and recorded[1] == "ssh-ed25519"
    assert _sshd(lab, "alt-port", options).ok  # second run: known now
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    tofu.write_text(
        f"{recorded[0]} ssh-ed25519 {other.with_suffix('.pub').read_text().split()[1]}\n"
    )
    changed = _sshd(lab, "alt-port", options)
    assert not changed.ok and changed.error is not None and "CHANGED" in changed.error.message


def test_proxy_jump_goes_through_the_bastion(lab: Lab) -> None:
    bastion_log = (
        lab.service_home(lab.host("bastion"), lab.host("bastion").services[0]) / "sshd.log"
    )
    before = bastion_log.read_text()
    outcome = _sshd(
        lab,
        "internal",
        SshOptions(known_hosts=(lab.known_hosts,)),
        proxy_jump=f"root@{lab.ip('bastion')}",
    )
    assert outcome.ok, outcome.error
    assert outcome.facts["source"] == "sshd -T"
    added = bastion_log.read_text()[len(before) :]
    assert f"target {lab.ip('internal')} port 22" in added  # the bastion forwarded it


def test_bastion_outside_scope_is_refused(lab: Lab) -> None:
    outcome = _sshd(
        lab, "internal", SshOptions(known_hosts=(lab.known_hosts,)), proxy_jump="root@127.99.0.1"
    )
    assert not outcome.ok and outcome.error is not None
    assert "outside the inventory scope" in outcome.error.message


def test_user_ssh_config_supplies_user_and_key(lab: Lab, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(f"Host {lab.ip('hardened')}\n  User root\n  IdentityFile {lab.client_key}\n")
    options = SshOptions(known_hosts=(lab.known_hosts,), config_file=config, use_agent=False)
    outcome = _sshd(lab, "hardened", options, user=None, identity_file=None)
    assert outcome.ok, outcome.error


def test_sshd_config_text_fallback_follows_include_and_stops_at_match() -> None:
    files = {
        "/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n"
        "LoginGraceTime 2m\nMatch User backup\n  PasswordAuthentication no\n",
        "/etc/ssh/sshd_config.d/*.conf": "PasswordAuthentication yes\nPermitRootLogin no\n",
    }
    settings = parse_sshd_config(files["/etc/ssh/sshd_config"], files.__getitem__)
    assert settings["permitrootlogin"] == "no"  # first value wins, Include comes first
    assert settings["passwordauthentication"] == "yes"  # Match block ignored
    assert settings["logingracetime"] == "120"
    assert settings["x11forwarding"] == "no"  # OpenSSH default filled in


def test_command_allowlist_refuses_anything_else() -> None:
    assert command("uid") == "id -u"
    with pytest.raises(UnsafeCommand, match="not in the read-only allowlist"):
        command("rm -rf /")
    effective = {"sudo": "", "config": "/etc/ssh/sshd_config", "addr": "127.0.0.1"}
    with pytest.raises(UnsafeCommand, match="unsafe user name"):
        command("sshd_effective_file", **effective, options="", user="root;reboot")
    for options in (" -o PermitRootLogin=yes;reboot", " -o Match User x", " -c /tmp/x"):
        with pytest.raises(UnsafeCommand, match="sshd options"):
            command("sshd_effective_file", **effective, options=options, user="root")
    with pytest.raises(UnsafeCommand, match="not a file under /etc/ssh"):
        command("read_ssh_config", sudo="", path="/etc/shadow")
    with pytest.raises(UnsafeCommand, match="not a file under /etc/ssh"):
        command("read_ssh_config", sudo="", path="/etc/ssh/../shadow")


# ------------------------------------------------------------------ hostile servers


@pytest.fixture
def hostile() -> Iterator[Callable[[int, Callable[[socket.socket], None]], tuple[str, int]]]:
    """A TCP server on 127.79.0.x that treats each client with the given behaviour."""
    servers: list[socket.socket] = []

    def start(octet: int, behave: Callable[[socket.socket], None]) -> tuple[str, int]:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((f"{LISTENER_NETWORK}.{octet}", 0))
        server.listen()
        servers.append(server)

        def serve() -> None:
            try:
                while True:
                    client, _ = server.accept()
                    threading.Thread(target=_handle, args=(client, behave), daemon=True).start()
            except OSError:
                return

        threading.Thread(target=serve, daemon=True).start()
        return server.getsockname()

    yield start
    for server in servers:
        server.close()


def _handle(client: socket.socket, behave: Callable[[socket.socket], None]) -> None:
    try:
        behave(client)
    except OSError:
        pass
    finally:
        client.close()


def _tarpit(client: socket.socket) -> None:
    time.sleep(5)


def _garbage(client: socket.socket) -> None:
    client.sendall(b"\x00\xffHTTP/1.1 400 Bad Request\r\n" * 40)
    time.sleep(2)


def _huge_banner(client: socket.socket) -> None:
    client.sendall(b"SSH-2.0-" + b"A" * 1_000_000 + b"\r\n")


def _close_after_kexinit(client: socket.socket) -> None:
    client.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
    payload = bytes([20]) + b"\x00" * 16 + b"\x00\x00\x00\x05kex-a"  # truncated KEXINIT
    client.sendall(len(payload + b"\x04" * 5).to_bytes(4, "big") + b"\x04" + payload + b"\x00" * 4)
    time.sleep(0.2)


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        (_tarpit, "no answer within"),
        (_garbage, "no SSH banner"),
        (_huge_banner, "longer than 255 bytes"),
        (_close_after_kexinit, "truncated KEXINIT"),
    ],
    ids=["tarpit", "garbage", "1MB-banner", "closes-after-kexinit"],
)
def test_hostile_server_ends_as_error_within_deadline(
    hostile, behaviour, expected, request
) -> None:  # type: ignore[no-untyped-def]
    import ipaddress

    octet = 60 + request.node.callspec.indices["behaviour"]
    ip, port = hostile(octet, behaviour)
    target = Target("h", ip, ipaddress.ip_address(ip), ssh=SshSettings(port=port))
    scope = Scope((ipaddress.ip_network(f"{LISTENER_NETWORK}.0/24"),))
    started = time.monotonic()
    options = SshOptions(known_hosts=())
    outcomes = {
        root: SshProbe(options, roots=(root,)).collect([target], scope, timeout=1.0)["h"]
        for root in ("ssh", "ssh_auth", "sshd")
    }
    elapsed = time.monotonic() - started
    assert elapsed < 3 * 1.0 + 1.5, f"took {elapsed:.1f}s"
    assert all(not o.ok for o in outcomes.values())
    assert expected in outcomes["ssh"].error.message  # type: ignore[union-attr]


def test_a_batch_gives_each_command_its_own_output_status_and_stderr() -> None:
    """The host probe's commands share one channel (issue 16). The batch script, run by the
    real shell, must give back what separate channels would: each command's stdout (a
    missing final newline kept missing), stderr and exit status, an `exit` inside one
    command ending only that one."""
    from auditor.probes.ssh.session import batch_script, call, split_batch

    calls = [
        call("uid"),
        call("read_ssh_config", sudo="", path="/etc/ssh/no-such-file"),
        call("client_address"),  # printf without SSH_CONNECTION: one empty line
        call("retention", sudo="", path="/nonexistent-auditor-path", days="90"),  # exit 0
        call("uid"),
    ]
    nonce = "0123456789abcdef0123456789abcdef"
    done = subprocess.run(
        ["bash", "-c", batch_script(nonce, calls)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    results = split_batch(nonce, done.stdout, done.stderr)
    alone = [
        subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60)
        for line in (  # the same commands, each in a shell of its own
            "id -u",
            "cat -- /etc/ssh/no-such-file",
            'printf "%s\\n" "$SSH_CONNECTION"',
        )
    ]
    for i, expected in enumerate(alone):
        assert results[i] == (expected.returncode, expected.stdout, expected.stderr)
    assert results[1][0] != 0 and "no-such-file" in results[1][2]
    assert results[3] == (0, "missing\n", "") and results[4] == results[0]


def test_server_output_cannot_forge_or_reorder_batch_markers() -> None:
    """A marker without the nonce is output; markers out of order end the parse there, and
    a command cut short (no end marker) has no result, so it runs alone."""
    from auditor.probes.ssh.session import split_batch

    n = "f" * 32
    forged = "\n" + "e" * 32 + " 1 0\n"
    out = f"\n{n} 0\nroot{forged}\n{n} 0 0\n\n{n} 1\nhalf"
    err = f"\n{n} 0\nwarn\n\n{n} 1\n"
    assert split_batch(n, out, err) == {0: (0, "root" + forged, "warn\n")}
    reordered = f"\n{n} 0\na\n{n} 0 0\n\n{n} 2\nb\n{n} 2 0\n"
    assert split_batch(n, reordered, "") == {0: (0, "a", "")}
    assert split_batch(n, "no markers at all", "") == {}


def test_an_sshd_command_line_is_reproduced_or_refused() -> None:
    from auditor.probes.base import ProbeFailure
    from auditor.probes.ssh.sshd_config import DEFAULT_CONFIG, Daemon, daemon_from

    assert daemon_from(["-D"]) == Daemon(DEFAULT_CONFIG, "")
    assert daemon_from(
        ["-D", "-f", "/etc/ssh/other", "-E", "/var/log/x", "-o", "PermitRootLogin=yes"]
    ) == (Daemon("/etc/ssh/other", " -o PermitRootLogin=yes"))
    assert daemon_from(["-D", "-p2222", "-4", "-oLogLevel=DEBUG"]).options == (
        " -p 2222 -4 -o LogLevel=DEBUG"
    )
    assert daemon_from(["-o", "PermitRootLogin yes"]).lines() == ["PermitRootLogin yes"]
    for unreproducible in (["-c", "/etc/ssh/cert"], ["-Z"], ["stray"], ["-h", "/tmp/key"]):
        with pytest.raises(ProbeFailure):
            daemon_from(unreproducible)
