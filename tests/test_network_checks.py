"""Network checks as data (issue 13): the format, its read-only guarantee, a user's own check.

The loader tests are fast (no network). The user-check test runs a real HTTP server
(Python's own `http.server`) standing in for a made-up admin service, and the real CLI.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.probes.services import load_checks
from auditor.probes.services.checkfile import (
    HTTP_METHODS,
    READ_ONLY_SENDS,
    builtin_checks_dir,
    load_check_dirs,
    load_check_file,
)
from tests.conftest import LISTENER_NETWORK, audit_in_process, run_auditor, write_inventory
from tests.lab.services import wait_for_port

GOOD = """\
format: 1
checks:
  - id: acme-admin
    protocol: http
    ports: [8088]
    reference: "runbook RB-12"
    steps:
      - http: {path: /admin/status.json}
        extract:
          build: {json: build.version}
          secret: {regex: 'token=([a-z0-9]+)'}
        protected: {status: [401, 403]}
        open: {status: [200], json: [build]}
    evidence: "GET /admin/status.json → build {build}, token {secret}"
    redact: ['[a-z0-9]{12,}']
"""


def test_every_shipped_check_loads_and_can_only_read() -> None:
    """The read-only proof: every step of every shipped check is a GET/HEAD or one of the
    protocol-defined read-only payloads, and the format has no other way to send."""
    checks = load_check_dirs(())
    assert {c.id for c in checks} >= {"docker", "etcd", "kubelet", "prometheus"}
    for check in checks:
        for step in check.steps:
            if step.method is not None:
                assert step.method in HTTP_METHODS and step.send == b""
            else:
                assert step.send in READ_ONLY_SENDS, (check.id, step.send)
    assert set(HTTP_METHODS) == {"GET", "HEAD"}
    for payload in READ_ONLY_SENDS:
        word = payload.split(b"\r\n")[0].lstrip(b"*1$4\r\n").upper()
        assert not word.startswith((b"SET", b"DEL", b"FLUSH", b"CONFIG", b"PUT", b"POST"))


def test_every_dedicated_rule_a_shipped_check_names_exists() -> None:
    from auditor.rules import load_catalog

    rules = {r.id for r in load_catalog(["services"]).all_rules()}
    for check in load_check_dirs(()):
        assert not check.rule or check.rule in rules, check.id
    assert "services.open-access" in rules


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("      - http: {path: /admin/status.json}", None),
        ("      - http: {path: /x, method: POST}", "steps[0].http.method: 'POST' is not one of"),
        ("      - send: 'FLUSHALL\\r\\n'", "steps[0].send: not a known read-only request"),
        ("      - send: 'INFO\\q'", "steps[0].send: unknown escape"),
        ("      - http: {path: 'no-slash'}", "steps[0].http.path: an HTTP path starts with '/'"),
        ("      - http: {path: /x}\n        body: x", "steps[0].body: unknown key"),
        (
            "      - http: {path: /x, login: default}",
            "steps: a step has `login: default` but the check has no `default_login`",
        ),
        ("      - http: {path: /x, login: admin}", "steps[0].http.login: 'admin' is not one of"),
    ],
)
def test_a_bad_check_is_one_line_with_file_line_and_key(
    tmp_path: Path, change: str, expected: str | None
) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD.replace("      - http: {path: /admin/status.json}", change))
    if expected is None:
        (check,) = load_check_file(path)
        assert check.id == "acme-admin" and check.steps[0].method == "GET"
        return
    with pytest.raises(InputError) as caught:
        load_check_file(path)
    message = str(caught.value)
    assert f"{path}:" in message and f"checks[0].{expected}" in message
    assert "\n" not in message


def test_a_default_login_is_sent_only_by_its_own_steps_and_only_when_asked(
    tmp_path: Path,
) -> None:
    """`default_login` needs a step that uses it, and such a step is skipped (`not tried`,
    which no rule judges) unless --try-default-credentials was given."""
    from auditor.probes.deadline import Deadline
    from auditor.probes.services.datacheck import NOT_TRIED, service_check

    path = tmp_path / "acme.yaml"
    path.write_text(
        GOOD.replace("    steps:", "    default_login: {user: admin, password: admin}\n    steps:")
    )
    with pytest.raises(InputError, match=r"checks\[0\]\.default_login: no step uses it"):
        load_check_file(path)
    path.write_text(
        GOOD.replace(
            "    steps:", "    default_login: {user: 'a:b', password: x}\n    steps:"
        ).replace("{path: /admin/status.json}", "{path: /admin/status.json, login: default}")
    )
    with pytest.raises(InputError, match=r"default_login\.user: a Basic-auth user name has no"):
        load_check_file(path)
    path.write_text(
        GOOD.replace(
            "    steps:", "    default_login: {user: admin, password: admin}\n    steps:"
        ).replace("{path: /admin/status.json}", "{path: /admin/status.json, login: default}")
    )
    (spec,) = load_check_file(path)
    assert spec.default_login == ("admin", "admin") and spec.steps[0].login
    # Not asked: nothing is sent at all (the address is one no test listens on).
    answer = service_check(spec).check(f"{LISTENER_NETWORK}.152", 9, Deadline(1))
    assert answer.unauthenticated is False and answer.details == {"login": NOT_TRIED}


def test_an_unknown_placeholder_and_a_duplicate_id_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.replace("build {build}", "build {bulid}"))
    with pytest.raises(
        InputError, match=r"a.yaml:\d+: checks\[0\].evidence: placeholder \{bulid\}"
    ):
        load_check_dirs([tmp_path])
    (tmp_path / "a.yaml").write_text(GOOD.replace("id: acme-admin", "id: docker"))
    with pytest.raises(InputError, match=r"check id 'docker' is already defined at .*http-apis"):
        load_check_dirs([tmp_path])


def test_the_cli_refuses_a_bad_checks_dir_before_probing(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "bad.yaml").write_text(
        GOOD.replace("method", "x").replace(
            "{path: /admin/status.json}", "{path: /admin, method: DELETE}"
        )
    )
    inventory = write_inventory(
        tmp_path / "inv.yaml",
        [{"name": "a", "address": f"{LISTENER_NETWORK}.151", "ports": "8088"}],
    )
    result = run_auditor(
        "audit", str(inventory), "--service-checks-dir", str(tmp_path / "checks"), "-f", "json"
    )
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "bad.yaml:" in result.stderr and "'DELETE' is not one of: GET, HEAD" in result.stderr
    missing = run_auditor("audit", str(inventory), "--service-checks-dir", str(tmp_path / "nope"))
    assert missing.code == 2 and "service checks folder not found" in missing.stderr


def test_the_shipped_checks_sit_beside_the_python_ones_in_one_list() -> None:
    kinds = [c.kind for c in load_checks()]
    assert len(kinds) == len(set(kinds))
    assert {"redis", "postgresql", "docker", "etcd"} <= set(kinds)
    assert builtin_checks_dir().is_dir()


@pytest.mark.lab
def test_a_users_check_for_a_made_up_service_shows_in_the_report(tmp_path: Path) -> None:
    """A user writes one YAML file for their own admin API and sees it judged: no Python."""
    site = tmp_path / "site"
    (site / "admin").mkdir(parents=True)
    (site / "admin" / "status.json").write_text(
        json.dumps({"build": {"version": "4.2.0"}, "note": "token=abcdef0123456789"})
    )
    ip, port = f"{LISTENER_NETWORK}.152", 8088
    with _http_server(ip, port, site):
        checks = tmp_path / "checks"
        checks.mkdir()
        (checks / "acme.yaml").write_text(GOOD)
        inventory = write_inventory(
            tmp_path / "inv.yaml",
            [
                {
                    "name": "acme-01",
                    "address": ip,
                    "ports": str(port),
                    "rules": ["services"],
                    "change": {
                        "id": "CHG-9",
                        "approved": True,
                        "exposes": [{"port": port, "service": "acme-admin", "to": "internal"}],
                    },
                }
            ],
        )
        result = audit_in_process(inventory, service_checks_dirs=(checks,))
    assert result.code == 1
    report = result.json()
    (target,) = report["targets"]
    # (the web-root dump checks run on this HTTP port too: open-access skips their records)
    (finding,) = [
        f
        for f in target["findings"]
        if f["rule"] == "services.open-access" and f["status"] != "skip"
    ]
    assert finding["status"] == "fail"
    assert finding["resource"] == f"service:acme-admin@{port}/tcp"
    evidence = finding["evidence"]["service"]
    assert evidence["evidence"] == "GET /admin/status.json → build 4.2.0, token <redacted>"
    assert "abcdef0123456789" not in json.dumps(report)  # redacted before anything was stored
    assert report["rules"]["services.open-access"]["severity"] == "high"


@contextlib.contextmanager
def _http_server(ip: str, port: int, root: Path) -> Iterator[None]:
    """Python's own http.server serving `root`: the real HTTP server behind a made-up
    service in these tests."""
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", ip, "-d", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(ip, port, server, timeout=10)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


RAW = """\
format: 1
checks:
  - id: cache-stats
    protocol: memcached
    reference: "memcached protocol.txt: stats"
    steps:
      - send: 'stats\\r\\n'
        read: {until: "END\\r\\n", max_bytes: 8192}
        extract:
          version: {regex: 'STAT version ([0-9.]+)'}
          pid: {regex: 'STAT pid ([0-9]+)'}
        require: {prefix: 'STAT '}
        open: {words: ['STAT curr_connections']}
    evidence: "stats → version {version}, pid {pid}"
    redact: ['secret-[a-z]+', '^[0-9]+$']
