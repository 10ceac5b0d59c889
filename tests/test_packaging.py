"""After `pip install .`, the auditor works from any directory: rule packs ship inside."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_wheel_ships_rule_packs_and_schema_and_runs_elsewhere(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packs = {p.name for p in (REPO / "rules").glob("*.yaml")}
    assert {f"auditor/builtin_rules/{p}" for p in packs} <= names
    assert "auditor/schemas/auditor-report-1.schema.json" in names
    assert "auditor/schemas/auditor-report-2.schema.json" in names
    checks = {p.name for p in (REPO / "rules" / "checks").glob("*.yaml")}
    assert checks and {f"auditor/builtin_rules/checks/{c}" for c in checks} <= names
    # Every module of the source tree is in the wheel: packages are found, not listed, so
    # a new sub-package (probes/ssh/, cloud/aws/...) cannot be left out.
    modules = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "auditor").rglob("*.py")
        if "builtin_rules" not in p.parts
    }
    assert modules <= names, sorted(modules - names)

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    where = subprocess.run(
        [sys.executable, "-c", "import auditor; print(auditor.__file__)"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=True,
    )
    assert where.stdout.startswith(str(unpacked))  # the wheel's copy, not the source tree
    listing = subprocess.run(
        [sys.executable, "-m", "auditor", "rules", "list"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    assert "baseline.change-record" in listing.stdout
