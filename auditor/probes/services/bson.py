"""The sliver of BSON the MongoDB check needs: encode a flat command, decode a reply.

Written out instead of depending on pymongo for one command; unknown element types end the
decode with an error (fail closed) rather than a guess.
"""

from __future__ import annotations

import struct
from typing import Any

from auditor.probes.services.wire import ServiceError


def encode(document: dict[str, Any]) -> bytes:
    body = bytearray()
    for key, value in document.items():
        name = key.encode() + b"\x00"
        if isinstance(value, bool):
            body += b"\x08" + name + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            body += b"\x10" + name + struct.pack("<i", value)
        elif isinstance(value, str):
            data = value.encode() + b"\x00"
            body += b"\x02" + name + struct.pack("<i", len(data)) + data
        else:
            raise TypeError(f"cannot encode {type(value).__name__}")
    return struct.pack("<i", len(body) + 5) + bytes(body) + b"\x00"


MAX_DEPTH = 32


def decode(data: bytes) -> dict[str, Any]:
    """A BSON document from a server; anything malformed is a ServiceError, nothing else."""
    try:
        document, _ = _document(data, 0)
    except (struct.error, ValueError, IndexError) as exc:
        raise ServiceError(f"malformed BSON: {exc}") from None
    return document


def _document(data: bytes, offset: int, depth: int = 0) -> tuple[dict[str, Any], int]:
    if depth > MAX_DEPTH:
        raise ServiceError(f"BSON nested deeper than {MAX_DEPTH} levels")
    if offset + 5 > len(data):
        raise ServiceError("truncated BSON document")
    (size,) = struct.unpack_from("<i", data, offset)
    end = offset + size
    if size < 5 or end > len(data):
        raise ServiceError("invalid BSON document size")
    position = offset + 4
    result: dict[str, Any] = {}
    while position < end - 1:
        kind = data[position]
        name_end = data.index(b"\x00", position + 1)
        key = data[position + 1 : name_end].decode(errors="replace")
        position = name_end + 1
        result[key], position = _value(kind, data, position, depth)
        if position > end:
            raise ServiceError("BSON element runs past its document")
    return result, end


def _value(kind: int, data: bytes, position: int, depth: int) -> tuple[Any, int]:
    if kind == 0x01:
        return struct.unpack_from("<d", data, position)[0], position + 8
    if kind == 0x02:
        (length,) = struct.unpack_from("<i", data, position)
        if length < 1:
            raise ServiceError("negative BSON string length")
        start = position + 4
        return data[start : start + length - 1].decode(errors="replace"), start + length
    if kind in (0x03, 0x04):
        inner, end = _document(data, position, depth + 1)
        return (list(inner.values()) if kind == 0x04 else inner), end
    if kind == 0x08:
        return data[position] == 1, position + 1
    if kind == 0x0A:
        return None, position
    if kind == 0x10:
        return struct.unpack_from("<i", data, position)[0], position + 4
    if kind in (0x11, 0x12):
        return struct.unpack_from("<q", data, position)[0], position + 8
    if kind == 0x07:
        return data[position : position + 12].hex(), position + 12
    if kind == 0x09:
        return struct.unpack_from("<q", data, position)[0], position + 8
    raise ServiceError(f"unsupported BSON element type {kind:#x}")
