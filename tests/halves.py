"""`make test`: the suite as three pytest processes side by side, on the machine's 2 cores.

The modules that use the session's lab of real servers run as two groups
(conftest.LAB_GROUPS), each process starting a lab of its own on its own addresses
(AUDITOR_LAB_INDEX); every other module runs in a third. Most of the suite's time is spent
waiting on real daemons, subprocesses and deadlines, so the groups overlap well
(docs/scale.md, "The test suite"). The groups never use the same loopback address
(tests/test_install.py checks it).

Each half's own output is printed whole, then one closing line for the run,
`N passed, N failed, N skipped`. The exit status is non-zero when either half failed,
including pytest's exit 5 (no test collected), which is a failure here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import LAB_GROUPS, LAB_MODULES

TESTS = Path(__file__).resolve().parent
COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def groups() -> dict[str, list[str]]:
    """Each group's test files: the lab groups, then everything else."""
    files = sorted([*TESTS.glob("test_*.py"), *TESTS.glob("hostile/test_*.py")])
    found = {
        name: [str(f) for f in files if f.stem in members] for name, members in LAB_GROUPS.items()
    }
    found["no-lab"] = [str(f) for f in files if f.stem not in LAB_MODULES]
    return found


def main(extra: list[str]) -> int:
    started = time.monotonic()
    runs = []
    for index, (name, files) in enumerate(groups().items()):
        log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - read below
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, *files]
        env = {**os.environ, "AUDITOR_LAB_INDEX": str(index)}  # its own lab addresses
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        runs.append((name, log, process))
    totals: dict[str, int] = {}
    failed = False
    for name, log, process in runs:
        code = process.wait()
        log.seek(0)
        output = log.read()
        print(f"======== {name}: pytest exit {code} ========", flush=True)
        print(output, end="" if output.endswith("\n") else "\n", flush=True)
        last = output.strip().splitlines()[-1] if output.strip() else ""
        for count, kind in COUNTS.findall(last):
            key = "errors" if kind.startswith("error") else kind
            totals[key] = totals.get(key, 0) + int(count)
        failed |= code != 0  # 5 (nothing collected) is a failure too
    failures = totals.get("failed", 0) + totals.get("errors", 0)
    line = f"{totals.get('passed', 0)} passed, {failures} failed"
    if totals.get("skipped"):
        line += f", {totals['skipped']} skipped"
    print(f"{len(runs)} groups side by side in {time.monotonic() - started:.0f} s", flush=True)
    print(line, flush=True)
    return 1 if failed or failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
