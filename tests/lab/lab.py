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

from tests.lab.services import (
    AnonymousFtp,
    Etcd,
    LabError,
    Memcached,
    Nginx,
    Prometheus,
    Redis,
    RsyncDaemon,
    Service,
    Sshd,
    stop_group,
    wait_for_port,
)

DEMO_NETWORK = "127.77.0"
TEST_NETWORK = "127.78.0"
LAB_PORTS = (
    "21,22,23,80,443,873,2222,2375,2379,2380,3306,5432,6379,8080,9090,9200,9300,10250,11211,27017"
)
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


LEGACY_SSHD = (
    "KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1",
    "Ciphers +aes128-cbc,3des-cbc,aes256-cbc",
    "MACs +hmac-md5,hmac-sha1,hmac-md5-96,hmac-sha1-96",
    "HostKeyAlgorithms +ssh-rsa,ssh-dss",
    "PasswordAuthentication no",
    "LogLevel VERBOSE",
)

BASTION_SSHD = tuple(
    {"AllowTcpForwarding": "AllowTcpForwarding yes", "LogLevel": "LogLevel DEBUG1"}.get(
        line.split()[0], line
    )
    for line in HARDENED_SSHD
)
"""A bastion forwards, and logs each forward's target (only DEBUG1 names it)."""


def _ssh_change(change_id: str, port: int = 22) -> dict[str, Any]:
    return {
        "id": change_id,
        "approved": True,
        "owner": "infra-team",
        "go_live": "2026-12-01",
        "data": [],
        "exposes": [{"port": port, "proto": "tcp", "service": "ssh", "to": "internal"}],
    }


@dataclass(frozen=True)
class LabHost:
    name: str
    octet: int
    services: tuple[Service, ...]
    change: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    ssh_port: int = 22
    ssh_user: str = "root"
    rules: tuple[str, ...] | None = None
    """Rule packs for this host when not the lab's default (hosts without sshd)."""
    jump_via: str | None = None
    """Name of the lab host to reach this one through (ProxyJump)."""

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
                autoindex=True,
                files=(
                    (".git/config", "[core]\n\trepositoryformatversion = 0\n"),
                    (".env", "APP_ENV=production\nDB_PASSWORD=lab-not-a-secret\n"),
                ),
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


SSH_FLEET: tuple[LabHost, ...] = (
    LabHost(
        "legacy",
        12,
        (Sshd(config=LEGACY_SSHD, host_keys=("rsa:2048", "dsa")),),
        change=_ssh_change("CHG-3001"),
        tags={"env": "test", "role": "legacy"},
    ),
    LabHost(
        "alt-port",
        13,
        (Sshd(port=2222, config=HARDENED_SSHD),),
        change=_ssh_change("CHG-3002", 2222),
        ssh_port=2222,
    ),
    LabHost("bastion", 14, (Sshd(config=BASTION_SSHD),), change=_ssh_change("CHG-3003")),
    LabHost(
        "sudo-password",
        16,
        (Sshd(config=HARDENED_SSHD, sudoers=("audit ALL=(ALL:ALL) ALL",)),),
        change=_ssh_change("CHG-3005"),
        ssh_user="audit",
    ),
    LabHost(
        "sudo-nopasswd",
        17,
        (
            Sshd(
                config=HARDENED_SSHD,
                sudoers=("audit ALL=(root) NOPASSWD: /usr/sbin/sshd -T *",),
            ),
        ),
        change=_ssh_change("CHG-3006"),
        ssh_user="audit",
    ),
    LabHost(
        "internal",
        15,
        (Sshd(config=HARDENED_SSHD),),
        change=_ssh_change("CHG-3004"),
        jump_via="bastion",
    ),
)
"""Extra SSH hosts for the tests: weak algorithms, a non-standard port, a bastion hop."""


def _declared(change_id: str, *exposures: tuple[int, str]) -> dict[str, Any]:
    return {
        "id": change_id,
        "approved": True,
        "owner": "infra-team",
        "data": [],
        "exposes": [
            {"port": port, "proto": "tcp", "service": service, "to": "internal"}
            for port, service in exposures
        ],
    }


