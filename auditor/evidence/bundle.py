"""An evidence bundle: the JSON and HTML reports, a manifest of their SHA-256 digests, the
inventory's and rule packs' digests, the auditor's version and the run's times, and a
detached SSHSIG signature of the manifest (namespace `server-auditor`).

Format `auditor-bundle/1` (docs/evidence.md); a change of its meaning takes a new version.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
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
    """Before probing: the folder is new, or an empty folder of ours (never a symlink, never
    another user's), and the key signs (file or agent)."""
    try:
        info = folder.lstat()
    except FileNotFoundError:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o755)
    else:
        _refuse_foreign(folder, info)
        if any(folder.iterdir()):
            raise SignatureError(f"{folder} is not empty: give a new or empty folder")
    sign(key, b"server-auditor key check\n")


def _refuse_foreign(folder: Path, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise SignatureError(f"{folder} is a symbolic link: give the real folder")
    if not stat.S_ISDIR(info.st_mode):
        raise SignatureError(f"{folder} exists and is not a folder")
    if info.st_uid != os.geteuid():
        raise SignatureError(
            f"{folder} belongs to uid {info.st_uid}, not to the user running the audit: "
            "another user could plant files in it"
        )


def write(folder: Path, report: Report, key: Path) -> Path:
    """The reports, the manifest and its signature; the manifest's path.

    Every file is created inside the folder opened once without following symlinks, with
    O_EXCL|O_NOFOLLOW: a symlink planted after `prepare` makes the write fail instead of
    overwriting the file it points to (root's audit once overwrote a root-owned file)."""
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _refuse_foreign(folder, os.fstat(handle))
        if os.listdir(handle):  # noqa: PTH208 - the descriptor, not a path that could move
            raise SignatureError(f"{folder} is no longer empty: refusing to write into it")
        files = {
            "report.json": JsonReporter().render(report).encode("utf-8"),
            "report.html": HtmlReporter().render(report).encode("utf-8"),
        }
        for name, data in files.items():
            _create(handle, name, data)
        manifest: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "auditor_version": __version__,
            "started": report.started.isoformat(),
            "finished": report.finished.isoformat(),
            "verdict": report.verdict.value,
            "inventory": {"path": report.inventory, "sha256": report.inventory_digest},
            "rule_packs": [{"name": p.name, "sha256": p.digest} for p in report.rule_packs],
            "files": {name: hashlib.sha256(files[name]).hexdigest() for name in sorted(files)},
        }
        text = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
        _create(handle, MANIFEST, text)
        _create(handle, SIGNATURE, sign(key, text))
    finally:
        os.close(handle)
    return folder / MANIFEST


def _create(folder: int, name: str, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    descriptor = os.open(name, flags, 0o644, dir_fd=folder)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


@dataclass(frozen=True)
class Checked:
    problems: list[str]
    signers: list[str]
    manifest: dict[str, Any]
    """What the signer attested (verdict, inventory, times): shown by `auditor verify` so an
    old GO bundle is not taken for today's."""


def check(folder: Path, allowed_signers: Path) -> Checked:
    """Every way the folder differs from what was signed. Symlinks are refused: a bundle
    is plain files, and a link could make a file seem intact while pointing elsewhere."""
    if folder.is_symlink():
        return Checked([f"{folder} is a symbolic link (refused)"], [], {})
    links = sorted(p.name for p in folder.iterdir() if p.is_symlink())
    if links:
        return Checked([f"{name}: a symbolic link (refused)" for name in links], [], {})
    manifest_path, signature = folder / MANIFEST, folder / SIGNATURE
    for needed in (manifest_path, signature):
        if not needed.is_file():
            return Checked([f"{needed.name} is missing"], [], {})
    message = manifest_path.read_bytes()
    principals = signers(allowed_signers, signature)
    if not principals:
        return Checked(
            [f"{SIGNATURE}: signed by a key that is not in {allowed_signers} (unknown signer)"],
            [],
            {},
        )
    try:
        verify(allowed_signers, principals[0], signature, message)
    except SignatureError as exc:
        return Checked([f"{MANIFEST}: changed since it was signed ({exc})"], principals, {})
    try:
        manifest = json.loads(message)
        listed: dict[str, str] = dict(manifest["files"])
        if manifest.get("format") != BUNDLE_FORMAT:
            problem = f"{MANIFEST}: format {manifest.get('format')!r}, not {BUNDLE_FORMAT}"
            return Checked([problem], principals, {})
    except (ValueError, KeyError, TypeError) as exc:
        return Checked([f"{MANIFEST}: unreadable ({exc})"], principals, {})
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
    return Checked(problems, principals, manifest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        read = 0
        while chunk := handle.read(1 << 20):
            read += len(chunk)
            if read > MAX_FILE:
                raise SignatureError(f"{path.name} is larger than {MAX_FILE} bytes")
            digest.update(chunk)
    return digest.hexdigest()
