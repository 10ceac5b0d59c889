"""Judging rules in worker processes, under a time and a memory budget.

A rule pack may come from anyone, and CEL's cost is not bounded by its length: two nested
comprehensions over list literals ran 50 s and took 506 MB here (1,831 characters), and
deeper ones abort the process. The binding cannot be interrupted from Python, so rules run
in worker processes that the auditor can kill:

- a target's rules are judged in one request to a worker (facts cross the pipe once);
- a request that overruns its budget, or a worker that dies (a memory limit, an abort in
  the binding), costs that worker: it is killed and replaced, and the target's rules are
  judged again one by one, each under its own budget, so that only the costly rules are
  `error` ("over its evaluation budget") and every other rule still gets its verdict;
- workers run with an address-space limit, so memory cannot take the machine down.

Load-time bounds (`expression.check_bounds`) refuse the obvious bombs before any of this.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import queue
import resource
import threading
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from auditor.models import Finding, ProbeOutcome, Target
from auditor.rules.evaluate import error_finding, evaluate_target
from auditor.rules.spec import Rule

RULE_BUDGET = 2.0
"""Seconds one rule may take on one target (the built-in rules take well under 1 ms)."""
TARGET_BASE_BUDGET = 5.0
"""Seconds for all of a target's rules in one request, plus RULE_BUDGET / 20 per rule."""
MEMORY_LIMIT = 2 * 1024**3
"""Address space of a worker, in bytes."""

Request = tuple[Target, tuple[str, ...], Mapping[str, ProbeOutcome], dict[str, Rule]]
"""(target, keys of its rules, its probe outcomes, rules the worker has not seen yet)."""


def _worker(conn: Connection) -> None:
    """Worker loop: judge targets until the pipe closes. Rules arrive once, then by key."""
    with contextlib.suppress(ValueError, OSError):  # not every platform allows lowering it
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    known: dict[str, Rule] = {}
    while True:
        try:
            request: Request | None = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        target, keys, outcomes, new = request
        known.update(new)
        findings = evaluate_target(target, [known[k] for k in keys], outcomes)
        conn.send(findings)


class _Worker:
    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.known: set[str] = set()

    def ask(
        self,
        target: Target,
        rules: Sequence[Rule],
        outcomes: Mapping[str, ProbeOutcome],
        budget: float,
    ) -> list[Finding] | None:
        """Findings, or None when the worker overran the budget or died (it is then dead)."""
        new = {rule.key: rule for rule in rules if rule.key not in self.known}
        request: Request = (target, tuple(rule.key for rule in rules), dict(outcomes), new)
        try:
            self.conn.send(request)
            self.known |= set(new)
            if self.conn.poll(budget):
                answer: list[Finding] = self.conn.recv()
                return answer
        except (EOFError, OSError, BrokenPipeError):
            pass
        self.kill()
        return None

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.kill()


class RuleSandbox:
    """A pool of rule-judging workers shared by the threads that judge targets."""

    def __init__(self, workers: int | None = None) -> None:
        self._size = max(1, min(workers or os.cpu_count() or 1, 4))
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._started = 0
        self._lock = threading.Lock()
        self._all: list[_Worker] = []

    def evaluate(
        self, target: Target, rules: Sequence[Rule], outcomes: Mapping[str, ProbeOutcome]
    ) -> list[Finding]:
        if not rules:
            return []
        budget = TARGET_BASE_BUDGET + RULE_BUDGET / 20 * len(rules)
        findings = self._ask(target, rules, outcomes, budget)
        if findings is not None:
            return findings
        # Something overran or crashed: find which rules, one by one.
        result: list[Finding] = []
        for rule in rules:
            one = self._ask(target, [rule], outcomes, RULE_BUDGET)
            result += one if one is not None else [_over_budget(rule)]
        return result

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.stop()

    def _ask(
        self,
        target: Target,
        rules: Sequence[Rule],
        outcomes: Mapping[str, ProbeOutcome],
        budget: float,
    ) -> list[Finding] | None:
        worker = self._checkout()
        answer = worker.ask(target, rules, outcomes, budget)
        if answer is None:
            with self._lock:
                self._all.remove(worker)
                self._started -= 1
        else:
            self._idle.put(worker)
        return answer

    def _checkout(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._started < self._size:
                self._started += 1
                worker = _Worker(self._context)
                self._all.append(worker)
                return worker
        return self._idle.get()


_SHARED: RuleSandbox | None = None
_SHARED_LOCK = threading.Lock()


def shared_sandbox() -> RuleSandbox:
    """The process's pool of workers, started on first use and stopped at exit: a worker
    costs a Python start-up, so runs in one process (tests, a long-lived caller) share it."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = RuleSandbox()
            atexit.register(_SHARED.close)
        return _SHARED


def _over_budget(rule: Rule) -> Finding:
    return error_finding(
        rule,
        f"rule {rule.id} did not finish within its evaluation budget ({RULE_BUDGET:g}s) or "
        "ran out of memory: its expression is too costly for these facts",
    )