"""


@pytest.mark.lab
def test_a_raw_check_reads_a_real_memcached_redacts_and_fails_closed_elsewhere(
    tmp_path: Path,
) -> None:
    from auditor.probes.deadline import Deadline
    from auditor.probes.services.datacheck import service_check
    from auditor.probes.services.wire import ServiceError
    from tests.lab.lab import Lab, LabHost
    from tests.lab.services import Memcached

    lab = Lab(tmp_path / "lab", LISTENER_NETWORK, (LabHost("mc", 153, (Memcached(),)),))
    if lab.missing():
        pytest.skip("; ".join(lab.missing()))
    (tmp_path / "raw.yaml").write_text(RAW)
    (spec,) = load_check_file(tmp_path / "raw.yaml")
    check = service_check(spec)
    lab.up()
    try:
        answer = check.check(lab.ip("mc"), 11211, Deadline(5))
    finally:
        lab.down()
    assert answer.unauthenticated is True
    assert answer.evidence.startswith("stats → version 1.")
    assert answer.evidence.endswith("pid <redacted>")
    assert check.rule == "services.open-access"
    # The same check on a port that is not memcached (a real HTTP server answers `stats`
    # with a 400 page): `require` does not match, so it is an error, never a pass.
    ip, port = f"{LISTENER_NETWORK}.154", 8089
    with (
        _http_server(ip, port, tmp_path),
        pytest.raises(ServiceError, match="not a cache-stats answer"),
    ):
        check.check(ip, port, Deadline(5))


CATASTROPHIC = """\
format: 1
checks:
  - id: slow-match
    protocol: http
    ports: [8090]
    reference: "issue 24"
    steps:
      - http: {path: /body.txt}
        protected: {status: [401]}
        open: {regex: ['^(a+)+$']}
