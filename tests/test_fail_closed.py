"""Issue 9: no GO for a server that was not really checked.

One test (or a few) per numbered symptom of the issue, each of which gave GO (or a wrong
verdict) on the main branch before the fix. Tests that involve a server talk to a real one:
the lab's sshd, Redis on a non-standard port, Python's http.server, a connect scanner under a
real descriptor limit. The engine tests at the end use fake probes on purpose: they test the
engine's containment, not a protocol, and run in the fast tier.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.inventory import load_inventory
from auditor.models import ProbeOutcome, Status, Target
from auditor.rules import evaluate_target, load_catalog
from auditor.yamlsource import load_plain
from tests.conftest import run_auditor

TARGET = Target(name="t", address="127.0.0.9", ip=ipaddress.ip_address("127.0.0.9"), ports="22")


def _sshd(**settings: str) -> ProbeOutcome:
    return ProbeOutcome(
        "sshd",
        facts={
            "source": "sshd -T",
            "settings": {"permitrootlogin": "no", **settings},
            "files": [],
            "host_keys": [],
            "describes": {"port": 22, "matches": True},
        },
    )


# ---------------------------------------------------------------- 4. YAML 1.1 meanings


def test_yaml_words_stay_strings_and_numbers_stay_decimal() -> None:
    loaded = load_plain("[no, yes, on, off, 0777, 0123, '1:20', 1:20, 2026-02-30, true, 12]")
    words = ["no", "yes", "on", "off", "0777", "0123", "1:20", "1:20", "2026-02-30"]
    assert loaded == [*words, True, 12]


def test_permit_root_login_no_passes_the_builtin_rule() -> None:
    catalog = load_catalog(["ssh"])
    rule = next(r for r in catalog.all_rules() if r.id == "ssh.permit-root-login")
    findings = evaluate_target(TARGET, [rule], {"sshd": _sshd(permitrootlogin="no")})
    assert [f.status for f in findings] == [Status.PASS]
    findings = evaluate_target(TARGET, [rule], {"sshd": _sshd(permitrootlogin="yes")})
    assert [f.status for f in findings] == [Status.FAIL]


def test_a_user_deny_list_of_yes_matches_yes(tmp_path: Path) -> None:
    pack = tmp_path / "mine.yaml"
    pack.write_text(
        "format: 1\npack: mine\nrules:\n"
        "  - id: mine.root\n    title: root login\n    severity: high\n    applies_to: host\n"
        "    check: '!(sshd.settings.permitrootlogin in params.denied)'\n"
        "    params: {denied: [yes]}\n    references: [CIS 5.2.10]\n"
    )
    catalog = load_catalog([str(pack)])
    findings = evaluate_target(TARGET, catalog.all_rules(), {"sshd": _sshd(permitrootlogin="yes")})
    assert [f.status for f in findings] == [Status.FAIL]


def test_an_octal_looking_port_is_refused_not_scanned_as_511(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: [127.79.0.0/24]\nservers:\n"
        "  - name: a\n    address: 127.79.0.5\n    ports: 0777\n"
    )
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert "inv.yaml:6: servers[0].ports" in str(caught.value)
    result = run_auditor("inventory", "check", str(path))
    assert result.code == 2 and "0777" in result.stderr


def test_a_change_id_of_no_stays_the_word_no(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: [127.79.0.0/24]\nservers:\n"
        "  - name: a\n    address: 127.79.0.5\n    change: {id: no, approved: yes}\n"
    )
    with pytest.raises(InputError) as caught:  # `yes` is not a boolean in YAML 1.2
        load_inventory(path)
    assert "servers[0].change.approved" in str(caught.value)
    path.write_text(path.read_text().replace("approved: yes", "approved: true"))
    change = load_inventory(path).targets[0].change
    assert change is not None and change.id == "no"


def test_a_parameter_of_the_wrong_type_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: [127.79.0.0/24]\nrule_params:\n"
        "  ssh.permit-root-login:\n    allowed: 3\n"
        "servers:\n  - name: a\n    address: 127.79.0.5\n    rules: [ssh]\n"
    )
    result = run_auditor("audit", str(path), "--no-history")
    assert result.code == 2, result.stderr
    assert "inv.yaml:5: ssh.permit-root-login.allowed: expected a list" in result.stderr
    path.write_text(path.read_text().replace("allowed: 3", "allowed: [no, 3]"))
    result = run_auditor("audit", str(path), "--no-history")
    assert result.code == 2 and "list item 3" in result.stderr
