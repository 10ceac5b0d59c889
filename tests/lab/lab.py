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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.lab import cloud
from tests.lab.certs import lab_ca
from tests.lab.debian import DebianHost
from tests.lab.services import (
    AnonymousFtp,
    Clamd,
    Cups,
    Dante,
    DockerRegistry,
    Etcd,
    GcsEmulator,
    Gmond,
    JavaDebug,
    Jupyter,
    LabError,
    MariaDb,
    Memcached,
    Mosquitto,
    MotoServer,
    NbdServer,
    Nfs,
    Nginx,
    Nrpe,
    Ntpd,
    Postgres,
    Prometheus,
    RabbitMq,
    Redis,
    RsyncDaemon,
    Samba,
    Service,
    Slapd,
    Snmpd,
    Sshd,
    Telnetd,
    Tftpd,
    Unbound,
    Vnc,
    Xrdp,
    Xvfb,
    ZooKeeper,
    stop_group,
    wait_for_port,
    wait_for_udp,
    wait_until_ready,
)

LAB_INDEX = int(os.environ.get("AUDITOR_LAB_INDEX", "0"))
"""Which of the test labs running side by side this process owns (tests/halves.py): each
has its own loopback network, namespace network and namespace names."""
NETNS_NETWORK = f"10.{250 + LAB_INDEX}"
"""Addresses of lab hosts in network namespaces the lab creates (never routed off-host)."""
DEMO_NETWORK = "127.77.0"
TEST_NETWORK = f"127.78.{LAB_INDEX}"
LAB_PORTS = (
    "21,22,23,80,111,389,443,445,631,873,1080,1099,1883,2181,2222,2375,2379,2380,3306,3310,"
    "3389,4369,5000,5432,5666,5672,5900,5901,6000,6379,8000,8080,8443,8649,8888,9090,9200,"
    "9300,9443,10250,10443,10809,11211,15672,27017"
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
    "ClientAliveInterval 300",
    "ClientAliveCountMax 3",
    "MaxStartups 10:30:60",
    "IgnoreUserKnownHosts yes",
    "DebianBanner no",
    "TCPKeepAlive no",
    "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org",
    "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr",
    "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
)


def _net_sysctls(*settings: tuple[str, int]) -> tuple[str, ...]:
    """`net.KEY=VALUE` lines for a namespace host's `sysctls`."""
    return tuple(f"net.{key}={value}" for key, value in settings)


HARDENED_NET_SYSCTLS = _net_sysctls(
    *(
        ("ipv4.conf.all.send_redirects", 0),
        ("ipv4.conf.default.send_redirects", 0),
        ("ipv4.conf.all.accept_redirects", 0),
        ("ipv4.conf.default.accept_redirects", 0),
        ("ipv6.conf.all.accept_redirects", 0),
        ("ipv6.conf.default.accept_redirects", 0),
        ("ipv4.conf.all.secure_redirects", 0),
        ("ipv4.conf.default.secure_redirects", 0),
        ("ipv4.conf.all.accept_source_route", 0),
        ("ipv4.conf.default.accept_source_route", 0),
        ("ipv4.conf.all.rp_filter", 1),
        ("ipv4.conf.default.rp_filter", 1),
        ("ipv4.conf.all.log_martians", 1),
        ("ipv4.conf.default.log_martians", 1),
        ("ipv6.conf.all.accept_ra", 0),
        ("ipv6.conf.default.accept_ra", 0),
    )
)
"""CIS Debian 12 section 3.3 as its remediation writes it (the rest are a new network
namespace's defaults already; kernel.* are the machine's own)."""

