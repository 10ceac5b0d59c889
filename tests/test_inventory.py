"""Inventory v1: valid files load; every broken file is one clear line and exit code 2."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.errors import InputError
from auditor.inventory import adhoc_inventory, load_inventory
from auditor.inventory.ansible import ansible_servers
from tests.conftest import REPO
from tests.corpus import expectations

BAD = sorted((REPO / "tests" / "data" / "inventories" / "bad").glob("*.yaml"))


def test_lab_inventory_loads_with_defaults_merged() -> None:
    inventory = load_inventory(REPO / "inventories" / "lab.yaml")
    vendor = next(t for t in inventory.targets if t.name == "vendor-built")
    assert vendor.ip == ipaddress.ip_address("127.77.0.11")
    assert vendor.rules == ("baseline", "ssh", "services", "tls", "aws", "gcp")
    assert vendor.clouds["aws"].buckets == ("vendor-acme-exports",)
    assert vendor.clouds["gcp"].buckets == ("vendor-acme-exports-gcs",)
    assert vendor.ssh.user == "root"
    assert vendor.change is not None
    assert vendor.change.go_live == date(2026, 12, 1)
    assert vendor.change.data == ("personal",)
    assert [(e.port, e.to) for e in vendor.change.exposes] == [
        (22, "internal"),
        (80, "internet"),
        (443, "internet"),
    ]
    text = (REPO / "inventories" / "lab.yaml").read_text().splitlines()
    assert "name: vendor-built" in text[vendor.line - 1]  # its entry's line, for SARIF
    assert inventory.scope.allows(ipaddress.ip_address("127.77.0.200"))
    assert not inventory.scope.allows(ipaddress.ip_address("127.0.0.1"))


def test_example_inventory_loads() -> None:
    inventory = load_inventory(REPO / "inventories" / "example.yaml")
    web = inventory.targets[0]
    assert web.ssh.port == 2222  # per-server ssh keys override the defaults key by key
    assert web.ssh.user == "audit"
    assert web.ports == "22,443"


def test_server_keys_override_defaults(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: [127.79.0.0/24]\n"
        "defaults: {ports: '22', ssh: {user: a, port: 2200}, tags: {env: prod}}\n"
        "servers:\n"
        "  - {name: x, address: 127.79.0.1, ports: '80', ssh: {port: 22}, tags: {role: web}}\n"
    )
    target = load_inventory(path).targets[0]
    assert target.ports == "80"
    assert (target.ssh.user, target.ssh.port) == ("a", 22)
    assert dict(target.tags) == {"env": "prod", "role": "web"}
    assert target.change is None


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_broken_inventory_is_one_line_exit_2(path: Path) -> None:
    line, text = expectations(path)
    result = CliRunner().invoke(cli, ["inventory", "check", str(path)])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("auditor: error: ")
    assert text in message
    where = f"{path}:{line}:" if line else str(path)
    assert where in message or (line == 0 and text in message)


def test_broken_inventory_stops_audit_before_probing(tmp_path: Path) -> None:
    """Bad input must be caught before a single packet is sent (exit 2, no report)."""
    result = CliRunner().invoke(cli, ["audit", str(BAD[0]), "-f", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""


def test_adhoc_inventory_scope_is_exactly_the_hosts() -> None:
    inventory = adhoc_inventory(["127.0.0.1", "127.0.0.2", "127.0.0.1"], ports="22")
    assert [t.name for t in inventory.targets] == ["127.0.0.1", "127.0.0.2"]
    assert inventory.scope.allows(ipaddress.ip_address("127.0.0.2"))
    assert not inventory.scope.allows(ipaddress.ip_address("127.0.0.3"))


def test_adhoc_inventory_rejects_bad_ports() -> None:
    with pytest.raises(InputError, match="bad port list"):
        adhoc_inventory(["127.0.0.1"], ports="ssh")


def test_an_account_wide_audit_needs_no_server(tmp_path: Path) -> None:
    """`cloud.aws.discover` audits every resource of the account: a list of servers is then
    optional (without discovery an empty list is still refused: see bad/no-servers.yaml)."""
    path = tmp_path / "account.yaml"
    path.write_text(
        "version: 1\nscope: [127.84.0.0/24]\nservers: []\n"
        "cloud: {aws: {regions: [eu-west-1], discover: true}}\n"
    )
    inventory = load_inventory(path)
    assert inventory.targets == () and inventory.clouds["aws"].discover


@pytest.mark.parametrize(
    ("cloud_part", "server_part", "expected"),
    [
        ("  azure: {region: x}", "", "cloud.azure.region: unknown key"),
        ("  azure: {discover: true}", "", "cloud.azure: missing required key 'subscription_id'"),
        (
            "  azure: {subscription_id: s, management_endpoint: 'http://127.0.0.1:1'}",
            "",
            "management_endpoint: Resource Manager is reached over https:// only",
        ),
        ("  gcp: {project: p}", "    azure: {storage_accounts: [rg/acct1]}\n", "no `cloud.azure`"),
        (
            "  azure: {subscription_id: s}",
            "    azure: {storage_accounts: [justaname]}\n",
            "servers[0].azure.storage_accounts[0]: not RESOURCE_GROUP/ACCOUNT",
        ),
    ],
)
def test_a_bad_azure_section_is_one_line_naming_the_key(
    tmp_path: Path, cloud_part: str, server_part: str, expected: str
) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nscope: ['127.0.0.1/32']\nservers:\n  - name: a\n    address: 127.0.0.1\n"
        f"{server_part}cloud:\n{cloud_part}\n"
    )
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert expected in message and f"{path}:" in message and "\n" not in message


ANSIBLE_INI = """\
[web]
web[01:03].example ansible_port=2222
db-[a:c] ansible_user=audit
[odd]
h[1:9:4]
rack[1:2]-node[a:b]
[edge:children]
web
"""

ANSIBLE_YAML = """\
all:
  children:
    web:
      hosts:
        "app[08:10]":
          ansible_user: deploy
    cache:
      hosts:
        "redis-[x:z]": {}
