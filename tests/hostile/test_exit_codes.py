"""Issue 10: one exit code per outcome. A bug is exit 4 with one line and a private log;
before, any unexpected exception exited 1, which every pipeline reads as NO-GO."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import cli as cli_package
from auditor.cli import base


def test_an_internal_error_is_exit_4_with_the_log_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr(base.cli, "main", broken)
    with pytest.raises(SystemExit) as exit_:
        cli_package.main()
    assert exit_.value.code == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "internal error: RuntimeError: a bug nobody foresaw" in err
    (log,) = (tmp_path / "server-auditor").glob("crash-*.log")
    assert str(log) in err
    assert "Traceback" in log.read_text() and "a bug nobody foresaw" in log.read_text()
    assert log.stat().st_mode & 0o777 == 0o600


def test_usage_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        import sys

        argv = sys.argv
        sys.argv = ["auditor", "audit", "--fail-on", "sometimes", "inv.yaml"]
        try:
            cli_package.main()
        finally:
            sys.argv = argv
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--fail-on" in err and "auditor audit --help" in err
