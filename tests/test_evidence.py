"""Signed evidence bundles, checked with plain OpenSSH (ssh-keygen -Y verify, plus jq and
sha256sum for the listed files) and with `auditor verify`: an intact bundle passes; one
byte of the HTML changed, a manifest swapped for another run's, or a signer not in
allowed_signers each fail, in both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LISTENER_NETWORK, run_auditor

SERVER_IP = f"{LISTENER_NETWORK}.86"
PRINCIPAL = "audits@vendor.example"


def _key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key


def _allowed(folder: Path, key: Path) -> Path:
    allowed = folder / "allowed_signers"
    public = key.with_suffix(".pub").read_text().split()
    allowed.write_text(f'{PRINCIPAL} namespaces="server-auditor" {public[0]} {public[1]}\n')
    return allowed


def _bundle(tmp_path: Path, name: str, key: Path) -> Path:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        f"version: 1\nscope: ['{SERVER_IP}/32']\nservers:\n  - name: web\n"
        f"    address: {SERVER_IP}\n    ports: '22'\n    rules: [baseline]\n"
        "    change: {id: CHG-8001, approved: true, exposes: []}\n"
    )
    folder = tmp_path / name
    result = run_auditor(
        "audit", str(inventory), "--no-history", "--bundle", str(folder), "--sign-key", str(key)
    )
    assert result.code == 0, result.stderr
    return folder


def _openssh_verifies(folder: Path, allowed: Path) -> bool:
    """What a client does with OpenSSH, jq and coreutils only (docs/evidence.md)."""
    manifest = folder / "manifest.json"
    signature = subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "verify",
            "-f",
            str(allowed),
            "-I",
            PRINCIPAL,
            "-n",
            "server-auditor",
            "-s",
            str(folder / "manifest.json.sig"),
        ],
        stdin=manifest.open("rb"),
        capture_output=True,
        check=False,
    )
    if signature.returncode != 0:
        return False
    sums = subprocess.run(
        ["jq", "-r", '.files | to_entries[] | "\\(.value)  \\(.key)"', str(manifest)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    files = subprocess.run(
        ["sha256sum", "--check", "--quiet", "-"],
        input=sums,
        text=True,
        cwd=folder,
        capture_output=True,
        check=False,
    )
    return files.returncode == 0


def _auditor_verifies(folder: Path, allowed: Path) -> tuple[bool, str]:
    result = run_auditor("verify", str(folder), "--allowed-signers", str(allowed))
    assert result.code in (0, 1), result.stderr
    return result.code == 0, result.stdout + result.stderr


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path, Path]:
    key = _key(tmp_path, "vendor_ed25519")
    return _bundle(tmp_path, "bundle", key), _allowed(tmp_path, key), key


def test_an_intact_bundle_verifies_with_openssh_and_the_auditor(
    signed: tuple[Path, Path, Path],
) -> None:
    folder, allowed, _ = signed
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "manifest.json.sig",
        "report.html",
        "report.json",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "auditor-bundle/1"
    assert manifest["inventory"]["sha256"] and manifest["rule_packs"][0]["name"] == "baseline"
    assert manifest["started"] <= manifest["finished"] and manifest["verdict"] == "go"
    assert _openssh_verifies(folder, allowed)
    ok, said = _auditor_verifies(folder, allowed)
    assert ok and f"signed by {PRINCIPAL}" in said


def test_one_byte_of_the_html_changed_fails_in_both(signed: tuple[Path, Path, Path]) -> None:
    folder, allowed, _ = signed
    html = folder / "report.html"
    data = bytearray(html.read_bytes())
    data[len(data) // 2] ^= 0x01
    html.write_bytes(bytes(data))
    assert not _openssh_verifies(folder, allowed)
    ok, said = _auditor_verifies(folder, allowed)
    assert not ok and "report.html: changed" in said


def test_a_swapped_manifest_fails_in_both(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    folder, allowed, key = signed
    other = _bundle(tmp_path, "other", key)  # a genuine signature, of another run
    shutil.copy(other / "manifest.json", folder / "manifest.json")
    assert not _openssh_verifies(folder, allowed)
    ok, said = _auditor_verifies(folder, allowed)
    assert not ok and "manifest.json: changed since it was signed" in said


def test_an_unknown_signer_fails_in_both(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    folder, _, _ = signed
    stranger = _allowed(tmp_path / "stranger", _key(_mkdir(tmp_path / "stranger"), "other"))
    assert not _openssh_verifies(folder, stranger)
    ok, said = _auditor_verifies(folder, stranger)
    assert not ok and "unknown signer" in said


def test_a_key_held_by_ssh_agent_signs(tmp_path: Path) -> None:
    """Vendors' engineers keep keys in ssh-agent: --sign-key names the public half."""
    key = _key(tmp_path, "agent_ed25519")
    agent = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True)
    env = dict(os.environ)
    for line in agent.stdout.splitlines():
        if "=" in line and ";" in line:
            name, _, rest = line.partition("=")
            env[name] = rest.split(";", 1)[0]
    try:
        subprocess.run(["ssh-add", "-q", str(key)], env=env, check=True, capture_output=True)
        key.unlink()  # only the agent has the private key now
        inventory = tmp_path / "inv.yaml"
        inventory.write_text(
            f"version: 1\nscope: ['{SERVER_IP}/32']\nservers:\n  - name: web\n"
            f"    address: {SERVER_IP}\n    ports: '22'\n    rules: [baseline]\n"
            "    change: {id: CHG-8001, approved: true, exposes: []}\n"
        )
        result = run_auditor(
            "audit",
            str(inventory),
            "--no-history",
            "--bundle",
            str(tmp_path / "b"),
            "--sign-key",
            str(key.with_suffix(".pub")),
            env=env,
        )
        assert result.code == 0, result.stderr
        assert _openssh_verifies(tmp_path / "b", _allowed(tmp_path, key))
    finally:
        subprocess.run(["ssh-agent", "-k"], env=env, capture_output=True, check=False)


