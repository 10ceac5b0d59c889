"""Issue 9: no GO for a server that was not really checked.

One test (or a few) per numbered symptom of the issue, each of which gave GO (or a wrong
verdict) on the main branch before the fix. Tests that involve a server talk to a real one:
the lab's sshd, Redis on a non-standard port, Python's http.server, a connect scanner under a
real descriptor limit. The engine tests at the end use fake probes on purpose: they test the
engine's containment, not a protocol, and run in the fast tier.
"""

from __future__ import annotations

import ipaddress
import json
import resource
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.errors import InputError
from auditor.inventory import load_inventory
from auditor.models import ChangeRecord, Exposure, ProbeOutcome, SshSettings, Status, Target
from auditor.probes.base import ProbeFailure
from auditor.probes.ports import connect_scan
from auditor.probes.services import ServicesProbe
from auditor.probes.services.http import listing_signature
from auditor.probes.ssh.endpoint import Hop
from auditor.probes.ssh.hostkeys import name_forms
from auditor.probes.ssh.options import SshOptions
from auditor.probes.ssh.probe import SshProbe
from auditor.probes.ssh.sshd_config import listener_pids, serves
from auditor.rules import evaluate_target, load_catalog
from auditor.scope import Scope
from auditor.yamlsource import load_plain
from tests import responders
from tests.conftest import LISTENER_NETWORK, audit_in_process, run_auditor
from tests.lab.lab import Lab
from tests.lab.services import Redis, stop_group, wait_for_port

TARGET = Target(name="t", address="127.0.0.9", ip=ipaddress.ip_address("127.0.0.9"), ports="22")


def _sshd(**settings: str) -> ProbeOutcome:
    return ProbeOutcome(
        "sshd",
        facts={
            "source": "sshd -T",
            "settings": {"permitrootlogin": "no", **settings},
            "files": [],
            "host_keys": [],
            "describes": {"port": 22, "matches": True},
        },
    )


# ---------------------------------------------------------------- 4. YAML 1.1 meanings


def test_yaml_words_stay_strings_and_numbers_stay_decimal() -> None:
    loaded = load_plain("[no, yes, on, off, 0777, 0123, '1:20', 1:20, 2026-02-30, true, 12]")
    words = ["no", "yes", "on", "off", "0777", "0123", "1:20", "1:20", "2026-02-30"]
    assert loaded == [*words, True, 12]


def test_permit_root_login_no_passes_the_builtin_rule() -> None:
    catalog = load_catalog(["ssh"])
    rule = next(r for r in catalog.all_rules() if r.id == "ssh.permit-root-login")
    findings = evaluate_target(TARGET, [rule], {"sshd": _sshd(permitrootlogin="no")})
    assert [f.status for f in findings] == [Status.PASS]
    findings = evaluate_target(TARGET, [rule], {"sshd": _sshd(permitrootlogin="yes")})
    assert [f.status for f in findings] == [Status.FAIL]


def test_a_user_deny_list_of_yes_matches_yes(tmp_path: Path) -> None:
    pack = tmp_path / "mine.yaml"
    pack.write_text(
        "format: 1\npack: mine\nrules:\n"
        "  - id: mine.root\n    title: root login\n    severity: high\n    applies_to: host\n"
        "    check: '!(sshd.settings.permitrootlogin in params.denied)'\n"
        "    params: {denied: [yes]}\n    references: [CIS 5.2.10]\n"
    )
    catalog = load_catalog([str(pack)])
    findings = evaluate_target(TARGET, catalog.all_rules(), {"sshd": _sshd(permitrootlogin="yes")})
    assert [f.status for f in findings] == [Status.FAIL]


def test_an_octal_looking_port_is_refused_not_scanned_as_511(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: [127.79.0.0/24]\nservers:\n"
        "  - name: a\n    address: 127.79.0.5\n    ports: 0777\n"
    )
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert "inv.yaml:6: servers[0].ports" in str(caught.value)
    result = run_auditor("inventory", "check", str(path))
    assert result.code == 2 and "0777" in result.stderr


def test_a_change_id_of_no_stays_the_word_no(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: [127.79.0.0/24]\nservers:\n"
        "  - name: a\n    address: 127.79.0.5\n    change: {id: no, approved: yes}\n"
    )
    with pytest.raises(InputError) as caught:  # `yes` is not a boolean in YAML 1.2
        load_inventory(path)
    assert "servers[0].change.approved" in str(caught.value)
    path.write_text(path.read_text().replace("approved: yes", "approved: true"))
    change = load_inventory(path).targets[0].change
    assert change is not None and change.id == "no"


