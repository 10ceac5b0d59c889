"""An evidence bundle: the JSON and HTML reports, a manifest of their SHA-256 digests, the
inventory's and rule packs' digests, the auditor's version and the run's times, and a
detached SSHSIG signature of the manifest (namespace `server-auditor`).

Format `auditor-bundle/1` (docs/evidence.md); a change of its meaning takes a new version.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.evidence.sshsig import SignatureError, sign, signers, verify
from auditor.models import Report
from auditor.reporting.html import HtmlReporter
from auditor.reporting.json import JsonReporter

BUNDLE_FORMAT = "auditor-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = MANIFEST + ".sig"
MAX_FILE = 512 * 1024 * 1024


def prepare(folder: Path, key: Path) -> None:
    """Before probing: the folder is new or empty, and the key signs (file or agent)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise SignatureError(f"{folder} exists and is not an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".key-check"
    probe.write_bytes(b"server-auditor key check\n")
    try:
        sign(key, probe)
    finally:
        probe.unlink(missing_ok=True)
        probe.with_name(probe.name + ".sig").unlink(missing_ok=True)


def write(folder: Path, report: Report, key: Path) -> Path:
    """The reports, the manifest and its signature; the manifest's path."""
    files = {
        "report.json": JsonReporter().render(report),
        "report.html": HtmlReporter().render(report),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "auditor_version": __version__,
        "started": report.started.isoformat(),
        "finished": report.finished.isoformat(),
        "verdict": report.verdict.value,
        "inventory": {"path": report.inventory, "sha256": report.inventory_digest},
        "rule_packs": [{"name": p.name, "sha256": p.digest} for p in report.rule_packs],
        "files": {name: _sha256(folder / name) for name in sorted(files)},
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    sign(key, path)
    return path


def check(folder: Path, allowed_signers: Path) -> tuple[list[str], list[str]]:
    """(problems, who signed): every way the folder differs from what was signed."""
    manifest_path, signature = folder / MANIFEST, folder / SIGNATURE
    for needed in (manifest_path, signature):
        if not needed.is_file():
            return [f"{needed.name} is missing"], []
    message = manifest_path.read_bytes()
    principals = signers(allowed_signers, signature)
    if not principals:
        return [
            f"{SIGNATURE}: signed by a key that is not in {allowed_signers} (unknown signer)"
        ], []
    try:
        verify(allowed_signers, principals[0], signature, message)
    except SignatureError as exc:
        return [f"{MANIFEST}: changed since it was signed ({exc})"], principals
    try:
        manifest = json.loads(message)
        listed: dict[str, str] = dict(manifest["files"])
        if manifest.get("format") != BUNDLE_FORMAT:
            return [
                f"{MANIFEST}: format {manifest.get('format')!r}, not {BUNDLE_FORMAT}"
            ], principals
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST}: unreadable ({exc})"], principals
    problems = []
    for name, digest in sorted(listed.items()):
        path = folder / name
        if "/" in name or not path.is_file():
            problems.append(f"{name}: missing")
        elif (actual := _sha256(path)) != digest:
            problems.append(f"{name}: changed (sha256 {actual[:16]}…, signed {digest[:16]}…)")
    known = {*listed, MANIFEST, SIGNATURE}
    problems += [
        f"{p.name}: not in the manifest" for p in sorted(folder.iterdir()) if p.name not in known
    ]
    return problems, principals


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        read = 0
        while chunk := handle.read(1 << 20):
            read += len(chunk)
            if read > MAX_FILE:
                raise SignatureError(f"{path.name} is larger than {MAX_FILE} bytes")
            digest.update(chunk)
    return digest.hexdigest()
