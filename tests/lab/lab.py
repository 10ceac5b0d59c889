"""The lab: a small fleet of real, deliberately (mis)configured servers on loopback.

Used by the pytest fixtures and by `make demo`. Each host gets its own 127.x address so
hosts share port numbers like a real fleet. The lab's inventory scans an explicit port list
because services bound to 0.0.0.0 by others on this machine answer on every 127.x address
(lab notes: "ambient listeners").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.lab.services import LabError, Nginx, Redis, Service, Sshd, stop_group, wait_for_port

DEMO_NETWORK = "127.77.0"
TEST_NETWORK = "127.78.0"
LAB_PORTS = "21,22,23,80,443,2375,2379,3306,5432,6379,8080,9200,9300,10250,11211,27017"
CLIENT_KEY = "client_ed25519"

HARDENED_SSHD = (
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitEmptyPasswords no",
    "PubkeyAuthentication yes",
    "HostbasedAuthentication no",
    "IgnoreRhosts yes",
    "StrictModes yes",
    "LogLevel VERBOSE",
    "MaxAuthTries 3",
    "LoginGraceTime 30",
    "X11Forwarding no",
    "AllowTcpForwarding no",
    "AllowAgentForwarding no",
    "PermitUserEnvironment no",
    "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org",
    "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr",
    "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
)

VENDOR_SSHD = (
    "PermitRootLogin yes",
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no",
    "LogLevel INFO",
    "X11Forwarding yes",
)


@dataclass(frozen=True)
class LabHost:
    name: str
    octet: int
    services: tuple[Service, ...]
    change: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def ip(self, network: str) -> str:
        return f"{network}.{self.octet}"


FLEET: tuple[LabHost, ...] = (
    LabHost(
        "hardened",
        10,
        (Sshd(config=HARDENED_SSHD),),
        change={
            "id": "CHG-1001",
            "approved": True,
            "owner": "infra-team",
            "go_live": "2026-12-01",
            "data": [],
            "exposes": [{"port": 22, "proto": "tcp", "service": "ssh", "to": "internal"}],
        },
        tags={"env": "prod", "role": "bastion"},
    ),
    LabHost(
        "vendor-built",
        11,
        (
            Sshd(config=VENDOR_SSHD),
            Redis(),
            Nginx(
                autoindex=True, files=((".git/config", "[core]\n\trepositoryformatversion = 0\n"),)
            ),
        ),
        change={
            "id": "CHG-2041",
            "approved": True,
            "owner": "vendor-acme",
            "go_live": "2026-12-01",
            "data": ["personal"],
            "retention_days": 90,
            "exposes": [
                {"port": 22, "proto": "tcp", "service": "ssh", "to": "internal"},
                {"port": 80, "proto": "tcp", "service": "http", "to": "internet"},
            ],
        },
        tags={"env": "prod", "role": "web"},
    ),
)


class Lab:
    """Start, describe and stop a fleet of lab hosts under one state folder."""

    def __init__(
        self, state_dir: Path, network: str = DEMO_NETWORK, fleet: tuple[LabHost, ...] = FLEET
    ) -> None:
        self.state_dir = state_dir
        self.network = network
        self.fleet = fleet

    @property
    def client_key(self) -> Path:
        return self.state_dir / CLIENT_KEY

    def host(self, name: str) -> LabHost:
        return next(h for h in self.fleet if h.name == name)

    def ip(self, name: str) -> str:
        return self.host(name).ip(self.network)

    def missing(self) -> list[str]:
        """What this machine lacks to run the lab (empty when it can)."""
        problems = [
            f"{binary} not installed"
            for host in self.fleet
            for service in host.services
            for binary in service.binaries()
            if shutil.which(binary) is None and not Path(binary).exists()
        ]
        if os.geteuid() != 0 and any(isinstance(s, Sshd) for h in self.fleet for s in h.services):
            problems.append("sshd lab hosts need root (a private mount namespace per sshd)")
        return sorted(set(problems))

    def up(self) -> None:
        problems = self.missing()
        if problems:
            raise LabError("; ".join(problems) + " (run `make system-deps` as root)")
        self.down()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.client_key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key)],
                check=True,
            )
        public = self.client_key.with_suffix(".pub").read_text()
        running: list[dict[str, Any]] = []
        try:
            for host in self.fleet:
                ip = host.ip(self.network)
                for service in host.services:
                    home = self.state_dir / host.name / f"{service.kind}-{service.port}"
                    home.mkdir(parents=True, exist_ok=True)
                    if isinstance(service, Sshd):
                        service.authorize(home, "root", public)
                    process = service.start(ip, home)
                    running.append({"host": host.name, "service": service.kind, "pid": process.pid})
                    self._save(running)
                    try:
                        wait_for_port(ip, service.port, process, timeout=15)
                    except LabError as exc:
                        raise LabError(
                            f"{host.name}: {service.kind} on {ip}:{service.port}: {exc} "
                            f"(logs in {home})"
                        ) from None
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        state = self.state_dir / "state.json"
        if not state.exists():
            return
        for entry in json.loads(state.read_text()):
            stop_group(int(entry["pid"]))
        state.unlink()

    def _save(self, running: list[dict[str, Any]]) -> None:
        (self.state_dir / "state.json").write_text(json.dumps(running, indent=1))

    def inventory(self, ports: str = LAB_PORTS) -> dict[str, Any]:
        """The lab described as inventory v1 (inventories/lab.yaml is this, for the demo)."""
        return {
            "version": 1,
            "scope": [f"{self.network}.0/24"],
            "defaults": {
                "ports": ports,
                "rules": ["baseline"],
                "ssh": {"user": "root", "port": 22, "identity_file": str(self.client_key)},
            },
            "servers": [
                {
                    "name": host.name,
                    "address": host.ip(self.network),
                    "tags": dict(host.tags),
                    "change": dict(host.change),
                }
                for host in self.fleet
            ],
        }

    def write_inventory(self, path: Path, **changes: Any) -> Path:
        data = self.inventory()
        data.update(changes)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path