def test_a_parameter_of_the_wrong_type_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: [127.79.0.0/24]\nrule_params:\n"
        "  ssh.permit-root-login:\n    allowed: 3\n"
        "servers:\n  - name: a\n    address: 127.79.0.5\n    rules: [ssh]\n"
    )
    result = run_auditor("audit", str(path), "--no-history")
    assert result.code == 2, result.stderr
    assert "inv.yaml:5: ssh.permit-root-login.allowed: expected a list" in result.stderr
    path.write_text(path.read_text().replace("allowed: 3", "allowed: [no, 3]"))
    result = run_auditor("audit", str(path), "--no-history")
    assert result.code == 2 and "list item 3" in result.stderr


# ------------------------------------------- 6, 7, 9. services on ports nobody named

SERVICE_IP = f"{LISTENER_NETWORK}.60"


@pytest.fixture(scope="module")
def odd_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """Real Redis without a password on 6399 and Python's http.server (a directory
    listing, and a `.env`) on 8081: ports no well-known table names."""
    home = tmp_path_factory.mktemp("odd-ports")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (make system-deps)")
    redis = Redis(port=6399).start(SERVICE_IP, home)
    www = home / "www"
    (www / "exports").mkdir(parents=True)
    (www / ".env").write_text("APP_ENV=production\nDB_PASSWORD=lab-not-a-secret\n")
    web = subprocess.Popen(
        [sys.executable, "-m", "http.server", "8081", "--bind", SERVICE_IP],
        cwd=www,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(SERVICE_IP, 6399, redis, timeout=10)
        wait_for_port(SERVICE_IP, 8081, web, timeout=10)
        yield {"redis": 6399, "http": 8081}
    finally:
        stop_group(redis.pid)
        stop_group(web.pid)


def _scan(*args: str) -> dict[str, Any]:
    result = run_auditor("scan", SERVICE_IP, "--rules", "services", "-f", "json", *args)
    assert result.code in (0, 1, 3), result.stderr
    (target,) = result.json()["targets"]
    target["exit"] = result.code
    return target


def _status(target: dict[str, Any], rule: str) -> list[str]:
    return [f["status"] for f in target["findings"] if f["rule"] == rule]


@pytest.mark.lab
def test_redis_on_a_port_nobody_named_is_checked(odd_ports: dict[str, int]) -> None:
    target = _scan("--ports", "6399")
    assert target["exit"] == 1 and target["verdict"] == "no-go"
    assert _status(target, "services.redis-unauthenticated") == ["fail"]


@pytest.mark.lab
def test_python_http_server_listing_and_env_are_found(odd_ports: dict[str, int]) -> None:
    target = _scan("--ports", "8081")
    assert _status(target, "services.http-directory-listing") == ["fail"]
    assert _status(target, "services.http-env-exposed") == ["fail"]
    assert target["exit"] == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<html><head><title>Index of /</title></head>",  # Apache, nginx, lighttpd
        b"<title>Directory listing for /</title>",  # Python http.server
        b"<h1>Directory Listing For [/]</h1>",  # Tomcat
        b"<TITLE>Directory: /</TITLE>",  # Jetty
        b'<pre><A HREF="/">[To Parent Directory]</A>',  # IIS
        b"<title>Files within /</title>",  # vercel serve
    ],
)
def test_directory_listing_signatures(body: bytes) -> None:
    assert listing_signature(body) is not None
    assert listing_signature(b"<title>Welcome to nginx!</title>") is None


@pytest.mark.lab
def test_an_open_port_that_names_no_protocol_is_a_finding(listeners: Any) -> None:
    ip, port = listeners.open(61, 7777)  # accepts, then never says or answers anything
    result = run_auditor(
        "scan", ip, "--ports", str(port), "--rules", "services", "-f", "json", "--timeout", "3"
    )
    (target,) = result.json()["targets"]
    statuses = _status(target, "services.unidentified-open-port")
    # A silent port is either named `unknown` (a failing finding) or, when the greetings
    # ran out of time, an error: never a pass, never GO.
    assert statuses in (["fail"], ["error"]), target["findings"]
    assert result.code in (1, 3) and target["verdict"] == "no-go"


