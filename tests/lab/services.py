"""Real daemons from Debian's packages, each started on its own loopback address.

Every service writes its files under the lab's state folder, runs in its own process group
(so `down` can stop it and everything it spawned), and is ready when its port accepts a
TCP connection. Nothing here binds outside 127.0.0.0/8.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.certs import certificate

SSHD = "/usr/sbin/sshd"


class LabError(Exception):
    """The lab could not start a service; the message says which and why."""


@dataclass(frozen=True)
class Service:
    """One daemon on one lab host."""

    kind: str
    port: int

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        raise NotImplementedError

    def binaries(self) -> tuple[str, ...]:
        return ()

    needs_interface_address: bool = field(default=False, init=False, repr=False)
    """True for daemons that bind only to addresses some interface carries (Samba): on a
    loopback lab host the lab then puts the host's address on `lo` while it runs."""
    udp: bool = field(default=False, init=False, repr=False)
    """Listens on UDP only: the lab waits for its socket in `ss -uln`, not for a connect."""
    start_seconds: float = field(default=15.0, init=False, repr=False)
    """How long the daemon may take to listen (an Erlang VM takes ten seconds alone)."""

    def ready(self, ip: str) -> bool:
        """Beyond listening on `port`: is it ready to be audited? (NFS: mountd registered.)"""
        return True


@dataclass(frozen=True)
class Sshd(Service):
    """OpenSSH in a private mount namespace, so a remote `sshd -T` reads *its* config.

    `config` holds sshd_config lines beyond the listen address and host keys; `host_keys`
    lists ssh-keygen key specs such as `ed25519` or `rsa:1024`.
    """

    kind: str = "ssh"
    port: int = 22
    config: tuple[str, ...] = ()
    host_keys: tuple[str, ...] = ("ed25519",)
    sudoers: tuple[str, ...] | None = None
    """When set, an `audit` user (uid 47001) exists inside this sshd's mount namespace
    only, with these sudoers lines; the host's own accounts are never touched."""
    extra_accounts: tuple[tuple[str, str], ...] = ()
    """(passwd line, shadow line) pairs added inside this sshd's mount namespace only."""
    etc_files: tuple[tuple[str, str], ...] = ()
    """(path under /etc, content) pairs seen inside this sshd's mount namespace only: each
    top folder (`postgresql/15/main/pg_hba.conf` → /etc/postgresql) is replaced by the
    lab's own, so a host can carry a database's config without touching the machine's."""
    second: tuple[int, tuple[str, ...]] | None = None
    """(port, config lines): a second sshd in the same mount namespace, started with
    `-f /etc/ssh/sshd_config_second`, as when someone runs a test daemon beside the real
    one. A remote `sshd -T` then describes the first one."""
    config_file: str = "sshd_config"
    """The file under /etc/ssh this daemon runs with (`sshd -f`)."""
    system_config: tuple[str, ...] | None = None
    """With another `config_file`: what /etc/ssh/sshd_config says (same listen address and
    keys, these lines), a config that `sshd -T` alone would describe instead."""
    options: tuple[str, ...] = ()
    """`-o Key=value` options on the daemon's command line."""
    remount: tuple[tuple[str, str], ...] = ()
    """(path, mount options): the path bound onto itself and remounted with these options,
    in this sshd's mount namespace only (a hardened host's /tmp: nodev,nosuid,noexec)."""
    stock_host: bool = False
    """When set, this sshd's mount namespace hides what this machine carries and a freshly
    built server would not: root's home becomes a stock one (/etc/skel; this machine's
    .bashrc starts pyenv, about 100 processes for every command sshd runs) and
    /var/lib/apt/lists an empty folder (here `apt-get -s upgrade` takes seconds of CPU, the
    package cache being disabled). The bench sets it, so it measures the audit, not them."""

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port,) + ((self.second[0],) if self.second else ())

    @property
    def own_accounts(self) -> bool:
        return self.sudoers is not None or bool(self.extra_accounts)

    def binaries(self) -> tuple[str, ...]:
        return (SSHD, "ssh-keygen", "unshare", "setsid")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        etc = home / "etc_ssh"
        (etc / "authorized_keys").mkdir(parents=True, exist_ok=True)
        lines = [f"ListenAddress {ip}:{self.port}", "PidFile /run/sshd.pid", "UsePAM no"]
        for spec in self.host_keys:
            kind, _, bits = spec.partition(":")
            key = etc / f"ssh_host_{kind}_key"
            if not key.exists():
                cmd = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)]
                if bits:
                    cmd += ["-b", bits]
                subprocess.run(cmd, check=True, capture_output=True)
            lines.append(f"HostKey /etc/ssh/{key.name}")
        common = [*lines, "AuthorizedKeysFile /etc/ssh/authorized_keys/%u"]
        lines = [*common, *self.config]
        (etc / self.config_file).write_text("\n".join(lines) + "\n")
        if self.system_config is not None and self.config_file != "sshd_config":
            (etc / "sshd_config").write_text("\n".join([*common, *self.system_config]) + "\n")
        second = ""
        if self.second is not None:
            port, extra = self.second
            keys = [line for line in lines if line.startswith("HostKey ")]
            (etc / "sshd_config_second").write_text(
                "\n".join(
                    [
                        f"ListenAddress {ip}:{port}",
                        "PidFile /run/sshd-second.pid",
                        "UsePAM no",
                        *keys,
                        "AuthorizedKeysFile /etc/ssh/authorized_keys/%u",
                        *extra,
                    ]
                )
                + "\n"
            )
            second = (
                f"({SSHD} -D -f /etc/ssh/sshd_config_second -E {home / 'sshd-second.log'} &) && "
            )
        if Path("/etc/ssh/moduli").exists() and not (etc / "moduli").exists():
            shutil.copy("/etc/ssh/moduli", etc / "moduli")
        for path in (home, etc, etc / "authorized_keys"):
            path.chmod(0o755)
        log = home / "sshd.log"
        binds = [f"mount --bind {etc} /etc/ssh"]
        if self.own_accounts:
            binds += [f"mount --bind {path} /etc/{path.name}" for path in self._accounts(home)]
        binds += [f"mount --bind {path} /etc/{path.name}" for path in self._etc_trees(home)]
        if self.stock_host:
            binds += self._stock_binds(home)
        binds += [
            f"mount --bind {path} {path} && mount -o remount,bind,{options} {path}"
            for path, options in self.remount
        ]
        script = (
            "mount -t tmpfs tmpfs /run && mkdir /run/sshd && "
            + " && ".join(binds)
            + f" && {second}exec {SSHD} -D -f /etc/ssh/{self.config_file}"
            + "".join(f" -o {shlex.quote(option)}" for option in self.options)
            + f" -E {log}"
        )
        return _spawn(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script], home, netns
        )

    def _stock_binds(self, home: Path) -> list[str]:
        root_home, lists = home / "stock_root", home / "stock_apt_lists"
        (lists / "partial").mkdir(parents=True, exist_ok=True)
        if not root_home.exists():
            shutil.copytree("/etc/skel", root_home)
        root_home.chmod(0o700)
        return [f"mount --bind {root_home} /root", f"mount --bind {lists} /var/lib/apt/lists"]

    def _etc_trees(self, home: Path) -> list[Path]:
        root = home / "etc_extra"
        shutil.rmtree(root, ignore_errors=True)
        tops: dict[str, Path] = {}
        for relative, content in self.etc_files:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            top = relative.split("/", 1)[0]
            is_file = "/" not in relative  # a file of /etc itself (exports), bound alone
            real = Path("/etc", top)
            if not (real.is_file() if is_file else real.is_dir()):
                raise LabError(f"/etc/{top} does not exist here: cannot stand in for it")
            tops[top] = root / top
        return list(tops.values())

    def _accounts(self, home: Path) -> list[Path]:
        """passwd, group, shadow and sudoers for this instance: the host's plus `audit`."""
        accounts = home / "accounts"
        accounts.mkdir(exist_ok=True)
        extra = {
            "passwd": "audit:x:47001:47001:auditor lab:/:/bin/sh\n"
            + "".join(f"{pw}\n" for pw, _ in self.extra_accounts),
            "group": "audit:x:47001:\n",
            "shadow": "audit:*:19000:0:99999:7:::\n"
            + "".join(f"{sh}\n" for _, sh in self.extra_accounts),
        }
        paths = []
        for name, line in extra.items():
            path = accounts / name
            path.write_text(Path(f"/etc/{name}").read_text() + line)
            path.chmod(0o640 if name == "shadow" else 0o644)
            paths.append(path)
        sudoers = accounts / "sudoers"
        sudoers.write_text("\n".join(["root ALL=(ALL:ALL) ALL", *(self.sudoers or ())]) + "\n")
        sudoers.chmod(0o440)
        return [*paths, sudoers]

    def authorize(self, home: Path, user: str, public_key: str) -> None:
        path = home / "etc_ssh" / "authorized_keys" / user
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(public_key)
        path.chmod(0o644)


