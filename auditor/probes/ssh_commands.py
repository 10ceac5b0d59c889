"""The only commands the auditor ever runs on a target over SSH (docs/ssh.md).

A fixed, read-only list. Arguments are validated against strict patterns before they are
placed in a command line, so no value from an inventory or a server reaches a shell
unchecked. Adding a command means adding it here, with a reason, and to the docs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping

from auditor.errors import AuditorError

_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
_SSH_PATH = re.compile(r"^/etc/ssh/[A-Za-z0-9_.*/-]{1,200}$")


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value))


def _user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(f"unsafe user name {value!r}")
    return value


def _ssh_path(value: str) -> str:
    if not _SSH_PATH.match(value) or ".." in value:
        raise ValueError(f"path {value!r} is not a file under /etc/ssh")
    return value


def _sudo(value: str) -> str:
    if value not in ("", "sudo -n "):
        raise ValueError("sudo prefix must be empty or 'sudo -n '")
    return value


COMMANDS: Mapping[str, str] = {
    # Who we are: decides whether privileged reads need `sudo -n` (never a password prompt).
    "uid": "id -u",
    # The client address as the server sees it, for `sshd -T -C addr=...` (Match blocks).
    "client_address": 'printf "%s\\n" "$SSH_CONNECTION"',
    # The effective sshd configuration, Include and Match resolved by sshd itself.
    "sshd_effective": "{sudo}/usr/sbin/sshd -T -C user={user},host={addr},addr={addr}",
    # Owner, group and mode of the SSH configuration (dev-sec sshd-04/05).
    "ssh_file_modes": "stat -c '%U %G %a %n' /etc/ssh /etc/ssh/sshd_config",
    # Host key types and sizes on disk (public halves only).
    "host_key_sizes": 'for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -f "$f"; done',
    # Fallback when sshd -T cannot run: the configuration files themselves.
    "read_ssh_config": "{sudo}cat -- {path}",
}

VALIDATORS: Mapping[str, Callable[[str], str]] = {
    "user": _user,
    "addr": _ip,
    "path": _ssh_path,
    "sudo": _sudo,
}


class UnsafeCommand(AuditorError):
    """A command outside the allowlist, or an argument that fails validation."""


def command(name: str, **args: str) -> str:
    if name not in COMMANDS:
        raise UnsafeCommand(f"command {name!r} is not in the read-only allowlist")
    safe: dict[str, str] = {}
    for key, value in args.items():
        try:
            safe[key] = VALIDATORS[key](value)
        except (KeyError, ValueError) as exc:
            raise UnsafeCommand(f"command {name!r}: argument {key}: {exc}") from None
    try:
        return COMMANDS[name].format(**safe)
    except KeyError as exc:
        raise UnsafeCommand(f"command {name!r} needs argument {exc}") from None
