"""sshd probe: the *effective* sshd configuration, read after logging in.

`sshd -T -C user=…,host=…,addr=…` makes sshd itself resolve Include and Match for a
connection like ours — what Lynis does and what dev-sec's text parsing misses. It needs
root: as another user we use `sudo -n`, which fails at once instead of prompting when a
password would be needed. If sshd -T cannot run, the files are read and parsed instead and
the facts say so (`source: files`). Also: owner and mode of /etc/ssh and sshd_config, and
host key sizes on disk.

`sshd -T` describes the daemon of /etc/ssh/sshd_config, which need not be the one on the
audited port: a second sshd started with `-f OTHER_CONFIG` on 2222 would be judged by the
system daemon's settings. So the facts carry the address:port they describe
(`describes`); when that is not the audited one, the daemon listening there is found
(`ss -tlnp` → its command line → `sshd -T -f THAT_CONFIG`), and if it cannot be, the
probe fails rather than describe another daemon.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import ProbeFailure
from auditor.probes.ssh.session import LoginProbe, Session, call, parse_modes
from auditor.probes.ssh.sshd_files import parse_sshd_config, parse_sshd_t

_KEYGEN_LINE = re.compile(r"^(?P<bits>\d+)\s+(?P<fp>\S+)\s+.*\((?P<type>[A-Z0-9-]+)\)\s*$")
_SUDO_PASSWORD = ("a password is required", "a terminal is required", "no tty present")


class SshdConfigProbe(LoginProbe):
    """Facts root `sshd`: effective settings, file permissions, host keys on disk."""

    name = "sshd"

    def read(self, session: Session, target: Target, limit: float) -> ProbeOutcome:
        # Commands that need nothing from another's answer share one channel.
        session.prefetch(
            [call("uid"), call("client_address"), call("ssh_file_modes"), call("host_key_sizes")],
            limit,
        )

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
        ip, port = str(target.ip), target.ssh.port
        if len(words) == 4 and words[3].isascii() and words[3].isdigit():
            ip, port = words[2], int(words[3])
        user = session.client.get_transport().get_username() or "root"  # type: ignore[union-attr]
        notes: list[str] = []
        status, out, err = session.run("sshd_effective", limit, sudo=sudo, user=user, addr=addr)
        config = "/etc/ssh/sshd_config"
        if status == 0 and out.strip():
            settings, source = parse_sshd_t(out), "sshd -T"
        else:
            reason = _why(err, status, sudo)
            notes.append(f"sshd -T could not run ({reason}); settings read from files")
            settings, source = self._from_files(session, limit, sudo, reason), "files"
        if not serves(settings, ip, port):
            config = self._daemon_config(session, limit, sudo, port, ip)
            status, out, err = session.run(
                "sshd_effective_file", limit, sudo=sudo, config=config, user=user, addr=addr
            )
            if status != 0 or not out.strip():
                raise ProbeFailure(
                    f"the sshd on port {port} runs with {config}, and `sshd -T -f {config}` "
                    f"failed ({_why(err, status, sudo)})"
                )
            settings, source = parse_sshd_t(out), "sshd -T"
            notes.append(f"port {port} is served by an sshd with its own config: {config}")
            if not serves(settings, ip, port):
                raise ProbeFailure(
                    f"{config} does not listen on {ip}:{port} either: the settings of the "
                    "daemon on the audited port are unknown"
                )
        return ProbeOutcome(
            self.name,
            facts={
                "source": source,
                "describes": {"address": ip, "port": port, "config": config},
                "settings": settings,
                "files": _file_modes(*run("ssh_file_modes")),
                "host_keys": _host_keys(*run("host_key_sizes")),
            },
            notes=tuple(notes),
        )

    def _from_files(self, session: Session, limit: float, sudo: str, reason: str) -> dict[str, Any]:
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

        return parse_sshd_config(read("/etc/ssh/sshd_config"), read)

    def _daemon_config(self, session: Session, limit: float, sudo: str, port: int, ip: str) -> str:
        """The `-f` config of the sshd listening on ip:port (default config if none)."""
        status, out, err = session.run("port_listener", limit, sudo=sudo, port=str(port))
        if status != 0:
            raise ProbeFailure(
                f"sshd -T describes another port than {port}, and the daemon on {port} "
                f"cannot be found ({_why(err, status, sudo)})"
            )
        pids = listener_pids(out, ip, port)
        if len(pids) != 1:
            raise ProbeFailure(
                f"sshd -T describes another port than {port}, and `ss -tlnp` names "
                f"{len(pids)} processes on it (root or sudo is needed to see them)"
            )
        status, out, err = session.run("process_cmdline", limit, pid=str(pids[0]))
        if status != 0:
            raise ProbeFailure(f"cannot read the command line of process {pids[0]}")
        words = [w for w in out.split("\n") if w]
        if len(words) == 1 and words[0].startswith("sshd: "):
            # OpenSSH rewrites its title: "sshd: /usr/sbin/sshd -D -f FILE [listener] ..."
            words = words[0].removeprefix("sshd: ").split()
        if not words or not words[0].endswith("sshd"):
            shown = words[0][:60] if words else "nothing"
            raise ProbeFailure(f"port {port} is served by {shown!r}, not by sshd")
        for index, word in enumerate(words):
            if word == "-f" and index + 1 < len(words):
                return words[index + 1]
            if word.startswith("-f") and len(word) > 2:
                return word[2:]
        return "/etc/ssh/sshd_config"


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