DEV_SEC_NET_SYSCTLS = _net_sysctls(
    *(
        ("ipv4.icmp_ratelimit", 100),
        ("ipv4.icmp_ratemask", 88089),
        ("ipv4.tcp_timestamps", 0),
        ("ipv4.conf.all.arp_ignore", 1),
        ("ipv4.conf.all.arp_announce", 2),
        ("ipv4.tcp_rfc1337", 1),
        ("ipv4.conf.all.shared_media", 1),
        ("ipv4.conf.default.shared_media", 1),
        ("ipv6.conf.all.router_solicitations", 0),
        ("ipv6.conf.default.router_solicitations", 0),
        ("ipv6.conf.default.accept_ra_rtr_pref", 0),
        ("ipv6.conf.default.accept_ra_pinfo", 0),
        ("ipv6.conf.default.accept_ra_defrtr", 0),
        ("ipv6.conf.all.autoconf", 0),
        ("ipv6.conf.default.autoconf", 0),
        ("ipv6.conf.default.dad_transmits", 0),
        ("ipv6.conf.default.max_addresses", 1),
    )
)
"""dev-sec linux-baseline's network values (sysctl-05..28), per network namespace."""
VENDOR_SSHD = (
    "PermitRootLogin yes",
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no",
    "LogLevel INFO",
    "X11Forwarding yes",
    "GSSAPIAuthentication yes",
    "GatewayPorts yes",
    "PermitTunnel yes",
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
    netns: bool = False
    """Run in its own network namespace (reached over a veth pair at 10.250.<octet>.2), so
    that what the host sees of its own sockets (`ss`) is only its own."""
    aged_files: int = -1
    """When >= 0: a data folder with this many files aged 200 days (plus one fresh file),
    declared as the change record's data path with a 90-day retention limit."""
    jump_via: str | None = None
    """Name of the lab host to reach this one through (ProxyJump)."""
    sysctls: tuple[str, ...] = ()
    """With `netns`: `key=value` kernel parameters of this host's own network namespace
    (the net.* ones are per namespace), set with sysctl -w when it is made."""
    behind: str | None = None
    """With `netns`: name of another namespace host that is this one's only neighbour
    (a veth pair between the two namespaces). The machine itself has no way to it: an
    `unreachable` route for its /30, so that a probe dialling it directly fails at once
    and no packet leaves the machine."""
    aws: dict[str, Any] = field(default_factory=dict)
    """Cloud resources linked to this server (inventory `aws:`); `instance` names which
    seeded instance (`good` or `vendor`) once the cloud is up."""
    gcp: dict[str, Any] = field(default_factory=dict)
    """Cloud Storage buckets linked to this server (inventory `gcp:`)."""

    def ip(self, network: str) -> str:
        return f"{NETNS_NETWORK}.{self.octet}.2" if self.netns else f"{network}.{self.octet}"

    @property
    def netns_name(self) -> str:
        return f"auditor-lab{LAB_INDEX or ''}-{self.octet}"

    @property
    def veth(self) -> str:
        return f"alab{LAB_INDEX or ''}x{self.octet}" if LAB_INDEX else f"alab{self.octet}"


FLEET: tuple[LabHost, ...] = (
    LabHost(
        "hardened",
        10,
        (Sshd(config=HARDENED_SSHD), Postgres(auth="scram-sha-256"), MariaDb(tls=True)),
        change={
            "id": "CHG-1001",
            "approved": True,
            "owner": "infra-team",
            "go_live": "2026-12-01",
            "data": [],
            "exposes": [
                {"port": 22, "proto": "tcp", "service": "ssh", "to": "internal"},
                {"port": 5432, "proto": "tcp", "service": "postgresql", "to": "internal"},
                {"port": 3306, "proto": "tcp", "service": "mysql", "to": "internal"},
            ],
        },
        tags={"env": "prod", "role": "bastion"},
        aws={"buckets": [cloud.GOOD_BUCKET], "instance": "good"},
        gcp={"buckets": [cloud.GOOD_GCS_BUCKET]},
    ),
    LabHost(
        "vendor-built",
        11,
        (
            Sshd(config=VENDOR_SSHD),
            Redis(),
            Postgres(auth="trust"),
            MariaDb(open_root=True),
            Samba(guest=True),
            Nginx(
                autoindex=True,
                tls=((443, "expired", False),),
                files=(
                    (".git/config", "[core]\n\trepositoryformatversion = 0\n"),
                    (".env", "APP_ENV=production\nDB_PASSWORD=lab-not-a-secret\n"),
                    # the migration's dump, left in the web root
                    (
                        "backup.sql",
                        "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n"
                        "DROP TABLE IF EXISTS `customers`;\n"
                        "CREATE TABLE `customers` (`id` int, `email` varchar(255));\n"
                        "INSERT INTO `customers` VALUES (1,'lab@example.invalid');\n",
                    ),
                ),
            ),
            Snmpd(community="public"),
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
                {"port": 443, "proto": "tcp", "service": "https", "to": "internet"},
            ],
        },
        tags={"env": "prod", "role": "web"},
        aws={
            "buckets": [cloud.PUBLIC_BUCKET],
            "db_instances": [cloud.PUBLIC_DB],
            "instance": "vendor",
        },
        gcp={"buckets": [cloud.PUBLIC_GCS_BUCKET]},
    ),
    LabHost("cloud", 40, (MotoServer(), GcsEmulator()), rules=()),
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
        (Sshd(port=2222, config=HARDENED_SSHD, host_keys=("ed25519", "rsa:3072")),),
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
                sudoers=("audit ALL=(root) NOPASSWD: /usr/sbin/sshd -T *, /usr/bin/ss -Htlnp *",),
            ),
        ),
        change=_ssh_change("CHG-3006"),
        ssh_user="audit",
    ),
    LabHost(
        "no-tools",
        18,
        (Sshd(config=(*HARDENED_SSHD, "SetEnv PATH=/nonexistent")),),
        change=_ssh_change("CHG-3007"),
    ),
    LabHost(
        "two-daemons",
        19,
        (
            Sshd(
                config=HARDENED_SSHD,
                second=(
                    2222,
                    ("PermitRootLogin yes", "StrictModes no", "PasswordAuthentication yes"),
                ),
            ),
        ),
        change=_ssh_change("CHG-3008", 2222),
        ssh_port=2222,
    ),
    LabHost(
        "slow-commands",
        24,
        (Sshd(config=(*HARDENED_SSHD, 'ForceCommand sleep 1.5; eval "$SSH_ORIGINAL_COMMAND"')),),
        change=_ssh_change("CHG-3009"),
    ),
    LabHost(
        "own-config",
        28,
        (
            # `sshd -f /etc/ssh/other_config` on port 22, beside a hardened-looking
            # /etc/ssh/sshd_config on the same address that nothing runs (issue 24).
            Sshd(
                config=("PermitRootLogin yes", "PasswordAuthentication no", "LogLevel VERBOSE"),
                config_file="other_config",
                system_config=("PermitRootLogin no", "PasswordAuthentication no", "LogLevel INFO"),
            ),
        ),
        change=_ssh_change("CHG-3010"),
    ),
    LabHost(
        "overrides",
        29,
        (Sshd(config=HARDENED_SSHD, options=("PermitRootLogin=yes", "LogLevel=DEBUG")),),
        change=_ssh_change("CHG-3011"),
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


UDP_PORTS = {"snmp": 161, "ntp": 123, "dns": 53, "memcached": 11211, "tftp": 69}


def _udp(*services: str) -> list[dict[str, Any]]:
    return [
        {"port": UDP_PORTS[s], "proto": "udp", "service": s, "to": "internal"} for s in services
    ]


def _tcp(port: int, service: str) -> dict[str, Any]:
    return {"port": port, "proto": "tcp", "service": service, "to": "internal"}


HOST_FLEET: tuple[LabHost, ...] = (
    LabHost(
        "db-host",
        30,
        (
            Sshd(
                config=HARDENED_SSHD,
                extra_accounts=(
                    ("toor:x:0:0:maintenance:/root:/bin/sh", "toor:*:19000:0:99999:7:::"),
                    ("guest:x:47002:47002:guest:/:/bin/sh", "guest::19000:0:99999:7:::"),
                ),
                etc_files=(
                    # What a vendor leaves for its deploy account: root without a password.
                    ("sudoers.d/90-vendor", "deploy ALL=(ALL) NOPASSWD: ALL\n"),
                    (
                        "postgresql/15/main/pg_hba.conf",
                        "local all postgres peer\n"
                        "host all all 127.0.0.1/32 scram-sha-256\n"
                        "host all all 10.0.0.0/8 trust\n",
                    ),
                    ("mysql/my.cnf", "[mysqld]\nskip-grant-tables\nbind-address = 0.0.0.0\n"),
                    ("exports", "/srv/exports *(rw,no_root_squash)\n/srv/backups 10.0.0.0/8(ro)\n"),
                    (
                        "samba/smb.conf",
                        "[global]\n  map to guest = Bad User\n"
                        "[exports]\n  path = /srv/exports\n  public = yes\n",
                    ),
                ),
            ),
            Redis(bind_all=True),
        ),
        change=_declared("CHG-5001", (22, "ssh")),
        rules=("baseline", "host"),
        netns=True,
        aged_files=3,
        sysctls=("net.ipv4.ip_forward=1",),  # and every other net.* default of a new netns
    ),
    LabHost(
        "clean-host",
        31,
        (
            Sshd(
                config=HARDENED_SSHD,
                remount=tuple(
                    (path, "nodev,nosuid,noexec") for path in ("/tmp", "/dev/shm", "/var/tmp")
                ),
            ),
        ),
        change=_declared("CHG-5002", (22, "ssh")),
        rules=("baseline", "host"),
        netns=True,
        aged_files=0,
        sysctls=HARDENED_NET_SYSCTLS,
    ),
    LabHost(
        "hardened-debian",
        36,
        (
            DebianHost(
                hardened=True,
                config=(
                    *HARDENED_SSHD,
                    "Banner /etc/issue.net",
                    "AllowGroups root",
                    "AddressFamily inet",
                ),
            ),
        ),
        change=_declared("CHG-5003", (22, "ssh")),
        rules=("baseline", "ssh", "hardening"),
        netns=True,
        sysctls=HARDENED_NET_SYSCTLS + DEV_SEC_NET_SYSCTLS,
    ),
    LabHost(
        "vendor-debian",
        37,
        (DebianHost(hardened=False),),
        change=_declared("CHG-5004", (22, "ssh")),
        rules=("baseline", "ssh", "hardening"),
        netns=True,
    ),
)
"""Hosts in their own network namespaces for the host probe: one with a second UID 0
account, an empty password, Redis on all addresses and data past its retention limit."""


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
    LabHost(
        "fileserver",
        32,
        (Samba(guest=True), Nfs()),
        change=_declared("CHG-4005", (445, "smb"), (111, "rpcbind")),
        rules=("baseline", "services"),
        netns=True,
    ),
    LabHost(
        "fileserver-locked",
        33,
        (
            Samba(guest=False, signing="mandatory"),
            Nfs(exports="{share} 10.9.9.0/24(ro,no_subtree_check)\n"),
        ),
        change=_declared("CHG-4006", (445, "smb"), (111, "rpcbind")),
        rules=("baseline", "services"),
        netns=True,
    ),
    LabHost(
        "data-platform",
        26,
        (ZooKeeper(open_4lw=True), DockerRegistry(), Jupyter()),
        change=_declared(
            "CHG-4007", (2181, "zookeeper"), (5000, "docker-registry"), (8888, "jupyter")
        ),
        rules=("baseline", "services"),
    ),
    LabHost(
        "data-platform-locked",
        27,
        (ZooKeeper(), DockerRegistry(htpasswd=True), Jupyter(token="lab-jupyter-token")),
        change=_declared(
            "CHG-4008", (2181, "zookeeper"), (5000, "docker-registry"), (8888, "jupyter")
        ),
        rules=("baseline", "services"),
    ),
    LabHost(
        "broker",
        34,
        (RabbitMq(guest_remote=True, epmd_exposed=True),),
        change=_declared("CHG-4009", (5672, "amqp"), (15672, "rabbitmq-management")),
        rules=("baseline", "services"),
        netns=True,
    ),
    LabHost(
        "broker-locked",
        35,
        (RabbitMq(),),
        change=_declared("CHG-4010", (5672, "amqp"), (15672, "rabbitmq-management")),
        rules=("baseline", "services"),
        netns=True,
    ),
    LabHost(
        "web-tls",
        38,
        (
            Nginx(
                status_page=True,
                tls=(
                    (443, "good", False),
                    (8443, "self-signed", False),
                    (9443, "weak", True),
                    (10443, "wrong-name", False),
                ),
            ),
        ),
        change=_declared(
            "CHG-4011",
            (80, "http"),
            (443, "https"),
            (8443, "https"),
            (9443, "https"),
            (10443, "https"),
        ),
        rules=("baseline", "services", "tls"),
    ),
    LabHost(
        "udp-open",
        39,
        (
            Snmpd(community="public"),
            Ntpd(query=True),
            Unbound(open_to_all=True),
            Memcached(over_udp=True),
            Tftpd(),
            Slapd(anonymous=True),
            Xvfb(access_control=False),
            Mosquitto(anonymous=True),
            Dante(open_proxy=True),
            Gmond(),
        ),
        change=_declared("CHG-4012")
        | {
            "exposes": [
                *_udp("snmp", "ntp", "dns", "memcached", "tftp"),
                *(
                    _tcp(p, s)
                    for p, s in (
                        (11211, "memcached"),
                        (389, "ldap"),
                        (6000, "x11"),
                        (1883, "mqtt"),
                        (1080, "socks"),
                        (8649, "ganglia"),
                    )
                ),
            ]
        },
        rules=("baseline", "services"),
        netns=True,
    ),
    LabHost(
        "udp-locked",
        41,
        (
            Snmpd(),
            Ntpd(query=False),
            Unbound(open_to_all=False),
            Slapd(anonymous=False),
            Xvfb(access_control=True),
            Mosquitto(anonymous=False),
            Dante(open_proxy=False),
        ),
        change=_declared("CHG-4013")
        | {
            "exposes": [
                *_udp("snmp", "ntp", "dns"),
                *(
                    _tcp(p, s)
                    for p, s in ((389, "ldap"), (6000, "x11"), (1883, "mqtt"), (1080, "socks"))
                ),
            ]
        },
        rules=("baseline", "services"),
        netns=True,
    ),
    LabHost(
        "infra-open",
        42,
        (
            JavaDebug(),
            NbdServer(tls=False),
            Clamd(),
            Xrdp(security_layer="rdp"),
            Nrpe(),
            Cups(open_to_all=True),
            AnonymousFtp(bounce=True),
        ),
        change=_declared(
            "CHG-4014",
            *((8000, "jdwp"), (1099, "rmiregistry"), (10809, "nbd"), (3310, "clamd")),
            *((3389, "rdp"), (5666, "nrpe"), (631, "ipp"), (21, "ftp")),
        ),
        rules=("baseline", "services"),
        netns=True,
    ),
    LabHost(
        "infra-locked",
        43,
        (
            NbdServer(tls=True),
            Xrdp(security_layer="tls"),
            Nrpe(allowed_hosts="192.0.2.10"),
            Cups(open_to_all=False),
            AnonymousFtp(bounce=False),
        ),
        change=_declared(
            "CHG-4015", (10809, "nbd"), (3389, "rdp"), (5666, "nrpe"), (631, "ipp"), (21, "ftp")
        ),
        rules=("baseline", "services"),
        netns=True,
    ),
    LabHost(
        "remote-access",
        25,
        (Vnc(), Vnc(port=5901, password="lab-vnc-pass"), Telnetd()),
        change=_declared("CHG-4004", (5900, "vnc"), (5901, "vnc"), (23, "telnet")),
        rules=("baseline", "services"),
    ),
)
"""Declared services for the tests: protected Redis, open memcached, anonymous FTP, rsync,
etcd and Prometheus, and remote access: a VNC desktop without and one with a password, and
Telnet started by inetd."""


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
    def cloud_host(self) -> LabHost | None:
        return next(
            (h for h in self.fleet if any(isinstance(s, MotoServer) for s in h.services)), None
        )

    @property
    def aws_endpoint(self) -> str | None:
        host = self.cloud_host
        return f"http://{host.ip(self.network)}:{MotoServer.port}" if host else None

    @property
    def gcs_endpoint(self) -> str | None:
        host = next(
            (h for h in self.fleet if any(isinstance(s, GcsEmulator) for s in h.services)), None
        )
        return f"http://{host.ip(self.network)}:{GcsEmulator.port}" if host else None

    def cloud_ids(self) -> cloud.CloudIds | None:
        path = self.state_dir / "cloud.json"
        if not path.exists():
            return None
        return cloud.CloudIds(**json.loads(path.read_text()))

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def tls_ca(self) -> Path:
        """The lab CA that signs the TLS servers' certificates (tests/lab/certs.py): a
        client trusts it as a private CA, through OpenSSL's SSL_CERT_FILE."""
        return lab_ca(self.state_dir / "tls")

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
                etc = self.service_home(host, service) / "etc_ssh"
                for port in service.ports:
                    name = ip if port == 22 else f"[{ip}]:{port}"
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
        if any(h.netns for h in self.fleet) and shutil.which("ip") is None:
            problems.append("ip (iproute2) not installed: needed for network-namespace hosts")
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
                if host.netns:
                    running.append({"host": host.name, "netns": host.netns_name})
                    self._save(running)
                    self._make_netns(host, running)
                if host.aged_files >= 0:
                    self._make_aged_files(host)
                ip = host.ip(self.network)
                for service in host.services:
                    home = self.service_home(host, service)
                    home.mkdir(parents=True, exist_ok=True)
                    if isinstance(service, Sshd):
                        service.authorize(home, "root", public)
                        if service.own_accounts:
                            service.authorize(home, "audit", public)
                    if service.needs_interface_address and not host.netns:
                        subprocess.run(
                            ["ip", "addr", "add", f"{ip}/32", "dev", "lo"],
                            check=False,
                            capture_output=True,
                        )
                        running.append({"host": host.name, "lo_address": ip})
                        self._save(running)
                    process = service.start(ip, home, host.netns_name if host.netns else None)
                    running.append({"host": host.name, "service": service.kind, "pid": process.pid})
                    self._save(running)
                    try:
                        inside = host.netns_name if host.behind else ""
                        if service.udp:
                            wait_for_udp(
                                service, ip, process, host.netns_name if host.netns else None
                            )
                        else:
                            wait_for_port(ip, service.port, process, service.start_seconds, inside)
                        wait_until_ready(service, ip, process)
                    except LabError as exc:
                        raise LabError(
                            f"{host.name}: {service.kind} on {ip}:{service.port}: {exc} "
                            f"(logs in {home})"
                        ) from None
        except BaseException:
            self.down()
            raise
        self.write_known_hosts()
        if self.gcs_endpoint:
            cloud.seed_gcs(self.gcs_endpoint)
        if self.aws_endpoint:
            ids = cloud.seed(self.aws_endpoint)
            (self.state_dir / "cloud.json").write_text(json.dumps(ids.__dict__))

    def down(self) -> None:
        state = self.state_dir / "state.json"
        if not state.exists():
            return
        (self.state_dir / "cloud.json").unlink(missing_ok=True)
        entries = json.loads(state.read_text())
        for entry in entries:
            if "pid" in entry:
                stop_group(int(entry["pid"]))
        for entry in entries:
            if "netns" in entry:  # deleting the namespace deletes its veth pair too
                subprocess.run(["ip", "netns", "del", entry["netns"]], check=False)
            if "route" in entry:
                subprocess.run(["ip", "route", "del", entry["route"]], check=False)
            if "lo_address" in entry:
                subprocess.run(
                    ["ip", "addr", "del", f"{entry['lo_address']}/32", "dev", "lo"],
                    check=False,
                    capture_output=True,
                )
        state.unlink()

    def _make_netns(self, host: LabHost, running: list[dict[str, Any]]) -> None:
        name, octet = host.netns_name, host.octet
        outside, inside = f"{NETNS_NETWORK}.{octet}.1", f"{NETNS_NETWORK}.{octet}.2"
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
        # A run that died may have left its veth behind (a process kept the namespace).
        subprocess.run(["ip", "link", "del", host.veth], check=False, capture_output=True)
        near = ["ip"] if host.behind is None else ["ip", "-n", self.host(host.behind).netns_name]
        if host.behind is not None:
            route = f"{NETNS_NETWORK}.{octet}.0/30"
            subprocess.run(["ip", "route", "del", route], check=False, capture_output=True)
            subprocess.run(["ip", "route", "add", "unreachable", route], check=True)
            running.append({"host": host.name, "route": route})
            self._save(running)
        for command in (
            ["ip", "netns", "add", name],
            [
                "ip",
                "link",
                "add",
                host.veth,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                name,
            ],
            *(
                [["ip", "link", "set", host.veth, "netns", self.host(host.behind).netns_name]]
                if host.behind is not None
                else []
            ),
            [*near, "addr", "add", f"{outside}/30", "dev", host.veth],
            [*near, "link", "set", host.veth, "up"],
            ["ip", "-n", name, "addr", "add", f"{inside}/30", "dev", "eth0"],
            ["ip", "-n", name, "link", "set", "eth0", "up"],
            ["ip", "-n", name, "link", "set", "lo", "up"],
            *(["ip", "netns", "exec", name, "sysctl", "-q", "-w", kv] for kv in host.sysctls),
        ):
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise LabError(f"{host.name}: {' '.join(command)}: {result.stderr.strip()}")

    def data_dir(self, host: LabHost) -> Path:
        return self.state_dir / host.name / "data" / "exports"

    def _make_aged_files(self, host: LabHost) -> None:
        folder = self.data_dir(host)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        old = time.time() - 200 * 86400
        for index in range(host.aged_files):
            path = folder / f"customers-{index}.csv"
            path.write_text("id,name\n")
            os.utime(path, (old, old))
        (folder / "customers-today.csv").write_text("id,name\n")
        for path in (folder, folder.parent, folder.parent.parent):
            path.chmod(0o755)

    def _save(self, running: list[dict[str, Any]]) -> None:
        (self.state_dir / "state.json").write_text(json.dumps(running, indent=1))

    def inventory(self, ports: str = LAB_PORTS, hosts: list[str] | None = None) -> dict[str, Any]:
        """The lab described as inventory v1 (inventories/lab.yaml is this, for the demo)."""
        chosen = [h for h in self.fleet if (hosts is None or h.name in hosts) and h.rules != ()]
        return {
            "version": 1,
            "scope": [f"{self.network}.0/24"]
            + ([f"{NETNS_NETWORK}.0.0/16"] if any(h.netns for h in chosen) else []),
            "defaults": {
                "ports": ports,
                "rules": ["baseline", "ssh", "services", "tls"],
                "ssh": {
                    "user": "root",
                    "port": 22,
                    "identity_file": str(self.client_key),
                    "known_hosts": str(self.known_hosts),
                },
            },
            "servers": [self._server(host) for host in chosen],
        } | self._cloud_section(chosen)

    def _cloud_section(self, chosen: list[LabHost]) -> dict[str, Any]:
        section: dict[str, Any] = {}
        if self.aws_endpoint and any(h.aws for h in chosen):
            section["aws"] = {"endpoint_url": self.aws_endpoint, "regions": [cloud.REGION]}
        if self.gcs_endpoint and any(h.gcp for h in chosen):
            section["gcp"] = {"project": cloud.GCS_PROJECT, "endpoint_url": self.gcs_endpoint}
        return {"cloud": section} if section else {}

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
        elif (host.aws and self.aws_endpoint) or (host.gcp and self.gcs_endpoint):
            server["rules"] = ["baseline", "ssh", "services", "tls"]
            server["rules"] += ["aws"] if host.aws and self.aws_endpoint else []
            server["rules"] += ["gcp"] if host.gcp and self.gcs_endpoint else []
        if host.tags:
            server["tags"] = dict(host.tags)
        server["change"] = dict(host.change)
        if host.aws and self.aws_endpoint:
            link = {k: v for k, v in host.aws.items() if k != "instance"}
            ids = self.cloud_ids()
            if ids is not None and host.aws.get("instance"):
                link["instance_id"] = getattr(ids, f"{host.aws['instance']}_instance")
            server["aws"] = link
        if host.gcp and self.gcs_endpoint:
            server["gcp"] = dict(host.gcp)
        if host.aged_files >= 0:
            server["change"].update(retention_days=90, data_paths=[str(self.data_dir(host))])
        return server

    def write_inventory(self, path: Path, hosts: list[str] | None = None, **changes: Any) -> Path:
        data = self.inventory(hosts=hosts)
        data.update(changes)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path
