"""The host probe's read-only commands run for real (`sh -c`, as the SSH session runs them),
as root and as an unprivileged user, on files the tests lay out: what a command cannot
prove is an error, never an empty answer (issue 24 #3)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from auditor.probes.ssh.commands import command

NOBODY = 65534


def _run(line: str, *, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    argv = ["sh", "-c", line]
    if as_nobody:
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "srv"
    old = root / "locked" / "inner" / "data" / "old.csv"
    old.parent.mkdir(parents=True)
    old.write_text("personal\n")
    then = time.time() - 200 * 86400
    os.utime(old, (then, then))
    for folder in (tmp_path, root, root / "locked" / "inner", old.parent):
        folder.chmod(0o755)
    (root / "locked").chmod(0o700)  # a grandparent the login user cannot search
    return root


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_a_data_path_behind_an_unsearchable_folder_is_an_error_not_empty(data: Path) -> None:
    """On main: "missing", so 0 files and a pass, when the login user could not search a
    grandparent of the data path."""
    path = str(data / "locked" / "inner" / "data")
    line = command("retention", sudo="", path=path, days="90")
    hidden = _run(line, as_nobody=True)
    assert hidden.returncode != 0 and "cannot search" in hidden.stderr
    seen = _run(line)  # root (or sudo) sees the file
    assert seen.returncode == 0 and seen.stdout.split()[0] == "1"
    beside = command("retention", sudo="", path=str(data / "locked" / "nope"), days="90")
    assert _run(beside, as_nobody=True).returncode != 0  # absent? nobody can tell


def test_only_a_path_proven_absent_is_missing(data: Path) -> None:
    absent = command("retention", sudo="", path=str(data / "never" / "made"), days="90")
    assert _run(absent).stdout.strip() == "missing"
    file_path = data / "a-file"
    file_path.write_text("x")
    not_folder = command("retention", sudo="", path=str(file_path), days="90")
    result = _run(not_folder)
    assert result.returncode != 0 and "not a folder" in result.stderr
