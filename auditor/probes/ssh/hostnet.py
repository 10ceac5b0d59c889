"""What a host's firewall and log shipping really do, from their own configuration.

`host.firewall` passed an nftables `hook input` chain that accepts everything, and
`host.log-forwarding` counted `@localhost` while missing rsyslog's RainerScript
`action(type="omfwd" target=...)`. Both are judged here by effect: the default verdict on
inbound traffic, and whether a log target lies off the host.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

_POLICY = re.compile(r"\bpolicy\s+(accept|drop)\b")
_COUNTER = re.compile(r"^counter(\s+packets\s+\d+\s+bytes\s+\d+)?\s*")
_LEGACY = re.compile(r"^\S+\s+@@?(?:\([^)]*\))?\[?([^\]\s:;]+)")
_ACTION = re.compile(r"action\s*\((.*?)\)", re.S | re.I)
_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_URL = re.compile(r"^\s*URL\s*=\s*(\S+)")


def firewall_facts(text: str) -> dict[str, Any]:
    """`{tool, active, default, rules}`: `active` when inbound traffic is denied by
    default (an input chain's policy drop, or an unconditional drop/reject at its end),
    not merely when some input chain exists."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("tool="):
        raise ValueError("unexpected answer: no tool= line")
    tool = lines[0].removeprefix("tool=")
    body = [line.strip() for line in lines[1:] if line.strip()]
    if tool == "nft":
        denied = _nft_denies(body)
    elif tool == "iptables":
        denied = _iptables_denies(body)
    elif tool == "none":
        denied = False
    else:
        raise ValueError(f"unexpected firewall tool {tool[:20]!r}")
    return {
        "tool": tool,
        "active": denied,
        "default": "deny" if denied else "accept",
        "rules": len(body),
    }


def _nft_denies(lines: list[str]) -> bool:
    """Any base chain on the input hook that drops what no rule accepted. A packet must
    pass every such chain, so one deny-by-default chain filters inbound traffic."""
    denies = False
    chain: list[str] | None = None
    policy = "accept"
    for line in lines:
        if line.startswith("chain "):
            chain, policy = [], "accept"
            continue
        if chain is None:
            continue
        if line == "}":
            if chain and chain[0] == "input":
                last = _COUNTER.sub("", chain[-1]) if len(chain) > 1 else ""
                denies |= policy == "drop" or last.startswith(("drop", "reject"))
            chain = None
            continue
        if line.startswith("type ") and "hook input" in line:
            found = _POLICY.search(line)
            policy = found.group(1) if found else "accept"
            chain.insert(0, "input")
        elif line.startswith("type "):
            chain.insert(0, "other")
        else:
            chain.append(line)
    return denies


def _iptables_denies(lines: list[str]) -> bool:
    inputs = [line.split() for line in lines if line.startswith("-A INPUT ")]
    policy = any(line.split()[:3] in (["-P", "INPUT", "DROP"],) for line in lines)
    last = inputs[-1] if inputs else []
    unconditional = len(last) >= 4 and last[2] == "-j" and last[3] in ("DROP", "REJECT")
    return policy or unconditional


def log_targets_leave(text: str) -> bool:
    """Whether rsyslog or journal-upload sends logs to a host other than this one."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("== "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    if "end" not in sections:
        raise ValueError("the log configuration was cut short")
    rsyslog = "\n".join(sections.get("rsyslog", []))
    targets = [m.group(1) for line in rsyslog.splitlines() if (m := _LEGACY.match(line.strip()))]
    for action in _ACTION.findall(rsyslog):
        params = {k.lower(): v for k, v in _PARAM.findall(action)}
        if params.get("type", "").lower() in ("omfwd", "omrelp") and params.get("target"):
            targets.append(params["target"])
    for line in sections.get("journal-upload", []):
        found = _URL.match(line)
        if found:
            host = re.sub(r"^\w+://", "", found.group(1)).split("/")[0].rsplit(":", 1)[0]
            targets.append(host.strip("[]"))
    return any(not _local(target) for target in targets)


def _local(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in ("localhost", "localhost.localdomain", "ip6-localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
