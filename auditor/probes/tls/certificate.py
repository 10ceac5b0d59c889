"""What a server's certificate says, as facts: dates, issuer, key, names, signature.

Parsed with `cryptography` (already a dependency through paramiko). Every string that
comes from the certificate is the server's text: it is shown only through `printable`
and bounded, like any banner.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from auditor.probes.services.wire import printable

MAX_NAMES = 50
"""Subject alternative names kept as facts (a CDN certificate may carry hundreds)."""


def certificate_facts(der: bytes, hostname: str, now: datetime | None = None) -> dict[str, Any]:
    """Facts of a DER certificate, checked against `hostname` (the inventory's address)."""
    now = now or datetime.now(UTC)
    cert = x509.load_der_x509_certificate(der)
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    key_type, key_bits = _key(cert)
    names = _names(cert)
    hash_algorithm = cert.signature_hash_algorithm
    return {
        "subject": printable(cert.subject.rfc4514_string().encode(), 200),
        "issuer": printable(cert.issuer.rfc4514_string().encode(), 200),
        "names": [printable(n.encode(), 100) for n in names[:MAX_NAMES]],
        "not_before": not_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": int((not_after - now).total_seconds() // 86400),
        "expired": now > not_after,
        "not_yet_valid": now < not_before,
        "self_signed": _self_signed(cert),
        "key_type": key_type,
        "key_bits": key_bits,
        "signature_hash": hash_algorithm.name if hash_algorithm is not None else "none",
        "hostname": hostname,
        "hostname_match": matches(names, hostname),
    }


def _key(cert: x509.Certificate) -> tuple[str, int]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448", 456
    return type(key).__name__.lower(), 0


def _self_signed(cert: x509.Certificate) -> bool:
    """Issued by itself: issuer is subject and its own key verifies the signature."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _names(cert: x509.Certificate) -> list[str]:
    """DNS names and IP addresses the certificate is for: its subject alternative names,
    else (as old clients still do) its subject's common name."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return [str(a.value) for a in common]
    dns = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    return dns + [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def matches(names: list[str], hostname: str) -> bool:
    """RFC 6125: an IP address matches an IP entry exactly; a DNS name matches a DNS entry
    case-insensitively, a wildcard only as the whole left-most label (`*.example.com`
    covers `www.example.com`, not `example.com` nor `a.b.example.com`)."""
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        address = None
    for name in names:
        if address is not None:
            try:
                if ipaddress.ip_address(name) == address:
                    return True
            except ValueError:
                continue
            continue
        wanted, offered = hostname.lower().rstrip("."), name.lower().rstrip(".")
        if offered == wanted:
            return True
        if offered.startswith("*.") and "." in wanted:
            head, rest = wanted.split(".", 1)
            if head and offered[2:] == rest and "*" not in rest:
                return True
    return False
