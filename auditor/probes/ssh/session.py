"""Logging in over SSH for the probes that read a host's own settings.

Host keys are always verified: against the user's known_hosts and the inventory's
`ssh.known_hosts`, strictly by default. Trust on first use is explicit (a file the user
names) and a *changed* key is refused even then; unknown keys are never added silently.

Connection settings merge the user's `~/.ssh/config` (User, Port, IdentityFile, ProxyJump)
with the inventory's `ssh:` keys, which win. We always connect to the address the inventory
resolved and the scope allowed — never to a HostName from ssh_config — and a ProxyJump
bastion must be inside the scope too. Commands come only from `ssh_commands`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import re
import secrets
import socket
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko

from auditor.addresses import resolve
from auditor.models import ProbeOutcome, Target
from auditor.probes.base import PerTargetProbe, ProbeFailure
from auditor.probes.deadline import Deadline
from auditor.probes.ssh.commands import command
from auditor.probes.ssh.known_hosts import KnownHosts, UnreadableKnownHosts
from auditor.probes.ssh.known_hosts import load as load_known_hosts
from auditor.scope import Scope

if TYPE_CHECKING:  # shared.py builds on this module
    from auditor.probes.ssh.shared import SharedSessions

MAX_OUTPUT = 256 * 1024


class CommandTimedOut(ProbeFailure):
    """A command that was still running when its time ran out."""


Call = tuple[str, tuple[tuple[str, str], ...]]
"""An allowlisted command's name and its arguments, sorted: one command to run."""


STABLE = frozenset({"uid", "client_address"})
"""Commands whose answer is fixed for the life of a session: who we are logged in as, and
the addresses of our own connection. The parts sharing a session ask for them once."""


def call(name: str, **args: str) -> Call:
    return (name, tuple(sorted(args.items())))


def batch_script(nonce: str, calls: Sequence[Call]) -> str:
    """One shell script running each allowlisted call in its own subshell (an `exit` ends
    only that call), each between markers on stdout and stderr, its status after it."""
    return "\n".join(
        f"printf '\\n{nonce} {i}\\n'; printf '\\n{nonce} {i}\\n' >&2; "
        f"({command(name, **dict(args))}\n) </dev/null; printf '\\n{nonce} {i} %d\\n' $?"
        for i, (name, args) in enumerate(calls)
    )


def split_batch(nonce: str, out: str, err: str) -> dict[int, tuple[int, str, str]]:
    """Cut a batch's streams at its markers into (exit status, stdout, stderr) per command
    index. Markers must come in order (begin 0, end 0, begin 1...): anything else ends
    the parse there, and a command without its end marker gets no result."""
    marker = re.compile(rf"\n{nonce} (\d+)(?: (\d+))?\n")
    finished: dict[int, tuple[int, str, str]] = {}
    running: int | None = None
    start = expected = 0
    for match in marker.finditer(out):
        index, status = int(match.group(1)), match.group(2)
        if status is None and index == expected and running is None:
            running, start = index, match.end()
        elif status is not None and index == running:
            finished[index] = (int(status), out[start : match.start()], "")
            running, expected = None, index + 1
        else:
            break
    begins = [m for m in marker.finditer(err) if m.group(2) is None]
    for position, match in enumerate(begins):
        if int(match.group(1)) != position:
            break
        end = begins[position + 1].start() if position + 1 < len(begins) else len(err)
        if position in finished:
            code, text, _ = finished[position]
            finished[position] = (code, text, err[match.end() : end])
    return finished


