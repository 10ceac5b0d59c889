"""SMB: file shares listed to a null session (no user, no password).

A null session that can list the server's disk shares is the first step of copying them:
nmap's `smb-enum-shares` and `smbclient -N -L` prove it the same way. SMB2/3 with NTLMSSP
and the DCE/RPC share enumeration that follows are a protocol stack of their own, so this
check asks Samba's own client, `smbclient`, for the list (one anonymous session, read-only,
under the probe's deadline). Without smbclient on the auditor's machine the check is an
error that says to install it: never a pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, printable

REFUSED = (
    "NT_STATUS_ACCESS_DENIED",
    "NT_STATUS_LOGON_FAILURE",
    "NT_STATUS_ACCOUNT_DISABLED",
    "NT_STATUS_INVALID_PARAMETER",
)
MAX_OUTPUT = 64 * 1024


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    client = shutil.which("smbclient")
    if client is None:
        raise ServiceError("smbclient is not installed here (Debian: apt-get install smbclient)")
    try:
        left = deadline.remaining()
    except TimeoutError as exc:
        raise ServiceError(str(exc)) from None
    argv = [
        *(client, "-N", "-g", "-L", f"//{ip}", "-p", str(port), "-s", "/dev/null"),
        "--option=client min protocol=SMB2",
    ]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            timeout=left,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": "/nonexistent"},
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"no complete answer within {deadline.seconds:g}s") from None
    output = (done.stdout + done.stderr)[:MAX_OUTPUT]
    text = output.decode("utf-8", "replace")
    shares = [
        printable(line.split("|")[1].encode(), 40)
        for line in text.splitlines()
        if line.startswith("Disk|") and line.count("|") >= 2
    ]
    if shares:
        listed = ", ".join(shares[:10])
        return Answer(True, f"null session lists disk shares: {listed}", {"shares": shares})
    refused = next((code for code in REFUSED if code in text), None)
    if refused is not None:
        return Answer(False, f"null session cannot list shares ({refused})", {"shares": []})
    if done.returncode == 0 and "IPC|" in text:
        return Answer(False, "null session lists no disk share", {"shares": []})
    last = printable(output.strip().splitlines()[-1] if output.strip() else b"no output", 100)
    raise ServiceError(f"smbclient could not list shares: {last}")


SMB = ServiceCheck(
    "smb",
    check,
    ports=(445, 139),
    names=("microsoft-ds", "netbios-ssn", "smb"),
    reference="nmap NSE: smb-enum-shares (anonymous share listing)",
)
