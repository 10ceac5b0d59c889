"""Regular expressions from user files, run in linear time.

A regex in a network check file or a template runs against a reply a server chose. With
Python's backtracking engine, `^(a+)+$` against a 41-byte body ran past 90 s at `--timeout
5`: no deadline can interrupt `re.search` from another thread. RE2 (google-re2) matches in
time linear in the input, so a bounded body bounds every match. It has no backreferences
and no look-around: such a pattern is refused when the file is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2  # type: ignore[import-untyped]

MAX_PATTERN = 300
"""Longest pattern accepted, in characters."""


class RegexError(ValueError):
    """A pattern RE2 cannot run (syntax, backreference, look-around)."""


@dataclass(frozen=True)
class UserRegex:
    """A compiled user pattern: `search` on bytes (bodies) or text (headers)."""

    pattern: str
    ignore_case: bool
    _bytes: Any
    _text: Any

    @property
    def groups(self) -> int:
        """How many capturing groups the pattern has."""
        return int(self._bytes.groups)

    def search(self, data: bytes) -> Any:
        """The first match in `data` (RE2's match object: `.group()`), or None."""
        return self._bytes.search(data)

    def search_text(self, text: str) -> bool:
        return self._text.search(text) is not None

    def sub(self, replacement: bytes, data: bytes) -> bytes:
        """Every match in `data` replaced (redaction)."""
        return bytes(self._bytes.sub(replacement.replace(b"\\", b"\\\\"), data))


def compile_user_regex(pattern: str, *, ignore_case: bool = False) -> UserRegex:
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"a regex is at most {MAX_PATTERN} characters")
    options = re2.Options()
    options.log_errors = False  # RE2 would print parse errors to stderr itself
    options.case_sensitive = not ignore_case
    options.max_mem = 8 << 20  # a pattern's compiled program stays small
    try:
        as_bytes = re2.compile(pattern.encode("utf-8"), options)
        as_text = re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise RegexError(f"not a regex RE2 can run in linear time: {detail}") from None
    return UserRegex(pattern, ignore_case, as_bytes, as_text)
