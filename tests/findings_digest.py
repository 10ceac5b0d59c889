"""`python -m tests.findings_digest OUT.json`: the whole test lab audited once, reduced to
what a refactor must not change.

Brings up every lab fleet (on its own addresses, AUDITOR_LAB_INDEX=3 unless set), runs the
real `auditor audit` over all of it with the JSON report, and writes, per server, the
verdict, each finding's (rule, resource, status, severity) and which fact roots erred. Its
SHA-256 is printed: the same digest before and after a change means the same judgement of
the same real servers. Messages are left out on purpose (they name paths, timings and
fingerprints that change from one lab to the next).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CLOUD_ID = re.compile(r"\b(i|sg|vol|snap|ami|eni|subnet|vpc)-[0-9a-f]{8,17}\b")
"""Identifiers moto draws at random for each lab: the same resource, another name."""


def reduce(report: dict[str, Any]) -> dict[str, Any]:
    """The judgement of each server, without the words around it."""
    servers: dict[str, Any] = {}
    for target in report["targets"]:
        servers[target["name"]] = {
            "verdict": target["verdict"],
            "findings": sorted(
                [
                    f["rule"],
                    CLOUD_ID.sub(r"\1-*", f.get("resource", "")),
                    f["status"],
                    f["severity"],
                ]
                for f in target["findings"]
            ),
            "errors": sorted({e["probe"] for e in target.get("errors", [])}),
        }
    return dict(sorted(servers.items()))


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("findings.json")
    os.environ.setdefault("AUDITOR_LAB_INDEX", "3")  # read when the lab module loads
    from tests.lab.cloud import FAKE_CREDENTIALS
    from tests.lab.lab import FLEET, HOST_FLEET, SERVICE_FLEET, SSH_FLEET, TEST_NETWORK, Lab

    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        lab = Lab(root / "lab", TEST_NETWORK, FLEET + SSH_FLEET + SERVICE_FLEET + HOST_FLEET)
        lab.up()
        try:
            inventory = lab.write_inventory(root / "inventory.yaml")
            report = root / "report.json"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "auditor",
                    "audit",
                    str(inventory),
                    "--known-hosts",
                    str(lab.known_hosts),
                    "--no-history",
                    "-o",
                    str(report),
                ],
                check=False,
                env={**os.environ, **FAKE_CREDENTIALS, "SSH_AUTH_SOCK": ""},
                stdout=subprocess.DEVNULL,
            )
            reduced = reduce(json.loads(report.read_text()))
        finally:
            lab.down()
    out.write_text(json.dumps(reduced, indent=1, sort_keys=True) + "\n")
    print(digest_of(out), out)
    return 0


def digest_of(path: Path) -> str:
    """The digest of a file this wrote (to compare runs without running them again)."""
    data = json.loads(path.read_text())
    for server in data.values():
        server["findings"] = sorted(
            [r, CLOUD_ID.sub(r"\1-*", res), st, sev] for r, res, st, sev in server["findings"]
        )
    text = json.dumps(data, indent=1, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