@dataclass(frozen=True)
class SshOptions:
    """How the SSH probes log in; shared by every target of a run."""

    known_hosts: tuple[Path, ...] = (Path("~/.ssh/known_hosts"),)
    trust_on_first_use: Path | None = None
    """Record unknown host keys here and accept them; changed keys are still refused."""
    config_file: Path | None = Path("~/.ssh/config")
    use_agent: bool = True
    command_timeout: float = 30.0
    _tofu_lock: threading.Lock = field(default_factory=threading.Lock, compare=False)


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to log in, after ssh_config and inventory are merged."""

    name: str
    """Name under which the host key is looked up (the inventory address)."""
    ip: str
    port: int
    user: str
    identity_files: tuple[str, ...]


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


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


def _changed(host: str, offered: paramiko.PKey, known: paramiko.PKey) -> ProbeFailure:
    return ProbeFailure(
        f"host key of {host} CHANGED: server offers {offered.get_name()} "
        f"{fingerprint(offered)}, known_hosts has {fingerprint(known)} "
        "(refusing to log in; verify the server before updating known_hosts)"
    )


def name_forms(endpoint: Endpoint) -> list[str]:
    """Every way a known_hosts line may name this server: the inventory's address as
    written, its canonical IP, each with `[...]:port` when the port is not 22 (and both
    spellings for 22). Hashed entries are matched by paramiko against each of these."""
    hosts = list(dict.fromkeys((endpoint.name, endpoint.ip)))
    bracketed = [f"[{h}]:{endpoint.port}" for h in hosts]
    return [*hosts, *bracketed] if endpoint.port == 22 else bracketed


def known_keys(store: KnownHosts, endpoint: Endpoint) -> dict[str, list[paramiko.PKey]]:
    """The keys known for this server under any of its names, by key type."""
    found: dict[str, list[paramiko.PKey]] = {}
    for name in name_forms(endpoint):
        for key in store.lookup(name):
            keys = found.setdefault(key.get_name(), [])
            if key not in keys:
                keys.append(key)
    return found


def _negotiable(known: Mapping[str, list[paramiko.PKey]]) -> list[str]:
    """Host-key algorithms that verify against what is known (an RSA key signs as sha2)."""
    types: list[str] = []
    for key_type in known:
        types += list(_RSA_SIGNATURES[:2]) if key_type == "ssh-rsa" else [key_type]
    return types


class _VerifyHostKey(paramiko.MissingHostKeyPolicy):
    """Verifies the server's key against every known name of the server; TOFU on request.

    paramiko's own lookup uses one name only (the inventory's spelling, with the port), so
    keys are never loaded into the client: every key reaches this policy, which matches it
    against the inventory address, the IP and their `[...]:port` forms in every file.
    """

    def __init__(
        self, endpoint: Endpoint, options: SshOptions, known: Mapping[str, list[paramiko.PKey]]
    ) -> None:
        self.endpoint = endpoint
        self.options = options
        self.known = known

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        host = self.endpoint.name
        same_type = self.known.get(key.get_name(), [])
        if any(known == key for known in same_type):
            return
        if same_type:
            raise _changed(host, key, same_type[0])
        if self.known:
            types = ", ".join(sorted(self.known))
            raise ProbeFailure(
                f"host key of {host} does not match: known_hosts has {types} for it, the "
                f"server offered {key.get_name()} {fingerprint(key)} (refusing to log in; "
                "verify the server before updating known_hosts)"
            )
        if self.options.trust_on_first_use is not None:
            self._record(key)
            return
        raise ProbeFailure(
            f"host key of {host} is unknown ({key.get_name()} {fingerprint(key)}); add it to "
            "~/.ssh/known_hosts or a file given with --known-hosts (or the inventory's "
            "ssh.known_hosts), or use --trust-on-first-use FILE"
        )

    def _record(self, key: paramiko.PKey) -> None:
        path = self.options.trust_on_first_use
        assert path is not None
        names = ",".join(
            dict.fromkeys(n for n in name_forms(self.endpoint) if not n.endswith("]:22"))
        )
        with self.options._tofu_lock:
            # Another thread may have recorded this host meanwhile: never a second key.
            if path.is_file():
                again = known_keys(_load_store([path]), self.endpoint)
                if again:
                    if any(k == key for k in again.get(key.get_name(), [])):
                        return
                    raise ProbeFailure(
                        f"host key of {self.endpoint.name} changed while trusting on first use"
                    )
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="ascii") as store:
                store.write(f"{names} {key.get_name()} {key.get_base64()}\n")


def _load_store(paths: Sequence[Path | None]) -> KnownHosts:
    try:
        return load_known_hosts([p for p in paths if p is not None])
    except UnreadableKnownHosts as exc:
        raise ProbeFailure(str(exc)) from None


def endpoint_for(target: Target, options: SshOptions) -> tuple[Endpoint, str | None]:
    """Merge ssh_config (if any) with the inventory; return the endpoint and its ProxyJump."""
    config = _ssh_config(options).lookup(target.address) if options.config_file else {}
    ssh = target.ssh
    user = ssh.user or config.get("user") or "root"
    port = ssh.port if ssh.port != 22 or "port" not in config else int(config["port"])
    identities: tuple[str, ...] = ()
    if ssh.identity_file:
        identities = (str(Path(ssh.identity_file).expanduser()),)
    elif "identityfile" in config:
        identities = tuple(str(Path(p).expanduser()) for p in config["identityfile"])
    jump = ssh.proxy_jump or config.get("proxyjump")
    if jump in ("none", ""):
        jump = None
    if target.ip is None:
        raise ProbeFailure(f"{target.name} has no network address to log in to")
    return Endpoint(target.address, str(target.ip), port, user, identities), jump


def _ssh_config(options: SshOptions) -> paramiko.SSHConfig:
    path = options.config_file.expanduser() if options.config_file else None
    if path is None or not path.is_file():
        return paramiko.SSHConfig()
    return paramiko.SSHConfig.from_path(str(path))


def parse_modes(stat_output: str) -> list[dict[str, Any]]:
    """Owner, group and mode flags from `stat -c '%U %G %a %n'` lines."""
    files = []
    for line in stat_output.splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) != 4:
            continue
        owner, group, mode_text, path = parts
        mode = int(mode_text, 8)
        files.append(
            {
                "path": path,
                "owner": owner,
                "group": group,
                "mode": mode_text,
                "group_writable": bool(mode & 0o020),
                "other_writable": bool(mode & 0o002),
                "other_readable": bool(mode & 0o004),
            }
        )
    return files


class _Watchdog:
    """Closes the connection when the probe's deadline passes, whatever paramiko is
    waiting for: its own timeouts apply per step (banner, handshake, auth, channel), so
    only closing the socket bounds the whole conversation."""

    def __init__(self, deadline: Deadline, close: Callable[[], object]) -> None:
        self.fired = False

        def fire() -> None:
            self.fired = True
            with contextlib.suppress(Exception):
                close()

        self._timer = threading.Timer(max(0.0, deadline.end - time.monotonic()), fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()


class _RecordingTransport(paramiko.Transport):
    """Keeps the host-key types the server offered in its KEXINIT, which paramiko reads
    and forgets: the `ssh_auth` probe learns them from the session's own handshake."""

    offered_host_keys: tuple[str, ...] = ()

    def _really_parse_kex_init(self, m: Any, ignore_first_byte: bool = False) -> Any:
        parsed = super()._really_parse_kex_init(m, ignore_first_byte)  # type: ignore[misc]
        if not self.server_mode:  # the server's KEXINIT, as the client reads it
            self.offered_host_keys = tuple(parsed["server_key_algo_list"])
        return parsed


