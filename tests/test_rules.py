"""Rule packs: the built-in ones load, broken ones fail clearly, evaluation fails closed."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.errors import InputError
from auditor.models import ChangeRecord, Exposure, ProbeError, ProbeOutcome, Status, Target
from auditor.rules import evaluate_target, load_catalog
from auditor.rules.evaluate import render
from auditor.rules.loader import builtin_rules_dir, load_pack
from tests.conftest import REPO
from tests.corpus import expectations

BAD = sorted((REPO / "tests" / "data" / "rules" / "bad").glob("*.yaml"))


def _target(**change: object) -> Target:
    record = ChangeRecord(**change) if change else None  # type: ignore[arg-type]
    return Target(
        name="t",
        address="127.0.0.9",
        ip=ipaddress.ip_address("127.0.0.9"),
        ports="1-1000",
        change=record,
    )


def _ports(*numbers: int) -> ProbeOutcome:
    return ProbeOutcome(
        "ports",
        facts={
            "ports": [
                {
                    "number": n,
                    "proto": "tcp",
                    "state": "open",
                    "service": "x",
                    "service_source": "port-table",
                    "product": "",
                    "version": "",
                }
                for n in numbers
            ]
        },
    )


def _by_rule(findings: list, rule: str) -> dict[str, Status]:
    return {f.resource: f.status for f in findings if f.rule == rule}


def test_every_builtin_pack_loads_and_cites_references() -> None:
    packs = sorted(builtin_rules_dir().glob("*.yaml"))
    assert packs, "no built-in rule packs found"
    for path in packs:
        pack = load_pack(path)
        assert pack.rules, f"{path} has no rules"
        for rule in pack.rules:
            assert rule.references, f"{rule.id} cites no references"
            assert rule.remediation, f"{rule.id} says nothing about remediation"


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_broken_rule_pack_is_one_line_exit_2(path: Path, tmp_path: Path) -> None:
    line, text = expectations(path)
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        f"version: 1\nscope: [127.79.0.0/24]\ndefaults: {{rules: ['{path}']}}\n"
        "servers: [{name: a, address: 127.79.0.1}]\n"
    )
    result = CliRunner().invoke(
        cli, ["inventory", "check", str(inventory), "--rules-dir", str(path.parent)]
    )
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert f"{path}:{line}:" in message
    assert text in message


def test_undeclared_sensitive_port_is_critical_and_declared_port_passes() -> None:
    catalog = load_catalog(["baseline"])
    target = _target(id="CHG-1", approved=True, exposes=(Exposure(22, service="ssh"),))
    findings = evaluate_target(target, catalog.all_rules(), {"ports": _ports(22, 6379, 8081)})
    assert _by_rule(findings, "baseline.sensitive-port-undeclared") == {
        "port:22/tcp": Status.SKIP,
        "port:6379/tcp": Status.FAIL,
        "port:8081/tcp": Status.SKIP,
    }
    assert _by_rule(findings, "baseline.port-undeclared") == {
        "port:22/tcp": Status.PASS,
        "port:6379/tcp": Status.SKIP,
        "port:8081/tcp": Status.FAIL,
    }
    assert _by_rule(findings, "baseline.change-record") == {"host": Status.PASS}
    fail = next(f for f in findings if f.status is Status.FAIL and f.resource == "port:6379/tcp")
    assert fail.message == "6379/tcp (x) is open but the change record does not declare it"
    assert fail.evidence["port"]["declared"] is False


def test_declared_ports_closed_or_outside_the_scan() -> None:
    catalog = load_catalog(["baseline"])
    target = _target(
        id="CHG-1",
        approved=True,
        exposes=(Exposure(443), Exposure(5000), Exposure(53, proto="udp")),
    )
    findings = evaluate_target(target, catalog.all_rules(), {"ports": _ports()})
    assert _by_rule(findings, "baseline.declared-port-closed") == {
        "port:443/tcp": Status.FAIL,
        "port:53/udp": Status.SKIP,
        "port:5000/tcp": Status.SKIP,
    }
    # A declared UDP port is not the port scan's to cover: the services pack asks it its
    # service's question, and silence there is an error (tests/hostile/test_udp_tls.py).
    assert _by_rule(findings, "baseline.declared-port-not-scanned") == {
        "port:443/tcp": Status.PASS,
        "port:53/udp": Status.SKIP,
        "port:5000/tcp": Status.FAIL,
    }


def test_missing_or_unapproved_change_record_fails() -> None:
    catalog = load_catalog(["baseline"])
    rules = [r for r in catalog.all_rules() if r.id == "baseline.change-record"]
    for target in (_target(), _target(id="CHG-9", approved=False), _target(id="", approved=True)):
        (finding,) = evaluate_target(target, rules, {"ports": _ports()})
        assert finding.status is Status.FAIL


def test_failed_probe_makes_its_rules_error_never_pass() -> None:
    catalog = load_catalog(["baseline"])
    target = _target(id="CHG-1", approved=True)
    failed = ProbeOutcome("ports", error=ProbeError("ports", "nmap host timeout"))
    findings = evaluate_target(target, catalog.all_rules(), {"ports": failed})
    port_rules = [f for f in findings if f.rule != "baseline.change-record"]
    assert port_rules and all(f.status is Status.ERROR for f in port_rules)
    assert all("nmap host timeout" in f.message for f in port_rules)
    # A rule that needs no probe is still judged.
    assert _by_rule(findings, "baseline.change-record") == {"host": Status.PASS}


def test_probe_that_never_ran_is_an_error() -> None:
    catalog = load_catalog(["baseline"])
    findings = evaluate_target(_target(id="C", approved=True), catalog.all_rules(), {})
    assert {f.status for f in findings if f.rule != "baseline.change-record"} == {Status.ERROR}


def test_runtime_error_in_an_expression_is_an_error_finding(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text(
        "pack: p\nformat: 1\nrules:\n"
        "  - {id: p.div, title: t, severity: low, applies_to: port, check: 'port.number / 0 > 1',"
        " remediation: r, references: [x]}\n"
        "  - {id: p.nonbool, title: t, severity: low, applies_to: host, check: '1 + 1',"
        " remediation: r, references: [x]}\n"
    )
    catalog = load_catalog([str(pack)])
    findings = evaluate_target(_target(), catalog.all_rules(), {"ports": _ports(22)})
    assert [f.status for f in findings] == [Status.ERROR, Status.ERROR]
    assert "not a boolean" in findings[1].message


def test_parameter_overrides_apply_and_unknown_ones_are_rejected() -> None:
    overrides = {"baseline.sensitive-port-undeclared": {"sensitive_ports": [8081]}}
    catalog = load_catalog(["baseline"], overrides=overrides)
    target = _target(id="CHG-1", approved=True)
    findings = evaluate_target(target, catalog.all_rules(), {"ports": _ports(6379, 8081)})
    assert _by_rule(findings, "baseline.sensitive-port-undeclared")["port:8081/tcp"] is Status.FAIL
    with pytest.raises(InputError, match="has no parameter 'nope'"):
        load_catalog(["baseline"], overrides={"baseline.change-record": {"nope": 1}})
    with pytest.raises(InputError, match=r"unknown rule 'baseline\.nothing'"):
        load_catalog(["baseline"], overrides={"baseline.nothing": {"x": 1}})


def test_message_templates_cannot_reach_python_attributes() -> None:
    context = {"port": {"number": 22}}
    # Unknown paths read "unknown" (never "?"), and attributes are never reached.
    assert render("{port.number} {port.__class__} {nothing}", context) == "22 unknown unknown"


def test_rules_list_and_show() -> None:
    runner = CliRunner()
    listing = runner.invoke(cli, ["rules", "list"])
    assert listing.exit_code == 0
    assert "baseline.sensitive-port-undeclared" in listing.output
    shown = runner.invoke(cli, ["rules", "show", "baseline.sensitive-port-undeclared"])
    assert shown.exit_code == 0
    assert "critical" in shown.output and "references:" in shown.output
    missing = runner.invoke(cli, ["rules", "show", "nope"])
    assert missing.exit_code == 2
    assert "no rule with id 'nope'" in missing.stderr


def test_a_placeholder_typo_is_refused_at_load(tmp_path: Path) -> None:
    pack = tmp_path / "typo.yaml"
    pack.write_text(
        "format: 1\npack: typo\nrules:\n  - id: typo.x\n    title: x\n    severity: low\n"
        "    applies_to: port\n    check: port.open\n    message: 'port {port.numbr} is open'\n"
        "    references: [x]\n"
    )
    with pytest.raises(
        InputError, match=r"typo.yaml:9: typo.x.message: placeholder \{port.numbr\}"
    ):
        load_pack(pack)


def test_facts_only_the_message_shows_are_still_collected() -> None:
    rules = load_catalog(["ssh"]).all_rules()
    rule = next(r for r in rules if "{" in r.message and r.id == "ssh.permit-root-login")
    assert "sshd" in rule.fact_roots and "sshd" in rule.required_probes


def test_report_schemas_list_exactly_the_providers_resource_kinds() -> None:
    """Resource kinds are declared once, by their cloud provider (auditor/cloud); the report
    schemas' `kind` list must follow them."""
    import json

    from auditor.cloud import providers
    from auditor.facts import RESOURCE_KINDS

    kinds = {"server"} | {k.name for p in providers() for k in p.kinds}
    assert kinds - {"server"} <= set(RESOURCE_KINDS)
    for version in (1, 2):
        path = REPO / "auditor" / "schemas" / f"auditor-report-{version}.schema.json"
        text = json.loads(path.read_text())
        found = _find_kind_enum(text)
        assert set(found) == kinds, version


