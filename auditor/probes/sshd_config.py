"""sshd probe: the *effective* sshd configuration, read after logging in.

`sshd -T -C user=…,host=…,addr=…` makes sshd itself resolve Include and Match for a
connection like ours — what Lynis does and what dev-sec's text parsing misses. It needs
root: as another user we use `sudo -n`, which fails at once instead of prompting when a
password would be needed. If sshd -T cannot run, the files are read and parsed instead and
the facts say so (`source: files`). Also: owner and mode of /etc/ssh and sshd_config, and
host key sizes on disk.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import ProbeFailure
from auditor.probes.ssh_session import LoginProbe, Session, parse_modes
from auditor.probes.sshd_files import parse_sshd_config, parse_sshd_t

_KEYGEN_LINE = re.compile(r"^(?P<bits>\d+)\s+(?P<fp>\S+)\s+.*\((?P<type>[A-Z0-9-]+)\)\s*$")
_SUDO_PASSWORD = ("a password is required", "a terminal is required", "no tty present")


class SshdConfigProbe(LoginProbe):
    """Facts root `sshd`: effective settings, file permissions, host keys on disk."""

    name = "sshd"

    def read(self, session: Session, target: Target, limit: float) -> ProbeOutcome:
        status, uid, _ = session.run("uid", limit)
        sudo = "" if status == 0 and uid.strip() == "0" else "sudo -n "
        _, connection, _ = session.run("client_address", limit)
        addr = connection.split()[0] if connection.split() else "127.0.0.1"
        user = session.client.get_transport().get_username() or "root"  # type: ignore[union-attr]
        notes: list[str] = []
        status, out, err = session.run("sshd_effective", limit, sudo=sudo, user=user, addr=addr)
        if status == 0 and out.strip():
            settings, source = parse_sshd_t(out), "sshd -T"
        else:
            reason = _why(err, status, sudo)
            notes.append(f"sshd -T could not run ({reason}); settings read from files")
            settings, source = self._from_files(session, limit, sudo, reason), "files"
        return ProbeOutcome(
            self.name,
            facts={
                "source": source,
                "settings": settings,
                "files": self._file_modes(session, limit),
                "host_keys": self._host_keys(session, limit),
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

    def _file_modes(self, session: Session, limit: float) -> list[dict[str, Any]]:
        status, out, err = session.run("ssh_file_modes", limit)
        if status != 0:
            raise ProbeFailure(f"cannot stat /etc/ssh: {err.strip()[:200]}")
        return parse_modes(out)

    def _host_keys(self, session: Session, limit: float) -> list[dict[str, Any]]:
        _, out, _ = session.run("host_key_sizes", limit)
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


def _why(err: str, status: int, sudo: str) -> str:
    text = err.strip().splitlines()[0][:200] if err.strip() else f"exit status {status}"
    if sudo and any(marker in err for marker in _SUDO_PASSWORD):
        return "sudo -n needs a password; allow the audit user to run /usr/sbin/sshd -T without one"
    return text
