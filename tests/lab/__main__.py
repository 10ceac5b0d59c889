"""`python -m tests.lab up|down|status|inventory|demo` — the lab from the command line.

`demo` is what `make demo` runs: bring the lab up, audit it with the real `auditor`
command, show the table, check the verdicts are the expected ones, take the lab down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from tests.lab.cloud import FAKE_CREDENTIALS
from tests.lab.lab import DEMO_NETWORK, LAB_PORTS, Lab
from tests.lab.services import LabError, Redis, stop_group, wait_for_port

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
        verdicts = {t["name"]: t["verdict"] for t in report["targets"]}
        print(f"\nauditor exit code: {code} (1 = NO-GO)  JSON report: {report_path}")
        if verdicts != EXPECTED:
            print(f"demo: UNEXPECTED verdicts {verdicts}, expected {EXPECTED}", file=sys.stderr)
            return 1
        print("demo: as expected: vendor-built is NO-GO, hardened is GO")
        return run_drift(lab)
    finally:
        lab.down()


def run_drift(lab: Lab) -> int:
    """After go-live: the hardened server passes, then someone opens Redis on it "for a
    test"; the next scheduled run alerts through a webhook, exactly as docs/monitoring.md
    describes (a local receiver stands in for Slack)."""
    hardened = lab.host("hardened")
    inventory = lab.state_dir / "drift.yaml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "scope": [f"{lab.ip('hardened')}/32"],
                "servers": [
                    {
                        "name": "hardened",
                        "address": lab.ip("hardened"),
                        "ports": LAB_PORTS,
                        "rules": ["baseline"],
                        "change": hardened.change,
                    }
                ],
            },
            sort_keys=False,
        )
    )
    history = lab.state_dir / "drift-history.sqlite"
    history.unlink(missing_ok=True)
    received: list[dict[str, object]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    command = [sys.executable, "-m", "auditor", "audit", str(inventory)]
    command += ["--history", str(history), "--alert-on", "new", "--notify", hook]
    command += ["-f", "json", "-o", str(lab.state_dir / "drift-report.json")]
    redis_home = lab.state_dir / "drift-redis"
    redis_home.mkdir(exist_ok=True)
    redis = None
    try:
        print("\n--- after go-live: drift alerts (docs/monitoring.md) ---")
        print(f"$ auditor audit drift.yaml --alert-on new --notify {hook}   # run 1: GO")
        first = subprocess.run(command, check=False).returncode
        print("$ # someone starts Redis on the hardened server, 'for a test'")
        redis = Redis().start(lab.ip("hardened"), redis_home)
        wait_for_port(lab.ip("hardened"), 6379, redis, timeout=15)
        print(f"$ auditor audit drift.yaml --alert-on new --notify {hook}   # run 2")
        second = subprocess.run(command, check=False).returncode
    finally:
        if redis is not None:
            stop_group(redis.pid)
        server.shutdown()
        server.server_close()
    alerts = [a for document in received for a in document["alerts"]]  # type: ignore[attr-defined]
    print(f"webhook received {len(received)} message(s):")
    for alert in alerts:
        print(f"  {alert['summary'][:110]}")
    new = [a for a in alerts if a.get("rule") == "baseline.sensitive-port-undeclared"]
    if first != 0 or second != 1 or len(received) != 1 or not new:
        print("demo: UNEXPECTED drift alerts", file=sys.stderr)
        return 1
    print("demo: as expected: run 1 set the baseline, run 2 alerted once on the new port")
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
