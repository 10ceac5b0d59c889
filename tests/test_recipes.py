"""The scheduling recipes of docs/monitoring.md: valid for the tools that run them, and
using only options the auditor has (a renamed flag must break this test, not a cron job)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

RECIPES = REPO / "docs" / "examples" / "monitoring"


def _audit_options() -> set[str]:
    from auditor.cli.audit import audit

    return {opt for param in audit.params for opt in param.opts if opt.startswith("--")}


def _assert_real_options(words: list[str], where: str) -> None:
    used = {w.split("=", 1)[0] for w in words if w.startswith("--")}
    unknown = used - _audit_options()
    assert not unknown, f"{where}: {sorted(unknown)} are not options of `auditor audit`"
    assert {"--alert-on", "--history", "--notify"} <= used, where


def test_the_kubernetes_cronjob_is_valid_and_keeps_its_history() -> None:
    import kubernetes_validate

    manifests = list(yaml.safe_load_all((RECIPES / "kubernetes-cronjob.yaml").read_text()))
    version = kubernetes_validate.latest_version()
    for manifest in manifests:
        kubernetes_validate.validate(manifest, version, strict=True)
    claim, cron = manifests
    assert claim["kind"] == "PersistentVolumeClaim" and cron["kind"] == "CronJob"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    _assert_real_options(args, "kubernetes-cronjob.yaml")
    history = args[args.index("--history") + 1]
    state = next(m for m in container["volumeMounts"] if history.startswith(m["mountPath"]))
    volume = next(v for v in pod["volumes"] if v["name"] == state["name"])
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    for value in args:  # secrets arrive through env:, never in the manifest
        assert not value.startswith(("https://", "slack+", "smtp://")), value


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    service = (RECIPES / "server-auditor.service").read_text()
    timer = (RECIPES / "server-auditor.timer").read_text()
    command = re.search(r"^ExecStart=(.*?)(?<!\\)$", service, re.M | re.S)
    assert command is not None
    words = shlex.split(command.group(1).replace("\\\n", " "))
    assert words[:2] == ["/opt/server-auditor/.venv/bin/auditor", "audit"]
    _assert_real_options(words, "server-auditor.service")
    # systemd-analyze checks that ExecStart is executable: point it at this auditor.
    here = Path(sys.executable).with_name("auditor")
    (tmp_path / "server-auditor.service").write_text(
        service.replace("/opt/server-auditor/.venv/bin/auditor", str(here))
    )
    (tmp_path / "server-auditor.timer").write_text(timer)
    result = subprocess.run(
        ["systemd-analyze", "verify", "server-auditor.service", "server-auditor.timer"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    assert "SuccessExitStatus=1 3" in service  # NO-GO and incomplete are verdicts


def test_the_github_schedule_workflow_keeps_history_and_fails_on_lost_alerts() -> None:
    workflow = yaml.safe_load((RECIPES / "github-actions-schedule.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 (PyYAML, GitHub) reads the key `on` as true
    (schedule,) = triggers["schedule"]
    assert len(schedule["cron"].split()) == 5
    steps = workflow["jobs"]["audit"]["steps"]
    script = next(s["run"] for s in steps if "auditor audit" in s.get("run", ""))
    command = script.split("||")[0].replace("\\\n", " ")
    _assert_real_options(shlex.split(command), "github-actions-schedule.yml")
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/cache/restore") for u in uses)
    assert any(u.startswith("actions/cache/save") for u in uses)
    assert "0|1|3) ;;" in script
