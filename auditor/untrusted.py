"""Text from servers is hostile until it passes through here.

Banners, version strings, algorithm and module names, error replies: anything a server says
can carry terminal escapes (clear the screen, rewrite the window title, hide a line),
bidirectional overrides that reorder what a reader sees, or sheer length. The engine runs
every probe's facts, errors and notes through `clean_facts` as they arrive, so no report
format ever receives raw server text; each format then escapes its own markup (Markdown,
XML, HTML) on top of this.

Control characters become visible escapes (`\\x1b`), not deletions, so evidence still shows
that a server sent them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

MAX_TEXT = 2048
"""Longest string kept from a server, in characters (evidence is a few lines, not a dump)."""
MAX_ITEMS = 1000
"""Longest list or mapping kept from a server's facts."""
MAX_DEPTH = 32

_BIDI = {
    "\u061c",  # arabic letter mark
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    *(chr(c) for c in range(0x202A, 0x202F)),  # embeddings and overrides
    *(chr(c) for c in range(0x2066, 0x206A)),  # isolates
}


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _unsafe(char: str) -> bool:
    if char in _BIDI:
        return True
    category = unicodedata.category(char)
    # Cc: C0/C1 controls and DEL; Cs: lone surrogates; Cf beyond bidi (zero-width
    # joiners...) are harmless to terminals and kept.
    return category in ("Cc", "Cs")


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """One line of printable text: controls and bidi overrides escaped, length capped."""
    if text.isascii() and text.isprintable() and len(text) <= limit:
        return text  # the common case, kept fast
    # Escaping only lengthens text, so nothing past `limit` characters can be shown: a
    # 4 MB banner costs what a short one does.
    out = "".join(_visible(c) if _unsafe(c) else c for c in text[: limit + 1])
    return out if len(out) <= limit else out[: limit - 1] + "…"


def clean_facts(value: Any, depth: int = 0) -> Any:
    """Facts with every string cleaned and every container bounded."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ITEMS]
        return {clean(str(k), 200): clean_facts(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [clean_facts(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return clean(str(value))


MAX_JSON_DEPTH = 64


def json_too_deep(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON nests deeper than `limit`, measured outside strings in one linear pass.

    Python's parser recurses: a 60,000-deep document raises RecursionError (or crashes
    under a smaller stack), so depth is checked before parsing anything from outside.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False
