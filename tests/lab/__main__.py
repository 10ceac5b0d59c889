"""`python -m tests.lab up|down|status|inventory|demo` — the lab from the command line.

`demo` is what `make demo` runs: bring the lab up, audit it with the real `auditor`
command, show the table, check the verdicts are the expected ones, take the lab down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.lab.cloud import FAKE_CREDENTIALS
from tests.lab.lab import DEMO_NETWORK, Lab
from tests.lab.services import LabError

REPO = Path(__file__).resolve().parents[2]
DEMO_INVENTORY = REPO / "inventories" / "lab.yaml"
EXPECTED = {"hardened": "go", "vendor-built": "no-go"}


def demo_lab() -> Lab:
    return Lab(Path(os.environ.get("AUDITOR_LAB_DIR", "/tmp/auditor-lab")), DEMO_NETWORK)


def run_demo(lab: Lab) -> int:
    print(f"lab: starting {len(lab.fleet)} hosts on {lab.network}.x ...", file=sys.stderr)
    lab.up()
    try:
        report_path = lab.state_dir / "report.json"
        command = [
            sys.executable,
            "-m",
            "auditor",
            "audit",
            str(DEMO_INVENTORY),
            "-f",
            "json",
            "-o",
            str(report_path),
            "-f",
            "table",
        ]
        print("$ auditor audit inventories/lab.yaml", file=sys.stderr)
        env = {
            **os.environ,
            **FAKE_CREDENTIALS,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        code = subprocess.run(command, check=False, env=env).returncode
        report = json.loads(report_path.read_text())
    finally:
        lab.down()
    verdicts = {t["name"]: t["verdict"] for t in report["targets"]}
    print(f"\nauditor exit code: {code} (1 = NO-GO)  JSON report: {report_path}")
    if verdicts != EXPECTED:
        print(f"demo: UNEXPECTED verdicts {verdicts}, expected {EXPECTED}", file=sys.stderr)
        return 1
    print("demo: as expected: vendor-built is NO-GO, hardened is GO")
    return 0


def main(argv: list[str]) -> int:
    lab = demo_lab()
    action = argv[0] if argv else "status"
    try:
        if action == "up":
            lab.up()
            print(f"lab up on {lab.network}.x; state in {lab.state_dir}")
        elif action == "down":
            lab.down()
        elif action == "inventory":
            print(yaml.safe_dump(lab.inventory(), sort_keys=False), end="")
        elif action == "demo":
            return run_demo(lab)
        elif action == "status":
            print("\n".join(lab.missing()) or "this machine can run the lab")
        else:
            print("usage: python -m tests.lab up|down|status|inventory|demo", file=sys.stderr)
            return 2
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