def _broken_mongo(client: Any) -> None:
    client.recv(4096)
    # An OP_MSG header whose BSON claims a string of negative length.
    body = b"\x00\x00\x00\x00\x00" + b"\x10\x00\x00\x00\x02s\x00\xf0\xff\xff\xffx\x00\x00"
    client.sendall(struct.pack("<iiii", 16 + len(body), 1, 0x5A5A, 2013) + body)


def _arabic_status(client: Any) -> None:
    client.recv(4096)
    client.sendall("HTTP/1.1 ٢٠٠ OK\r\n\r\nhello".encode())


def _deep_json(client: Any) -> None:
    client.recv(4096)
    body = b"[" * 60000 + b"]" * 60000
    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + body)


@pytest.mark.lab
def test_one_malformed_reply_does_not_sink_the_other_findings(odd_ports: dict[str, int]) -> None:
    with (
        responders.serve(SERVICE_IP, _broken_mongo) as mongo,
        responders.serve(SERVICE_IP, _arabic_status) as arabic,
        responders.serve(SERVICE_IP, _deep_json) as deep,
    ):
        declared = ((mongo, "mongodb"), (arabic, "http"), (deep, "elasticsearch"))
        target = Target(
            name="odd",
            address=SERVICE_IP,
            ip=ipaddress.ip_address(SERVICE_IP),
            ports="1-65535",
            change=ChangeRecord(
                id="C", approved=True, exposes=tuple(Exposure(p, service=s) for p, s in declared)
            ),
        )
        ports = [6399, 8081, mongo, arabic, deep]
        upstream = {"odd": {"ports": ProbeOutcome("ports", facts={"ports": _open(ports)})}}
        scope = Scope((ipaddress.ip_network(f"{SERVICE_IP}/32"),))
        (outcome,) = ServicesProbe().collect([target], scope, 10.0, upstream=upstream).values()
    assert outcome.ok, outcome.error
    by_port = {r["port"]: r for r in outcome.facts["services"]}
    assert by_port[6399]["kind"] == "redis" and by_port[6399]["unauthenticated"] is True
    assert by_port[8081]["details"]["env_exposed"] is True
    for port in (mongo, arabic, deep):
        assert by_port[port]["error"], by_port[port]


def _open(numbers: list[int]) -> list[dict[str, Any]]:
    return [
        {"number": n, "proto": "tcp", "state": "open", "service": "", "service_source": "none"}
        for n in numbers
    ]


# ------------------------------------------- 2. connect scanner: errors are not `closed`


@pytest.mark.lab
def test_connect_scan_under_a_low_descriptor_limit_still_finds_the_open_ports(
    listeners: Any,
) -> None:
    ip, _ = listeners.open(62, 2375)
    listeners.open(62, 2379)

    def macos_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    proc = subprocess.run(
        [
            *(sys.executable, "-m", "auditor", "scan", ip, "--ports", "1-4000"),
            *("--scanner", "connect", "-f", "json", "--no-history", "--timeout", "60"),
        ],
        capture_output=True,
        text=True,
        preexec_fn=macos_limit,
        timeout=120,
        check=False,
    )
    (target,) = json.loads(proc.stdout)["targets"]
    undeclared = {
        f["resource"] for f in target["findings"] if f["rule"] == "baseline.port-undeclared"
    }
    assert {"port:2375/tcp", "port:2379/tcp"} <= undeclared, proc.stderr
    assert proc.returncode == 1 and target["verdict"] == "no-go"


def test_a_socket_error_that_is_not_a_refusal_fails_the_host(monkeypatch: Any) -> None:
    """More sockets than the descriptor limit allows: EMFILE must not read as `closed`."""
    server = socket.socket()
    server.bind((f"{LISTENER_NETWORK}.63", 0))
    server.listen(512)
    port = server.getsockname()[1]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(list(Path("/proc/self/fd").iterdir()))
    monkeypatch.setattr(connect_scan, "socket_budget", lambda: 512)
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 40, hard))
    try:
        found = connect_scan.scan([f"{LISTENER_NETWORK}.63"], f"{port},1-600", timeout=30)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        server.close()
    (result,) = found.values()
    assert isinstance(result, ProbeFailure), result
    assert "Too many open files" in str(result)


