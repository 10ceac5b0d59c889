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
import struct
import subprocess

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    ServiceError,
    connect,
    printable,
    recv_exactly,
    send,
)

REFUSED = (
    "NT_STATUS_ACCESS_DENIED",
    "NT_STATUS_LOGON_FAILURE",
    "NT_STATUS_ACCOUNT_DISABLED",
    "NT_STATUS_INVALID_PARAMETER",
)
MAX_OUTPUT = 64 * 1024


DIALECTS = (0x0202, 0x0210, 0x0300, 0x0302)
"""SMB 2.0.2 to 3.0.2: every dialect that negotiates without negotiate contexts."""
DIALECT_NAMES = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1"}


def negotiate_request() -> bytes:
    """An SMB2 NEGOTIATE (MS-SMB2 2.2.3) offering signing, with no session to follow."""
    header = b"\xfeSMB" + struct.pack("<HHIHHIIQII", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0)
    header += b"\x00" * 24  # session id and signature
    body = struct.pack("<HHHHI", 36, len(DIALECTS), 1, 0, 0) + os.urandom(16) + b"\x00" * 8
    body += b"".join(struct.pack("<H", d) for d in DIALECTS)
    message = header + body
    return struct.pack(">I", len(message)) + message


def signing(ip: str, port: int, deadline: Deadline) -> tuple[bool, str]:
    """(signing required, dialect) from the server's NEGOTIATE response (MS-SMB2 2.2.4:
    SecurityMode bit 0x02, SMB2_NEGOTIATE_SIGNING_REQUIRED), as nmap smb2-security-mode
    reads it. Nothing is authenticated."""
    with connect(ip, port, deadline) as sock:
        send(sock, negotiate_request())
        length = struct.unpack(">I", recv_exactly(sock, 4, deadline))[0]
        if not 64 + 8 <= length <= 65536:
            raise ServiceError(f"not an SMB2 answer (length {length})")
        reply = recv_exactly(sock, length, deadline)
    status = struct.unpack_from("<I", reply, 8)[0]
    if reply[:4] != b"\xfeSMB" or status != 0 or struct.unpack_from("<H", reply, 64)[0] != 65:
        raise ServiceError("no SMB2 NEGOTIATE response")
    mode, dialect = struct.unpack_from("<HH", reply, 66)
    return bool(mode & 0x02), DIALECT_NAMES.get(dialect, f"0x{dialect:04x}")


def check(ip: str, port: int, deadline: Deadline) -> Answer:
    required, dialect = signing(ip, port, deadline)
    answer = _shares(ip, port, deadline)
    details = {**answer.details, "signing_required": required, "dialect": dialect}
    return Answer(answer.unauthenticated, answer.evidence, details)


def _shares(ip: str, port: int, deadline: Deadline) -> Answer:
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
    reference="nmap NSE: smb-enum-shares (anonymous share listing), smb2-security-mode",
)