"""


def test_a_users_regex_cannot_outlive_the_deadline(tmp_path: Path) -> None:
    """Issue 24 #17: `^(a+)+$` against a 41-byte body ran past 90 s at `--timeout 5`
    (Python's backtracking engine). User patterns run on RE2, in linear time."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "body.txt").write_bytes(b"a" * 41 + b"!")
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "slow.yaml").write_text(CATASTROPHIC)
    ip, port = f"{LISTENER_NETWORK}.155", 8090
    inventory = write_inventory(
        tmp_path / "inv.yaml",
        [{"name": "slow", "address": ip, "ports": str(port), "rules": ["services"]}],
    )
    with _http_server(ip, port, site):
        started = time.monotonic()
        result = audit_in_process(inventory, service_checks_dirs=(checks,), timeout=5.0)
        elapsed = time.monotonic() - started
    assert elapsed < 30, elapsed
    assert result.code in (1, 3)


def test_a_pattern_re2_cannot_run_is_refused_at_load(tmp_path: Path) -> None:
    for pattern in ("(a)\\1", "(?<=pid )[0-9]+"):
        path = tmp_path / "bad.yaml"
        path.write_text(CATASTROPHIC.replace("^(a+)+$", pattern))
        with pytest.raises(InputError, match="RE2") as caught:
            load_check_file(path)
        assert "bad.yaml:" in str(caught.value) and "\n" not in str(caught.value)
