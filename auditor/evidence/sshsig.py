"""Signing and verifying with OpenSSH's own `ssh-keygen -Y` (SSHSIG, PROTOCOL.sshsig).

The client verifies with plain OpenSSH (`ssh-keygen -Y verify`), so the auditor signs and
verifies with the same program rather than a second implementation of the format: what
`auditor verify` accepts is exactly what OpenSSH accepts. Keys may be private key files or,
given as a `.pub` file, held by ssh-agent.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

NAMESPACE = "server-auditor"
SECONDS = 30


class SignatureError(Exception):
    """Signing failed, or a signature does not verify; the message says which and why."""


def _ssh_keygen() -> str:
    program = shutil.which("ssh-keygen")
    if program is None:
        raise SignatureError("ssh-keygen (OpenSSH) is not installed")
    return program


def _run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            [_ssh_keygen(), *args],
            input=stdin,
            capture_output=True,
            timeout=SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SignatureError(f"ssh-keygen did not finish within {SECONDS}s") from None


def sign(key: Path, message: bytes) -> bytes:
    """The SSHSIG signature of `message` by `key` (a private key, or a public key held by
    the agent). ssh-keygen reads the message on stdin and writes the signature to stdout:
    it never opens a file of the bundle, so it cannot follow a symlink planted there."""
    result = _run(["-Y", "sign", "-q", "-n", NAMESPACE, "-f", str(key)], stdin=message)
    if result.returncode != 0 or b"BEGIN SSH SIGNATURE" not in result.stdout:
        raise SignatureError(f"cannot sign with {key}: {_said(result)}")
    return result.stdout


def signers(allowed: Path, signature: Path) -> list[str]:
    """The principals of `allowed` whose key made `signature`; empty when none did."""
    result = _run(["-Y", "find-principals", "-f", str(allowed), "-s", str(signature)])
    if result.returncode != 0:
        return []
    return [line for line in result.stdout.decode(errors="replace").splitlines() if line]


def verify(allowed: Path, principal: str, signature: Path, message: bytes) -> None:
    """Raises SignatureError unless `principal` signed exactly `message` in our namespace."""
    result = _run(
        [
            "-Y",
            "verify",
            "-f",
            str(allowed),
            "-I",
            principal,
            "-n",
            NAMESPACE,
            "-s",
            str(signature),
        ],
        stdin=message,
    )
    if result.returncode != 0:
        raise SignatureError(f"signature does not verify: {_said(result)}")


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    text = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()
    return text[-1][:200] if text else f"exit status {result.returncode}"
