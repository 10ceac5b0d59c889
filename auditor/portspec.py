"""Port lists in the subset of nmap syntax the inventory accepts: `22,80,8000-8100`.

Parsed once at load so that a typo is an input error (exit 2) and not a failed scan, and so
that the fallback scanner and the "declared but not scanned" logic agree with nmap.
"""

from __future__ import annotations

import re

_PART = re.compile(r"^([1-9]\d{0,4})(?:-([1-9]\d{0,4}))?$")


def parse_ports(spec: str) -> tuple[range, ...]:
    """Return the ranges a spec names, or raise ValueError with the offending part."""
    spec = spec.strip()
    if spec.upper().startswith("T:"):
        spec = spec[2:]
    if not spec:
        raise ValueError("empty port list")
    ranges: list[range] = []
    for part in spec.split(","):
        match = _PART.match(part.strip())
        if not match:
            raise ValueError(f"'{part}' is not a port or a range like 8000-8100 (no leading zeros)")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"'{part}' is outside 1-65535 or reversed")
        ranges.append(range(low, high + 1))
    return tuple(ranges)


def contains(spec: str, port: int) -> bool:
    return any(port in r for r in parse_ports(spec))


def normalise(spec: str) -> str:
    """Canonical text for a spec (sorted, merged), usable as a grouping key."""
    merged: list[list[int]] = []
    for r in sorted(parse_ports(spec), key=lambda r: r.start):
        if merged and r.start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], r.stop - 1)
        else:
            merged.append([r.start, r.stop - 1])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in merged)
