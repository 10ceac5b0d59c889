"""Issue 11: waivers and diff that tell the truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.history import History, diff
from tests.conftest import run_auditor

INVENTORY = (
    "version: 1\nscope: [127.79.0.0/24]\n"
    "servers: [{name: web, address: 127.79.0.101, ports: '1', change: {id: C, approved: true}}]\n"
)


EXPIRES = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()


def _finding(rule: str, status: str, resource: str = "host") -> dict[str, str]:
    return {
        "rule": rule,
        "resource": resource,
        "status": status,
        "severity": "high",
        "message": "m",
    }


def test_diff_never_calls_an_error_or_a_missing_server_resolved() -> None:
    before = {
        "a": [_finding("r1", "fail"), _finding("r2", "fail"), _finding("r3", "error")],
        "b": [_finding("r1", "fail")],
    }
    after = {"a": [_finding("r1", "pass"), _finding("r2", "error"), _finding("r3", "pass")]}
    kinds = {(c.target, c.rule): c.change for c in diff(before, after, {"a"})}
    assert kinds == {
        ("a", "r1"): "resolved",
        ("a", "r2"): "unverified",  # the later run could not judge it
        ("b", "r1"): "unverified",  # the server is missing from the later run
    }  # r3 was only an error: it was never a finding, so it resolves nothing
    port = {"a": [_finding("r4", "fail", "port:6379/tcp")]}
    gone = {"a": [_finding("r1", "pass")]}  # the port closed: no such resource any more
    assert [c.change for c in diff(port, gone, {"a"})] == ["resolved"]
    assert [c.change for c in diff(port, gone, set())] == ["unverified"]  # incomplete


def test_diff_shows_a_waived_finding_apart_from_a_resolved_one() -> None:
    """Issue 23: `auditor diff` reported waived findings as "resolved"; a waiver accepts
    a risk, it fixes nothing."""
    before = {"a": [_finding("r1", "fail"), _finding("r2", "fail")]}
    after = {"a": [_finding("r1", "waived"), _finding("r2", "pass")]}
    kinds = {c.rule: c.change for c in diff(before, after, {"a"})}
    assert kinds == {"r1": "waived", "r2": "resolved"}


def test_diff_refuses_interrupted_runs_and_other_inventories(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(INVENTORY)
    two.write_text(INVENTORY)
    assert run_auditor("audit", str(one), "--history", str(db)).code == 0
    assert run_auditor("audit", str(two), "--history", str(db)).code == 0
    other = run_auditor("diff", "1", "2", "--db", str(db))
    assert other.code == 2 and "different inventories" in other.stderr
    store = History(db)
    store.start(str(one.resolve()), "2026-12-01T00:00:00+00:00", "test")  # never finished
    store.close()
    interrupted = run_auditor("diff", "1", "3", "--db", str(db))
    assert interrupted.code == 2 and "interrupted" in interrupted.stderr


def test_a_waiver_that_matches_nothing_is_a_warning_or_with_strict_an_error(
    tmp_path: Path,
) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(INVENTORY)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "version: 1\nwaivers:\n"
        "  - rule: baseline.chnage-record\n    approver: ciso@example.com\n"
        f"    justification: typo\n    expires: {EXPIRES}\n"
    )
    result = run_auditor("audit", str(inventory), "--waivers", str(waivers), "--no-history")
    assert result.code == 0
    assert "warning: " in result.stderr and "waivers.yaml:3" in result.stderr
    assert "matches no rule" in result.stderr
    strict = run_auditor(
        "audit", str(inventory), "--waivers", str(waivers), "--strict-waivers", "--no-history"
    )
    assert strict.code == 2 and "matches no rule" in strict.stderr


def test_the_table_and_markdown_show_who_waived_and_until_when(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(INVENTORY.replace("approved: true", "approved: false"))
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "version: 1\nwaivers:\n"
        "  - rule: baseline.change-record\n    approver: ciso@example.com\n"
        f"    justification: emergency build\n    expires: {EXPIRES}\n    ticket: SEC-42\n"
    )
    md = tmp_path / "r.md"
    result = run_auditor(
        "audit",
        str(inventory),
        "--waivers",
        str(waivers),
        "--no-history",
        "-f",
        "table",
        "-f",
        f"markdown={md}",
        env={"COLUMNS": "250"},  # at 80 columns the table cuts long messages with "…"
    )
    assert result.code == 0, result.stdout + result.stderr
    flat = " ".join(result.stdout.split())
    assert f"waived by ciso@example.com until {EXPIRES}, SEC-42" in flat
    assert f"waived by ciso@example.com until {EXPIRES}" in md.read_text()
