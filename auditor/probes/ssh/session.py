"""A logged-in SSH session that can only run allowlisted commands (`ssh_commands`).

Commands run one channel each, or many on one channel (`prefetch`), each output, error
stream and exit status kept apart; every output is size-capped and every command bounded
by its own limit and by the target's deadline.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Sequence
from typing import Any

import paramiko

from auditor.probes.base import ProbeFailure
from auditor.probes.deadline import Deadline
from auditor.probes.ssh.commands import command
from auditor.probes.ssh.connection import Login

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


class Session:
    """A verified, logged-in SSH connection that can only run allowlisted commands."""

    def __init__(self, login: Login, deadline: Deadline | None = None) -> None:
        self.login = login
        self.deadline = deadline
        self._stable: dict[Call, tuple[int, str, str]] = {}
        self._ready: dict[Call, tuple[int, str, str]] = {}

    @property
    def user(self) -> str:
        return self.login.user

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
        transport = self.login.transport
        if not transport.is_active():
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
