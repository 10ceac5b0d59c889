"""Host probe: the server's own settings, read over SSH with the read-only allowlist.

Accounts (extra UID 0, empty passwords), the modes of passwd/shadow, listening sockets (a
service bound to all addresses counts even when a firewall hides it from the scan), the
firewall, auditd and log forwarding (the motivating breach went undetected), pending
security updates, database authentication settings on disk, and retention: files older
than the change record's limit under its declared data paths — counted, never named.

Facts that need privileges (/etc/shadow, the firewall) are read with `sudo -n` when not
root. Every command's exit status is checked: a command that fails (sudo refused, `ss` or
`awk` missing, a file that cannot be read) leaves its fact out and records why under
`host.unavailable`, so the rules reading that fact are `error` and say why — never a pass
on an empty answer.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import ProbeFailure
from auditor.probes.ssh.daemon_configs import (
    ELASTICSEARCH_CONF,
    MONGOD_CONF,
    REDIS_CONF,
    redis_facts,
    yaml_setting,
)
from auditor.probes.ssh.hostnet import firewall_facts, log_targets_leave
from auditor.probes.ssh.hostreads import HostRead, arguments, parse_output
from auditor.probes.ssh.session import Call, Session, call, parse_modes

WILDCARDS = {"0.0.0.0", "::", "*", "[::]"}  # noqa: S104 - addresses we read, not bind


def read_host(
    session: Session, target: Target, limit: float, reads: Sequence[HostRead] = ()
) -> ProbeOutcome:
    """Facts root `host`: accounts, listeners, firewall, logging, updates, retention, and
    the host reads declared as data (`host.reads`)."""
    facts, unavailable = _facts(session, target, limit, reads)
    notes = tuple(f"host: {name} not collected: {why}" for name, why in unavailable.items())
    return ProbeOutcome("host", facts={**facts, "unavailable": unavailable}, notes=notes)


class CommandFailed(Exception):
    """An allowlisted command exited non-zero: the fact it feeds is unknown."""


Run = Callable[..., str]


def _facts(
    session: Session, target: Target, limit: float, reads: Sequence[HostRead]
) -> tuple[dict[str, Any], dict[str, str]]:
    def run(name: str, **args: str) -> str:
        status, out, err = session.run(name, limit, **args)
        if status != 0:
            reason = err.strip().splitlines()[0][:160] if err.strip() else ""
            raise CommandFailed(f"`{name}` exited {status}" + (f": {reason}" if reason else ""))
        return out

    try:
        uid = run("uid")
    except CommandFailed as exc:
        raise ProbeFailure(f"cannot tell which user the audit runs as: {exc}") from None
    sudo = "" if uid.strip() == "0" else "sudo -n "
    readers: dict[str, tuple[str, bool, Callable[[str], Any]]] = {
        # fact: (allowlisted command, run with sudo when not root, parser of its output)
        "os": ("os_release", False, _os_release),
        "uid0_accounts": ("uid_zero_accounts", False, str.split),
        "empty_password_accounts": ("empty_password_accounts", True, _empty_passwords),
        "files": ("account_file_modes", False, parse_modes),
        "listening": ("listening_sockets", False, lambda out: _listening(out, str(target.ip))),
        "firewall": ("firewall_rules", True, firewall_facts),
        "auditd_running": (
            "auditd_running",
            False,
            lambda out: _one_of(out, {"running": True, "stopped": False}),
        ),
        "log_forwarding": ("log_forwarding", False, log_targets_leave),
        "security_updates": ("security_updates", False, _count),
        "pg_hba": ("pg_hba", True, _pg_hba),
        "mysqld": ("mysqld_options", True, _mysqld),
        "samba": ("samba_guest_shares", True, _samba),
        "nfs_exports": ("nfs_exports", True, _nfs_exports),
    }
    sudo_args = {"sudo": sudo}
    calls = [call(name, **(sudo_args if priv else {})) for name, priv, _ in readers.values()]
    calls += _retention_calls(target, sudo)
    calls.append(call("redis_config", sudo=sudo, path=REDIS_CONF))
    yaml_configs = {
        # fact: (file, setting, whether the daemon takes flat dotted keys)
        "mongod_conf": (MONGOD_CONF, "security.authorization", False),
        "elasticsearch_conf": (ELASTICSEARCH_CONF, "xpack.security.enabled", True),
    }
    calls += [call("config_file", sudo=sudo, path=path) for path, _, _ in yaml_configs.values()]
    calls += [call(r.command.name, **arguments(r, sudo)) for r in reads]
    session.prefetch(calls, limit)
    facts: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for fact, (name, privileged, parse) in readers.items():
        try:
            facts[fact] = parse(run(name, **(sudo_args if privileged else {})))
        except (CommandFailed, ValueError) as exc:
            unavailable[fact] = str(exc)
    facts["reads"] = {}
    for read in reads:  # declared as data: rules/hostreads/
        try:
            facts["reads"][read.id] = parse_output(
                read, run(read.command.name, **arguments(read, sudo))
            )
        except (CommandFailed, ValueError) as exc:
            unavailable[f"reads.{read.id}"] = str(exc)
    try:
        facts["retention"] = _retention(run, target, sudo)
    except (CommandFailed, ValueError) as exc:
        unavailable["retention"] = str(exc)
    for fact, (path, setting, flat) in yaml_configs.items():
        try:
            text = run("config_file", sudo=sudo, path=path)
            facts[fact] = yaml_setting(text, setting, flat_keys=flat)
        except (CommandFailed, ValueError) as exc:
            unavailable[fact] = str(exc)
    try:
        facts["redis_conf"] = redis_facts(
            run("redis_config", sudo=sudo, path=REDIS_CONF),
            lambda path: run("redis_config", sudo=sudo, path=path),
        )
    except (CommandFailed, ValueError) as exc:
        unavailable["redis_conf"] = str(exc)
    return facts, unavailable


def _empty_passwords(out: str) -> list[str]:
    if not out.rstrip().endswith("__end__"):
        raise ValueError("the account list was cut short")
    return out.split()[:-1]


def _one_of(out: str, meanings: dict[str, bool]) -> bool:
    word = out.strip()
    if word not in meanings:
        raise ValueError(f"unexpected answer {word[:40]!r}")
    return meanings[word]


def _count(out: str) -> int:
    word = out.split()[0] if out.split() else ""
    if word == "unknown":
        raise ValueError("no apt-get on this host: pending updates cannot be counted")
    if not word.isascii() or not word.isdigit():
        raise ValueError(f"unexpected answer {word[:40]!r}")
    return int(word)


def _os_release(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip().strip('"')
    return {k: values.get(k, "") for k in ("id", "version_id", "pretty_name")}


def _listening(text: str, target_ip: str) -> list[dict[str, Any]]:
    sockets = []
    seen = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _, port = fields[3].rpartition(":")
        address = address.strip("[]").split("%")[0]
        if not port.isdigit():
            continue
        wildcard = address in {w.strip("[]") for w in WILDCARDS}
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            # How Java binds 127.0.0.1 on a dual-stack socket: [::ffff:127.0.131.60]:9301.
            ip = ip.ipv4_mapped
            address = str(ip)
        loopback = not wildcard and ip is not None and ip.is_loopback
        key = (address, int(port))
        if key in seen:
            continue
        seen.add(key)
        sockets.append(
            {
                "address": address,
                "port": int(port),
                "wildcard": wildcard,
                "loopback": loopback,
                "reachable": wildcard or address == target_ip or not loopback,
            }
        )
    return sockets


def _ints(text: str) -> list[int]:
    words = text.split()
    if not words or not all(w.isascii() and w.isdigit() for w in words):
        raise ValueError(f"unexpected answer {text.strip()[:40]!r}")
    return [int(x) for x in words]


def _pg_hba(text: str) -> dict[str, Any]:
    """Counts of `trust` lines in every pg_hba.conf, by kind: `host*` (TCP) and `local`."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if lines == [["missing"]]:
        return {"found": False, "files": 0, "trust_tcp": 0, "trust_local": 0}
    if not lines or lines[-1] != ["found"]:
        raise ValueError(f"unexpected answer {text.strip()[:40]!r}")
    kinds = [ln[1] for ln in lines if ln[0] == "trust" and len(ln) == 2]
    return {
        "found": True,
        "files": sum(ln == ["file"] for ln in lines),
        "trust_tcp": sum(k.startswith("host") for k in kinds),
        "trust_local": sum(k == "local" for k in kinds),
    }


