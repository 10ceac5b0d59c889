"""Run history in SQLite: every audit is kept, so `auditor diff` can say what changed.

Each run is inserted when it starts and marked finished at the end; each target's result
is committed on its own as it is recorded. An interrupted run (crash, Ctrl-C) therefore
stays visible as `interrupted` with the targets it finished, and SQLite's transactions
(WAL journal) keep the file consistent whatever happens mid-run.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.models import Report, TargetResult
from auditor.reporting.serialize import finding_to_dict, report_head

OPEN = ("fail", "error")

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    inventory TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    verdict TEXT,
    auditor_version TEXT NOT NULL,
    report TEXT
);
CREATE TABLE IF NOT EXISTS targets (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    verdict TEXT NOT NULL,
    complete INTEGER NOT NULL,
    findings TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS alerted (
    inventory TEXT NOT NULL,
    target TEXT NOT NULL,
    rule TEXT NOT NULL,
    resource TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    PRIMARY KEY (inventory, target, rule, resource)
);
CREATE TABLE IF NOT EXISTS undelivered (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id)
);
"""


def inventory_key(inventory: str) -> str:
    """Runs of one inventory are compared by `auditor diff`: key them by absolute path
    (an inventory that is not a file here, e.g. `<adhoc>`, by its name as written)."""
    if inventory.startswith("<") or not Path(inventory).exists():
        return inventory
    return str(Path(inventory).resolve())


def default_path() -> Path:
    if os.environ.get("AUDITOR_HISTORY"):
        return Path(os.environ["AUDITOR_HISTORY"]).expanduser()
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "server-auditor" / "history.sqlite"


@dataclass(frozen=True)
class RunRow:
    id: int
    inventory: str
    started: str
    finished: str | None
    verdict: str | None

    @property
    def status(self) -> str:
        return "finished" if self.finished else "interrupted"


