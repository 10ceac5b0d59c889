"""Where and as whom to speak SSH to a target: resolved once, used by every SSH read.

Before this, the login read `~/.ssh/config` while the pre-login reads (the KEXINIT, the
host-key handshakes) dialled the inventory's port directly: with `Port 2222` and
`ProxyJump` in ssh_config, one report judged two daemons. Now one `SshEndpoint` per target
says it all, and every SSH conversation with the target goes through it.

Precedence, as OpenSSH's own (ssh_config(5): command line, then the first value the
config files give, then defaults): the inventory's `ssh:` keys (or the command line of
`auditor scan`) are the command line; then the user's ssh_config; then port 22 and user
root. We always connect to the address the inventory resolved and the scope allowed,
never to a `HostName` from ssh_config; each ProxyJump hop must be inside the scope too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from auditor.addresses import resolve
from auditor.models import Target
from auditor.probes.base import ProbeFailure
from auditor.scope import Scope

DEFAULT_PORT = 22
DEFAULT_USER = "root"
MAX_HOPS = 4
"""ProxyJump hops followed at most (OpenSSH has no limit; a loop must end somewhere)."""


@dataclass(frozen=True)
class Hop:
    """One SSH server on the way, or the target itself."""

    name: str
    """The name its host key is looked up under (as written in inventory or ProxyJump)."""
    ip: str
    port: int
    user: str
    identity_files: tuple[str, ...]


@dataclass(frozen=True)
class SshEndpoint:
    """The target's SSH server and the way to it, after inventory and ssh_config merged."""

    target: Hop
    jumps: tuple[Hop, ...] = ()
    """ProxyJump hops in the order they are dialled (each through the previous)."""
    known_hosts: tuple[Path, ...] = ()
    """The inventory's own known_hosts for this server, besides the run's."""

    @property
    def where(self) -> str:
        return f"{self.target.name}:{self.target.port}" + "".join(
            f" via {hop.name}" for hop in reversed(self.jumps)
        )


def read_ssh_config(path: Path | None) -> paramiko.SSHConfig:
    """The user's ssh_config, or an empty one when there is none."""
    path = path.expanduser() if path is not None else None
    if path is None or not path.is_file():
        return paramiko.SSHConfig()
    try:
        return paramiko.SSHConfig.from_path(str(path))
    except (OSError, ValueError, paramiko.SSHException) as exc:
        raise ProbeFailure(f"cannot read ssh_config {path}: {exc}") from None


def resolve_endpoint(target: Target, scope: Scope, config: paramiko.SSHConfig) -> SshEndpoint:
    """The target's endpoint; raises ProbeFailure for one that cannot be reached in scope."""
    if target.ip is None:
        raise ProbeFailure(f"{target.name} has no network address to log in to")
    ip = str(scope.check(target.ip))
    found = _lookup(config, target.address)
    ssh = target.ssh
    identities = _identities(ssh.identity_file, found)
    hop = Hop(
        name=target.address,
        ip=ip,
        port=ssh.port if ssh.port is not None else _port(found, target.address),
        user=ssh.user or str(found.get("user") or DEFAULT_USER),
        identity_files=identities,
    )
    jump = ssh.proxy_jump if ssh.proxy_jump is not None else found.get("proxyjump")
    jumps = _jumps(str(jump) if jump else "", scope, config, identities)
    known = (Path(ssh.known_hosts).expanduser(),) if ssh.known_hosts else ()
    return SshEndpoint(hop, jumps, known)


def _lookup(config: paramiko.SSHConfig, host: str) -> dict[str, Any]:
    try:
        return dict(config.lookup(host))
    except (paramiko.SSHException, ValueError, OSError) as exc:  # a bad Match, a token
        raise ProbeFailure(f"ssh_config for {host}: {exc}") from None


def _port(found: dict[str, Any], host: str) -> int:
    text = str(found.get("port", DEFAULT_PORT))
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise ProbeFailure(f"ssh_config for {host}: Port {text!r} is not a port")
    return int(text)


def _identities(inventory_file: str | None, found: dict[str, Any]) -> tuple[str, ...]:
    if inventory_file:
        return (str(Path(inventory_file).expanduser()),)
    return tuple(str(Path(p).expanduser()) for p in found.get("identityfile", []))


def _jumps(
    spec: str, scope: Scope, config: paramiko.SSHConfig, identities: tuple[str, ...]
) -> tuple[Hop, ...]:
    """The hops of a ProxyJump value, each resolved, in scope, with its own ssh_config
    (a hop's own ProxyJump is followed first, as OpenSSH does)."""
    if spec in ("", "none"):
        return ()
    hops: list[Hop] = []
    for part in spec.split(","):
        hops += _hop(part.strip(), scope, config, identities, depth=len(hops))
    if len(hops) > MAX_HOPS:
        raise ProbeFailure(f"ProxyJump {spec!r}: more than {MAX_HOPS} hops")
    return tuple(hops)


def _hop(
    part: str,
    scope: Scope,
    config: paramiko.SSHConfig,
    identities: tuple[str, ...],
    depth: int,
) -> list[Hop]:
    if depth >= MAX_HOPS:
        raise ProbeFailure(f"ProxyJump: more than {MAX_HOPS} hops (a loop?)")
    if part.startswith("ssh://"):
        part = part[len("ssh://") :]
    user, _, host_port = part.rpartition("@")
    if host_port.startswith("["):  # [v6]:port
        host, _, rest = host_port[1:].partition("]")
        port_text = rest.lstrip(":")
    else:
        host, _, port_text = host_port.partition(":")
    if not host:
        raise ProbeFailure(f"ProxyJump {part!r}: no host")
    found = _lookup(config, host)
    address = str(found.get("hostname", host))
    try:
        ip = str(resolve(address))
    except Exception as exc:  # noqa: BLE001 - any resolution failure is a probe failure
        raise ProbeFailure(f"cannot resolve bastion {address!r}: {exc}") from None
    if not scope.allows(ipaddress.ip_address(ip)):
        raise ProbeFailure(f"bastion {part} ({ip}) is outside the inventory scope; not connecting")
    if port_text and not (port_text.isascii() and port_text.isdigit()):
        raise ProbeFailure(f"ProxyJump {part!r}: {port_text!r} is not a port")
    earlier = str(found.get("proxyjump") or "none")
    before = [] if earlier == "none" else _hop(earlier, scope, config, identities, depth + 1)
    hop = Hop(
        name=host,
        ip=ip,
        port=int(port_text) if port_text else _port(found, host),
        user=user or str(found.get("user") or DEFAULT_USER),
        identity_files=_identities(None, found) or identities,
    )
    return [*before, hop]
