"""One SSH connection per server for every probe that needs one (ssh_auth, sshd, host).

Each of these probes used to open its own connection: an `auth_none` handshake for the
offered methods, and a full key exchange and login each for `sshd` and `host`. Every key
exchange costs the auditor and the server CPU. Here the first of them to reach a server
opens one verified session there (lazily), reads the offered methods on it before logging
in, and runs every part that the server's rule packs need on it, in turn; the others
wait for their part. The session closes when the last part is read, or at the deadline.

- `--concurrency N` bounds the sessions open at once (a semaphore held only while a
  session does its own server's work, so no session ever waits on another: no deadlock).
- A session that cannot be opened is one error, reported by every part that needed it;
  `ssh_auth` then falls back to its own unauthenticated handshake, which needs no trust.
- A part that fails is an error on that part only; a session that dies mid-way makes the
  remaining parts fail (their commands cannot run), never pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from auditor.models import ProbeError, ProbeOutcome, Target
from auditor.probes.base import ProbeFailure
from auditor.probes.deadline import Deadline
from auditor.probes.ssh.session import Session, SshOptions, open_session
from auditor.scope import Scope

Reader = Callable[[Session | None, str, Target, Scope, Deadline], ProbeOutcome]
"""(session or None, why it could not be opened, target, scope, deadline) → the part."""

ORDER = ("ssh_auth", "sshd", "host")
"""Parts in the order a session reads them: the pre-login facts first."""


@dataclass
class _Work:
    parts: set[str]
    done: threading.Event = field(default_factory=threading.Event)
    results: dict[str, ProbeOutcome] = field(default_factory=dict)
    started: bool = False


class SharedSessions:
    def __init__(self, options: SshOptions, concurrency: int = 16) -> None:
        self.options = options
        self.slots = threading.BoundedSemaphore(max(1, concurrency))
        self.readers: dict[str, Reader] = {}
        self.needs: Mapping[str, set[str]] = {}
        self._lock = threading.Lock()
        self._work: dict[str, _Work] = {}
        self.opened = 0
        """Sessions opened so far (for tests and the bench)."""

    def register(self, part: str, reader: Reader) -> None:
        self.readers[part] = reader

    def plan(self, needs: Mapping[str, set[str]]) -> None:
        """Which parts each server's rule packs need, before any probe starts."""
        self.needs = {name: set(wanted) & set(ORDER) for name, wanted in needs.items()}

    def part(self, name: str, target: Target, scope: Scope, timeout: float) -> ProbeOutcome:
        """This probe's part for this server, read on the server's one session."""
        with self._lock:
            work = self._work.get(target.name)
            if work is None:
                wanted = self.needs.get(target.name, set()) & set(self.readers)
                work = self._work[target.name] = _Work(wanted | {name})
            elif name not in work.parts:
                work = _Work({name})  # unplanned: its own session, not waiting on others
            doer = not work.started
            work.started = True
        if doer:
            self._read_all(work, target, scope, timeout)
        else:
            work.done.wait()
        with self._lock:
            outcome = work.results.pop(name)
            if not work.results and self._work.get(target.name) is work:
                del self._work[target.name]  # memory follows concurrency, not the fleet
        return outcome

    def _read_all(self, work: _Work, target: Target, scope: Scope, timeout: float) -> None:
        try:
            with self.slots:
                deadline = Deadline(timeout)  # one deadline for the session on this server
                session: Session | None = None
                why = ""
                try:
                    session = open_session(target, scope, self.options, deadline)
                    self.opened += 1
                except ProbeFailure as exc:
                    why = str(exc)
                try:
                    for part in sorted(work.parts, key=ORDER.index):
                        work.results[part] = self._one(part, session, why, target, scope, deadline)
                finally:
                    if session is not None:
                        session.close()
        finally:
            for part in work.parts - set(work.results):  # never a part without an outcome
                work.results[part] = _failed(part, "not read: the shared SSH session ended")
            work.done.set()

    def _one(
        self,
        part: str,
        session: Session | None,
        why: str,
        target: Target,
        scope: Scope,
        deadline: Deadline,
    ) -> ProbeOutcome:
        try:
            return self.readers[part](session, why, target, scope, deadline)
        except ProbeFailure as exc:
            if session is not None and session.watchdog is not None and session.watchdog.fired:
                return _failed(part, f"no complete answer within {deadline.seconds:g}s")
            return _failed(part, str(exc))
        except Exception as exc:  # noqa: BLE001 - one part's surprise must not sink the others
            return _failed(part, f"probe crashed on this target: {type(exc).__name__}: {exc}")


def _failed(part: str, message: str) -> ProbeOutcome:
    return ProbeOutcome(part, error=ProbeError(part, message))