def _find_kind_enum(node: object) -> list[str]:
    if isinstance(node, dict):
        if isinstance(node.get("kind"), dict) and "enum" in node["kind"]:
            return list(node["kind"]["enum"])
        for value in node.values():
            if found := _find_kind_enum(value):
                return found
    if isinstance(node, list):
        for value in node:
            if found := _find_kind_enum(value):
                return found
    return []


def test_an_expression_is_handed_only_the_facts_it_reads() -> None:
    """The binding converts every value it is given on every evaluation: a whole server's
    facts cost milliseconds per rule (most of an audit's CPU), the facts a rule reads
    microseconds. A fact the expression does not name must not even reach the binding,
    and one it names but is missing still fails as before."""
    from auditor.rules.expression import EvaluationError, compile_expression

    unrelated = object()  # the binding cannot convert this: it would fail if handed over
    expression = compile_expression("ports.exists(p, p.number == 22) && params.max > 1")
    facts = {"ports": [{"number": 22}], "params": {"max": 2}, "host": unrelated}
    assert expression.evaluate(facts) is True
    with pytest.raises(EvaluationError):
        expression.evaluate({"ports": [{"number": 22}], "host": unrelated})


def test_bare_weak_cipher_names_and_mac_none_fail() -> None:
    """Issue 24 #7: `MAC none`, and the bare names `3des` and `blowfish`, passed."""
    catalog = load_catalog(["ssh"])
    rules = [r for r in catalog.all_rules() if r.id in ("ssh.weak-ciphers", "ssh.weak-macs")]
    assert len(rules) == 2

    def verdicts(ciphers: list[str], macs: list[str]) -> dict[str, Status]:
        facts = {"kex": [], "host_key_algorithms": [], "ciphers": ciphers, "macs": macs}
        outcome = ProbeOutcome("ssh", facts={"ssh": facts})
        return {f.rule: f.status for f in evaluate_target(_target(), rules, {"ssh": outcome})}

    good = verdicts(["aes256-gcm@openssh.com", "aes128-ctr"], ["hmac-sha2-256-etm@openssh.com"])
    assert good == {"ssh.weak-ciphers": Status.PASS, "ssh.weak-macs": Status.PASS}
    for cipher in ("3des", "blowfish", "3des-cbc", "blowfish-cbc", "none"):
        assert verdicts([cipher], ["hmac-sha2-256"])["ssh.weak-ciphers"] is Status.FAIL, cipher
    for mac in ("none", "hmac-md5-96", "hmac-sha1"):
        assert verdicts(["aes128-ctr"], [mac])["ssh.weak-macs"] is Status.FAIL, mac


