"""One SSH session per server (issue 16): ssh_auth, sshd and host read their facts on one
connection, counted in the real sshd's own log; and a session that dies mid-way leaves the
parts it could not read as errors, never passes."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import paramiko
import pytest

from tests.conftest import LISTENER_NETWORK, audit_in_process
from tests.lab.lab import BASTION_SSHD, HARDENED_SSHD, Lab, LabHost
from tests.lab.services import Sshd

CHANGE: dict[str, Any] = {
    "id": "CHG-9001",
    "approved": True,
    "exposes": [{"port": 22, "proto": "tcp", "service": "ssh", "to": "internal"}],
}


def _lab(tmp_path: Path, octet: int, sshd: Sshd) -> Lab:
    host = LabHost("one", octet, (sshd,), change=CHANGE, rules=("baseline", "ssh", "host"))
    lab = Lab(tmp_path / "lab", LISTENER_NETWORK, (host,))
    if lab.missing():
        pytest.skip("; ".join(lab.missing()))
    return lab


def _connections(lab: Lab) -> int:
    """SSH connections in sshd's own log (LogLevel VERBOSE): every `Connection from`, less
    those closed before the client said a word of SSH (the port scan's TCP connect)."""
    lines = next((lab.state_dir / "one").glob("ssh-*/sshd.log")).read_text().splitlines()
    opened = sum("Connection from" in line for line in lines)
    return opened - sum("kex_exchange_identification: Connection closed" in ln for ln in lines)


def _audit(
    lab: Lab,
    tmp_path: Path,
    packs: tuple[str, ...] | None = None,
    ssh: dict[str, Any] | None = None,
    **request: Any,
) -> dict[str, Any]:
    """The lab audited in-process (auditor.app): these tests count connections and
    channels, not what a process does."""
    inventory = lab.write_inventory(tmp_path / "inv.yaml")
    if packs is not None or ssh is not None:
        data = lab.inventory()
        if packs is not None:
            data["servers"][0]["rules"] = list(packs)
        if ssh is not None:
            data["defaults"]["ssh"] = ssh
        inventory.write_text(json.dumps(data))
    result = audit_in_process(inventory, known_hosts=lab.known_hosts, **request)
    assert result.code in (0, 1, 3)
    return result.report


@pytest.mark.parametrize(
    ("host_keys", "expected"),
    [(("ed25519",), 2), (("ed25519", "rsa:3072"), 3)],
    ids=["one-key-type", "two-key-types"],
)
def test_at_most_the_raw_read_and_one_session_plus_one_per_extra_key_type(
    tmp_path: Path, host_keys: tuple[str, ...], expected: int
) -> None:
    """baseline + ssh + host used to cost 5 connections (two raw reads, an auth_none
    handshake, two logins); now the raw KEXINIT read, one session, and one handshake per
    further host-key type the server offers."""
    lab = _lab(tmp_path, 87, Sshd(config=HARDENED_SSHD, host_keys=host_keys))
    lab.up()
    try:
        before = _connections(lab)
        report = _audit(lab, tmp_path)
        used = _connections(lab) - before
    finally:
        lab.down()
    (target,) = report["targets"]
    assert target["complete"] is True, [
        f["message"] for f in target["findings"] if f["status"] == "error"
    ]
    statuses = {f["rule"]: f["status"] for f in target["findings"]}
    assert statuses["ssh.no-authentication"] == "pass"  # methods read on the session
    assert statuses["host.extra-uid0-account"] == "pass"  # host commands ran on it
    assert used == expected, f"{used} SSH connections for one server"


def test_a_session_that_dies_mid_way_fails_the_parts_it_could_not_read(tmp_path: Path) -> None:
    """Every channel takes 3 s on this server and the deadline is 4.5 s: the session ends
    while sshd's second channel (`sshd -T`, after its first batch) runs. Its facts and all
    of host's are errors; ssh_auth, read before any command, is complete."""
    slow = Sshd(config=(*HARDENED_SSHD, 'ForceCommand sleep 3; eval "$SSH_ORIGINAL_COMMAND"'))
    lab = _lab(tmp_path, 88, slow)
    lab.up()
    try:
        report = _audit(lab, tmp_path, timeout=4.5)
    finally:
        lab.down()
    (target,) = report["targets"]
    assert target["complete"] is False and target["verdict"] == "no-go"
    by_rule = {f["rule"]: f for f in target["findings"]}
    assert by_rule["ssh.no-authentication"]["status"] == "pass"
    for rule in ("host.extra-uid0-account", "ssh.permit-root-login"):
        assert by_rule[rule]["status"] == "error", (rule, by_rule[rule]["message"])
    assert not any(
        f["status"] == "pass" for f in target["findings"] if f["rule"].startswith("host.")
    ), json.dumps([f for f in target["findings"] if f["rule"].startswith("host.")])[:400]


def _channels(lab: Lab) -> int:
    """Command channels in sshd's own log: one `Starting session: command` each."""
    log = next((lab.state_dir / "one").glob("ssh-*/sshd.log")).read_text()
    return log.count("Starting session: command")


def test_the_sshd_and_host_probes_read_on_three_channels(tmp_path: Path) -> None:
    """Each channel costs the server a fork and a login shell (~6 ms of sshd CPU here).
    `sshd` needs two: a batch of what needs no other answer (uid, client_address, file
    modes, host keys), then `sshd -T`. `host` reads ~17 facts in one more: `uid` is known
    from sshd's batch. They were 5 and 17; the host facts are all read (none unavailable)."""
    lab = _lab(tmp_path, 89, Sshd(config=HARDENED_SSHD))
    lab.up()
    try:
        used = []
        for packs in (("baseline", "ssh"), ("baseline", "ssh", "host")):
            before = _channels(lab)
            report = _audit(lab, tmp_path, packs=packs)
            used.append(_channels(lab) - before)
    finally:
        lab.down()
    (target,) = report["targets"]
    assert target["complete"] is True
    notes = [n for n in target.get("notes", []) if n.startswith("host:")]
    assert notes == [], notes
    assert used[0] == 2, f"sshd probe used {used[0]} channels"
    assert used[1] - used[0] == 1, f"host probe used {used[1] - used[0]} channels"


def test_a_host_key_listing_that_fails_is_an_error_not_a_shorter_list(tmp_path: Path) -> None:
    """`ssh-keygen -l` fails on one of the server's host key files: the listing used to exit
    with the last file's status, so the bad key vanished from `sshd.host_keys` and every
    rule over the host keys judged the others only. Now the sshd part is an error."""
    lab = _lab(tmp_path, 90, Sshd(config=HARDENED_SSHD))
    lab.up()
    try:
        (etc,) = (lab.state_dir / "one").glob("ssh-*/etc_ssh")
        (etc / "ssh_host_aaa_key.pub").write_text("not a key\n")  # sorts first
        report = _audit(lab, tmp_path)
    finally:
        lab.down()
    (target,) = report["targets"]
    assert target["complete"] is False and target["verdict"] == "no-go"
    by_rule = {f["rule"]: f for f in target["findings"]}
    assert by_rule["ssh.permit-root-login"]["status"] == "error"
    assert "cannot list the host keys" in by_rule["ssh.permit-root-login"]["message"]
    assert by_rule["host.extra-uid0-account"]["status"] == "pass"  # another part: unharmed


def _fingerprints(lab: Lab, host: str) -> set[str]:
    """The SHA-256 fingerprints of the host keys the lab generated for a host's sshd."""
    from auditor.probes.ssh.hostkeys import fingerprint

    found = set()
    for pub in (lab.state_dir / host).glob("ssh-*/etc_ssh/ssh_host_*_key.pub"):
        kind, blob = pub.read_text().split()[:2]
        found.add(fingerprint(paramiko.PKey.from_type_string(kind, base64.b64decode(blob))))
    return found


def test_every_ssh_fact_comes_from_the_daemon_behind_the_bastion(tmp_path: Path) -> None:
    """Issue 25: `Port 2222` and `ProxyJump` in ssh_config, the server reachable only
    through the bastion (its own network namespace, no route from here). Every SSH root
    (the KEXINIT, the methods and host keys, sshd's settings, the host's sockets) must
    describe the 2222 daemon there; on main, ssh_auth and the KEXINIT read dialled port
    22 directly, and the server was incomplete."""
    bastion = LabHost("jump", 45, (Sshd(config=BASTION_SSHD),), netns=True, rules=())
    hidden = LabHost(
        "hidden",
        46,
        (Sshd(port=2222, config=HARDENED_SSHD, host_keys=("ecdsa", "ed25519")),),
        change={**CHANGE, "exposes": [{**CHANGE["exposes"][0], "port": 2222}]},
        rules=("ssh", "host"),
        netns=True,
        behind="jump",
    )
    lab = Lab(tmp_path / "lab", LISTENER_NETWORK, (bastion, hidden))
    if lab.missing():
        pytest.skip("; ".join(lab.missing()))
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host {lab.ip('hidden')}\n  Port 2222\n  ProxyJump root@{lab.ip('jump')}\n"
        f"Host *\n  IdentityFile {lab.client_key}\n"
    )
    lab.up()
    try:
        direct = subprocess.run(  # the machine itself cannot reach it
            ["ssh-keyscan", "-T", "2", "-p", "2222", lab.ip("hidden")],
            capture_output=True,
            text=True,
            check=False,
        )
        inventory_ssh = {"known_hosts": str(lab.known_hosts)}  # the rest from ssh_config
        report = _audit(lab, tmp_path, ssh=inventory_ssh, ssh_config=config, include_facts=True)
        keys = _fingerprints(lab, "hidden")
    finally:
        lab.down()
    assert "ssh-" not in direct.stdout
    (target,) = report["targets"]
    errors = [f["message"] for f in target["findings"] if f["status"] == "error"]
    assert target["complete"] is True, errors
    facts = target["facts"]
    assert "ecdsa-sha2-nistp256" in facts["ssh"]["host_key_algorithms"]  # the bastion has none
    assert {k["fingerprint"] for k in facts["ssh_auth"]["host_keys"]} == keys
    assert facts["sshd"]["describes"]["port"] == 2222
    assert facts["sshd"]["describes"]["address"] == lab.ip("hidden")
    assert {s["port"] for s in facts["host"]["listening"]} == {2222}
