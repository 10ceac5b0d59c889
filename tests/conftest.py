"""Shared fixtures: the lab of real servers, real listening sockets, and the real CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.lab.cloud import FAKE_CREDENTIALS
from tests.lab.lab import FLEET, HOST_FLEET, SERVICE_FLEET, SSH_FLEET, TEST_NETWORK, Lab

# Tests talk to moto on loopback only: fake credentials, and no user AWS config, so that
# nothing in the suite can ever sign a request that AWS would accept.
SAFE_AWS_ENV = {
    **FAKE_CREDENTIALS,
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
os.environ.update(SAFE_AWS_ENV)
# Run history goes to a throwaway database, never to the developer's own.
os.environ["AUDITOR_HISTORY"] = str(
    Path(tempfile.mkdtemp(prefix="auditor-history-")) / "history.sqlite"
)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
    os.environ.pop(_name, None)

REPO = Path(__file__).resolve().parents[1]
LISTENER_NETWORK = "127.79.0"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_auditor(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> CliResult:
    """Run the installed `auditor` exactly as a user or a CI job would."""
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd or REPO,
        timeout=300,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class AuditResult:
    """An in-process audit: the exit code the CLI would give and the JSON report."""

    code: int
    report: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return self.report


def audit_in_process(
    inventory: Path, *, known_hosts: Path | None = None, **request: Any
) -> AuditResult:
    """The audit through `auditor.app.execute`, as a library caller runs it: for the tests
    where a process of its own is not the point (option parsing and exit handling are
    test_cli's). `request` is AuditRequest's fields; no history, no user ssh_config."""
    from auditor.app import AuditRequest, InventoryFile, execute
    from auditor.gate import exit_code
    from auditor.probes.ssh.options import SshOptions
    from auditor.reporting.json import JsonReporter

    ssh = SshOptions(
        known_hosts=(known_hosts,) if known_hosts else (),
        config_file=request.pop("ssh_config", None),
        use_agent=False,
    )
    outcome = execute(AuditRequest(InventoryFile(inventory), ssh=ssh, **request), say=_ignore)
    report = json.loads(JsonReporter().render(outcome.report))
    return AuditResult(int(exit_code(outcome.report)), report)


def _ignore(message: str) -> None:
    """What a run says for a person (warnings, alerts): tests read the report instead."""


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The test lab on 127.78.0.x (the demo uses 127.77.0.x, so both can run at once)."""
    fleet = FLEET + SSH_FLEET + SERVICE_FLEET + HOST_FLEET
    the_lab = Lab(tmp_path_factory.mktemp("lab"), TEST_NETWORK, fleet)
    problems = the_lab.missing()
    if problems:
        pytest.skip("lab cannot run here: " + "; ".join(problems))
    the_lab.up()
    try:
        yield the_lab
    finally:
        the_lab.down()


class Listeners:
    """Real TCP listeners on loopback addresses, closed at the end of the test."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []

    def open(self, host_octet: int, port: int, *, backlog: int = 16) -> tuple[str, int]:
        ip = f"{LISTENER_NETWORK}.{host_octet}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
        sock.listen(backlog)
        self.sockets.append(sock)
        return ip, port

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def listeners() -> Iterator[Listeners]:
    opened = Listeners()
    try:
        yield opened
    finally:
        opened.close()


def write_inventory(path: Path, servers: list[dict[str, Any]], **top: Any) -> Path:
    import yaml

    data: dict[str, Any] = {"version": 1, "scope": [f"{LISTENER_NETWORK}.0/24"]}
    data.update(top)
    data["servers"] = servers
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# Fixtures that start real software: a test that uses one is `lab`, whatever its module.
_REAL_SOFTWARE_FIXTURES = {"lab", "odd_ports"}

# Modules whose every test starts real software (moto, nmap, redis, a pip build, the CLI in
# a subprocess) or waits on deadlines against hostile servers: slow by nature, so outside
# the fast tier.
_REAL_SOFTWARE_MODULES = {
    "test_aws",
    "test_packaging",
    "test_port_probe",
    "test_services",
    "test_data_services",
    "test_gcp",
    "test_azure",
    "test_monitoring",
    "test_evidence",
    "test_ssh_session",
    "test_cli",
    "test_waivers_and_diff",
    "test_inputs",
    "test_deadlines",
    "test_exit_codes",
    "test_merge_trust",
    "test_alert_delivery",
    "test_daemon_configs",
    "test_host_reads",
}


# Modules that use the session's lab of real servers. `make test` runs them as two pytest
# processes, each with a lab of its own (127.78.0.x and 127.78.1.x, AUDITOR_LAB_INDEX), and
# every other module in a third, side by side (tests/halves.py). The groups never use the
# same loopback address (tests/test_install.py::test_the_parallel_halves_never_share_an_address);
# within a group, tests run one after another as they always did.
LAB_GROUPS: dict[str, frozenset[str]] = {
    "lab-a": frozenset(
        {
            "test_services",
            "test_data_services",
            "test_launch_gate",
            "test_messages",
            "test_shards",
            "test_inventory",
            "test_gcp",
            "test_tls",
            "test_udp",
            "test_web_leaks",
        }
    ),
    "lab-b": frozenset(
        {
            "test_ssh",
            "test_ssh_session",
            "test_fail_closed",
            "test_cli",
            "test_aws",
            "test_host",
            "test_run_behaviour",
            "test_hardening",
            "test_deadlines",
            "test_infra_services",
        }
    ),
}
LAB_MODULES = frozenset().union(*LAB_GROUPS.values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs the lab of real servers (or starts real software) carries the
    `lab` marker, so that `pytest -m "not lab"` is the fast tier: no daemons, seconds."""
    for item in items:
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        fixtures = set(getattr(item, "fixturenames", ()))
        uses_lab = "lab" in fixtures
        if fixtures & _REAL_SOFTWARE_FIXTURES or module in _REAL_SOFTWARE_MODULES:
            item.add_marker(pytest.mark.lab)
        if uses_lab and module not in LAB_MODULES:
            raise pytest.UsageError(f"{module} uses the session lab: add it to LAB_MODULES")


SCHEMAS = {
    f"auditor-report/{v}": json.loads(
        (REPO / "auditor" / "schemas" / f"auditor-report-{v}.schema.json").read_text()
    )
    for v in (1, 2)
}


def validate(report: dict[str, Any]) -> None:
    """Valid against the JSON Schema of the version the report says it is."""
    schema = SCHEMAS[report["schema"]]
    jsonschema.validate(report, schema, format_checker=jsonschema.FormatChecker())
