"""The layering issue 25 asked for, kept: `cli/` parses and prints, `app/` runs an audit,
probes turn targets into facts. Read from the source, so a regression fails in the fast
tier instead of in review."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "auditor"


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every `from X import name` of the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = [
        f"{path.relative_to(REPO)}: {module}.{name}"
        for path in PACKAGE.rglob("*.py")
        for module, name in _imports(path)
        if module.startswith("auditor") and name.startswith("_") and not name.startswith("__")
    ]
    assert not offenders, offenders


def test_cli_modules_are_small_and_only_parse_and_print() -> None:
    """No module under cli/ over 300 lines; none of them runs probes, the engine or the
    history itself: that is auditor.app's job (callable as a library)."""
    too_long = {
        str(p.relative_to(REPO)): n
        for p in (PACKAGE / "cli").glob("*.py")
        if (n := len(p.read_text().splitlines())) > 300
    }
    assert not too_long, too_long
    layered = [
        f"{path.name}: {module}.{name}"
        for path in (PACKAGE / "cli").glob("*.py")
        for module, name in _imports(path)
        if module.startswith(("auditor.engine", "auditor.probes.registry", "auditor.alerts.drift"))
        and not name.isupper()  # a constant (the choices of an option) is fine
    ]
    assert not layered, layered


def test_app_does_not_import_the_cli() -> None:
    offenders = [
        f"{path.name}: {module}"
        for path in (PACKAGE / "app").glob("*.py")
        for module, _ in _imports(path)
        if module.startswith("auditor.cli") or module == "click"
    ]
    assert not offenders, offenders
    assert "import click" not in "".join(p.read_text() for p in (PACKAGE / "app").glob("*.py"))


def test_every_ssh_conversation_goes_through_the_endpoint() -> None:
    """Issue 25: four places decided where to connect over SSH. Only the route
    (probes/ssh/connection.py) opens sockets to an SSH server, and only presence.py (a
    TCP connect to the endpoint's port) besides it."""
    ssh = PACKAGE / "probes" / "ssh"
    dialling = sorted(p.name for p in ssh.glob("*.py") if "create_connection(" in p.read_text())
    assert dialling == ["connection.py", "presence.py"], dialling
    assert "target.ssh.port" not in "".join(p.read_text() for p in ssh.glob("*.py"))


def test_every_lab_host_has_its_own_address() -> None:
    """Two hosts on one octet share an address or a network namespace: the Debian hosts
    first took fileserver's, and Samba and NFS vanished from the lab."""
    from collections import Counter

    from tests.lab.lab import FLEET, HOST_FLEET, SERVICE_FLEET, SSH_FLEET

    octets = Counter(h.octet for h in FLEET + SSH_FLEET + SERVICE_FLEET + HOST_FLEET)
    assert [octet for octet, hosts in octets.items() if hosts > 1] == []
