"""Every program the code, the lab, the tests and the Makefile run is installed by
scripts/system-deps.sh (issue 23): CI runs on a machine where hand-installed packages stay,
so a green run could hide a missing install step (npm and jq once did). Fast: static
reading of the sources, no lab."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

BASE = {
    # Essential packages of every Debian 12 (debootstrap --variant=minbase) or the Python
    # that runs the suite: never installed by system-deps.
    "sh", "bash", "cat", "chmod", "chown", "cp", "env", "id", "kill", "ln", "ls", "mkdir",
    "mount", "umount", "mv", "rm", "sleep", "test", "touch", "true", "false", "sha256sum",
    "python3", "make", "tar", "grep", "sed", "ssh-agent", "ssh-add",
}  # fmt: skip

OPTIONAL: dict[str, str] = {}
"""Programs the code uses when present, with the reason it may be absent (none today:
ansible-inventory, which the code never ran, is a dev dependency the tests run)."""

VENV_PROGRAMS = {
    "pip",
    "pytest",
    "ruff",
    "mypy",
    "gcp-storage-emulator",
    "moto_server",
    "ansible-inventory",
}
"""Console scripts of the project's own virtual environment (pyproject's extras)."""


def system_deps() -> dict[str, set[str]]:
    """Program → the sets (demo, test) whose rows install it, from the script's table."""
    text = (REPO / "scripts" / "system-deps.sh").read_text()
    table = text.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0]
    found: dict[str, set[str]] = {}
    for line in table.splitlines():
        kind, _package, *programs = line.split()
        for program in programs:
            name = program.rsplit("/", 1)[-1]
            found.setdefault(name, set()).add(kind)
    return found


def _strings(module: ast.Module) -> dict[str, str]:
    """Module-level NAME = "literal" (SSHD = "/usr/sbin/sshd")."""
    return {
        target.id: node.value.value
        for node in module.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }  # fmt: skip


def _literal(node: ast.AST, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    return None


RUNNERS = {"run", "Popen", "check_output", "check_call", "call", "execvp"}
SYSTEM_PATH = re.compile(r"^/usr/s?bin/[\w.+-]+$")


def programs_in_python(path: Path) -> set[str]:
    """argv[0] of subprocess calls with a literal list, `shutil.which("x")`, the
    `binaries()` every lab service declares, and any literal /usr/bin or /usr/sbin path."""
    module = ast.parse(path.read_text(), str(path))
    names = _strings(module)
    found: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Constant) and SYSTEM_PATH.match(str(node.value)):
            found.add(str(node.value))
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == "which" and node.args:
                value = _literal(node.args[0], names)
                if value:
                    found.add(value)
            elif called in RUNNERS and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
                elements = node.args[0].elts
                if elements:
                    value = _literal(elements[0], names)
                    if value:
                        found.add(value)
        if isinstance(node, ast.FunctionDef) and node.name == "binaries":
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and isinstance(inner.value, ast.Tuple):
                    found.update(v for e in inner.value.elts if (v := _literal(e, names)))
    return {p.rsplit("/", 1)[-1] for p in found if not p.startswith("$")}


def programs_in_makefile() -> set[str]:
    found = set()
    for line in (REPO / "Makefile").read_text().splitlines():
        if line.startswith("\t"):
            word = line.strip().lstrip("@-").split()[0]
            if not word.startswith(("$", "#", "./")):
                found.add(word)
    return found


def every_program() -> dict[str, set[str]]:
    """Program → the files that run it."""
    found: dict[str, set[str]] = {}
    for folder in ("auditor", "tests"):
        for path in (REPO / folder).rglob("*.py"):
            for program in programs_in_python(path):
                found.setdefault(program, set()).add(str(path.relative_to(REPO)))
    for program in programs_in_makefile():
        found.setdefault(program, set()).add("Makefile")
    return found


def test_the_scanner_sees_what_it_must() -> None:
    """The reader finds the programs issue 23 was about, so it is not vacuous."""
    found = every_program()
    for program in ("jq", "nmap", "ssh-keygen", "npm", "sshd", "redis-server", "chromium"):
        assert program in found, program


def test_every_program_that_runs_is_installed_by_system_deps() -> None:
    installed = system_deps()
    missing = {
        program: sorted(files)
        for program, files in every_program().items()
        if program not in installed
        and program not in BASE
        and program not in OPTIONAL
        and program not in VENV_PROGRAMS
    }
    assert not missing, f"add a row to scripts/system-deps.sh for: {missing}"