def _create(path: Path) -> None:
    """A new database, private (0600) and with its schema, appearing under its name only
    when complete, so that a reader never meets an empty file."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    os.close(fd)
    temporary = Path(name)
    try:
        with contextlib.closing(sqlite3.connect(temporary)) as db:
            db.executescript(SCHEMA_SQL)
            db.commit()
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


class History:
    """Every report of every run: private to its owner (0600 in a 0700 folder when it
    creates them), and refused with one line when the file is not a usable database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if not path.parent.exists():
                path.parent.mkdir(parents=True, mode=0o700)
            if not path.exists():
                _create(path)
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA_SQL)
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InputError(
                f"history database cannot be used: {reason}",
                path=path,
                hint="give another --history FILE, or --no-history",
            ) from None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._db:  # commits, or rolls back on any exception
            yield self._db

    def start(self, inventory: str, started: str, version: str) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO runs (inventory, started, auditor_version) VALUES (?, ?, ?)",
                (inventory, started, version),
            )
        return int(cursor.lastrowid or 0)

    def record_target(self, run_id: int, result: TargetResult) -> None:
        findings = [
            {**finding_to_dict(f, 1), "evidence": {}} for f in result.findings
        ]  # evidence stays in the report; history keeps what diff needs
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO targets VALUES (?, ?, ?, ?, ?)",
                (
                    run_id,
                    result.target.name,
                    result.verdict.value,
                    int(result.complete),
                    json.dumps(findings),
                ),
            )

    def finish(self, run_id: int, report: Report) -> None:
        """Close the run with its report's header and summary; its targets are already in
        `targets`, one row each, written as they were judged (never the whole report at
        once: that would be the one thing here that grows with the fleet)."""
        document = report_head(report)
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET finished = ?, verdict = ?, report = ? WHERE id = ?",
                (document["finished"], document["verdict"], json.dumps(document), run_id),
            )

    def runs(self, limit: int = 50) -> list[RunRow]:
        rows = self._db.execute(
            "SELECT id, inventory, started, finished, verdict FROM runs ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [RunRow(*row) for row in rows]

    def run(self, run_id: int) -> RunRow:
        row = self._db.execute(
            "SELECT id, inventory, started, finished, verdict FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise InputError(f"no run {run_id} in {self.path}", hint="see `auditor history`")
        return RunRow(*row)

    def findings(self, run_id: int) -> dict[str, list[dict[str, Any]]]:
        rows = self._db.execute(
            "SELECT name, findings FROM targets WHERE run_id = ?", (run_id,)
        ).fetchall()
        return {name: json.loads(text) for name, text in rows}

    def complete_targets(self, run_id: int) -> set[str]:
        """Servers of the run that were audited completely."""
        rows = self._db.execute(
            "SELECT name FROM targets WHERE run_id = ? AND complete = 1", (run_id,)
        ).fetchall()
        return {name for (name,) in rows}

    def last_two(self, inventory: str | None = None) -> tuple[int, int]:
        query = "SELECT id FROM runs WHERE finished IS NOT NULL"
        args: tuple[Any, ...] = ()
        if inventory is None:
            latest = self._db.execute(query + " ORDER BY id DESC LIMIT 1").fetchone()
            if latest is None:
                raise InputError(f"no finished runs in {self.path}")
            inventory = self.run(latest[0]).inventory
        query += " AND inventory = ? ORDER BY id DESC LIMIT 2"
        args = (inventory,)
        rows = self._db.execute(query, args).fetchall()
        if len(rows) < 2:
            raise InputError(
                f"fewer than two finished runs of {inventory} in {self.path}",
                hint="run the audit again, or name two runs: auditor diff A B",
            )
        return int(rows[1][0]), int(rows[0][0])

    def previous_finished(self, inventory: str, before: int) -> int | None:
        """The last finished (never interrupted) run of this inventory before `before`
        whose alerts, if it had any, were delivered: a run whose alerts were lost is no
        baseline, so the next run alerts on the same changes again."""
        row = self._db.execute(
            "SELECT id FROM runs WHERE inventory = ? AND finished IS NOT NULL AND id < ? "
            "AND id NOT IN (SELECT run_id FROM undelivered) ORDER BY id DESC LIMIT 1",
            (inventory, before),
        ).fetchone()
        return int(row[0]) if row else None

    def mark_undelivered(self, run_id: int) -> None:
        """This run's alerts could not be delivered: it is nobody's baseline."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO undelivered VALUES (?)", (run_id,))

    def verdicts(self, run_id: int) -> dict[str, str]:
        """Each server's verdict in a run: `go`, `no-go`, or `incomplete`."""
        rows = self._db.execute(
            "SELECT name, verdict, complete FROM targets WHERE run_id = ?", (run_id,)
        ).fetchall()
        return {name: verdict if complete else "incomplete" for name, verdict, complete in rows}

    def alerted(self, inventory: str) -> set[tuple[str, str, str]]:
        """(target, rule, resource) of every failing finding already alerted on and not
        resolved since: what drift alerts never repeat."""
        rows = self._db.execute(
            "SELECT target, rule, resource FROM alerted WHERE inventory = ?", (inventory,)
        ).fetchall()
        return {(t, r, res) for t, r, res in rows}

    def update_alerted(
        self,
        inventory: str,
        run_id: int,
        opened: set[tuple[str, str, str]],
        resolved: set[tuple[str, str, str]],
    ) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO alerted VALUES (?, ?, ?, ?, ?)",
                [(inventory, *key, run_id) for key in sorted(opened)],
            )
            db.executemany(
                "DELETE FROM alerted WHERE inventory = ? AND target = ? AND rule = ? "
                "AND resource = ?",
                [(inventory, *key) for key in sorted(resolved)],
            )

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True)
class Change:
    target: str
    change: str
    """`new`, `open`, `resolved`, `waived` or `unverified` (see `diff`)."""
    rule: str
    resource: str
    severity: str
    status: str
    message: str


def diff(
    before: dict[str, list[dict[str, Any]]],
    after: dict[str, list[dict[str, Any]]],
    complete_after: set[str] | None = None,
) -> list[Change]:
    """Failing findings per server between two runs.

    `new`: fails now, did not before. `open`: fails in both. `resolved`: failed before and
    the later run judged the same rule on the same resource and it passes. `waived`: failed
    before and still fails, but a waiver accepts the risk now: not fixed, so never counted
    as resolved.
    A resource gone from a server the later run audited completely (a port that closed) is
    resolved too. `unverified`: failed before, but the later run could not say (the rule
    was `error`, or the server is missing from it or was not completely audited): never
    counted as resolved. An `error` is
    not a finding: a rule that erred before and passes now resolved nothing.
    """

    def index(run: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str, str], dict[str, Any]]:
        return {
            (target, f["rule"], f["resource"]): f
            for target, findings in run.items()
            for f in findings
        }

    old, new = index(before), index(after)
    changes = []
    for key in sorted(set(old) | set(new)):
        was, now = old.get(key), new.get(key)
        was_failing = was is not None and was["status"] == "fail"
        now_failing = now is not None and now["status"] == "fail"
        if now_failing:
            kind = "open" if was_failing else "new"
        elif was_failing:
            judged = now is not None and now["status"] in ("pass", "skip")
            gone = now is None and key[0] in (complete_after or set())
            if now is not None and now["status"] == "waived":
                kind = "waived"
            else:
                kind = "resolved" if judged or gone else "unverified"
        else:
            continue
        finding = now if now_failing and now is not None else was
        assert finding is not None
        changes.append(
            Change(
                key[0],
                kind,
                key[1],
                key[2],
                finding["severity"],
                now["status"] if now is not None else "missing",
                finding["message"],
            )
        )
    return changes