def test_a_key_that_cannot_sign_is_refused_before_probing(tmp_path: Path) -> None:
    (tmp_path / "not-a-key").write_text("nope\n")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        f"version: 1\nscope: ['{SERVER_IP}/32']\nservers:\n  - name: web\n"
        f"    address: {SERVER_IP}\n    ports: '22'\n"
    )
    result = run_auditor(
        "audit",
        str(inventory),
        "--no-history",
        "--bundle",
        str(tmp_path / "b"),
        "--sign-key",
        str(tmp_path / "not-a-key"),
    )
    assert result.code == 2 and "--bundle: cannot sign with" in result.stderr
    assert result.stdout == ""


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_verify_says_what_the_signer_attested(signed: tuple[Path, Path, Path]) -> None:
    """Issue 24 #14: "every file intact" alone let an old GO bundle pass for today's."""
    folder, allowed, _ = signed
    result = run_auditor("verify", str(folder), "--allowed-signers", str(allowed))
    assert result.code == 0, result.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "verdict:   GO" in result.stdout
    assert f"signed by {PRINCIPAL}" in result.stdout
    assert manifest["started"] in result.stdout and manifest["finished"] in result.stdout
    assert "inv.yaml (sha256 " + manifest["inventory"]["sha256"][:16] in result.stdout


def test_verify_refuses_a_symlink_in_the_bundle(signed: tuple[Path, Path, Path]) -> None:
    folder, allowed, _ = signed
    copy = folder.parent / "elsewhere.html"
    shutil.copy(folder / "report.html", copy)
    (folder / "report.html").unlink()
    (folder / "report.html").symlink_to(copy)  # same bytes, so digests alone would pass
    ok, said = _auditor_verifies(folder, allowed)
    assert not ok and "report.html: a symbolic link (refused)" in said


def _empty_report() -> Any:
    from datetime import UTC, datetime

    from auditor.models import Report, Severity

    now = datetime.now(UTC)
    return Report(now, now, "test", "inv.yaml", Severity.HIGH, ())


def test_a_symlink_planted_after_the_key_check_is_never_written_through(tmp_path: Path) -> None:
    """Issue 24 #16: root's audit wrote through a symlink a local user planted in the
    bundle folder after the key check, overwriting a file outside the bundle."""
    from auditor.evidence import bundle
    from auditor.evidence.sshsig import SignatureError

    key = _key(tmp_path, "k")
    folder = tmp_path / "bundle"
    bundle.prepare(folder, key)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (folder / "report.json").symlink_to(victim)
    with pytest.raises((OSError, SignatureError)):
        bundle.write(folder, _empty_report(), key)
    assert victim.read_text() == "precious\n"
    link = tmp_path / "link-to-folder"
    link.symlink_to(tmp_path / "other", target_is_directory=True)
    (tmp_path / "other").mkdir()
    with pytest.raises(SignatureError, match="symbolic link"):
        bundle.prepare(link, key)


@pytest.mark.skipif(os.geteuid() != 0, reason="a folder of another user needs root to make")
def test_a_foreign_or_non_empty_bundle_folder_is_refused_before_probing(tmp_path: Path) -> None:
    key = _key(tmp_path, "k")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        f"version: 1\nscope: ['{SERVER_IP}/32']\nservers:\n  - name: web\n"
        f"    address: {SERVER_IP}\n    ports: '22'\n"
    )
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    os.chown(foreign, 65534, 65534)  # nobody's
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.txt").write_text("x")
    for folder, said in ((foreign, "belongs to uid 65534"), (full, "not empty")):
        result = run_auditor(
            "audit", str(inventory), "--no-history", "--bundle", str(folder),
            "--sign-key", str(key),
        )  # fmt: skip
        assert result.code == 2 and said in result.stderr, result.stderr
        assert result.stdout == ""
