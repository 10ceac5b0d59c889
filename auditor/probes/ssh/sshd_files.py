"""Reading `sshd_config` as text: the fallback when `sshd -T` cannot run.

Text parsing is what dev-sec's baseline does, and it is weaker than asking sshd: it follows
`Include`, takes the first value of each keyword as sshd does, and ignores `Match` blocks
(the settings they change apply only to some connections). Keywords the files do not set
take OpenSSH's compiled-in defaults (OpenSSH 8.7-9.x), so a rule sees a complete picture,
and the facts say `source: files` so that nobody mistakes them for the effective config.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

MULTI_VALUED = frozenset(
    {"hostkey", "listenaddress", "port", "acceptenv", "subsystem", "setenv", "hostcertificate"}
)

OPENSSH_DEFAULTS: dict[str, str] = {
    "permitrootlogin": "prohibit-password",
    "passwordauthentication": "yes",
    "kbdinteractiveauthentication": "yes",
    "permitemptypasswords": "no",
    "pubkeyauthentication": "yes",
    "hostbasedauthentication": "no",
    "ignorerhosts": "yes",
    "strictmodes": "yes",
    "loglevel": "INFO",
    "maxauthtries": "6",
    "logingracetime": "120",
    "x11forwarding": "no",
    "allowagentforwarding": "yes",
    "allowtcpforwarding": "yes",
    "permituserenvironment": "no",
    "permittunnel": "no",
    "gatewayports": "no",
    "usedns": "no",
    "maxsessions": "10",
    "clientaliveinterval": "0",
    "clientalivecountmax": "3",
    "maxstartups": "10:30:100",
    "gssapiauthentication": "no",
    "kerberosauthentication": "no",
    "x11uselocalhost": "yes",
    "ignoreuserknownhosts": "no",
    "syslogfacility": "AUTH",
    "tcpkeepalive": "yes",
    "printlastlog": "yes",
    "kerberosticketcleanup": "yes",
    "gssapicleanupcredentials": "yes",
    "kerberosorlocalpasswd": "yes",
}

ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication"}

Reader = Callable[[str], str]
"""Returns the text of a file (or of every file a glob names, concatenated)."""


def parse_sshd_config(main: str, read: Reader, depth: int = 0) -> dict[str, object]:
    settings: dict[str, object] = {}
    _parse(main, read, settings, depth)
    for key, value in OPENSSH_DEFAULTS.items():
        settings.setdefault(key, value)
    return settings


def _parse(text: str, read: Reader, settings: dict[str, object], depth: int) -> None:
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            words = shlex.split(line.replace("=", " ", 1) if "=" in line.split()[0] else line)
        except ValueError:
            continue
        if not words:
            continue
        key = ALIASES.get(words[0].lower(), words[0].lower())
        value = " ".join(words[1:])
        if key == "match":
            return  # everything after the first Match applies only conditionally
        if key == "include":
            if depth >= 5:
                continue
            for pattern in words[1:]:
                path = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
                _parse(read(path), read, settings, depth + 1)
            continue
        if key in MULTI_VALUED:
            existing = settings.setdefault(key, [])
            assert isinstance(existing, list)
            existing.append(value)
        elif key not in settings:
            settings[key] = _normalise(key, value)


def _normalise(key: str, value: str) -> str:
    if key == "loglevel":
        return value.upper()
    if key == "logingracetime":
        return str(_seconds(value))
    return value.lower() if value.lower() in ("yes", "no") else value


def _seconds(value: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    total = 0
    number = ""
    for char in value.lower():
        if char.isdigit():
            number += char
        elif char in units and number:
            total += int(number) * units[char]
            number = ""
    return total + (int(number) if number else 0)


def parse_sshd_t(output: str) -> dict[str, object]:
    """Parse `sshd -T` output: one `keyword value` per line, keywords in lower case."""
    settings: dict[str, object] = {}
    for line in output.splitlines():
        key, _, value = line.strip().partition(" ")
        if not key:
            continue
        if key in MULTI_VALUED:
            existing = settings.setdefault(key, [])
            assert isinstance(existing, list)
            existing.append(value)
        else:
            settings[key] = value
    return settings
