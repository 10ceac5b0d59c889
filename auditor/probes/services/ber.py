"""The little BER that SNMP and LDAP need: encode a request, decode a reply, bounded.

A reply is the server's bytes: every length is checked against what is left, nesting is
limited, and anything malformed is a `ServiceError` for that port alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.probes.services.wire import ServiceError


def tlv(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        return bytes([tag, size]) + value
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + value


def integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def octets(value: bytes) -> bytes:
    return tlv(0x04, value)


def sequence(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.insert(0, 0x80 | (part & 0x7F))
            part >>= 7
        body += bytes(chunk)
    return tlv(0x06, body)


@dataclass(frozen=True)
class Element:
    tag: int
    value: bytes

    def children(self) -> list[Element]:
        """The TLVs inside this one (one level: callers descend a fixed, known depth)."""
        return elements(self.value)

    def as_int(self) -> int:
        if self.tag != 0x02 or not 1 <= len(self.value) <= 8:
            raise ServiceError("not a BER integer")
        return int.from_bytes(self.value, "big", signed=True)


def elements(data: bytes) -> list[Element]:
    """The TLVs one after the other in `data` (one level)."""
    found: list[Element] = []
    at = 0
    while at < len(data):
        if len(found) > 64:
            raise ServiceError("too many BER elements")
        if at + 2 > len(data):
            raise ServiceError("truncated BER header")
        tag, first = data[at], data[at + 1]
        at += 2
        if first & 0x80:
            count = first & 0x7F
            if not 1 <= count <= 3 or at + count > len(data):
                raise ServiceError("bad BER length")
            size = int.from_bytes(data[at : at + count], "big")
            at += count
        else:
            size = first
        if at + size > len(data):
            raise ServiceError("BER length past the end of the datagram")
        found.append(Element(tag, data[at : at + size]))
        at += size
    return found