"""


@pytest.mark.parametrize(
    ("name", "text"), [("hosts.ini", ANSIBLE_INI), ("hosts.yaml", ANSIBLE_YAML)]
)
def test_ansible_host_ranges_expand_as_ansible_expands_them(
    tmp_path: Path, name: str, text: str
) -> None:
    """Issue 25: `web[01:03]` became one server literally named `web[01:03]`. The same
    inventory read by Ansible's own `ansible-inventory --list` and by us must give the
    same hosts, each with the same groups and connection variables."""
    program = shutil.which("ansible-inventory") or str(
        Path(sys.executable).parent / "ansible-inventory"
    )
    path = tmp_path / name
    path.write_text(text)
    listed = subprocess.run(
        [program, "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "ANSIBLE_LOCAL_TEMP": str(tmp_path), "ANSIBLE_HOME": str(tmp_path)},
    )
    theirs = json.loads(listed.stdout)
    hostvars = theirs["_meta"]["hostvars"]  # only the hosts that have variables
    members = {
        group: node["hosts"]
        for group, node in theirs.items()
        if isinstance(node, dict) and "hosts" in node
    }
    ours = {server["name"]: server for server in ansible_servers(path)}
    assert set(ours) == {host for hosts in members.values() for host in hosts}
    assert len(ours) >= 6
    for host in ours:
        values = hostvars.get(host, {})
        ssh = ours[host].get("ssh", {})
        assert ssh.get("port") == values.get("ansible_port"), host
        assert ssh.get("user") == values.get("ansible_user"), host
    for group, hosts in members.items():
        for host in hosts:
            if group not in ("all", "ungrouped"):
                assert group in ours[host]["tags"]["ansible_groups"].split(","), (host, group)


def test_a_host_range_that_cannot_be_expanded_is_refused_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text("[web]\nweb[1:]\nok\n")
    with pytest.raises(InputError, match=r"hosts.ini:2: host range \[1:\] has no end"):
        ansible_servers(path)
    path.write_text("[web]\nweb[0:9999999]\n")
    with pytest.raises(InputError, match="over 65536 hosts"):
        ansible_servers(path)


def test_an_unreadable_ssh_config_leaves_the_scan_checks_to_say_so(tmp_path: Path) -> None:
    """The scan's SSH presence check reads ssh_config for the port; a file paramiko cannot
    parse keeps the SSH checks (they report it as their error) instead of crashing."""
    from auditor.probes.ssh.presence import without_absent_ssh

    bad = tmp_path / "ssh_config"
    bad.write_text("Host *\n  Match exec\n")
    inventory = adhoc_inventory(["127.0.0.1"], ports="22", rules=("ssh",))
    assert without_absent_ssh(inventory, 1.0, bad) == inventory
