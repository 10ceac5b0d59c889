"""sshd probe: the *effective* sshd configuration, read after logging in.

`sshd -T -C user=…,host=…,addr=…` makes sshd itself resolve Include and Match for a
connection like ours — what Lynis does and what dev-sec's text parsing misses. It needs
root: as another user we use `sudo -n`, which fails at once instead of prompting when a
password would be needed. If sshd -T cannot run, the files are read and parsed instead and
the facts say so (`source: files`). Also: owner and mode of /etc/ssh and sshd_config, and
host key sizes on disk.

`sshd -T` describes the daemon of /etc/ssh/sshd_config, which need not be the one on the
audited port: an sshd started with `-f OTHER_CONFIG` (or `-o PermitRootLogin=yes`) on that
very port would be judged by the system daemon's settings. So the daemon that owns the
audited socket is always found first (`ss -tlnp` → its command line), and `sshd -T` is
told its `-f` file and its `-o`/`-p` options; the facts carry the address:port and config
they describe (`describes`). If the daemon cannot be proven (no root or sudo for `ss`, two
processes, a command line we cannot reproduce), the probe fails: the sshd rules are
`error`, never judged on another daemon's settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from auditor.models import ProbeOutcome
from auditor.probes.base import ProbeFailure
from auditor.probes.ssh.endpoint import Hop
from auditor.probes.ssh.session import Session, call, parse_modes
from auditor.probes.ssh.sshd_files import parse_sshd_config, parse_sshd_t

_KEYGEN_LINE = re.compile(r"^(?P<bits>\d+)\s+(?P<fp>\S+)\s+.*\((?P<type>[A-Z0-9-]+)\)\s*$")
_SUDO_PASSWORD = ("a password is required", "a terminal is required", "no tty present")


def read_sshd(session: Session, server: Hop, limit: float) -> ProbeOutcome:
    """Facts root `sshd`: effective settings, file permissions, host keys on disk."""
    # Commands that need nothing from another's answer share one channel.
    batch = ["uid", "client_address", "ssh_file_modes", "host_key_sizes", "socket_daemon"]
    session.prefetch([call(name) for name in batch], limit)

    def run(name: str) -> tuple[int, str, str]:
        return session.run(name, limit)

    status, uid, _ = run("uid")
    sudo = "" if status == 0 and uid.strip() == "0" else "sudo -n "
    status, connection, err = run("client_address")
    if status != 0:
        # Its addresses select sshd's Match blocks: guessing them could describe the
        # settings some other client gets.
        raise ProbeFailure(f"cannot read our own connection's addresses: {err.strip()[:200]}")
    words = connection.split()
    addr = words[0] if words else "127.0.0.1"
    # The server's side of our own connection: the socket the daemon really listens on,
    # whatever NAT or a ProxyJump did to the address we dialled.
    ip, port = server.ip, server.port
    if len(words) == 4 and words[3].isascii() and words[3].isdigit():
        ip, port = words[2], int(words[3])
    user = session.user
    notes: list[str] = []
    # Always the daemon that serves the audited socket, proven by the socket itself:
    # /etc/ssh/sshd_config may describe another daemon (`sshd -f OTHER` on port 22).
    daemon = _daemon(*run("socket_daemon"), sudo=sudo, ip=ip, port=port)
    status, out, err = session.run(
        "sshd_effective_file",
        limit,
        sudo=sudo,
        config=daemon.config,
        options=daemon.options,
        user=user,
        addr=addr,
    )
    if status == 0 and out.strip():
        settings, source = parse_sshd_t(out), "sshd -T"
    else:
        reason = _why(err, status, sudo)
        notes.append(f"sshd -T could not run ({reason}); settings read from files")
        settings = _from_files(session, limit, sudo, reason, daemon)
        source = "files"
    if daemon.config != DEFAULT_CONFIG or daemon.options:
        notes.append(
            f"port {port} is served by an sshd started with its own settings: "
            f"-f {daemon.config}{daemon.options}"
        )
    config = daemon.config
    if not serves(settings, ip, port):
        raise ProbeFailure(
            f"the settings of the sshd serving {ip}:{port} ({config}) do not listen "
            "there: the daemon on the audited port is unknown"
        )
    return ProbeOutcome(
        "sshd",
        facts={
            "source": source,
            "describes": {"address": ip, "port": port, "config": config},
            "settings": settings,
            "files": _file_modes(*run("ssh_file_modes")),
            "host_keys": _host_keys(*run("host_key_sizes")),
        },
        notes=tuple(notes),
    )


def _from_files(
    session: Session, limit: float, sudo: str, reason: str, daemon: Daemon
) -> dict[str, Any]:
    def read(path: str) -> str:
        # sshd_config is usually world-readable: try without privileges first.
        for prefix in dict.fromkeys(("", sudo)):
            status, out, err = session.run("read_ssh_config", limit, sudo=prefix, path=path)
            if status == 0:
                return out
        raise ProbeFailure(
            f"cannot read sshd settings: sshd -T failed ({reason}) and reading {path} "
            f"failed ({_why(err, status, sudo)})"
        )

    # Command-line options come first: sshd takes the first value of a keyword.
    overrides = "\n".join(daemon.lines())
    return parse_sshd_config(overrides + "\n" + read(daemon.config), read)


def _daemon(status: int, out: str, err: str, *, sudo: str, ip: str, port: int) -> Daemon:
    """The sshd that owns ip:port, from `socket_daemon`'s answer: its `-f` config and
    command-line options. Anything that cannot be proven fails the probe."""
    if status != 0:
        raise ProbeFailure(
            f"cannot tell which daemon serves {ip}:{port} ({_why(err, status, sudo)}): "
            "root, or sudo for `ss -tlnp`, is needed to prove whose settings to judge"
        )
    sections: dict[str, list[str]] = {}
    current = ""
    for line in out.split("\n"):
        if line.startswith("== "):
            current = line[3:].strip()
            sections[current] = []
        elif current:
            sections[current].append(line)
    if "end" not in sections or "ss" not in sections:
        raise ProbeFailure("the listing of the daemon behind our connection was cut short")
    pids = listener_pids("\n".join(sections["ss"]), ip, port)
    # A pid `ss` listed may be gone when its argv is read: a child sshd forked for another
    # client holds the listening socket until it closes it. The live ones must agree.
    lines = {_argv(sections[f"cmdline {pid}"]) for pid in pids if f"cmdline {pid}" in sections}
    if not pids or len(lines) > 1:
        raise ProbeFailure(
            f"`ss -tlnp` names {len(lines) or len(pids)} processes listening on {ip}:{port}: "
            "the daemon whose settings to judge is unknown (root or sudo is needed to see them)"
        )
    if not lines:
        raise ProbeFailure(
            f"the process listening on {ip}:{port} was gone before its command line could be "
            "read (the daemon restarted, or /proc hides it): whose settings to judge is unknown"
        )
    words = lines.pop()
    if not words or not words[0].endswith("sshd"):
        shown = words[0][:60] if words else "nothing"
        raise ProbeFailure(f"port {port} is served by {shown!r}, not by sshd")
    return daemon_from(list(words[1:]))


def _argv(lines: list[str]) -> tuple[str, ...]:
    """A process's argv from /proc/PID/cmdline, undoing OpenSSH's title rewrite ("sshd:
    /usr/sbin/sshd -D -f FILE [listener] 0 of 10-100 startups"), whose counter differs
    between a listener and the child it has just forked."""
    words = [w for w in lines if w]
    if len(words) == 1 and words[0].startswith("sshd: "):
        words = words[0].removeprefix("sshd: ").split(" [listener]")[0].split()
    return tuple(words)


DEFAULT_CONFIG = "/etc/ssh/sshd_config"
_FLAGS = set("46DdeGiqTt")
_WITH_VALUE = set("bcCEfghkopu")


@dataclass(frozen=True)
class Daemon:
    """How the sshd on the audited socket was started: what `sshd -T` must be told."""

    config: str = DEFAULT_CONFIG
    options: str = ""
    """` -o Key=value -p PORT ...`, as `sshd -T` takes them (validated on use)."""

    def lines(self) -> list[str]:
        """The options as sshd_config lines (for reading the files without sshd -T)."""
        out = []
        for part in self.options.split(" -")[1:]:
            flag, _, value = part.partition(" ")
            if flag == "o":
                key, _, setting = value.partition("=")
                out.append(f"{key} {setting}")
            elif flag == "p":
                out.append(f"Port {value}")
        return out


def daemon_from(arguments: list[str]) -> Daemon:
    """The config and settings of an sshd command line. An option that changes settings in
    a way we cannot pass on to `sshd -T` fails: the daemon's settings would be guessed."""
    config, options = DEFAULT_CONFIG, []
    index = 0
    while index < len(arguments):
        word = arguments[index]
        if not word.startswith("-") or len(word) < 2:
            raise ProbeFailure(f"unexpected word in the sshd command line: {word[:40]!r}")
        flag, rest = word[1], word[2:]
        if flag in _FLAGS and not rest:
            if flag in "46":
                options.append(f"-{flag}")
            index += 1
            continue
        if flag not in _WITH_VALUE:
            raise ProbeFailure(f"sshd option -{flag[:5]} is not understood: settings unknown")
        value = rest or (arguments[index + 1] if index + 1 < len(arguments) else "")
        index += 1 if rest else 2
        if flag == "f":
            config = value
        elif flag == "o":
            options.append(f"-o {value.replace(' ', '=', 1) if '=' not in value else value}")
        elif flag == "p":
            options.append(f"-p {value}")
        elif flag in "cCbghku":
            raise ProbeFailure(f"sshd runs with -{flag} {value[:40]}: settings not reproducible")
    return Daemon(config, "".join(f" {o}" for o in options))


def _file_modes(status: int, out: str, err: str) -> list[dict[str, Any]]:
    if status != 0:
        raise ProbeFailure(f"cannot stat /etc/ssh: {err.strip()[:200]}")
    return parse_modes(out)


def _host_keys(status: int, out: str, err: str) -> list[dict[str, Any]]:
    """Host keys on disk. A listing that failed is an error, never an empty list: rules
    over every host key would pass on nothing."""
    if status != 0:
        raise ProbeFailure(f"cannot list the host keys in /etc/ssh: {err.strip()[:200]}")
    keys = []
    for line in out.splitlines():
        match = _KEYGEN_LINE.match(line.strip())
        if match:
            keys.append(
                {
                    "type": match.group("type").lower(),
                    "bits": int(match.group("bits")),
                    "fingerprint": match.group("fp"),
                }
            )
    return keys


_WILDCARDS = {"0.0.0.0", "::", "*", ""}  # noqa: S104 - addresses we read, not bind
_USERS = re.compile(r'\("[^"]*",pid=(\d+),')


def _split_address(text: str) -> tuple[str, int | None]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit():
        return text.strip("[]"), None
    return host.strip("[]").split("%")[0], int(port)


def serves(settings: dict[str, Any], ip: str, port: int) -> bool:
    """Whether these sshd settings listen on ip:port (`listenaddress`, else `port`)."""
    addresses = settings.get("listenaddress") or []
    ports = [int(p) for p in settings.get("port") or ["22"] if str(p).isdigit()]
    if not addresses:
        return port in ports
    for entry in addresses:
        host, own_port = _split_address(str(entry).split()[0])
        listening = [own_port] if own_port is not None else ports
        if port in listening and (host in _WILDCARDS or host == ip):
            return True
    return False


def listener_pids(ss_output: str, ip: str, port: int) -> list[int]:
    """Processes `ss -Htlnp` shows listening on ip:port (or on every address)."""
    pids: list[int] = []
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        host, own = _split_address(fields[3])
        if own != port or (host not in _WILDCARDS and host != ip):
            continue
        pids += [int(p) for p in _USERS.findall(line) if int(p) not in pids]
    return pids


def _why(err: str, status: int, sudo: str) -> str:
    text = err.strip().splitlines()[0][:200] if err.strip() else f"exit status {status}"
    if sudo and any(marker in err for marker in _SUDO_PASSWORD):
        return "sudo -n needs a password; allow the audit user to run /usr/sbin/sshd -T without one"
    return text