def _recording_transport(
    sock: Any,
    *,
    gss_kex: bool = False,
    gss_deleg_creds: bool = True,
    disabled_algorithms: Any = None,
) -> paramiko.Transport:
    return _RecordingTransport(sock, disabled_algorithms=disabled_algorithms)


class _MethodsFirstClient(paramiko.SSHClient):
    """Asks which authentication methods the server offers (`none`, no credential), on the
    verified connection, before authenticating, as OpenSSH's own client does: the methods
    then come from this one connection instead of a connection of their own."""

    methods: tuple[str, ...] | None = None
    """Offered methods; None when the server did not say."""

    def _auth(self, username: str, *args: Any, **kwargs: Any) -> None:
        transport = self.get_transport()
        assert transport is not None
        try:
            transport.auth_none(username)
        except paramiko.BadAuthenticationType as exc:
            self.methods = tuple(sorted(exc.allowed_types))
        except (paramiko.SSHException, OSError, EOFError):
            pass  # then the real authentication says what is wrong
        else:
            self.methods = ("none",)  # let in with no credential at all
            return
        super()._auth(username, *args, **kwargs)  # type: ignore[misc]


class Session:
    """A verified, logged-in SSH connection that can only run allowlisted commands."""

    def __init__(
        self,
        client: paramiko.SSHClient,
        bastion: paramiko.SSHClient | None,
        deadline: Deadline | None = None,
        watchdog: _Watchdog | None = None,
    ) -> None:
        self.client = client
        self.bastion = bastion
        self.deadline = deadline
        self.watchdog = watchdog
        self._stable: dict[Call, tuple[int, str, str]] = {}
        self._ready: dict[Call, tuple[int, str, str]] = {}

    @property
    def methods(self) -> tuple[str, ...] | None:
        """The authentication methods the server offered before we logged in."""
        return self.client.methods if isinstance(self.client, _MethodsFirstClient) else None

    @property
    def host_key(self) -> paramiko.PKey | None:
        transport = self.client.get_transport()
        return transport.get_remote_server_key() if transport is not None else None

    @property
    def offered_host_keys(self) -> tuple[str, ...]:
        transport = self.client.get_transport()
        return transport.offered_host_keys if isinstance(transport, _RecordingTransport) else ()

    def run(self, name: str, timeout: float, **args: str) -> tuple[int, str, str]:
        """Run one allowlisted command; returns (exit status, stdout, stderr), size-capped.

        `timeout` caps this command; the session's deadline caps them all together.
        A command whose answer cannot change within a session (STABLE) runs once, and one
        that a `prefetch` batch already ran gives that answer."""
        key = call(name, **args)
        if key in self._stable:
            return self._stable[key]
        if key in self._ready:
            return self._ready.pop(key)
        if self.deadline is not None:
            try:
                timeout = min(timeout, self.deadline.remaining())
            except TimeoutError as exc:
                raise ProbeFailure(f"command {name!r} not run: {exc}") from None
        result = self._exec(command(name, **args), name, timeout)
        if name in STABLE:
            self._stable[key] = result
        return result

    def _exec(
        self,
        line: str,
        name: str,
        timeout: float,
        limit: int = MAX_OUTPUT,
        out: bytearray | None = None,
        err: bytearray | None = None,
    ) -> tuple[int, str, str]:
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise ProbeFailure("SSH connection lost")
        try:
            channel = transport.open_session(timeout=timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ProbeFailure(
                f"command {name!r}: no channel: {exc or type(exc).__name__}"
            ) from None
        try:
            channel.settimeout(timeout)
            channel.exec_command(line)
            channel.shutdown_write()
            text, error = _drain(channel, time.monotonic() + timeout, name, limit, out, err)
            status = channel.recv_exit_status() if channel.exit_status_ready() else -1
        except TimeoutError:
            raise CommandTimedOut(f"command {name!r} did not finish within {timeout:g}s") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ProbeFailure(f"command {name!r}: connection failed: {exc}") from None
        finally:
            channel.close()
        return status, text, error

    def prefetch(self, calls: Sequence[Call], timeout: float) -> None:
        """Run allowlisted commands in turn on one channel, for `run` to hand out: one shell
        instead of one per command, which is most of what a command costs the server
        (bench: ~6 ms of sshd CPU per channel, twenty channels per host probe).

        Each command runs in its own subshell between markers that carry a random nonce,
        so its output, stderr and exit status come back apart, as separate channels would
        give them, and a server's output cannot forge another command's. A call the batch
        did not finish (it failed, ran past `timeout`, or printed too much) simply runs
        alone when asked for, with its own limit: a batch never turns a slow command into
        a failed one, nor a failed batch into a pass."""
        calls = [c for c in calls if c not in self._stable and c not in self._ready]
        if not calls:
            return
        nonce = secrets.token_hex(16)
        script = batch_script(nonce, calls)
        if self.deadline is not None:
            try:
                timeout = min(timeout, self.deadline.remaining())
            except TimeoutError:
                return
        out, err = bytearray(), bytearray()
        try:
            status, _, _ = self._exec(script, "batch", timeout, MAX_OUTPUT * len(calls), out, err)
        except CommandTimedOut:
            status = 0  # what finished before the cut stands; the rest run alone
        except ProbeFailure:
            return  # no channel, lost connection, too much output: each runs alone
        if status != 0:
            return
        finished = split_batch(nonce, out.decode(errors="replace"), err.decode(errors="replace"))
        for i, (code, text, error) in finished.items():
            if max(len(text.encode()), len(error.encode())) > MAX_OUTPUT:
                continue  # alone, the command is named as printing too much
            store = self._stable if calls[i][0] in STABLE else self._ready
            store[calls[i]] = (code, text, error)

    def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.client.close()
        if self.bastion is not None:
            self.bastion.close()


def _drain(
    channel: paramiko.Channel,
    deadline: float,
    name: str,
    limit: int = MAX_OUTPUT,
    out: bytearray | None = None,
    err: bytearray | None = None,
) -> tuple[str, str]:
    """Read both streams until the command exits, at most `limit` bytes each. Given `out`
    and `err`, they keep what was read when the deadline ends (a batch's finished part)."""
    out = bytearray() if out is None else out
    err = bytearray() if err is None else err
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError
        progressed = False
        if channel.recv_ready():
            out += channel.recv(65536)
            progressed = True
        if channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
            progressed = True
        if len(out) > limit or len(err) > limit:
            raise ProbeFailure(f"command {name!r} printed more than {limit} bytes")
        if (
            channel.exit_status_ready()
            and not channel.recv_ready()
            and not channel.recv_stderr_ready()
        ):
            break
        if not progressed:
            time.sleep(0.005)
    return out.decode(errors="replace"), err.decode(errors="replace")


def open_session(
    target: Target, scope: Scope, options: SshOptions, timeout: float | Deadline
) -> Session:
    """Log in to the target; with a Deadline, the login and every later command end by it."""
    deadline = timeout if isinstance(timeout, Deadline) else Deadline(timeout)
    timeout = deadline.seconds
    endpoint, jump = endpoint_for(target, options)
    scope.check(endpoint.ip)
    bastion: paramiko.SSHClient | None = None
    opened: list[Any] = []

    def close_all() -> None:
        for thing in opened:
            thing.close()

    watchdog = _Watchdog(deadline, close_all)
    try:
        if jump:
            inventory_known = (Path(target.ssh.known_hosts),) if target.ssh.known_hosts else ()
            bastion = _connect_bastion(
                jump, scope, options, timeout, inventory_known, endpoint.identity_files
            )
            opened.append(bastion)
            transport = bastion.get_transport()
            assert transport is not None
            try:
                sock: Any = transport.open_channel(
                    "direct-tcpip", (endpoint.ip, endpoint.port), ("127.0.0.1", 0), timeout=timeout
                )
            except (paramiko.SSHException, OSError) as exc:
                raise ProbeFailure(
                    f"bastion {jump} refused to forward to {endpoint.ip}: {exc}"
                ) from None
        else:
            sock = _tcp(endpoint.ip, endpoint.port, timeout)
        opened.append(sock)
        inventory_known = (Path(target.ssh.known_hosts),) if target.ssh.known_hosts else ()
        client = _login(endpoint, sock, options, timeout, inventory_known)
        opened.append(client)
    except BaseException as exc:
        watchdog.cancel()
        close_all()
        if watchdog.fired and isinstance(exc, ProbeFailure):
            raise ProbeFailure(
                f"SSH to {endpoint.name}:{endpoint.port}: no complete login within "
                f"{deadline.seconds:g}s"
            ) from None
        raise
    return Session(client, bastion, deadline, watchdog)


def _connect_bastion(
    jump: str,
    scope: Scope,
    options: SshOptions,
    timeout: float,
    known: tuple[Path, ...],
    target_identities: tuple[str, ...],
) -> paramiko.SSHClient:
    """Log in to the ProxyJump host: its own ssh_config entry, else the target's key."""
    if "," in jump:
        raise ProbeFailure(f"ProxyJump {jump!r}: only one bastion hop is supported")
    user_part, _, host_part = jump.rpartition("@")
    host, _, port_text = host_part.partition(":")
    if host.startswith("["):  # [v6]:port
        host, _, rest = host_part[1:].partition("]")
        port_text = rest.lstrip(":")
    config = _ssh_config(options).lookup(host) if options.config_file else {}
    address = config.get("hostname", host)
    try:
        ip = str(resolve(address))
    except Exception as exc:  # noqa: BLE001 - any resolution failure is a probe failure
        raise ProbeFailure(f"cannot resolve bastion {address!r}: {exc}") from None
    if not scope.allows(ipaddress.ip_address(ip)):
        raise ProbeFailure(f"bastion {jump} ({ip}) is outside the inventory scope; not connecting")
    port = int(port_text or config.get("port", "22"))
    identities = tuple(str(Path(p).expanduser()) for p in config.get("identityfile", []))
    identities = identities or target_identities
    endpoint = Endpoint(host, ip, port, user_part or config.get("user", "root"), identities)
    return _login(endpoint, _tcp(ip, port, timeout), options, timeout, known)


def _tcp(ip: str, port: int, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((ip, port), timeout=timeout)
    except TimeoutError:
        raise ProbeFailure(f"SSH on {ip}:{port}: no answer within {timeout:g}s") from None
    except OSError as exc:
        raise ProbeFailure(f"SSH on {ip}:{port}: {exc.strerror or exc}") from None


def _login(
    endpoint: Endpoint,
    sock: Any,
    options: SshOptions,
    timeout: float,
    extra_known_hosts: tuple[Path, ...] = (),
) -> paramiko.SSHClient:
    store = _load_store([*options.known_hosts, *extra_known_hosts, options.trust_on_first_use])
    known = known_keys(store, endpoint)
    client = _MethodsFirstClient()  # no keys loaded into it: _VerifyHostKey sees every key
    client.set_missing_host_key_policy(_VerifyHostKey(endpoint, options, known))
    disabled: dict[str, list[str]] = {}
    if known:  # negotiate a key type we can verify, as OpenSSH orders HostKeyAlgorithms
        allowed = set(_negotiable(known))
        disabled["keys"] = [k for k in HOST_KEY_ALGORITHMS if k not in allowed]
    try:
        client.connect(
            hostname=endpoint.name,
            port=endpoint.port,
            username=endpoint.user,
            key_filename=list(endpoint.identity_files) or None,  # type: ignore[arg-type]
            allow_agent=options.use_agent,
            look_for_keys=not endpoint.identity_files,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            sock=sock,
            disabled_algorithms=disabled or None,
            transport_factory=_recording_transport,
        )
    except ProbeFailure:
        client.close()
        raise
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise _changed(endpoint.name, exc.key, exc.expected_key) from None
    except paramiko.AuthenticationException as exc:
        client.close()
        raise ProbeFailure(f"SSH login as {endpoint.user}@{endpoint.name} failed: {exc}") from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        client.close()
        raise ProbeFailure(f"SSH to {endpoint.name}:{endpoint.port} failed: {exc}") from None
    return client


class LoginProbe(PerTargetProbe):
    """A probe that logs in (verified host key, allowlisted commands) and reads facts.

    With `shared` (auditor/probes/ssh/shared.py), it reads its facts on the server's one
    session, shared with the other SSH probes; alone, it opens a session of its own."""

    def __init__(
        self,
        options: SshOptions | None = None,
        concurrency: int = 10,
        shared: SharedSessions | None = None,
    ) -> None:
        super().__init__(concurrency)
        self.options = options or SshOptions()
        self.shared = shared
        if shared is not None:
            shared.register(self.name, self._from_session)

    def plan(self, needs: Mapping[str, set[str]]) -> None:
        if self.shared is not None:
            self.shared.plan(needs)

    def _from_session(
        self, session: Session | None, why: str, target: Target, scope: Scope, deadline: Deadline
    ) -> ProbeOutcome:
        if session is None:
            raise ProbeFailure(why)
        return self.read(session, target, min(deadline.seconds, self.options.command_timeout))

    def probe(
        self,
        target: Target,
        scope: Scope,
        timeout: float,
        upstream: Mapping[str, ProbeOutcome],
    ) -> ProbeOutcome:
        if self.shared is not None:
            return self.shared.part(self.name, target, scope, timeout)
        session = open_session(target, scope, self.options, Deadline(timeout))
        try:
            return self.read(session, target, min(timeout, self.options.command_timeout))
        except ProbeFailure:
            if session.watchdog is not None and session.watchdog.fired:
                raise ProbeFailure(f"no complete answer within {timeout:g}s") from None
            raise
        finally:
            session.close()

    @abstractmethod
    def read(self, session: Session, target: Target, limit: float) -> ProbeOutcome:
        """Run allowlisted commands on the open session; `limit` bounds each one."""
