"""Connections to one target's SSH server, through its endpoint, under one deadline.

`Route` is the way to the server: the ProxyJump hops logged in once (each hop's key
verified, each through the previous), and from there as many streams to the target as the
reads need (the raw KEXINIT, the login, a handshake per host-key type). A watchdog closes
everything the route opened when the deadline passes, whatever paramiko is waiting for:
its own timeouts apply per step, so only closing the sockets bounds the conversation.

Logging in uses paramiko's public `Transport` API only (start_client, auth_none,
auth_publickey): the methods a server offers are asked first with `none`, on the verified
connection, as OpenSSH's client does, so they come from this connection.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import paramiko

from auditor.probes.base import ProbeFailure
from auditor.probes.deadline import Deadline
from auditor.probes.ssh.endpoint import Hop, SshEndpoint
from auditor.probes.ssh.hostkeys import verifier
from auditor.probes.ssh.options import SshOptions

DEFAULT_KEYS = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")
"""Keys tried when neither the inventory nor ssh_config names one (as `ssh` does)."""

WATCHDOG_GRACE = 0.25
"""Seconds past the deadline before the watchdog closes what is still open."""

# paramiko logs a traceback at ERROR for every handshake the server refuses; a refusal is an
# expected answer here (and a real failure becomes an error fact), so those logs stay quiet.
QUIET_CHANNEL = "auditor.paramiko"
logging.getLogger(QUIET_CHANNEL).propagate = False
logging.getLogger(QUIET_CHANNEL).addHandler(logging.NullHandler())


class Stream(Protocol):
    """A byte stream to the server: a TCP socket, or a channel through a bastion."""

    def settimeout(self, timeout: float | None) -> None: ...
    def recv(self, size: int) -> bytes: ...
    def sendall(self, data: bytes) -> Any: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Login:
    """A verified, authenticated transport, and what the server said before we logged in."""

    transport: paramiko.Transport
    user: str
    host_key: paramiko.PKey
    methods: tuple[str, ...] | None
    """The authentication methods offered to `none`; None when the server did not say."""


def left(deadline: Deadline) -> float:
    try:
        return deadline.remaining()
    except TimeoutError as exc:
        raise ProbeFailure(str(exc)) from None


class _Closable(Protocol):
    def close(self) -> None: ...


Opened = TypeVar("Opened", bound=_Closable)


class Route:
    """Everything one target's reads open, closed together (at the end or the deadline)."""

    def __init__(self, endpoint: SshEndpoint, options: SshOptions, deadline: Deadline) -> None:
        self.endpoint = endpoint
        self.options = options
        self.deadline = deadline
        self._opened: list[_Closable] = []
        self._lock = threading.Lock()
        self._last_hop: paramiko.Transport | None = None
        self.fired = False
        # A step's own timeout (also the deadline's) says more than the watchdog's close:
        # the watchdog is the backstop for what paramiko waits on, a moment later.
        delay = max(0.0, deadline.end - time.monotonic()) + WATCHDOG_GRACE
        self._timer = threading.Timer(delay, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        self._close_all()

    def _keep(self, thing: Opened) -> Opened:
        with self._lock:
            self._opened.append(thing)
        if self.fired:  # opened as the watchdog fired: it must not outlive the deadline
            self._close_all()
        return thing

    def _close_all(self) -> None:
        with self._lock:
            opened, self._opened = self._opened[::-1], []
        for thing in opened:
            with contextlib.suppress(Exception):
                thing.close()

    def close(self) -> None:
        self._timer.cancel()
        self._close_all()

    def why(self, exc: BaseException) -> str:
        """A failure's message, or the deadline's when the watchdog caused it."""
        if self.fired:
            return f"no complete answer within {self.deadline.seconds:g}s"
        return str(exc)

    def stream(self) -> Stream:
        """A new byte stream to the target's SSH port, through the hops if any."""
        return self._stream_to(self.endpoint.target, self._through())

    def _through(self) -> paramiko.Transport | None:
        if not self.endpoint.jumps or self._last_hop is not None:
            return self._last_hop
        via: paramiko.Transport | None = None
        for hop in self.endpoint.jumps:
            sock = self._stream_to(hop, via)
            via = self.login(hop, sock).transport
        self._last_hop = via
        return via

    def _stream_to(self, hop: Hop, via: paramiko.Transport | None) -> Stream:
        timeout = left(self.deadline)
        if via is None:
            try:
                sock = socket.create_connection((hop.ip, hop.port), timeout=timeout)
            except TimeoutError:
                raise ProbeFailure(
                    f"SSH on {hop.ip}:{hop.port}: no answer within {timeout:g}s"
                ) from None
            except OSError as exc:
                raise ProbeFailure(f"SSH on {hop.ip}:{hop.port}: {exc.strerror or exc}") from None
            return self._keep(sock)
        try:
            channel = via.open_channel(
                "direct-tcpip", (hop.ip, hop.port), ("127.0.0.1", 0), timeout=timeout
            )
        except (paramiko.SSHException, OSError, EOFError) as exc:
            bastion = self.endpoint.jumps[-1].name
            raise ProbeFailure(
                f"bastion {bastion} refused to forward to {hop.ip}:{hop.port}: {exc}"
            ) from None
        return self._keep(channel)

    def transport(self, stream: Stream, key_types: Sequence[str] = ()) -> paramiko.Transport:
        """An SSH transport over `stream`, key exchange done (no trust, no login);
        `key_types` limits the host-key types it may negotiate."""
        timeout = left(self.deadline)
        transport = self._keep(paramiko.Transport(stream))  # type: ignore[arg-type]
        transport.set_log_channel(QUIET_CHANNEL)
        transport.banner_timeout = transport.handshake_timeout = timeout
        transport.auth_timeout = timeout
        if key_types:
            transport.get_security_options().key_types = list(key_types)
        where = self.endpoint.where
        try:
            transport.start_client(timeout=timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ProbeFailure(f"SSH handshake with {where} failed: {self.why(exc)}") from None
        if not transport.is_active() or transport.host_key is None:
            # start_client gives up silently at its timeout, the key exchange unfinished
            raise ProbeFailure(
                f"SSH handshake with {where} failed: no complete key exchange within {timeout:g}s"
            )
        return transport

    def login(self, hop: Hop, stream: Stream | None = None) -> Login:
        """Log in to `hop` (a jump host, or the target) after verifying its host key, over
        `stream` or a new stream to the target."""
        check = verifier(self.options, hop, self.endpoint.known_hosts)
        transport = self.transport(stream or self.stream(), check.negotiable())
        key = transport.get_remote_server_key()
        check.verify(key)
        methods = _methods(transport, hop.user)
        if not transport.is_authenticated():
            if methods is not None and "publickey" not in methods:
                raise ProbeFailure(
                    f"SSH login as {hop.user}@{hop.name} failed: the server offers "
                    f"{', '.join(methods) or 'no method'}, not publickey"
                )
            self._authenticate(transport, hop)
        return Login(transport, hop.user, key, methods)

    def _authenticate(self, transport: paramiko.Transport, hop: Hop) -> None:
        tried: list[str] = []
        for label, key in _keys(hop.identity_files, self.options.use_agent, tried):
            try:
                transport.auth_publickey(hop.user, key)
            except paramiko.AuthenticationException:
                tried.append(f"{label}: refused")
                continue
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise ProbeFailure(self.why(exc) if self.fired else f"SSH login: {exc}") from None
            if transport.is_authenticated():
                return
            tried.append(f"{label}: more authentication asked")
        raise ProbeFailure(
            f"SSH login as {hop.user}@{hop.name} failed: "
            + ("; ".join(tried) if tried else "no key to offer (none named, no agent)")
        )


def _methods(transport: paramiko.Transport, user: str) -> tuple[str, ...] | None:
    try:
        transport.auth_none(user)
    except paramiko.BadAuthenticationType as exc:
        return tuple(sorted(exc.allowed_types))
    except (paramiko.SSHException, OSError, EOFError):
        return None  # then the real authentication says what is wrong
    return ("none",)  # let in with no credential at all


def _keys(
    files: tuple[str, ...], use_agent: bool, problems: list[str]
) -> Iterator[tuple[str, paramiko.PKey]]:
    """The keys to offer, in OpenSSH's order, each loaded only when the one before it was
    refused: named files, the agent, then the defaults (only when no file is named). A key
    that cannot be loaded is said, not skipped."""
    for name in files:
        yield from _load_key(Path(name), problems)
    if use_agent:
        agent = paramiko.Agent()
        try:
            for key in agent.get_keys():
                yield f"agent key {key.get_name()}", key
        finally:
            agent.close()
    if not files:
        for default in DEFAULT_KEYS:
            if Path(default).expanduser().is_file():
                yield from _load_key(Path(default).expanduser(), problems)


def _load_key(path: Path, problems: list[str]) -> list[tuple[str, paramiko.PKey]]:
    try:
        return [(str(path), paramiko.PKey.from_path(path))]
    except paramiko.PasswordRequiredException:
        problems.append(f"{path}: encrypted (use an agent)")
    except (OSError, ValueError, paramiko.SSHException) as exc:
        problems.append(f"{path}: cannot load: {exc}")
    return []
