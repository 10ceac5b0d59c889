"""Judged targets kept on disk, not in memory, until the report is written.

A fleet of 10,000 servers must not need 10,000 servers' findings in RAM at once: the engine
writes each target's result here the moment it is judged, and reporters read them back one
at a time, in inventory order, as often as they need to (the summary, then the body). What
stays in memory is an offset per target. The file is an unlinked temporary file of this
process (nobody else can open it), so reading back our own pickles is safe.
"""

from __future__ import annotations

import pickle
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

from auditor.gate import Standing
from auditor.models import Severity, TargetResult


class ResultSpool:
    """Append-only store of judged targets, read back by name; each one's `Standing` is
    kept in memory beside its offset, for the summaries."""

    def __init__(self, fail_on: Severity = Severity.HIGH) -> None:
        # Closed, and gone, when the report that reads it is garbage-collected.
        self._file = tempfile.TemporaryFile(prefix="auditor-results-")  # noqa: SIM115
        self._where: dict[str, tuple[int, int]] = {}
        self._standing: dict[str, Standing] = {}
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def __contains__(self, name: object) -> bool:
        return name in self._where

    def add(self, result: TargetResult) -> None:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            offset = self._file.seek(0, 2)
            self._file.write(data)
            self._where[result.target.name] = (offset, len(data))
            self._standing[result.target.name] = Standing.of(result, self.fail_on)

    def get(self, name: str) -> TargetResult:
        offset, size = self._where[name]
        with self._lock:
            self._file.seek(offset)
            data = self._file.read(size)
        result: TargetResult = pickle.loads(data)  # noqa: S301 - our own private file
        return result

    def results(self, order: Iterable[str]) -> StoredResults:
        """The stored results in `order` (the inventory's), as a read-only sequence."""
        return StoredResults(self, tuple(order))


class StoredResults(Sequence[TargetResult]):
    """A sequence of results that lives in a spool: each item is read when it is used."""

    def __init__(
        self,
        spool: ResultSpool,
        names: tuple[str, ...],
        view: Callable[[TargetResult], TargetResult] | None = None,
    ) -> None:
        self._spool = spool
        self._names = names
        self._view = view

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> TargetResult: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[TargetResult]: ...

    def __getitem__(self, index: int | slice) -> TargetResult | Sequence[TargetResult]:
        if isinstance(index, slice):
            return StoredResults(self._spool, self._names[index], self._view)
        result = self._spool.get(self._names[index])
        return self._view(result) if self._view else result

    def __iter__(self) -> Iterator[TargetResult]:
        for name in self._names:
            result = self._spool.get(name)
            yield self._view(result) if self._view else result

    def standings(self, fail_on: Severity) -> list[Standing] | None:
        """The kept standings, when they describe what this sequence shows (no view that
        changes the findings, the same --fail-on); None when they must be computed."""
        if self._view is not None or fail_on is not self._spool.fail_on:
            return None
        return [self._spool._standing[name] for name in self._names]

    def mapped(self, view: Callable[[TargetResult], TargetResult]) -> StoredResults:
        """The same results, each passed through `view` as it is read (nothing is copied)."""
        inner = self._view
        combined = view if inner is None else (lambda r: view(inner(r)))
        return StoredResults(self._spool, self._names, combined)


def mapped(
    results: Sequence[TargetResult], view: Callable[[TargetResult], TargetResult]
) -> Sequence[TargetResult]:
    """`view` applied to every result, lazily when they are spooled."""
    if isinstance(results, StoredResults):
        return results.mapped(view)
    return tuple(view(r) for r in results)