def test_the_demo_runs_only_what_the_demo_set_installs() -> None:
    """`make demo` installs the demo set only: the programs of the demo's lab hosts, the
    auditor's own tools, and the Makefile's demo recipe must all be in it."""
    from tests.lab.lab import FLEET

    installed = system_deps()
    demo = {
        binary.rsplit("/", 1)[-1]
        for host in FLEET
        for service in host.services
        for binary in service.binaries()
    }
    demo |= programs_in_python(REPO / "auditor" / "probes" / "ports" / "nmap_scan.py")
    demo |= programs_in_python(REPO / "auditor" / "probes" / "services" / "smb.py")
    demo |= {"ip", "ssh-keygen"}  # lab.py adds addresses; the lab makes the client key
    outside = sorted(p for p in demo if p not in BASE and "demo" not in installed.get(p, set()))
    assert not outside, f"the demo runs these, but only the test set installs them: {outside}"


def test_the_makefile_demo_uses_the_demo_install() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo: \$\(DEMO_STAMP\)", makefile, flags=re.M)
    assert "system-deps.sh demo" in makefile and "system-deps.sh test" in makefile
    assert "npm" not in makefile.split("$(DEMO_STAMP): ")[1].split("\n\n")[0]


_ADDRESS = re.compile(
    r"LISTENER_NETWORK\}\.(\d+)|127\.79\.0\.(\d+)|listeners\.open\((\d+)"
    r"|LabHost\(\"[a-z-]+\",\s*(\d+)"
)


def test_the_parallel_halves_never_share_an_address() -> None:
    """`make test` runs the lab groups and the other modules at the same time
    (tests/halves.py): no loopback address may serve two groups."""
    from tests.conftest import LAB_GROUPS, LAB_MODULES

    def group(module: str) -> str:
        return next((n for n, members in LAB_GROUPS.items() if module in members), "no-lab")

    users: dict[int, set[str]] = {}
    for path in [*(REPO / "tests").glob("*.py"), *(REPO / "tests" / "hostile").glob("*.py")]:
        for match in _ADDRESS.finditer(path.read_text()):
            octet = int(next(g for g in match.groups() if g))
            if octet > 1:  # .0 and .1 only appear in scopes and unprobed padding
                users.setdefault(octet, set()).add(path.stem)
    shared = {
        octet: sorted(modules)
        for octet, modules in users.items()
        if len({group(m) for m in modules - {"conftest"}}) > 1
    }
    assert {m for members in LAB_GROUPS.values() for m in members} == LAB_MODULES
    assert len(users) > 40  # the reader sees the addresses the tests use
    assert not shared, f"give these addresses to one half only: {shared}"


def test_cloud_sdks_are_extras_not_dependencies() -> None:
    """Issue 23: `pip install server-auditor` pulled the Azure and Google SDKs (61 packages,
    175 MB) for an SSH-only audit."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    assert "azure" not in core and "google-cloud" not in core
    extras = project["optional-dependencies"]
    assert any("azure" in d for d in extras["azure"]) and extras["gcp"]
    assert "server-auditor[azure,gcp]" in extras["all"]


def test_an_inventory_needing_a_missing_sdk_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.cloud
    from auditor.errors import InputError
    from auditor.inventory import load_inventory

    monkeypatch.setattr(auditor.cloud, "_importable", lambda module: False)
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "version: 1\nscope: [127.79.0.0/24]\n"
        "cloud:\n  azure: {subscription_id: 00000000-0000-0000-0000-000000000000}\n"
        "servers: [{name: a, address: 127.79.0.2, azure: {storage_accounts: [acct]}}]\n"
    )
    try:
        load_inventory(inventory)
    except InputError as exc:
        said = str(exc)
    else:
        raise AssertionError("an inventory needing a missing SDK was accepted")
    assert re.search(r"inv\.yaml:[45]: ", said), said
    assert "pip install 'server-auditor[azure]'" in said
    assert "\n" not in said


def test_help_starts_without_the_heavy_modules() -> None:
    """`auditor --help` imports no probe, SDK or CEL binding (0.6 s on main, ~0.1 s now):
    checked by what is imported, not by a timing."""
    import subprocess
    import sys

    code = (
        "import sys; from click.testing import CliRunner; from auditor.cli import cli; "
        "CliRunner().invoke(cli, ['--help']); "
        "print(' '.join(m for m in ('paramiko', 'boto3', 'cel', 'cel.cel', 'nmap', "
        "'auditor.engine', 'typer', 'rich') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()
    assert loaded == ""
