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
from auditor.probes.ssh.session import HOST_KEY_ALGORITHMS, Session, fingerprint
from auditor.probes.ssh.shared import SharedSessions
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
    """Facts root `ssh_auth`: offered auth methods and the host keys with their sizes.

    With `shared`, the methods, the negotiated host key and the offered key types come from
    the server's one shared session (read before it logs in); only the other key types
    take a handshake each. Without a session (no trust, no login), it handshakes alone."""

    name = "ssh_auth"

    def __init__(self, concurrency: int = 16, shared: SharedSessions | None = None) -> None:
        super().__init__(concurrency)
        self.shared = shared
        if shared is not None:
            shared.register(self.name, self._from_session)

    def plan(self, needs: Mapping[str, set[str]]) -> None:
        if self.shared is not None:
            self.shared.plan(needs)

    def probe(
        self,
        target: Target,
        scope: Scope,
        timeout: float,
        upstream: Mapping[str, ProbeOutcome],
    ) -> ProbeOutcome:
        if self.shared is not None:
            return self.shared.part(self.name, target, scope, timeout)
        return self._alone(target, scope, Deadline(timeout))

    def _from_session(
        self, session: Session | None, why: str, target: Target, scope: Scope, deadline: Deadline
    ) -> ProbeOutcome:
        if session is None or session.methods is None or session.host_key is None:
            return self._alone(target, scope, deadline)  # needs no login and no trust
        transport = session.client.get_transport()
        user = (transport.get_username() if transport else None) or target.ssh.user or "root"
        offered = list(session.offered_host_keys)
        if not offered:
            raise ProbeFailure("the session did not record the server's host-key types")
        return self._facts(
            target, scope, deadline, user, list(session.methods), session.host_key, offered
        )

    def _alone(self, target: Target, scope: Scope, deadline: Deadline) -> ProbeOutcome:
        ip = address_of(target, scope)
        port = target.ssh.port
        user = target.ssh.user or "root"
        offered = read_server_hello(ip, port, _left(deadline)).lists["host_key_algorithms"]
        transport, key = _handshake(ip, port, deadline, None)
        try:
            methods = _auth_methods(transport, user, deadline)
        finally:
            transport.close()
        return self._facts(target, scope, deadline, user, methods, key, offered)

    def _facts(
        self,
        target: Target,
        scope: Scope,
        deadline: Deadline,
        user: str,
        methods: list[str],
        key: paramiko.PKey,
        offered: list[str],
    ) -> ProbeOutcome:
        ip, port = address_of(target, scope), target.ssh.port
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
