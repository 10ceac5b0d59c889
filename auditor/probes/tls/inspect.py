"""One TLS port, inspected: versions offered, weak suites taken, the certificate, trust.

Connections, each under the port's deadline:
1. a handshake that accepts anything the server offers (every version, every suite,
   OpenSSL's security level 0, no verification): the version and suite a client gets,
   and the certificate, whatever its state;
2. the same handshake verifying the chain against the system's trust store (OpenSSL's
   default paths: `SSL_CERT_FILE` and `SSL_CERT_DIR` name a private CA's);
3. our own ClientHello for each of SSLv3 to TLS 1.2 (`hello.py`): which ones it takes;
4. our own ClientHello offering only weak suites, again without each suite it takes, so
   every weak suite it accepts is named (at most `len(WEAK)` rounds, usually one).

A handshake that stalls, a reply that is not TLS, or a deadline that runs out is an error
for this port: its rules are `error`, never `pass`.
"""

from __future__ import annotations

import functools
import os
import select
import socket
import ssl
from typing import Any

from auditor.probes.deadline import Deadline
from auditor.probes.services.wire import ServiceError, connect, permissive_context
from auditor.probes.tls.certificate import certificate_facts
from auditor.probes.tls.hello import ServerHello, offer
from auditor.probes.tls.suites import USUAL, VERSIONS, WEAK

LEGACY_VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2")
"""Probed with our own ClientHello; TLS 1.3 is known from the first handshake."""


def inspect(
    ip: str, port: int, hostname: str, server_name: str | None, deadline: Deadline
) -> dict[str, Any]:
    """The TLS facts of ip:port (see docs/tls.md); raises ServiceError when the port does
    not complete a handshake in time or answers with something that is not TLS."""
    version, cipher, der = _handshake(ip, port, server_name, deadline, verify=False)
    trusted, trust_error = True, ""
    try:
        _handshake(ip, port, server_name, deadline, verify=True)
    except ssl.SSLCertVerificationError as exc:
        trusted, trust_error = False, str(exc.verify_message or exc.reason or "not trusted")
    offered = [name for name in LEGACY_VERSIONS if _takes(ip, port, name, server_name, deadline)]
    if version == "TLSv1.3":
        offered.append("TLSv1.3")
    weak = _weak_suites(ip, port, offered, server_name, deadline)
    certificate = certificate_facts(der, hostname) | {
        "trusted": trusted,
        "trust_error": trust_error,
    }
    return {
        "version": version,
        "cipher": cipher,
        "versions": offered,
        "weak_ciphers": [WEAK[s][0] for s in weak],
        "weak_kinds": sorted({WEAK[s][1] for s in weak}),
        "certificate": certificate,
    }


def _context(verify: bool) -> ssl.SSLContext:
    return _made(verify, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _made(verify: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """The two contexts, made once per trust store (`verify` loads it, which is the costly
    part; SSL_CERT_FILE and SSL_CERT_DIR decide it, hence the key). Both offer every suite
    OpenSSL has, NULL ones included: judge the server, do not refuse it."""
    return permissive_context("ALL:COMPLEMENTOFALL:@SECLEVEL=0", trust=verify)


def _handshake(
    ip: str, port: int, server_name: str | None, deadline: Deadline, *, verify: bool
) -> tuple[str, str, bytes]:
    """(version, suite, DER certificate) of one complete handshake, under the deadline:
    the socket is non-blocking and every wait is a `select` on what is left of it, so a
    server sending one byte a second cannot stretch the handshake past it."""
    with connect(ip, port, deadline) as raw:
        raw.setblocking(False)
        sock = _context(verify).wrap_socket(
            raw, server_hostname=server_name, do_handshake_on_connect=False
        )
        try:
            while True:
                try:
                    sock.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    _wait(sock, deadline, read=True)
                except ssl.SSLWantWriteError:
                    _wait(sock, deadline, read=False)
            der = sock.getpeercert(binary_form=True)
            version, cipher = sock.version() or "", (sock.cipher() or ("",))[0]
        except ssl.SSLCertVerificationError:
            raise
        except ssl.SSLError as exc:
            raise ServiceError(f"TLS handshake failed: {exc.reason or exc}") from None
        except OSError as exc:
            raise ServiceError(f"TLS handshake failed: {exc.strerror or exc}") from None
        finally:
            sock.close()
    if not der:
        raise ServiceError("the server sent no certificate")
    return version, cipher, der


def _wait(sock: socket.socket, deadline: Deadline, *, read: bool) -> None:
    try:
        left = deadline.remaining()
    except TimeoutError:
        raise ServiceError(f"TLS handshake not complete within {deadline.seconds:g}s") from None
    ready = select.select([sock] if read else [], [] if read else [sock], [], left)
    if not any(ready):
        raise ServiceError(f"TLS handshake not complete within {deadline.seconds:g}s")


def _takes(ip: str, port: int, name: str, server_name: str | None, deadline: Deadline) -> bool:
    version = VERSIONS[name]
    answer = offer(ip, port, version, (*USUAL, *WEAK), server_name, deadline)
    return answer is not None and answer.version == version


def _weak_suites(
    ip: str, port: int, offered: list[str], server_name: str | None, deadline: Deadline
) -> list[int]:
    """Every weak suite the server takes at the newest version it speaks up to TLS 1.2."""
    legacy = [VERSIONS[v] for v in offered if v in LEGACY_VERSIONS]
    if not legacy:
        return []  # TLS 1.3 only: it has no weak suites to offer
    version = max(legacy)
    left = list(WEAK)
    taken: list[int] = []
    while left:
        answer: ServerHello | None = offer(ip, port, version, left, server_name, deadline)
        if answer is None or answer.suite not in left:
            break
        taken.append(answer.suite)
        left.remove(answer.suite)
    return taken