def test_a_declared_data_path_that_does_not_exist_is_a_finding() -> None:
    """Issue 24 #3: a data path that does not exist passed the retention check silently."""
    catalog = load_catalog(["host"])
    rules = [r for r in catalog.all_rules() if r.id in ("host.retention", "host.data-path-exists")]
    target = _target(id="C", approved=True, retention_days=90, data_paths=("/srv/data",))
    retention = [{"path": "/srv/data", "exists": False, "count": 0, "oldest_days": 0}]
    outcome = ProbeOutcome("host", facts={"retention": retention, "unavailable": {}})
    found = {f.rule: f.status for f in evaluate_target(target, rules, {"host": outcome})}
    assert found == {"host.retention": Status.PASS, "host.data-path-exists": Status.FAIL}


def test_the_fact_docs_are_generated_from_the_one_declaration() -> None:
    """Issue 25: docs/rules.md's fact list was kept by hand beside auditor/facts.py. The
    page is now generated from the declaration (types and meanings, the probe of each
    root) and must be what `python -m auditor.factdocs` prints."""
    from auditor.factdocs import markdown
    from auditor.facts import ROOTS
    from auditor.factschema import leaves

    page = (REPO / "docs" / "facts.md").read_text()
    assert page == markdown(), "run: python -m auditor.factdocs > docs/facts.md"
    typed = [field for root in ROOTS.values() for _, field in leaves(root.fields, root.name)]
    assert len(typed) > 250  # every leaf parsed as `type: meaning`
    assert "| `sshd.describes.port` | int |" in page
    assert "## `host` (probe `ssh`)" in page