@dataclass(frozen=True)
class Redis(Service):
    kind: str = "redis"
    port: int = 6379
    password: str | None = None
    bind_all: bool = False
    """Bind to every address (0.0.0.0), as a careless build does."""

    def binaries(self) -> tuple[str, ...]:
        return ("redis-server",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        lines = [
            "bind 0.0.0.0" if self.bind_all else f"bind {ip}",
            f"port {self.port}",
            "protected-mode no" if self.password is None else "protected-mode yes",
            'save ""',
            "appendonly no",
            f"dir {home}",
            f"logfile {home / 'redis.log'}",
        ]
        if self.password:
            lines.append(f"requirepass {self.password}")
        conf = home / "redis.conf"
        conf.write_text("\n".join(lines) + "\n")
        return _spawn(["redis-server", str(conf)], home, netns)


def postgres_binary(name: str) -> str:
    """Debian keeps PostgreSQL's programs in /usr/lib/postgresql/<version>/bin, off PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else name


@dataclass(frozen=True)
class Postgres(Service):
    """PostgreSQL with `auth` on every TCP line of pg_hba.conf (`trust` as a careless build
    has it, or `scram-sha-256`).

    PostgreSQL refuses to run as root and the lab's folders are root's own, so the cluster's
    folder is bind-mounted on /mnt in a private mount namespace and the server runs there as
    the `postgres` user: nothing outside the lab's folder is touched.
    """

    kind: str = "postgresql"
    port: int = 5432
    auth: str = "scram-sha-256"

    def binaries(self) -> tuple[str, ...]:
        return (postgres_binary("postgres"), postgres_binary("initdb"), "unshare", "setpriv")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        cluster = home / "cluster"
        shutil.rmtree(cluster, ignore_errors=True)
        cluster.mkdir(parents=True)
        shutil.chown(cluster, "postgres", "postgres")
        hba = (
            "local all all trust\n"
            f"host all all 0.0.0.0/0 {self.auth}\nhost all all ::/0 {self.auth}\n"
        )
        as_postgres = "exec setpriv --reuid=postgres --regid=postgres --init-groups"
        script = (
            f"mount --bind {cluster} /mnt && "
            f"setpriv --reuid=postgres --regid=postgres --init-groups "
            f"{postgres_binary('initdb')} -D /mnt/data -U postgres -A {self.auth} --no-sync "
            f"--auth-local=trust > /mnt/initdb.log 2>&1 && "
            f"printf '{hba}' > /mnt/data/pg_hba.conf && "
            f"{as_postgres} {postgres_binary('postgres')} -D /mnt/data -k /mnt -p {self.port} "
            f"-c listen_addresses={ip} -c fsync=off -c max_connections=20 "
            "-c shared_buffers=16MB"
        )
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class MariaDb(Service):
    """MariaDB from Debian, as the `mysql` user in a private mount namespace (its folder is
    bind-mounted on /mnt, as for PostgreSQL). `tls` gives it a self-signed certificate, so
    its handshake offers TLS; without it, it offers none (Debian's default)."""

    kind: str = "mysql"
    port: int = 3306
    tls: bool = False
    open_root: bool = False
    """`root@'%'` with an empty password, as a rushed build leaves it."""

    def binaries(self) -> tuple[str, ...]:
        return ("mariadbd", "mariadb-install-db", "unshare", "openssl")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        folder = home / "mariadb"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        options = [
            f"--bind-address={ip}",
            f"--port={self.port}",
            "--socket=/mnt/mysqld.sock",
            "--datadir=/mnt/data",
            "--pid-file=/mnt/mysqld.pid",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
            "--log-error=/mnt/error.log",
        ]
        if self.tls:
            subprocess.run(
                [
                    *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                    *("-subj", "/CN=lab-mariadb", "-keyout", str(folder / "key.pem")),
                    *("-out", str(folder / "cert.pem")),
                ],
                check=True,
                capture_output=True,
            )
            options += ["--ssl-cert=/mnt/cert.pem", "--ssl-key=/mnt/key.pem"]
        if self.open_root:
            (folder / "init.sql").write_text(
                "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '';\n"
                "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%';\n"
            )
            options.append("--init-file=/mnt/init.sql")
        shutil.chown(folder, "mysql", "mysql")
        for child in folder.iterdir():
            shutil.chown(child, "mysql", "mysql")
        script = (
            f"mount --bind {folder} /mnt && "
            "mariadb-install-db --no-defaults --user=mysql --datadir=/mnt/data --skip-test-db "
            f"--auth-root-authentication-method={'normal' if self.open_root else 'socket'} "
            "> /mnt/install.log 2>&1 && "
            f"exec mariadbd --no-defaults --user=mysql {' '.join(options)}"
        )
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Vnc(Service):
    """TigerVNC's X server on one address: `password` None offers security type None (a
    desktop anyone can drive), else VncAuth only."""

    kind: str = "vnc"
    port: int = 5900
    password: str | None = None
    blacklist_after: int = 1_000_000
    """TigerVNC blacklists a host after this many unauthenticated connections (default 5):
    the lab is audited many times from one address, so only its own test lowers it."""

    def binaries(self) -> tuple[str, ...]:
        return ("Xtigervnc", "tigervncpasswd")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        third, fourth = (int(part) for part in ip.split(".")[2:4])
        display = 100 + third * 3000 + fourth * 10 + self.port % 10  # unique per lab host
        argv = [
            *("Xtigervnc", f":{display}", "-rfbport", str(self.port), "-interface", ip),
            *("-localhost", "no", "-nolisten", "tcp", "-geometry", "320x200", "-depth", "16"),
            *("-BlacklistThreshold", str(self.blacklist_after), "-BlacklistTimeout", "60"),
        ]
        if self.password is None:
            argv += ["-SecurityTypes", "None"]
        else:
            secret = home / "passwd"
            secret.write_bytes(
                subprocess.run(
                    ["tigervncpasswd", "-f"],
                    input=self.password.encode(),
                    capture_output=True,
                    check=True,
                ).stdout
            )
            secret.chmod(0o600)
            argv += ["-SecurityTypes", "VncAuth", "-rfbauth", str(secret)]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Telnetd(Service):
    """GNU inetutils telnetd, started per connection by inetutils-inetd on one address."""

    kind: str = "telnet"
    port: int = 23

    def binaries(self) -> tuple[str, ...]:
        return ("/usr/sbin/inetutils-inetd", "/usr/sbin/telnetd")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        conf = home / "inetd.conf"
        conf.write_text(f"{ip}:{self.port} stream tcp nowait root /usr/sbin/telnetd telnetd\n")
        argv = ["/usr/sbin/inetutils-inetd", "-d", "-p", str(home / "inetd.pid"), str(conf)]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Samba(Service):
    """smbd with one read-only share, `guest` True letting a null session in (as a vendor's
    "temporary" share does). Samba binds only to addresses an interface carries: the veth
    address of a network-namespace host, or the loopback host's own address, which the lab
    adds to `lo` for it. Never 0.0.0.0."""

    kind: str = "smb"
    port: int = 445
    guest: bool = False
    signing: str = "default"
    """`server signing`: Samba's `default` offers signing without requiring it (relayable);
    `mandatory` requires it."""
    needs_interface_address: bool = field(default=True, init=False, repr=False)

    def binaries(self) -> tuple[str, ...]:
        return ("/usr/sbin/smbd", "smbclient")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        for folder in ("share", "private", "lock", "state", "cache", "pid", "log", "ncalrpc"):
            (home / folder).mkdir(parents=True, exist_ok=True)
        (home / "share" / "customers-2026.csv").write_text("id,name\n1,lab\n")
        (home / "smb.conf").write_text(
            "[global]\n"
            f"  interfaces = {ip}/24\n  bind interfaces only = yes\n  smb ports = {self.port}\n"
            + "".join(
                f"  {name} directory = {home / folder}\n"
                for name, folder in (("lock", "lock"), ("state", "state"), ("cache", "cache"))
            )
            + f"  private dir = {home / 'private'}\n  pid directory = {home / 'pid'}\n"
            f"  ncalrpc dir = {home / 'ncalrpc'}\n"
            f"  log file = {home / 'log' / 'smbd.log'}\n  server role = standalone server\n"
            "  load printers = no\n  printing = bsd\n  printcap name = /dev/null\n"
            "  disable spoolss = yes\n"
            f"  server signing = {self.signing}\n"
            + ("  map to guest = Bad User\n" if self.guest else "  restrict anonymous = 2\n")
            + f"[exports]\n  path = {home / 'share'}\n  read only = yes\n"
            + ("  guest ok = yes\n" if self.guest else "  guest ok = no\n")
        )
        # Its own RPC socket folder (the default, /run/samba/ncalrpc, is shared with any
        # other smbd) and its own PID namespace: smbd starts samba-dcerpcd, for the share
        # list, in a session of its own that stopping the process group would miss; when
        # smbd, the namespace's first process, ends, the kernel ends everything in it.
        argv = [
            *("unshare", "--pid", "--fork", "--kill-child", "/usr/sbin/smbd"),
            *("--foreground", "--no-process-group", "-s", str(home / "smb.conf")),
        ]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Nginx(Service):
    kind: str = "http"
    port: int = 80
    autoindex: bool = False
    files: tuple[tuple[str, str], ...] = field(default=())
    """(relative path, content) pairs placed in the web root, e.g. a `.git/config`."""
    status_page: bool = False
    """`stub_status` at /nginx_status, open to anyone (what a copied snippet leaves)."""
    tls: tuple[tuple[int, str, bool], ...] = field(default=())
    """(port, certificate kind, legacy) of each TLS server: a certificate of that kind
    (tests/lab/certs.py), TLS 1.2 and 1.3 only, or with `legacy` also TLS 1.0/1.1 and the
    NULL and anonymous suites this machine's OpenSSL still has, at security level 0."""

    def binaries(self) -> tuple[str, ...]:
        return ("nginx",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        root = home / "www"
        shutil.rmtree(root, ignore_errors=True)  # rebuilt each start: no stale files
        root.mkdir(parents=True)
        if not self.autoindex:  # an index page would hide the listing
            (root / "index.html").write_text("<html><title>lab</title></html>\n")
        for relative, content in self.files:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        for path in (home, *root.rglob("*"), root):
            path.chmod(0o755 if path.is_dir() else 0o644)
        temp = home / "nginx-temp"
        temp.mkdir(exist_ok=True)
        conf = home / "nginx.conf"
        # Workers run as the lab's user: pytest's temp folders are closed to `nobody`.
        conf.write_text(
            f"""daemon off;
{"user root;" if os.geteuid() == 0 else ""}
pid {home}/nginx.pid;
error_log {home}/nginx-error.log;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  server {{
    listen {ip}:{self.port};
    root {root};
    autoindex {"on" if self.autoindex else "off"};
    {"location = /nginx_status { stub_status; }" if self.status_page else ""}
  }}
{self._tls_servers(ip, home, root)}
}}
"""
        )
        return _spawn(["nginx", "-c", str(conf), "-p", str(home)], home, netns)

    def _tls_servers(self, ip: str, home: Path, root: Path) -> str:
        blocks = []
        for port, kind, legacy in self.tls:
            cert, key = certificate(home.parent.parent / "tls", kind, ip)
            protocols = "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3" if legacy else "TLSv1.2 TLSv1.3"
            ciphers = "ALL:eNULL:@SECLEVEL=0" if legacy else "HIGH:!aNULL:!MD5"
            blocks.append(
                f"  server {{ listen {ip}:{port} ssl; root {root}; "
                f"ssl_certificate {cert}; ssl_certificate_key {key}; "
                f'ssl_protocols {protocols}; ssl_ciphers "{ciphers}"; }}'
            )
        return "\n".join(blocks)


@dataclass(frozen=True)
class Memcached(Service):
    kind: str = "memcached"
    port: int = 11211
    over_udp: bool = False
    """Also on UDP (`-U 11211`, the pre-1.5.6 default), the 2018 amplifier."""

    def binaries(self) -> tuple[str, ...]:
        return ("memcached",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        udp = str(self.port) if self.over_udp else "0"
        argv = ["memcached", "-l", ip, "-p", str(self.port), "-U", udp, "-m", "16"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class AnonymousFtp(Service):
    """vsftpd with anonymous login enabled, serving an empty read-only folder; with
    `bounce`, PORT to other hosts than the client's is allowed (`port_promiscuous`)."""

    kind: str = "ftp"
    port: int = 21
    bounce: bool = False

    def binaries(self) -> tuple[str, ...]:
        return ("vsftpd",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        root = home / "anon"
        empty = home / "empty"
        for path in (root, empty):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
        conf = home / "vsftpd.conf"
        conf.write_text(
            "\n".join(
                [
                    "listen=YES",
                    "listen_ipv6=NO",
                    f"listen_address={ip}",
                    f"listen_port={self.port}",
                    "background=NO",
                    "anonymous_enable=YES",
                    "no_anon_password=YES",
                    f"anon_root={root}",
                    "local_enable=NO",
                    "write_enable=NO",
                    f"secure_chroot_dir={empty}",
                    "seccomp_sandbox=NO",
                    f"port_promiscuous={'YES' if self.bounce else 'NO'}",
                    f"vsftpd_log_file={home / 'vsftpd.log'}",
                ]
            )
            + "\n"
        )
        conf.chmod(0o600)
        return _spawn(["vsftpd", str(conf)], home, netns)


@dataclass(frozen=True)
class RsyncDaemon(Service):
    """rsync --daemon with one listed, read-only module."""

    kind: str = "rsync"
    port: int = 873

    def binaries(self) -> tuple[str, ...]:
        return ("rsync",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        share = home / "share"
        share.mkdir(parents=True, exist_ok=True)
        conf = home / "rsyncd.conf"
        conf.write_text(
            f"pid file = {home / 'rsyncd.pid'}\nuse chroot = no\nlog file = {home / 'rsyncd.log'}\n"
            f"[backups]\n  path = {share}\n  comment = nightly exports\n  read only = yes\n"
        )
        return _spawn(
            [
                "rsync",
                "--daemon",
                "--no-detach",
                f"--config={conf}",
                f"--address={ip}",
                f"--port={self.port}",
            ],
            home,
            netns,
        )


@dataclass(frozen=True)
class Etcd(Service):
    """etcd with its v2 key API enabled and no client authentication."""

    kind: str = "etcd"
    port: int = 2379

    def binaries(self) -> tuple[str, ...]:
        return ("etcd",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        client, peer = f"http://{ip}:{self.port}", f"http://{ip}:{self.port + 1}"
        return _spawn(
            [
                "etcd",
                "--name",
                "lab",
                "--data-dir",
                str(home / "data"),
                "--listen-client-urls",
                client,
                "--advertise-client-urls",
                client,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                f"lab={peer}",
                "--enable-v2=true",
            ],
            home,
            netns,
        )


@dataclass(frozen=True)
class Prometheus(Service):
    kind: str = "prometheus"
    port: int = 9090

    def binaries(self) -> tuple[str, ...]:
        return ("prometheus",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        conf = home / "prometheus.yml"
        conf.write_text(
            "global: {scrape_interval: 1h}\n"
            "scrape_configs:\n  - job_name: lab\n    static_configs: [{targets: ['"
            + f"{ip}:{self.port}"
            + "']}]\n"
        )
        return _spawn(
            [
                "prometheus",
                f"--config.file={conf}",
                f"--web.listen-address={ip}:{self.port}",
                f"--storage.tsdb.path={home / 'data'}",
            ],
            home,
            netns,
        )


ZOOKEEPER_JARS = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/*"


@dataclass(frozen=True)
class ZooKeeper(Service):
    """A standalone ZooKeeper 3.8 (Debian's jars). `open_4lw` lets every four-letter word
    run (`4lw.commands.whitelist=*`, a vendor's "for monitoring"); else only `srvr` does,
    ZooKeeper's own default."""

    kind: str = "zookeeper"
    port: int = 2181
    open_4lw: bool = False
    start_seconds: float = field(default=30.0, init=False, repr=False)

    def binaries(self) -> tuple[str, ...]:
        return ("java", "/usr/share/java/zookeeper.jar")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        (home / "data").mkdir(exist_ok=True)
        (home / "zoo.cfg").write_text(
            f"tickTime=2000\ndataDir={home / 'data'}\nclientPort={self.port}\n"
            f"clientPortAddress={ip}\nadmin.enableServer=false\n"
            f"4lw.commands.whitelist={'*' if self.open_4lw else 'srvr'}\n"
        )
        argv = ["java", "-Xmx128m", "-cp", ZOOKEEPER_JARS, f"-Dzookeeper.log.dir={home}"]
        argv += ["org.apache.zookeeper.server.ZooKeeperServerMain", str(home / "zoo.cfg")]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class DockerRegistry(Service):
    """Debian's docker-registry (Distribution 2.8) with filesystem storage; `htpasswd`
    True requires a login (the bcrypt htpasswd file the registry documents), else none."""

    kind: str = "docker-registry"
    port: int = 5000
    htpasswd: bool = False

    def binaries(self) -> tuple[str, ...]:
        return ("docker-registry",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        import bcrypt  # paramiko's own dependency: the registry accepts bcrypt only

        config = (
            "version: 0.1\n"
            f"storage:\n  filesystem:\n    rootdirectory: {home / 'data'}\n"
            f"http:\n  addr: {ip}:{self.port}\n"
        )
        if self.htpasswd:
            digest = bcrypt.hashpw(b"lab-registry-pass", bcrypt.gensalt(rounds=4)).decode()
            (home / "htpasswd").write_text(f"vendor:{digest}\n")
            config += f"auth:\n  htpasswd:\n    realm: lab\n    path: {home / 'htpasswd'}\n"
        (home / "config.yml").write_text(config)
        return _spawn(["docker-registry", "serve", str(home / "config.yml")], home, netns)


@dataclass(frozen=True)
class Jupyter(Service):
    """Jupyter Server from the Python registry, with `token` (None: no token and no password,
    as a vendor's "quick" notebook host runs it)."""

    kind: str = "jupyter"
    port: int = 8888
    token: str | None = None
    start_seconds: float = field(default=30.0, init=False, repr=False)

    def binaries(self) -> tuple[str, ...]:
        return ()

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        (home / "notebooks").mkdir(exist_ok=True)
        (home / "notebooks" / "customers.ipynb").write_text('{"cells": [], "nbformat": 4}')
        argv = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root"]
        argv += [f"--ip={ip}", f"--port={self.port}", "--ServerApp.port_retries=0"]
        argv += [
            f"--IdentityProvider.token={self.token or ''}",
            "--PasswordIdentityProvider.hashed_password=",
        ]
        argv += [f"--ServerApp.root_dir={home / 'notebooks'}"]
        env = {f"JUPYTER_{d}_DIR": str(home / d.lower()) for d in ("CONFIG", "DATA", "RUNTIME")}
        return _spawn(argv, home, netns, env)


RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


@dataclass(frozen=True)
class RabbitMq(Service):
    """RabbitMQ 3.10 with its management plugin, in a network-namespace host (RabbitMQ lets
    `guest` in from any loopback address, so a loopback lab host could not show the
    difference). `guest_remote` is the vendor's `loopback_users = none`; else guest works
    from the server itself only, RabbitMQ's default. epmd and the Erlang distribution port
    listen on the namespace's 127.0.0.1 only, and die with the broker (own PID namespace)."""

    kind: str = "rabbitmq-management"
    port: int = 15672
    guest_remote: bool = False
    epmd_exposed: bool = False
    """epmd on every address of the namespace (Erlang's default), not only 127.0.0.1."""
    start_seconds: float = field(default=90.0, init=False, repr=False)

    def binaries(self) -> tuple[str, ...]:
        return (RABBITMQ_SERVER,)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        (home / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {ip}:5672\nmanagement.tcp.ip = {ip}\n"
            f"management.tcp.port = {self.port}\n"
            + ("loopback_users = none\n" if self.guest_remote else "")
        )
        (home / "enabled_plugins").write_text("[rabbitmq_management].\n")
        env = {
            "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(home / "log"),
            "RABBITMQ_NODENAME": "lab@localhost",
            "RABBITMQ_DIST_PORT": "25672",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "HOME": str(home),
        } | ({} if self.epmd_exposed else {"ERL_EPMD_ADDRESS": "127.0.0.1"})
        # The broker itself, not Debian's wrapper (/usr/sbin/rabbitmq-server), which turns
        # into the `rabbitmq` user: that user cannot enter the tests' private temp folders.
        argv = ["unshare", "--pid", "--fork", "--kill-child", RABBITMQ_SERVER]
        return _spawn(argv, home, netns, env)


@dataclass(frozen=True)
class Nfs(Service):
    """rpcbind and rpc.mountd (nfs-kernel-server) in a private mount and PID namespace, with
    `exports` as /etc/exports; `{share}` in it stands for a folder of the lab's. No kernel
    NFS server is needed: the export list is all the auditor reads (MOUNT EXPORT)."""

    kind: str = "nfs"
    port: int = 111
    exports: str = "{share} *(ro,no_subtree_check)\n"

    def binaries(self) -> tuple[str, ...]:
        return ("rpcbind", "rpc.mountd", "exportfs", "rpcinfo")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        (home / "share").mkdir(exist_ok=True)
        (home / "exports").write_text(self.exports.format(share=home / "share"))
        (home / "nfs").mkdir(exist_ok=True)
        script = (
            "mount -t tmpfs tmpfs /run && mkdir -p /run/rpcbind && "
            f"mount --bind {home / 'nfs'} /var/lib/nfs && "
            "touch /var/lib/nfs/etab /var/lib/nfs/rmtab && "
            f"mount --bind {home / 'exports'} /etc/exports && "
            "rpcbind -w && exportfs -ra && exec rpc.mountd -F"
        )
        argv = ["unshare", "-m", "--propagation", "private", "--pid", "--fork", "--kill-child"]
        return _spawn([*argv, "sh", "-c", script], home, netns)

    def ready(self, ip: str) -> bool:
        probe = ["rpcinfo", "-T", "tcp", ip, "100005", "3"]
        return subprocess.run(probe, capture_output=True, timeout=5, check=False).returncode == 0


@dataclass(frozen=True)
class GcsEmulator(Service):
    """gcp-storage-emulator (PyPI): the Cloud Storage JSON API over real HTTP, in memory,
    IAM policies and ACLs included. No credentials are sent to it."""

    kind: str = "gcs"
    port: int = 9023

    def binaries(self) -> tuple[str, ...]:
        return ()

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        program = str(Path(sys.executable).parent / "gcp-storage-emulator")
        argv = [program, "start", f"--host={ip}", f"--port={self.port}", "--in-memory", "-q"]
        return _spawn(argv, home, netns)


AZURITE = Path(sys.executable).parent.parent / "npm" / "node_modules" / ".bin" / "azurite-blob"
"""Installed by `make install` (npm) into the virtual environment's folder."""


def tls_pair(folder: Path, *addresses: str) -> tuple[Path, Path]:
    """A self-signed certificate for these IP addresses (its own CA) and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    names = ",".join(f"IP:{a}" for a in addresses)
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=auditor-lab", "-addext", f"subjectAltName={names}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass(frozen=True)
class Azurite(Service):
    """Azurite's blob service (Microsoft's emulator, npm registry) over TLS with OAuth, so
    the auditor reaches it as it reaches Azure: a bearer token from DefaultAzureCredential.
    `accounts` are `name:base64key` pairs (AZURITE_ACCOUNTS); `cert` and `key` its TLS pair."""

    kind: str = "azure-blob"
    port: int = 10000
    accounts: tuple[str, ...] = ()
    cert: str = ""
    key: str = ""
    start_seconds: float = field(default=30.0, init=False, repr=False)

    def binaries(self) -> tuple[str, ...]:
        return (str(AZURITE),)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        argv = [str(AZURITE), "--blobHost", ip, "--blobPort", str(self.port)]
        argv += ["--location", str(home / "data"), "--cert", self.cert, "--key", self.key]
        argv += [
            "--oauth",
            "basic",
            "--silent",
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
        ]
        return _spawn(argv, home, netns, {"AZURITE_ACCOUNTS": ";".join(self.accounts)})


@dataclass(frozen=True)
class MotoServer(Service):
    """moto in server mode: the AWS APIs over real HTTP, with fake credentials only.

    `auth_after` turns on moto's IAM enforcement after that many unauthenticated requests
    (INITIAL_NO_AUTH_ACTION_COUNT), for tests of missing permissions.
    """

    kind: str = "aws"
    port: int = 5000
    auth_after: int | None = None

    def binaries(self) -> tuple[str, ...]:
        return ()

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        if self.auth_after is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(self.auth_after)
        out = (home / "moto.out").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", ip, "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )


def udp_bound(ip: str, port: int, netns: str | None) -> bool:
    """Something has bound ip:port over UDP (as `ss` sees it, in that namespace)."""
    argv = ["ss", "-Huln", f"sport = :{port}"]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    listening = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    return f"{ip}:{port}" in listening or f"0.0.0.0:{port}" in listening


@dataclass(frozen=True)
class Snmpd(Service):
    """net-snmp's agent: with `community` (v1/v2c read-only), else one SNMPv3 user only."""

    kind: str = "snmp"
    port: int = 161
    community: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "udp", True)

    def binaries(self) -> tuple[str, ...]:
        return ("snmpd",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        access = (
            f"rocommunity {self.community} default\n"
            if self.community
            else 'createUser labmonitor SHA "lab-auth-pass" AES "lab-priv-pass"\n'
            "rouser labmonitor priv\n"
        )
        conf = home / "snmpd.conf"
        conf.write_text(f"agentaddress udp:{ip}:{self.port}\n{access}")
        argv = ["snmpd", "-f", "-Lo", "-C", "-c", str(conf), "-p", str(home / "snmpd.pid")]
        return _spawn(argv, home, netns, env={"SNMP_PERSISTENT_DIR": str(home / "state")})


@dataclass(frozen=True)
class Ntpd(Service):
    """ntpsec's ntpd: unrestricted, or (`query=False`) Debian's `restrict default ...
    noquery`. (Unrestricted, ntpsec 1.2.2 still drops mode 6 from outside its namespace.) It binds every address of its namespace: netns hosts
    only."""

    kind: str = "ntp"
    port: int = 123
    query: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "udp", True)

    def binaries(self) -> tuple[str, ...]:
        return ("ntpd",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        restrict = "" if self.query else " kod nomodify noquery nopeer limited"
        conf = home / "ntp.conf"
        conf.write_text(f"driftfile {home}/ntp.drift\nrestrict default{restrict}\n")
        argv = ["ntpd", "-n", "-c", str(conf), "-l", str(home / "ntpd.log")]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Unbound(Service):
    """A recursive resolver: open to everyone, or refusing all but localhost."""

    kind: str = "dns"
    port: int = 53
    open_to_all: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "udp", True)

    def binaries(self) -> tuple[str, ...]:
        return ("unbound",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        access = "0.0.0.0/0 allow" if self.open_to_all else "0.0.0.0/0 refuse"
        conf = home / "unbound.conf"
        conf.write_text(
            f"server:\n  interface: {ip}\n  port: {self.port}\n  do-daemonize: no\n"
            '  username: ""\n  chroot: ""\n  pidfile: ""\n  use-syslog: no\n  do-ip6: no\n'
            f"  access-control: {access}\nremote-control:\n  control-enable: no\n"
        )
        return _spawn(["unbound", "-d", "-c", str(conf)], home, netns)


@dataclass(frozen=True)
class Tftpd(Service):
    """tftpd-hpa serving a read-only folder (no `-c`: nothing can be written)."""

    kind: str = "tftp"
    port: int = 69

    def __post_init__(self) -> None:
        object.__setattr__(self, "udp", True)

    def binaries(self) -> tuple[str, ...]:
        return ("in.tftpd",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        root = home / "tftpboot"
        root.mkdir(exist_ok=True)
        (root / "pxelinux.cfg").write_text("default linux\n")
        argv = ["in.tftpd", "-L", "-s", "-a", f"{ip}:{self.port}", str(root)]
        if os.geteuid() == 0:
            argv[1:1] = ["-u", "nobody"]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Slapd(Service):
    """OpenLDAP with one naming context and one entry: readable by anyone (the
    `access to * by * read` of many how-tos), or (`anonymous=False`) with anonymous binds
    disallowed and reads for authenticated users only."""

    kind: str = "ldap"
    port: int = 389
    anonymous: bool = True

    def binaries(self) -> tuple[str, ...]:
        return ("slapd", "slapadd")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        database = home / "db"
        shutil.rmtree(database, ignore_errors=True)
        database.mkdir()
        access = (
            "access to * by * read\n"
            if self.anonymous
            else "access to * by users read by anonymous auth\n"
        )
        conf = home / "slapd.conf"
        conf.write_text(
            "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n"
            f"pidfile {home}/slapd.pid\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n"
            + ("" if self.anonymous else "disallow bind_anon\n")
            + f'database mdb\nsuffix "dc=lab,dc=test"\nrootdn "cn=admin,dc=lab,dc=test"\n'
            f"directory {database}\n{access}"
        )
        (home / "base.ldif").write_text(
            "dn: dc=lab,dc=test\nobjectClass: dcObject\nobjectClass: organization\n"
            "dc: lab\no: lab\n\ndn: ou=people,dc=lab,dc=test\n"
            "objectClass: organizationalUnit\nou: people\n"
        )
        subprocess.run(
            ["slapadd", "-f", str(conf), "-l", str(home / "base.ldif")],
            check=True,
            capture_output=True,
        )
        argv = ["slapd", "-d", "0", "-f", str(conf), "-h", f"ldap://{ip}:{self.port}/"]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Xvfb(Service):
    """A virtual X server listening on TCP (display :0, port 6000), with its host-based
    access control off (`-ac`, what `xhost +` leaves) or on. It binds every address of
    its namespace: netns hosts only."""

    kind: str = "x11"
    port: int = 6000
    access_control: bool = True

    def binaries(self) -> tuple[str, ...]:
        return ("Xvfb",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        # -nolock: the lock file (/tmp/.X0-lock) is shared by every lab host on this machine
        argv = ["Xvfb", ":0", "-nolock", "-listen", "tcp", "-nolisten", "unix"]
        argv += [] if self.access_control else ["-ac"]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Mosquitto(Service):
    """Eclipse Mosquitto with one listener: anonymous clients allowed, or not (its 2.0
    default once a listener is configured)."""

    kind: str = "mqtt"
    port: int = 1883
    anonymous: bool = True

    def binaries(self) -> tuple[str, ...]:
        return ("mosquitto",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        conf = home / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {ip}\nallow_anonymous {str(self.anonymous).lower()}\n"
            f"persistence false\n"
        )
        return _spawn(["mosquitto", "-c", str(conf)], home, netns)


@dataclass(frozen=True)
class Dante(Service):
    """Dante's SOCKS server: open to anyone (`socksmethod: none`), or asking for a user
    name and password. Nothing in the tests ever asks it to connect anywhere."""

    kind: str = "socks"
    port: int = 1080
    open_proxy: bool = True

    def binaries(self) -> tuple[str, ...]:
        return ("danted",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        conf = home / "danted.conf"
        conf.write_text(
            f"logoutput: stderr\ninternal: {ip} port = {self.port}\nexternal: {ip}\n"
            f"socksmethod: {'none' if self.open_proxy else 'username'}\nclientmethod: none\n"
            "user.privileged: root\nuser.unprivileged: nobody\n"
            "client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }\n"
            "socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }\n"
        )
        argv = ["danted", "-f", str(conf), "-p", str(home / "danted.pid")]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Gmond(Service):
    """Ganglia's gmond with its TCP channel open to anyone (the packaged default)."""

    kind: str = "ganglia"
    port: int = 8649

    def binaries(self) -> tuple[str, ...]:
        return ("gmond",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        conf = home / "gmond.conf"
        conf.write_text(
            "globals { daemonize = no  setuid = no  debug_level = 0  mute = no  deaf = no\n"
            "  host_dmax = 0  cleanup_threshold = 300  gexec = no  send_metadata_interval = 0 }\n"
            'cluster { name = "lab-cluster" owner = "vendor" }\n'
            f"udp_send_channel {{ host = {ip} port = {self.port} }}\n"
            f"udp_recv_channel {{ bind = {ip} port = {self.port} }}\n"
            f"tcp_accept_channel {{ bind = {ip} port = {self.port} }}\n"
        )
        return _spawn(["gmond", "-c", str(conf), "-f"], home, netns)


JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"


@dataclass(frozen=True)
class JavaDebug(Service):
    """One JVM left as a developer would: the RMI registry (`rmiregistry`, on every
    address, netns hosts only) started with the JDWP agent listening on `port`."""

    kind: str = "jdwp"
    port: int = 8000
    registry_port: int = 1099

    def binaries(self) -> tuple[str, ...]:
        return (f"{JAVA_HOME}/bin/rmiregistry",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        agent = f"transport=dt_socket,server=y,suspend=n,address={ip}:{self.port}"
        argv = [f"{JAVA_HOME}/bin/rmiregistry", f"-J-agentlib:jdwp={agent}"]
        argv += ["-J-Xmx64m", f"-J-Djava.rmi.server.hostname={ip}", str(self.registry_port)]
        return _spawn(argv, home, netns)

    def ready(self, ip: str) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((ip, self.registry_port), 1):
            return True
        return False


@dataclass(frozen=True)
class NbdServer(Service):
    """nbd-server exporting a 1 MiB read-only image: listing allowed and no TLS, or TLS
    forced (`force_tls`, a lab certificate)."""

    kind: str = "nbd"
    port: int = 10809
    tls: bool = False

    def binaries(self) -> tuple[str, ...]:
        return ("nbd-server",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        image = home / "disk.img"
        image.write_bytes(bytes(1 << 20))
        generic = [f"listenaddr = {ip}", f"port = {self.port}", "user = root", "group = root"]
        if self.tls:
            cert, key = tls_pair(home, ip)
            generic += [f"certfile = {cert}", f"keyfile = {key}", f"cacertfile = {cert}"]
            generic += ["force_tls = true"]
        else:
            generic += ["allowlist = true"]
        conf = home / "nbd.conf"
        conf.write_text(
            "[generic]\n"
            + "".join(f"    {line}\n" for line in generic)
            + f"[lab-disk]\n    exportname = {image}\n    readonly = true\n"
        )
        # nbd-server -d would serve a single connection: it daemonizes instead, inside a
        # PID namespace whose end (the lab stopping the shell) ends it too
        script = f"nbd-server -C {shlex.quote(str(conf))} && exec sleep infinity"
        argv = ["unshare", "--pid", "--fork", "--kill-child", "sh", "-c", script]
        return _spawn(argv, home, netns)


@dataclass(frozen=True)
class Clamd(Service):
    """clamd on TCP with a one-signature database (no freshclam: nothing is downloaded)."""

    kind: str = "clamd"
    port: int = 3310

    def binaries(self) -> tuple[str, ...]:
        return ("clamd",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        database = home / "clamav-db"
        database.mkdir(exist_ok=True)
        (database / "lab.hdb").write_text("44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test\n")
        conf = home / "clamd.conf"
        conf.write_text(
            f"Foreground yes\nTCPSocket {self.port}\nTCPAddr {ip}\n"
            f"DatabaseDirectory {database}\nPidFile {home / 'clamd.pid'}\n"
            f"TemporaryDirectory {home}\n"
        )
        return _spawn(["clamd", "-c", str(conf)], home, netns)


@dataclass(frozen=True)
class Xrdp(Service):
    """xrdp's listener (no session manager: only the connection negotiation is audited),
    with its security layer `rdp` (Standard RDP Security) or `tls`."""

    kind: str = "rdp"
    port: int = 3389
    security_layer: str = "rdp"

    def binaries(self) -> tuple[str, ...]:
        return ("xrdp",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        cert, key = tls_pair(home, ip)
        conf = home / "xrdp.ini"
        conf.write_text(
            "[Globals]\nini_version=1\nfork=true\n"
            f"port=tcp://{ip}:{self.port}\nsecurity_layer={self.security_layer}\n"
            f"crypt_level=high\ncertificate={cert}\nkey_file={key}\n"
            "ssl_protocols=TLSv1.2, TLSv1.3\n"
            f"[Logging]\nLogFile={home / 'xrdp.log'}\nLogLevel=INFO\nEnableSyslog=false\n"
        )
        return _spawn(["xrdp", "--nodaemon", "--config", str(conf)], home, netns)


@dataclass(frozen=True)
class Nrpe(Service):
    """The Nagios NRPE daemon (TLS with anonymous DH, its default), answering any address
    or only one that is not ours."""

    kind: str = "nrpe"
    port: int = 5666
    allowed_hosts: str = "0.0.0.0/1,128.0.0.0/1"  # NRPE 4 reads 0.0.0.0/0 as no host

    def binaries(self) -> tuple[str, ...]:
        return ("nrpe",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        conf = home / "nrpe.cfg"
        conf.write_text(
            f"pid_file={home / 'nrpe.pid'}\nserver_port={self.port}\nserver_address={ip}\n"
            "nrpe_user=nagios\nnrpe_group=nagios\n"
            f"allowed_hosts={self.allowed_hosts}\ndont_blame_nrpe=0\ncommand_timeout=10\n"
            f"command[check_lab]=/bin/true\nlog_file={home / 'nrpe.log'}\ndebug=1\n"
        )
        return _spawn(["nrpe", "-c", str(conf), "-f"], home, netns)


@dataclass(frozen=True)
class Cups(Service):
    """cupsd with its web interface open to every address, or to the host itself only
    (the packaged default): a remote GET is then 403. Netns hosts only (it also listens on
    127.0.0.1)."""

    kind: str = "cups"
    port: int = 631
    open_to_all: bool = True

    def binaries(self) -> tuple[str, ...]:
        return ("cupsd",)

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        root = home / "cups"
        for sub in ("", "spool", "cache", "state", "ppd"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        allow = "  Allow all\n" if self.open_to_all else ""
        (root / "cupsd.conf").write_text(
            # cupsd exits unless it also listens on localhost: the namespace's own
            f"Listen {ip}:{self.port}\nListen 127.0.0.1:{self.port}\n"
            "WebInterface yes\nBrowsing off\n"
            f"ServerAlias *\n<Location />\n  Order allow,deny\n{allow}</Location>\n"
        )
        (root / "cups-files.conf").write_text(
            f"ServerRoot {root}\nRequestRoot {root / 'spool'}\nCacheDir {root / 'cache'}\n"
            f"StateDir {root / 'state'}\nDataDir /usr/share/cups\nServerBin /usr/lib/cups\n"
            f"AccessLog {root / 'access_log'}\nErrorLog {root / 'error_log'}\n"
            f"PageLog {root / 'page_log'}\nUser lp\nGroup lp\nSystemGroup root\n"
        )
        argv = ["cupsd", "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")]
        return _spawn(argv, home, netns)


def _spawn(
    argv: list[str], home: Path, netns: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    out = (home / f"{Path(argv[0]).name}.out").open("ab")
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]
    return subprocess.Popen(
        argv,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=None if env is None else {**os.environ, **env},
    )


def wait_for_port(
    ip: str, port: int, process: subprocess.Popen[bytes], timeout: float, inside: str = ""
) -> None:
    """Until something listens on ip:port; `inside` names the network namespace to look
    from when this machine has no way there (its sockets, as `ss` lists them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabError(f"exited with code {process.returncode} before listening on {ip}:{port}")
        if inside:
            listening = subprocess.run(
                ["ip", "netns", "exec", inside, "ss", "-Htln", f"sport = :{port}"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            if f"{ip}:{port}" in listening:
                return
            time.sleep(0.05)
            continue
        try:
            with socket.create_connection((ip, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise LabError(f"not listening on {ip}:{port} after {timeout:.0f}s")


def wait_for_udp(
    service: Service, ip: str, process: subprocess.Popen[bytes], netns: str | None
) -> None:
    """Until the daemon has bound its UDP port (a datagram would prove nothing: silence)."""
    deadline = time.monotonic() + service.start_seconds
    while not udp_bound(ip, service.port, netns):
        if process.poll() is not None:
            raise LabError(
                f"exited with code {process.returncode} before binding {ip}:{service.port}/udp"
            )
        if time.monotonic() > deadline:
            raise LabError(f"{ip}:{service.port}/udp not bound after {service.start_seconds:.0f}s")
        time.sleep(0.05)


def wait_until_ready(service: Service, ip: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + service.start_seconds
    while not service.ready(ip):
        if process.poll() is not None:
            raise LabError(f"exited with code {process.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise LabError(f"listening, but not ready after {service.start_seconds:.0f}s")
        time.sleep(0.1)


def stop_group(pid: int, timeout: float = 5.0) -> None:
    """Stop a service's whole process group: TERM, then KILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)


def _reap(pid: int) -> None:
    """Collect the exit status if the leader is our child: a zombie still counts as alive."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