def test_the_socket_budget_stays_under_the_descriptor_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(list(Path("/proc/self/fd").iterdir()))
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 200, hard))
    try:
        budget = connect_scan.socket_budget()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert 1 <= budget <= 100


# ------------------------------------------- 3. the host probe checks every exit status


def _host_audit(lab: Lab, tmp_path: Path, host: str) -> dict[str, Any]:
    path = lab.write_inventory(tmp_path / "inv.yaml", [host])
    data = yaml.safe_load(path.read_text())
    (server,) = data["servers"]
    server["rules"] = ["host"]
    server["change"].update(retention_days=90, data_paths=["/etc"])
    path.write_text(yaml.safe_dump(data))
    result = audit_in_process(path)
    assert result.code in (1, 3)
    (target,) = result.json()["targets"]
    target["exit"] = result.code
    return target


def _host_rule(target: dict[str, Any], rule: str) -> dict[str, Any]:
    (finding,) = [f for f in target["findings"] if f["rule"] == rule]
    return finding


def test_refused_sudo_makes_privileged_facts_errors_not_passes(lab: Lab, tmp_path: Path) -> None:
    target = _host_audit(lab, tmp_path, "sudo-password")  # audit user; sudo wants a password
    assert target["verdict"] == "no-go" and not target["complete"]
    for rule in ("host.retention", "host.redis-config", "host.empty-password"):
        finding = _host_rule(target, rule)
        assert finding["status"] == "error", finding
        assert "exited" in finding["message"], finding["message"]


def test_missing_tools_make_their_facts_errors_not_passes(lab: Lab, tmp_path: Path) -> None:
    target = _host_audit(lab, tmp_path, "no-tools")  # PATH without ss, stat or awk
    assert target["verdict"] == "no-go" and not target["complete"]
    for rule in ("host.undeclared-listener", "host.shadow-permissions", "host.redis-config"):
        finding = _host_rule(target, rule)
        assert finding["status"] == "error", finding
        assert "exited 127" in finding["message"], finding["message"]


# ------------------------------------------- 1. host keys under every name of the server


def _integer_spelling(ip: str) -> str:
    return str(int(ipaddress.ip_address(ip)))


def _sshd_outcome(lab: Lab, options: SshOptions, address: str) -> ProbeOutcome:
    host = lab.host("alt-port")  # port 2222: known_hosts names it `[127.78.0.13]:2222`
    ip = host.ip(lab.network)
    target = Target(
        name="alt-port",
        address=address,
        ip=ipaddress.ip_address(ip),
        ssh=SshSettings(port=2222, identity_file=str(lab.client_key)),
    )
    scope = Scope((ipaddress.ip_network(f"{ip}/32"),))
    return SshProbe(options, roots=("sshd",)).collect([target], scope, 10.0)["alt-port"]


def test_an_entry_by_ip_verifies_an_inventory_address_spelled_otherwise(lab: Lab) -> None:
    ip = lab.ip("alt-port")
    options = SshOptions(known_hosts=(lab.known_hosts,), config_file=None, use_agent=False)
    outcome = _sshd_outcome(lab, options, _integer_spelling(ip))
    assert outcome.ok, outcome.error


def test_trust_on_first_use_never_accepts_a_changed_key_under_another_name(
    lab: Lab, tmp_path: Path
) -> None:
    ip = lab.ip("alt-port")
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, blob = other.with_suffix(".pub").read_text().split()[:2]
    stale = tmp_path / "known_hosts"
    stale.write_text(f"[{ip}]:2222 {kind} {blob}\n")  # the server's key is not this one
    tofu = tmp_path / "tofu"
    options = SshOptions(
        known_hosts=(stale,), trust_on_first_use=tofu, config_file=None, use_agent=False
    )
    outcome = _sshd_outcome(lab, options, _integer_spelling(ip))
    assert outcome.error is not None and "CHANGED" in outcome.error.message
    assert not tofu.exists() or tofu.read_text() == ""


def test_name_forms_cover_address_ip_and_port() -> None:
    endpoint = Hop("db1.internal", "10.0.0.5", 2222, "root", ())
    assert name_forms(endpoint) == ["[db1.internal]:2222", "[10.0.0.5]:2222"]
    endpoint = Hop("db1.internal", "10.0.0.5", 22, "root", ())
    assert name_forms(endpoint) == [
        "db1.internal",
        "10.0.0.5",
        "[db1.internal]:22",
        "[10.0.0.5]:22",
    ]