SERVICE_FLEET: tuple[LabHost, ...] = (
    LabHost(
        "cache",
        20,
        (Redis(password="lab-redis-password"), Memcached()),
        change=_declared("CHG-4001", (6379, "redis"), (11211, "memcached")),
        rules=("baseline", "services"),
    ),
    LabHost(
        "files",
        21,
        (AnonymousFtp(), RsyncDaemon()),
        change=_declared("CHG-4002", (21, "ftp"), (873, "rsync")),
        rules=("baseline", "services"),
    ),
    LabHost(
        "platform",
        22,
        (Etcd(), Prometheus()),
        change=_declared("CHG-4003", (2379, "etcd"), (2380, "etcd-peer"), (9090, "prometheus")),
        rules=("baseline", "services"),
    ),
)
"""Declared services for the tests: protected Redis, open memcached, anonymous FTP, rsync."""


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

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    def service_home(self, host: LabHost, service: Service) -> Path:
        return self.state_dir / host.name / f"{service.kind}-{service.port}"

    def write_known_hosts(self) -> None:
        """known_hosts for every lab sshd, from the host keys the lab generated."""
        lines = []
        for host in self.fleet:
            for service in host.services:
                if not isinstance(service, Sshd):
                    continue
                ip = host.ip(self.network)
                name = ip if service.port == 22 else f"[{ip}]:{service.port}"
                etc = self.service_home(host, service) / "etc_ssh"
                for pub in sorted(etc.glob("ssh_host_*_key.pub")):
                    kind, blob = pub.read_text().split()[:2]
                    lines.append(f"{name} {kind} {blob}")
        self.known_hosts.write_text("\n".join(lines) + "\n")

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
                    home = self.service_home(host, service)
                    home.mkdir(parents=True, exist_ok=True)
                    if isinstance(service, Sshd):
                        service.authorize(home, "root", public)
                        if service.sudoers is not None:
                            service.authorize(home, "audit", public)
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
        self.write_known_hosts()

    def down(self) -> None:
        state = self.state_dir / "state.json"
        if not state.exists():
            return
        for entry in json.loads(state.read_text()):
            stop_group(int(entry["pid"]))
        state.unlink()

    def _save(self, running: list[dict[str, Any]]) -> None:
        (self.state_dir / "state.json").write_text(json.dumps(running, indent=1))

    def inventory(self, ports: str = LAB_PORTS, hosts: list[str] | None = None) -> dict[str, Any]:
        """The lab described as inventory v1 (inventories/lab.yaml is this, for the demo)."""
        chosen = [h for h in self.fleet if hosts is None or h.name in hosts]
        return {
            "version": 1,
            "scope": [f"{self.network}.0/24"],
            "defaults": {
                "ports": ports,
                "rules": ["baseline", "ssh", "services"],
                "ssh": {
                    "user": "root",
                    "port": 22,
                    "identity_file": str(self.client_key),
                    "known_hosts": str(self.known_hosts),
                },
            },
            "servers": [self._server(host) for host in chosen],
        }

    def _server(self, host: LabHost) -> dict[str, Any]:
        server: dict[str, Any] = {"name": host.name, "address": host.ip(self.network)}
        ssh: dict[str, Any] = {}
        if host.ssh_port != 22:
            ssh["port"] = host.ssh_port
        if host.ssh_user != "root":
            ssh["user"] = host.ssh_user
        if host.jump_via:
            ssh["proxy_jump"] = f"root@{self.ip(host.jump_via)}"
        if ssh:
            server["ssh"] = ssh
        if host.rules is not None:
            server["rules"] = list(host.rules)
        if host.tags:
            server["tags"] = dict(host.tags)
        server["change"] = dict(host.change)
        return server

    def write_inventory(self, path: Path, hosts: list[str] | None = None, **changes: Any) -> Path:
        data = self.inventory(hosts=hosts)
        data.update(changes)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path