def _mysqld(text: str) -> dict[str, Any]:
    """The options of `my_print_defaults --mysqld` that decide who may connect."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines == ["missing"]:
        return {
            "found": False,
            "skip_grant_tables": False,
            "bind_address": "",
            "skip_networking": False,
        }
    if not lines or lines[-1] != "found":
        raise ValueError(f"unexpected answer {text.strip()[:40]!r}")
    options: dict[str, str] = {}
    for line in lines[:-1]:  # in the order mysqld reads them: the last one wins
        name, sep, value = line.partition("=")
        name = name.lstrip("-").lower().replace("_", "-").removeprefix("loose-")
        options[name] = value if sep else ""
    return {
        "found": True,
        "skip_grant_tables": _mysql_bool(options.get("skip-grant-tables")),
        "bind_address": options.get("bind-address", ""),
        "skip_networking": _mysql_bool(options.get("skip-networking")),
    }


def _mysql_bool(value: str | None) -> bool:
    """A boolean option as mysqld reads it: bare = on; 1/ON/TRUE on; 0/OFF/FALSE off."""
    if value is None:
        return False
    word = value.strip().lower()
    if word in ("", "1", "on", "true", "yes"):
        return True
    if word in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"a boolean option with the value {value[:20]!r}")


def _nfs_exports(text: str) -> dict[str, Any]:
    """Export entries to everyone, read-write and read-only, or that there is no exports file."""
    words = text.split()
    if words == ["missing"]:
        return {"found": False, "world_rw": 0, "world_ro": 0}
    if len(words) != 3 or words[2] != "found" or not all(w.isdigit() for w in words[:2]):
        raise ValueError(f"unexpected answer {text.strip()[:40]!r}")
    return {"found": True, "world_rw": int(words[0]), "world_ro": int(words[1])}


def _samba(text: str) -> dict[str, Any]:
    """How many Samba shares a guest may open (testparm's view), or that there is no Samba."""
    words = text.split()
    if words == ["missing"]:
        return {"found": False, "guest_shares": 0}
    if len(words) != 2 or words[1] != "found" or not words[0].isdigit():
        raise ValueError(f"unexpected answer {text.strip()[:40]!r}")
    return {"found": True, "guest_shares": int(words[0])}


def _retention_calls(target: Target, sudo: str) -> list[Call]:
    change = target.change
    if change is None or change.retention_days is None:
        return []
    days = str(change.retention_days)
    return [call("retention", sudo=sudo, path=path, days=days) for path in change.data_paths]


def _retention(run: Run, target: Target, sudo: str) -> list[dict[str, Any]]:
    results = []
    now = time.time()
    for _, args in _retention_calls(target, sudo):
        path = dict(args)["path"]
        fields = run("retention", **dict(args)).split()
        if fields == ["missing"]:
            results.append({"path": path, "exists": False, "count": 0, "oldest_days": 0})
            continue
        if not fields or not fields[0].isascii() or not fields[0].isdigit():
            raise ValueError(f"{path}: unexpected answer {' '.join(fields)[:40]!r}")
        count = int(fields[0])
        oldest = float(fields[1]) if count > 0 and len(fields) > 1 else now
        results.append(
            {
                "path": path,
                "exists": True,
                "count": count,
                "oldest_days": int((now - oldest) // 86400) if count > 0 else 0,
            }
        )
    return results
