"""Verifying a server's host key before any credential is sent.

Keys are matched against the user's known_hosts, the run's `--known-hosts` files and the
inventory's `ssh.known_hosts`, under every name the server may be written as. Trust on
first use is explicit (a file the user names) and a *changed* key is refused even then;
unknown keys are never added silently.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko

from auditor.probes.base import ProbeFailure
from auditor.probes.ssh.endpoint import Hop
from auditor.probes.ssh.known_hosts import KnownHosts, UnreadableKnownHosts
from auditor.probes.ssh.known_hosts import load as load_known_hosts
from auditor.probes.ssh.options import SshOptions

_RSA_SIGNATURES = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
HOST_KEY_ALGORITHMS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
"""The host-key algorithms paramiko can verify (it cannot negotiate ssh-rsa or ssh-dss)."""


def verifier(options: SshOptions, hop: Hop, extra: Sequence[Path] = ()) -> HostKeyCheck:
    """The check of `hop`'s key against the run's files plus `extra` (the inventory's)."""
    store = load([*options.known_hosts, *extra, options.trust_on_first_use])
    return HostKeyCheck(hop, options, known_keys(store, hop))


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def name_forms(hop: Hop) -> list[str]:
    """Every way a known_hosts line may name this server: the address as written, its
    canonical IP, each with `[...]:port` when the port is not 22 (and both spellings for
    22). Hashed entries are matched against each of these."""
    hosts = list(dict.fromkeys((hop.name, hop.ip)))
    bracketed = [f"[{h}]:{hop.port}" for h in hosts]
    return [*hosts, *bracketed] if hop.port == 22 else bracketed


def known_keys(store: KnownHosts, hop: Hop) -> dict[str, list[paramiko.PKey]]:
    """The keys known for this server under any of its names, by key type."""
    found: dict[str, list[paramiko.PKey]] = {}
    for name in name_forms(hop):
        for key in store.lookup(name):
            keys = found.setdefault(key.get_name(), [])
            if key not in keys:
                keys.append(key)
    return found


def load(paths: Sequence[Path | None]) -> KnownHosts:
    try:
        return load_known_hosts([p.expanduser() for p in paths if p is not None])
    except UnreadableKnownHosts as exc:
        raise ProbeFailure(str(exc)) from None


def changed(host: str, offered: paramiko.PKey, known: paramiko.PKey) -> ProbeFailure:
    return ProbeFailure(
        f"host key of {host} CHANGED: server offers {offered.get_name()} "
        f"{fingerprint(offered)}, known_hosts has {fingerprint(known)} "
        "(refusing to log in; verify the server before updating known_hosts)"
    )


@dataclass(frozen=True)
class HostKeyCheck:
    """What is known of one server's keys, and the check of the key it presents."""

    hop: Hop
    options: SshOptions
    known: Mapping[str, list[paramiko.PKey]]

    def negotiable(self) -> list[str]:
        """The key types to negotiate: those a known key verifies, so that a server with
        several keys proves the one we know (as OpenSSH orders HostKeyAlgorithms); every
        type paramiko can verify when nothing is known (trust on first use, or refusal)."""
        allowed: set[str] = set()
        for key_type in self.known:
            allowed |= set(_RSA_SIGNATURES[:2]) if key_type == "ssh-rsa" else {key_type}
        return [k for k in HOST_KEY_ALGORITHMS if k in allowed] or list(HOST_KEY_ALGORITHMS)

    def verify(self, key: paramiko.PKey) -> None:
        """Return when `key` is this server's known key (or newly trusted); raise else."""
        host = self.hop.name
        same_type = self.known.get(key.get_name(), [])
        if any(known == key for known in same_type):
            return
        if same_type:
            raise changed(host, key, same_type[0])
        if self.known:
            types = ", ".join(sorted(self.known))
            raise ProbeFailure(
                f"host key of {host} does not match: known_hosts has {types} for it, the "
                f"server offered {key.get_name()} {fingerprint(key)} (refusing to log in; "
                "verify the server before updating known_hosts)"
            )
        if self.options.trust_on_first_use is not None:
            self._record(key, self.options.trust_on_first_use)
            return
        raise ProbeFailure(
            f"host key of {host} is unknown ({key.get_name()} {fingerprint(key)}); add it to "
            "~/.ssh/known_hosts or a file given with --known-hosts (or the inventory's "
            "ssh.known_hosts), or use --trust-on-first-use FILE"
        )

    def _record(self, key: paramiko.PKey, path: Path) -> None:
        names = ",".join(dict.fromkeys(n for n in name_forms(self.hop) if not n.endswith("]:22")))
        with self.options.tofu_lock:
            # Another thread may have recorded this host meanwhile: never a second key.
            if path.is_file():
                again = known_keys(load([path]), self.hop)
                if again:
                    if any(k == key for k in again.get(key.get_name(), [])):
                        return
                    raise ProbeFailure(
                        f"host key of {self.hop.name} changed while trusting on first use"
                    )
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="ascii") as store:
                store.write(f"{names} {key.get_name()} {key.get_base64()}\n")
