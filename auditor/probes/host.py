"""Host probe: the server's own settings, read over SSH with the read-only allowlist.

Accounts (extra UID 0, empty passwords), the modes of passwd/shadow, listening sockets (a
service bound to all addresses counts even when a firewall hides it from the scan), the
firewall, auditd and log forwarding (the motivating breach went undetected), pending
security updates, database authentication settings on disk, and retention: files older
than the change record's limit under its declared data paths — counted, never named.

Facts that need privileges (/etc/shadow, the firewall) are read with `sudo -n` when not
root; when that is refused the fact is left out, so rules reading it are `error`.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from auditor.models import ProbeOutcome, Target
from auditor.probes.ssh_session import LoginProbe, Session, parse_modes

WILDCARDS = {"0.0.0.0", "::", "*", "[::]"}  # noqa: S104 - addresses we read, not bind


class HostProbe(LoginProbe):
    """Facts root `host`."""

    name = "host"

    def read(self, session: Session, target: Target, limit: float) -> ProbeOutcome:
        return ProbeOutcome(self.name, facts=_facts(session, target, limit))


def _facts(session: Session, target: Target, limit: float) -> dict[str, Any]:
    def run(name: str, **args: str) -> tuple[int, str]:
        status, out, _ = session.run(name, limit, **args)
        return status, out

    _, uid = run("uid")
    sudo = "" if uid.strip() == "0" else "sudo -n "
    facts: dict[str, Any] = {
        "os": _os_release(run("os_release")[1]),
        "uid0_accounts": run("uid_zero_accounts")[1].split(),
        "files": parse_modes(run("account_file_modes")[1]),
        "listening": _listening(run("listening_sockets")[1], str(target.ip)),
        "firewall": _firewall(run("firewall_rules", sudo=sudo)[1]),
        "auditd_running": run("auditd_running")[1].strip() == "running",
        "log_forwarding": sum(_ints(run("log_forwarding")[1])) > 0,
        "redis_conf": _redis(run("redis_config", sudo=sudo)[1]),
        "mongod_conf": _keyed(run("mongod_config", sudo=sudo)[1], "authorization"),
        "elasticsearch_conf": _keyed(
            run("elasticsearch_config", sudo=sudo)[1], "xpack.security.enabled"
        ),
        "retention": _retention(run, target, sudo),
    }
    status, out = run("empty_password_accounts", sudo=sudo)
    if status == 0 and out.rstrip().endswith("__end__"):
        facts["empty_password_accounts"] = out.split()[:-1]
    updates = run("security_updates")[1].split()
    if updates and updates[0].isdigit():
        facts["security_updates"] = int(updates[0])
    return facts


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
            loopback = not wildcard and ipaddress.ip_address(address).is_loopback
        except ValueError:
            loopback = False
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


def _firewall(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    tool = lines[0].removeprefix("tool=") if lines and lines[0].startswith("tool=") else "none"
    body = [line for line in lines[1:] if line.strip()]
    if tool == "nft":
        active = any("hook input" in line for line in body)
    elif tool == "iptables":
        active = any(line.startswith("-A ") for line in body) or any(
            line.startswith("-P INPUT") and ("DROP" in line or "REJECT" in line) for line in body
        )
    else:
        active = False
    return {"tool": tool, "active": active, "rules": len(body)}


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split() if x.isdigit()]


def _redis(text: str) -> dict[str, Any]:
    lines = text.split("\n")
    found = "found" in (line.strip() for line in lines)
    protected = next((ln.split()[1] for ln in lines if ln.startswith("protected-mode ")), "yes")
    return {
        "found": found,
        "protected_mode": protected.lower() if found else "",
        "requirepass_set": any(ln.strip() == "requirepass set" for ln in lines),
        "bind": next((ln.split(maxsplit=1)[1] for ln in lines if ln.startswith("bind ")), ""),
    }


def _keyed(text: str, key: str) -> dict[str, Any]:
    lines = [ln.strip() for ln in text.splitlines()]
    value = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(key + ":")), "")
    return {"found": "found" in lines, "value": value.strip("'\"").lower()}


def _retention(run: Any, target: Target, sudo: str) -> list[dict[str, Any]]:
    change = target.change
    if change is None or change.retention_days is None:
        return []
    results = []
    now = time.time()
    for path in change.data_paths:
        _, out = run("retention", sudo=sudo, path=path, days=str(change.retention_days))
        fields = out.split()
        if fields[:1] == ["missing"]:
            results.append({"path": path, "exists": False, "count": 0, "oldest_days": 0})
            continue
        count = int(fields[0]) if fields and fields[0].isdigit() else -1
        oldest = float(fields[1]) if len(fields) > 1 else now
        results.append(
            {
                "path": path,
                "exists": True,
                "count": count,
                "oldest_days": int((now - oldest) // 86400) if count > 0 else 0,
            }
        )
    return results