# ------------------------------------------- 5. a key type that failed is not absent


def _client_host_key_algorithms(data: bytes) -> str | None:
    """The host-key name-list of an SSH client's KEXINIT, once it has fully arrived."""
    _, sep, rest = data.partition(b"\r\n")
    if not sep or len(rest) < 6 + 16:
        return None
    (length,) = struct.unpack(">I", rest[:4])
    if len(rest) < 4 + length or rest[5] != 20:  # SSH_MSG_KEXINIT
        return None
    offset = 6 + 16
    lists = []
    for _ in range(2):
        (size,) = struct.unpack(">I", rest[offset : offset + 4])
        lists.append(rest[offset + 4 : offset + 4 + size].decode())
        offset += 4 + size
    return lists[1]


def _stall_rsa_only(upstream: tuple[str, int]) -> Any:
    """A relay to a real sshd that goes silent when a client asks for RSA host keys only,
    as a broken middlebox or a hostile server can."""

    def handler(client: socket.socket) -> None:
        server = socket.create_connection(upstream, timeout=5)
        client.settimeout(5)
        seen = b""
        decided = False

        def back() -> None:
            try:
                while chunk := server.recv(65536):
                    client.sendall(chunk)
            except OSError:
                pass

        threading.Thread(target=back, daemon=True).start()
        try:
            while chunk := client.recv(65536):
                if not decided:
                    seen += chunk
                    algorithms = _client_host_key_algorithms(seen)
                    if algorithms is not None:
                        decided = True
                        if algorithms.startswith("rsa-sha2"):
                            time.sleep(5)  # stall the key exchange
                            return
                server.sendall(chunk)
        except OSError:
            pass
        finally:
            server.close()

    return handler


def test_a_stalled_rsa_handshake_is_an_error_not_no_rsa_key(lab: Lab) -> None:
    upstream = (lab.ip("alt-port"), 2222)  # offers ed25519 and rsa-sha2-*
    relay_ip = f"{LISTENER_NETWORK}.64"
    with responders.serve(relay_ip, _stall_rsa_only(upstream)) as port:
        target = Target(
            name="relay",
            address=relay_ip,
            ip=ipaddress.ip_address(relay_ip),
            ssh=SshSettings(port=port),
        )
        scope = Scope((ipaddress.ip_network(f"{relay_ip}/32"),))
        started = time.monotonic()
        outcome = SshProbe(roots=("ssh_auth",)).collect([target], scope, 3.0)["relay"]
        elapsed = time.monotonic() - started
    assert outcome.error is not None, outcome.facts
    assert "rsa-sha2-512" in outcome.error.message and "failed" in outcome.error.message
    assert elapsed < 4.5


# ------------------------------------------- 8. sshd -T must describe the audited daemon


