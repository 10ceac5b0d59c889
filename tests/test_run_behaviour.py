"""How a run behaves around the user: progress on a terminal, Ctrl-C, hashed known_hosts."""

from __future__ import annotations

import ctypes
import os
import platform
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from auditor.probes.ssh.options import SshOptions
from auditor.probes.ssh.probe import SshProbe
from tests import responders
from tests.conftest import LISTENER_NETWORK, REPO, Listeners
from tests.lab.lab import Lab
from tests.test_ssh import _scope, _target


def _inventory(path: Path, servers: list[dict[str, object]]) -> Path:
    path.write_text(
        yaml.safe_dump({"version": 1, "scope": [f"{LISTENER_NETWORK}.0/24"], "servers": servers})
    )
    return path


def _tarpit(client: object) -> None:
    time.sleep(60)


ADDRESSES = {
    "process": (130, f"{LISTENER_NETWORK}.131"),
    "worker-thread": (134, f"{LISTENER_NETWORK}.135"),
}
"""The fast server's octet (listeners.open(130), listeners.open(134)) and the stuck one."""


def _as_a_foreground_job() -> None:
    """SIGINT as a terminal's foreground job has it. A suite started in the background by
    a non-interactive shell (`make test &`, some CI runners) inherits SIGINT ignored, and so
    would the auditor it starts: Python then keeps it ignored, as `nohup` asks, and the
    test measured the shell, not the auditor."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(pid: int, to: str) -> None:
    """SIGINT to the process, or to one of its worker threads (the kernel may hand a
    terminal's Ctrl-C to any thread that does not block it)."""
    if to == "process":
        os.kill(pid, signal.SIGINT)
        return
    threads = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
    libc = ctypes.CDLL(None, use_errno=True)
    tgkill = 234  # x86_64 syscall number
    assert libc.syscall(tgkill, pid, threads[-1], signal.SIGINT) == 0, ctypes.get_errno()


@pytest.mark.parametrize("to", ["process", "worker-thread"])
def test_ctrl_c_keeps_the_servers_already_judged(
    listeners: Listeners, tmp_path: Path, to: str
) -> None:
    if to == "worker-thread" and platform.machine() != "x86_64":
        pytest.skip("tgkill's syscall number is x86_64's")
    fast_octet, slow_ip = ADDRESSES[to]
    fast_ip, fast_port = listeners.open(fast_octet, 8081)
    db = tmp_path / "history.sqlite"
    with responders.serve(slow_ip, _tarpit) as ssh_port:
        inventory = _inventory(
            tmp_path / "inv.yaml",
            [
                {
                    "name": "fast",
                    "address": fast_ip,
                    "ports": "8080-8082",
                    "rules": ["baseline"],
                    "change": {"id": "C1", "approved": True, "exposes": [{"port": fast_port}]},
                },
                {
                    "name": "stuck",
                    "address": slow_ip,
                    "ports": str(ssh_port),
                    "rules": ["ssh"],
                    "ssh": {"port": ssh_port},
                },
            ],
        )
        process = subprocess.Popen(
            [
                sys.executable,
                "-X",
                "faulthandler",
                "-m",
                "auditor",
                "audit",
                str(inventory),
                "--history",
                str(db),
                "--timeout",
                "60",
                "-f",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            preexec_fn=_as_a_foreground_job,
        )
        deadline = time.monotonic() + 30
        recorded: list[str] = []
        while time.monotonic() < deadline and not recorded:
            time.sleep(0.2)
            if db.exists():
                with sqlite3.connect(db) as conn:
                    recorded = [r[0] for r in conn.execute("SELECT name FROM targets")]
        assert recorded == ["fast"], "the fast server was not judged while the other was stuck"
        started = time.monotonic()
        _interrupt(process.pid, to)
        try:
            out, err = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # -X faulthandler: every thread's stack
            out, err = process.communicate(timeout=15)
            raise AssertionError(f"no exit 15 s after Ctrl-C; stderr: {err[-3000:]}") from None
    assert time.monotonic() - started < 5  # does not wait for the stuck probe
    assert process.returncode == 130
    assert "interrupted; run 1 kept 1 finished server(s)" in err
    assert out == ""
    with sqlite3.connect(db) as conn:
        (finished,) = conn.execute("SELECT finished FROM runs WHERE id = 1").fetchone()
        names = [r[0] for r in conn.execute("SELECT name FROM targets WHERE run_id = 1")]
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert finished is None and names == ["fast"]
    listing = subprocess.run(
        [sys.executable, "-m", "auditor", "history", "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "interrupted" in listing.stdout


def test_progress_shows_on_a_terminal_only(listeners: Listeners, tmp_path: Path) -> None:
    ip, port = listeners.open(132, 8081)
    inventory = _inventory(
        tmp_path / "inv.yaml",
        [
            {
                "name": "one",
                "address": ip,
                "ports": "8080-8082",
                "change": {"id": "C", "approved": True, "exposes": [{"port": port}]},
            }
        ],
    )
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", "audit", str(inventory), "--no-history", "-f", "json"],
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=REPO,
    )
    os.close(slave)
    out, _ = process.communicate(timeout=60)
    seen = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert process.returncode == 0
    assert b"[1/1]" in seen and b"ports: one" in seen  # progress went to the terminal
    assert b"[1/1]" not in out  # and never into the results


def test_hashed_known_hosts_entries_verify(lab: Lab, tmp_path: Path) -> None:
    hashed = tmp_path / "known_hosts"
    hashed.write_text(lab.known_hosts.read_text())
    subprocess.run(["ssh-keygen", "-H", "-f", str(hashed)], check=True, capture_output=True)
    assert lab.ip("hardened") not in hashed.read_text()  # names are hashed now
    outcome = SshProbe(SshOptions(known_hosts=(hashed,)), roots=("sshd",)).collect(
        [_target(lab, "hardened")], _scope(lab), 15
    )["hardened"]
    assert outcome.ok, outcome.error
