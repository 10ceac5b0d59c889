"""SSH auth probe: which login methods a server offers, and its host keys, without logging in.

`auth_none` asks the server which methods it would accept for a user ("password" among them
means password guessing works against it) — no credential is sent, so no host-key trust is
needed. One handshake per host-key type the server offers (read from its KEXINIT) yields
each key's type, size and fingerprint. paramiko cannot negotiate ssh-dss or SHA-1-only
servers: such a server ends as an error fact here while the raw `ssh` probe still reports
its algorithms.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from typing import Any

import paramiko

from auditor.models import ProbeOutcome, Target
from auditor.probes.base import PerTargetProbe, ProbeFailure, address_of
from auditor.probes.deadline import Deadline
from auditor.probes.ssh.session import HOST_KEY_ALGORITHMS, fingerprint
from auditor.probes.ssh.wire import read_server_hello
from auditor.scope import Scope

PARAMIKO_KEY_TYPES = HOST_KEY_ALGORITHMS
_KEY_FAMILY = {"rsa-sha2-512": "ssh-rsa", "rsa-sha2-256": "ssh-rsa"}

# paramiko logs a traceback at ERROR for every handshake the server refuses; a refusal is an
# expected answer here (and a real failure becomes an error fact), so those logs stay quiet.
_PARAMIKO_CHANNEL = "auditor.paramiko.ssh_auth"
logging.getLogger(_PARAMIKO_CHANNEL).propagate = False
logging.getLogger(_PARAMIKO_CHANNEL).addHandler(logging.NullHandler())


class SshAuthProbe(PerTargetProbe):
    """Facts root `ssh_auth`: offered auth methods and the host keys with their sizes."""

    name = "ssh_auth"

    def probe(
        self,
        target: Target,
        scope: Scope,
        timeout: float,
        upstream: Mapping[str, ProbeOutcome],
    ) -> ProbeOutcome:
        ip = address_of(target, scope)
        port = target.ssh.port
        user = target.ssh.user or "root"
        deadline = Deadline(timeout)  # one deadline for every step on this server
        offered = read_server_hello(ip, port, _left(deadline)).lists["host_key_algorithms"]
        transport, key = _handshake(ip, port, deadline, None)
        try:
            methods = _auth_methods(transport, user, deadline)
        finally:
            transport.close()
        keys = {_KEY_FAMILY.get(key.get_name(), key.get_name()): _describe(key)}
        for key_type in PARAMIKO_KEY_TYPES:
            family = _KEY_FAMILY.get(key_type, key_type)
            if family in keys or key_type not in offered:
                continue
            try:
                other, other_key = _handshake(ip, port, deadline, key_type)
            except ProbeFailure as exc:
                # The server offered this type in its KEXINIT: a failed handshake means we
                # do not know its key, not that it has none (a stalled RSA handshake would
                # otherwise pass the RSA key-size rule).
                raise ProbeFailure(
                    f"the server offers {key_type} but the handshake for it failed: {exc}"
                ) from None
            other.close()
            keys[family] = _describe(other_key)
        return ProbeOutcome(
            self.name,
            facts={"user": user, "methods": methods, "host_keys": list(keys.values())},
        )


def _left(deadline: Deadline) -> float:
    try:
        return deadline.remaining()
    except TimeoutError as exc:
        raise ProbeFailure(str(exc)) from None


def _handshake(
    ip: str, port: int, deadline: Deadline, key_type: str | None
) -> tuple[paramiko.Transport, paramiko.PKey]:
    timeout = _left(deadline)
    try:
        sock = socket.create_connection((ip, port), timeout=timeout)
    except OSError as exc:
        raise ProbeFailure(f"SSH on {ip}:{port}: {exc.strerror or exc}") from None
    transport = paramiko.Transport(sock)
    transport.set_log_channel(_PARAMIKO_CHANNEL)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    if key_type is not None:
        transport.get_security_options().key_types = [key_type]
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        transport.close()
        raise ProbeFailure(f"SSH handshake with {ip}:{port} failed: {exc}") from None
    return transport, key


def _auth_methods(transport: paramiko.Transport, user: str, deadline: Deadline) -> list[str]:
    transport.auth_timeout = _left(deadline)  # paramiko's own default is 30 s
    try:
        transport.auth_none(user)
    except paramiko.BadAuthenticationType as exc:
        return sorted(exc.allowed_types)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise ProbeFailure(f"could not list SSH auth methods: {exc}") from None
    return ["none"]  # the server let us in with no authentication at all


def _describe(key: paramiko.PKey) -> dict[str, Any]:
    name = _KEY_FAMILY.get(key.get_name(), key.get_name())
    return {"type": name, "bits": key.get_bits(), "fingerprint": fingerprint(key)}