def test_settings_come_from_the_daemon_on_the_audited_port(lab: Lab) -> None:
    host = lab.host("two-daemons")  # port 22: hardened; port 2222: its own -f config
    ip = host.ip(lab.network)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection((ip, 2222), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    target = Target(
        name="two-daemons",
        address=ip,
        ip=ipaddress.ip_address(ip),
        ssh=SshSettings(port=2222, identity_file=str(lab.client_key)),
    )
    scope = Scope((ipaddress.ip_network(f"{ip}/32"),))
    options = SshOptions(known_hosts=(lab.known_hosts,), config_file=None, use_agent=False)
    outcome = SshProbe(options, roots=("sshd",)).collect([target], scope, 10.0)["two-daemons"]
    assert outcome.ok, outcome.error
    assert outcome.facts["describes"] == {
        "address": ip,
        "port": 2222,
        "config": "/etc/ssh/sshd_config_second",
    }
    assert outcome.facts["settings"]["permitrootlogin"] == "yes"
    assert outcome.facts["settings"]["strictmodes"] == "no"
    findings = evaluate_target(target, load_catalog(["ssh"]).all_rules(), {"sshd": outcome})
    failed = {f.rule for f in findings if f.status is Status.FAIL}
    assert {"ssh.permit-root-login", "ssh.strict-modes"} <= failed


def test_sshd_facts_of_another_port_are_refused_when_no_daemon_is_found() -> None:
    settings = {"port": ["22"], "listenaddress": ["0.0.0.0:22", "[::]:22"]}
    assert not serves(settings, "10.0.0.5", 2222)
    assert serves(settings, "10.0.0.5", 22)
    assert serves({"port": ["22"], "listenaddress": ["10.0.0.5:2222"]}, "10.0.0.5", 2222)
    assert not serves({"port": ["22"], "listenaddress": ["10.0.0.6:2222"]}, "10.0.0.5", 2222)
    line = 'LISTEN 0 128 10.0.0.5:2222 0.0.0.0:* users:(("sshd",pid=4242,fd=3))'
    assert listener_pids(line, "10.0.0.5", 2222) == [4242]
    assert listener_pids(line, "10.0.0.7", 2222) == []


# `socket_daemon`'s reply when sshd forks for another client while we list: `ss` names the
# fresh child (it holds the listening socket until it closes it), which is gone when its
# command line is read. The form is what the command printed in CI's failing run.
_LISTENER = "sshd: /usr/sbin/sshd -D -f /etc/ssh/lab_config [listener] 0 of 10-100 startups"


def _listing(*entries: str) -> str:
    ss = (
        'LISTEN 0 128 10.0.0.5:22 0.0.0.0:* users:(("sshd",pid=4243,fd=3),("sshd",pid=4242,fd=3))\n'
        'LISTEN 0 128 10.0.0.6:22 0.0.0.0:* users:(("sshd",pid=5000,fd=3))'
    )
    return "== ss\n" + ss + "\n" + "\n".join(entries) + "\n== end\n"


def test_a_listener_that_forks_or_exits_while_listed_is_not_an_error() -> None:
    from auditor.probes.ssh.sshd_config import _daemon

    # The child that ss caught mid-fork is gone by the time its argv is read; another
    # daemon's vanished pid does not matter either.
    out = _listing(f"== cmdline 4242\n{_LISTENER}", "== gone 4243", "== gone 5000")
    daemon = _daemon(0, out, "", sudo="", ip="10.0.0.5", port=22)
    assert daemon.config == "/etc/ssh/lab_config"
    # Parent and child both alive: the same command line is the same daemon.
    # (The child's title still shows the count from before the fork.)
    child = _LISTENER.replace("0 of", "1 of")
    both = _listing(f"== cmdline 4242\n{_LISTENER}", f"== cmdline 4243\n{child}")
    assert _daemon(0, both, "", sudo="", ip="10.0.0.5", port=22).config == "/etc/ssh/lab_config"


def test_a_listener_that_cannot_be_named_still_fails_the_probe() -> None:
    from auditor.probes.ssh.sshd_config import _daemon

    # Every process on the socket gone (or hidden by hidepid): nothing proves the daemon.
    with pytest.raises(ProbeFailure, match="gone"):
        _daemon(0, _listing("== gone 4242", "== gone 4243"), "", sudo="", ip="10.0.0.5", port=22)
    # Two live processes with different command lines share the socket: unknown daemon.
    other = "/usr/sbin/sshd -D -f /etc/ssh/other"
    two = _listing(f"== cmdline 4242\n{_LISTENER}", "== cmdline 4243\n" + other.replace(" ", "\n"))
    with pytest.raises(ProbeFailure, match="2 processes"):
        _daemon(0, two, "", sudo="", ip="10.0.0.5", port=22)


def test_a_service_check_that_failed_is_an_error_for_every_rule_of_its_kind() -> None:
    """No service rule may step around an errored record with its `when` (a `when` that is
    false makes the finding `skip`, which reads as nothing to see)."""
    from auditor.probes.services.base import service_record

    rules = [r for r in load_catalog(["services"]).all_rules() if r.applies_to == "service"]
    assert not [r.id for r in rules if r.when is not None and "service.error" in r.when.source]
    record = service_record(111, "rpcbind", "well-known port", "unknown")
    record["error"] = "rpcbind check on 111/tcp: connection failed: Connection reset by peer"
    outcome = ProbeOutcome("services", facts={"services": [record]})
    (rpcbind,) = [r for r in rules if r.id == "services.rpcbind-exposed"]
    (finding,) = evaluate_target(TARGET, [rpcbind], {"services": outcome})
    assert finding.status is Status.ERROR and "Connection reset" in finding.message