@pytest.mark.parametrize(("data", "status"), [(("personal",), Status.FAIL), ((), Status.SKIP)])
def test_no_log_shipping_blocks_only_on_a_personal_data_server(
    data: tuple[str, ...], status: Status
) -> None:
    """Issue 26: "no log shipping on a personal-data server" blocks; elsewhere it is the
    medium host.log-forwarding."""
    rules = [
        r for r in load_catalog(["host"]).all_rules() if r.id == "host.log-forwarding-personal-data"
    ]
    target = _target(id="CHG-1", approved=True, data=data)
    host = ProbeOutcome("host", facts={"log_forwarding": False, "unavailable": {}})
    (finding,) = evaluate_target(target, rules, {"host": host})
    assert finding.status is status
    assert rules[0].severity.value == "high"


FACTS = {
    "host": {
        "reads": {
            "sysctl": {"kernel.sysrq": "0", "net.ipv4.ip_forward": "1"},
            "packages": {
                "telnet": {"installed": True, "version": "1"},
                "sudo": {"installed": True},
            },
            "homes": [{"user": "root", "exists": True}],
        },
        "listening": [{"port": 22}],
    },
    "ports": [{"number": 22, "open": True}],
}


@pytest.mark.parametrize(
    "source",
    [
        "'kernel.sysrq' in host.reads.sysctl && host.reads.sysctl['net.ipv4.ip_forward'] == '1'",
        "host.reads.packages['telnet'].installed && !has(host.reads.packages.nope)",
        "host.reads.homes.all(h, h.exists) && size(host.reads.packages) == 2",
        "size(ports) == 1 && ports[0].number == 22 && host.listening.exists(l, l.port == 22)",
        "['telnet', 'sudo'].all(p, host.reads.packages[p].installed)",
        "size(host) == 2 && host.reads.sysctl['kernel.sysrq'] == '0'",
        # a field that is absent: `has()` must still find its parent (the demo's MySQL rule
        # errored with "no such fact: 'details'" when only existing paths were handed)
        "!has(host.reads.sysctl.absent) && !has(host.reads.packages.telnet.absent)",
    ],
)
def test_a_rule_is_handed_only_what_it_reads_and_judges_the_same(source: str) -> None:
    """The binding converts what it is handed on every evaluation: each rule gets the fact
    paths it reads (3 s of CPU a server with the hardening pack otherwise), never less."""
    from auditor.rules.expression import compile_expression

    expression = compile_expression(source)
    assert expression.evaluate(FACTS) is True
    assert expression._program.execute(FACTS) is True
    handed = expression.activation(FACTS)
    assert FACTS["host"]["reads"]["packages"]["telnet"] == {"installed": True, "version": "1"}
    if (
        "size(host)" not in source
        and "packages[p]" not in source
        and "size(host.reads.packages)" not in source
    ):
        assert "version" not in str(handed)


@pytest.mark.parametrize("port", [389, 1433, 5601, 5984, 6000, 8500, 8888, 9000, 15672])
def test_admin_consoles_and_data_apis_are_sensitive_ports(port: int) -> None:
    """Issue 27: LDAP, SQL Server, Kibana, CouchDB, X11, Consul, Jupyter, ClickHouse and
    RabbitMQ's console open and undeclared were only `high`, as any other port."""
    catalog = load_catalog(["baseline"])
    target = _target(id="CHG-1", approved=True, exposes=(Exposure(22, service="ssh"),))
    findings = evaluate_target(target, catalog.all_rules(), {"ports": _ports(port)})
    verdicts = _by_rule(findings, "baseline.sensitive-port-undeclared")
    assert verdicts[f"port:{port}/tcp"] is Status.FAIL
