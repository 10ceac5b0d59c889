"""Certificates for the lab's TLS servers, made by `openssl` as an operator would.

One lab CA signs every certificate except the self-signed one; tests make the auditor
trust it through OpenSSL's own `SSL_CERT_FILE`, as a user does for a private CA. Each
kind is one way a vendor's certificate goes wrong:

- `good`: signed by the lab CA for the host's address, RSA 2048, SHA-256, 90 days;
- `expired`: the same, valid from 2024-01-01 to 2024-06-30 (`openssl ca -startdate`);
- `self-signed`: its own issuer;
- `weak`: RSA 1024 signed with SHA-1;
- `wrong-name`: signed by the lab CA for `other.example`, not the host's address.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

KINDS = ("good", "expired", "self-signed", "weak", "wrong-name")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def lab_ca(folder: Path) -> Path:
    """The lab CA's certificate (made once per folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert = folder / "ca.pem"
    if not cert.exists():
        _openssl(
            *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-sha256"),
            *("-subj", "/CN=auditor lab CA", "-keyout", "ca.key", "-out", "ca.pem"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
            cwd=folder,
        )
        (folder / "index.txt").write_text("")
        (folder / "serial").write_text("1000\n")
        (folder / "ca.cnf").write_text(
            "[ca]\ndefault_ca = lab\n[lab]\ndir = .\ndatabase = index.txt\n"
            "new_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = any\n"
            "unique_subject = no\ncopy_extensions = copy\n[any]\ncommonName = supplied\n"
        )
    return cert


def certificate(folder: Path, kind: str, ip: str) -> tuple[Path, Path]:
    """(certificate, key) of one kind for a server at `ip`, signed in `folder`'s CA."""
    if kind not in KINDS:
        raise ValueError(f"unknown certificate kind {kind!r}")
    lab_ca(folder)
    cert, key = folder / f"{kind}-{ip}.pem", folder / f"{kind}-{ip}.key"
    if cert.exists():
        return cert, key
    names = "DNS:other.example" if kind == "wrong-name" else f"IP:{ip}"
    bits = "rsa:1024" if kind == "weak" else "rsa:2048"
    if kind == "self-signed":
        _openssl(
            *("req", "-x509", "-newkey", bits, "-nodes", "-days", "90", "-sha256"),
            *("-subj", f"/CN={ip}", "-addext", f"subjectAltName={names}"),
            *("-keyout", key.name, "-out", cert.name),
            cwd=folder,
        )
        return cert, key
    request = folder / f"{kind}-{ip}.csr"
    _openssl(
        *("req", "-new", "-newkey", bits, "-nodes", "-subj", f"/CN={ip}"),
        *("-addext", f"subjectAltName={names}", "-keyout", key.name, "-out", request.name),
        cwd=folder,
    )
    dates = (
        ("-startdate", "20240101000000Z", "-enddate", "20240630000000Z")
        if kind == "expired"
        else ("-days", "90")
    )
    _openssl(
        *("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key"),
        *("-md", "sha1" if kind == "weak" else "sha256", *dates, "-notext"),
        *("-in", request.name, "-out", cert.name),
        cwd=folder,
    )
    return cert, key
