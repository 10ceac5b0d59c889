"""Issue 10: no input file yields a traceback or an exit code other than 0 and 2.

Hypothesis writes arbitrary text, and arbitrary YAML/JSON documents shaped like the real
formats, to disk and hands them to each loader: inventory (through `inventory check`),
rule pack, waivers, Ansible INI and YAML, Terraform JSON. The only exception allowed out
of a loader is InputError, which the CLI turns into one line and exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.cli import cli
from auditor.errors import InputError
from auditor.inventory.ansible import ansible_servers
from auditor.inventory.terraform import terraform_sources
from auditor.rules.loader import load_pack
from auditor.waivers import load_waivers

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

WORDS = st.sampled_from(
    [
        "version",
        "scope",
        "servers",
        "name",
        "address",
        "ports",
        "rules",
        "change",
        "id",
        "approved",
        "exposes",
        "port",
        "to",
        "ssh",
        "user",
        "defaults",
        "cloud",
        "aws",
        "format",
        "pack",
        "check",
        "applies_to",
        "severity",
        "waivers",
        "rule",
        "expires",
        "approver",
        "justification",
        "values",
        "root_module",
        "resources",
        "type",
        "hosts",
        "vars",
        "children",
        "ansible_host",
        "ansible_port",
        "all",
        "true",
        "no",
        "0777",
        "127.79.0.1",
        "127.0.0.0/8",
        "2026-02-30",
        "1-65535",
        "&a",
        "*a",
        "<<",
        "~",
        "::1",
    ]
)
SCALARS = st.one_of(
    WORDS, st.integers(-(2**40), 2**40), st.booleans(), st.none(), st.text(max_size=20)
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(WORDS, inner, max_size=5),
    max_leaves=25,
)
TEXT = st.text(max_size=400) | st.lists(
    WORDS | st.sampled_from([":", "-", "\n", " ", "[", "]", "{", "}", ",", "=", "  "]), max_size=80
).map("".join)


def _only_input_errors(load: Any, path: Path) -> None:
    try:
        load(path)
    except InputError as exc:
        assert "\n" not in str(exc), str(exc)


@SETTINGS
@given(document=DOCUMENTS | TEXT)
def test_inventory_check_exits_0_or_2(document: Any, tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    result = CliRunner().invoke(cli, ["inventory", "check", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


@SETTINGS
@given(document=DOCUMENTS | TEXT)
def test_rule_packs_raise_only_input_errors(document: Any, tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    _only_input_errors(load_pack, path)


@SETTINGS
@given(document=DOCUMENTS | TEXT)
def test_waivers_raise_only_input_errors(document: Any, tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    _only_input_errors(load_waivers, path)


@SETTINGS
@given(document=DOCUMENTS | TEXT, ini=st.booleans())
def test_ansible_inventories_raise_only_input_errors(
    document: Any, ini: bool, tmp_path: Path
) -> None:
    path = tmp_path / ("hosts.ini" if ini else "hosts.yml")
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    _only_input_errors(ansible_servers, path)


@SETTINGS
@given(document=DOCUMENTS | TEXT)
def test_terraform_states_raise_only_input_errors(document: Any, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    _only_input_errors(terraform_sources, path)
