"""TLS protocol versions and cipher suites, declared once (IANA names and code points).

The weak suites are the classes every TLS scanner fails (testssl.sh, sslyze, nmap's
ssl-enum-ciphers, Mozilla's server-side TLS guidelines): no encryption (NULL), export grade,
RC4, single DES, 3DES (Sweet32) and anonymous key exchange (no server authentication).
They are probed with our own ClientHello, so what is found does not depend on what the
local OpenSSL still agrees to speak.
"""

from __future__ import annotations

from collections.abc import Mapping

VERSIONS: Mapping[str, int] = {
    "SSLv3": 0x0300,
    "TLSv1.0": 0x0301,
    "TLSv1.1": 0x0302,
    "TLSv1.2": 0x0303,
    "TLSv1.3": 0x0304,
}
"""Protocol names as the facts spell them, with their wire versions."""

WEAK: Mapping[int, tuple[str, str]] = {
    0x0001: ("TLS_RSA_WITH_NULL_MD5", "NULL"),
    0x0002: ("TLS_RSA_WITH_NULL_SHA", "NULL"),
    0x003B: ("TLS_RSA_WITH_NULL_SHA256", "NULL"),
    0xC006: ("TLS_ECDHE_ECDSA_WITH_NULL_SHA", "NULL"),
    0xC010: ("TLS_ECDHE_RSA_WITH_NULL_SHA", "NULL"),
    0x0003: ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "EXPORT"),
    0x0006: ("TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", "EXPORT"),
    0x0008: ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXPORT"),
    0x0014: ("TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXPORT"),
    0x0004: ("TLS_RSA_WITH_RC4_128_MD5", "RC4"),
    0x0005: ("TLS_RSA_WITH_RC4_128_SHA", "RC4"),
    0xC007: ("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "RC4"),
    0xC011: ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", "RC4"),
    0x0009: ("TLS_RSA_WITH_DES_CBC_SHA", "DES"),
    0x0015: ("TLS_DHE_RSA_WITH_DES_CBC_SHA", "DES"),
    0x000A: ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3DES"),
    0x0016: ("TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "3DES"),
    0xC008: ("TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "3DES"),
    0xC012: ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "3DES"),
    0x0018: ("TLS_DH_anon_WITH_RC4_128_MD5", "anonymous"),
    0x001B: ("TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", "anonymous"),
    0x0034: ("TLS_DH_anon_WITH_AES_128_CBC_SHA", "anonymous"),
    0x003A: ("TLS_DH_anon_WITH_AES_256_CBC_SHA", "anonymous"),
    0x00A6: ("TLS_DH_anon_WITH_AES_128_GCM_SHA256", "anonymous"),
    0xC018: ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", "anonymous"),
    0xC019: ("TLS_ECDH_anon_WITH_AES_256_CBC_SHA", "anonymous"),
}
"""Weak suites by code point: (IANA name, class)."""

USUAL: tuple[int, ...] = (
    0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,  # ECDHE with AEAD
    0x009E, 0x009F, 0xCCAA,  # DHE with AEAD
    0xC009, 0xC013, 0xC00A, 0xC014,  # ECDHE with CBC (what TLS 1.0 servers offer)
    0x0033, 0x0039, 0x009C, 0x009D, 0x002F, 0x0035,  # DHE and RSA key exchange
)  # fmt: skip
"""The suites a version probe offers besides the weak ones: enough that any server that
speaks a version at all finds a suite it takes, whatever its preferences."""
