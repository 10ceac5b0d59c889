"""Facts root `ssh_auth`: which login methods a server offers, and its host keys.

`auth_none` asks the server which methods it would accept for a user ("password" among
them means password guessing works against it): no credential is sent. When the audit logs
in, the methods and the negotiated key come from that same verified connection; without a
login (no trust, no credentials), from a handshake of its own, which needs no trust. One
more handshake per host-key type the server offers (read from its KEXINIT) yields each
key's type, size and fingerprint. paramiko cannot negotiate ssh-dss or SHA-1-only servers:
such a server ends as an error here while the `ssh` root still reports its algorithms.
"""

from __future__ import annotations

from typing import Any

import paramiko

from auditor.probes.base import ProbeFailure
from auditor.probes.ssh.connection import Login, Route
from auditor.probes.ssh.hostkeys import HOST_KEY_ALGORITHMS, fingerprint

_KEY_FAMILY = {"rsa-sha2-512": "ssh-rsa", "rsa-sha2-256": "ssh-rsa"}


def unauthenticated(route: Route) -> Login:
    """The methods offered to `none` and the negotiated key, on a connection of its own
    (no host-key trust needed: nothing is sent but the user name)."""
    user = route.endpoint.target.user
    transport = route.transport(route.stream())
    key = transport.get_remote_server_key()
    try:
        transport.auth_none(user)
    except paramiko.BadAuthenticationType as exc:
        methods: tuple[str, ...] = tuple(sorted(exc.allowed_types))
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise ProbeFailure(f"could not list SSH auth methods: {route.why(exc)}") from None
    else:
        methods = ("none",)  # the server let us in with no authentication at all
    finally:
        transport.close()
    return Login(transport, user, key, methods)


def auth_facts(route: Route, login: Login, offered: list[str]) -> dict[str, Any]:
    """The `ssh_auth` facts: `login`'s methods and key, plus one handshake for each other
    key type the server `offered` in its KEXINIT."""
    if login.methods is None:
        raise ProbeFailure("the server did not say which authentication methods it offers")
    keys = {_family(login.host_key.get_name()): _describe(login.host_key)}
    for key_type in HOST_KEY_ALGORITHMS:
        if _family(key_type) in keys or key_type not in offered:
            continue
        try:
            transport = route.transport(route.stream(), [key_type])
        except ProbeFailure as exc:
            # The server offered this type in its KEXINIT: a failed handshake means we do
            # not know its key, not that it has none (a stalled RSA handshake would
            # otherwise pass the RSA key-size rule).
            raise ProbeFailure(
                f"the server offers {key_type} but the handshake for it failed: {route.why(exc)}"
            ) from None
        keys[_family(key_type)] = _describe(transport.get_remote_server_key())
        transport.close()
    return {"user": login.user, "methods": list(login.methods), "host_keys": list(keys.values())}


def _family(key_type: str) -> str:
    return _KEY_FAMILY.get(key_type, key_type)


def _describe(key: paramiko.PKey) -> dict[str, Any]:
    return {
        "type": _family(key.get_name()),
        "bits": key.get_bits(),
        "fingerprint": fingerprint(key),
    }
