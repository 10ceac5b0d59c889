"""User-facing errors: one line saying what went wrong, where, and how to fix it.

Every layer raises a subclass of :class:`AuditorError`; only the CLI prints them and maps
them to exit codes, so library users get exceptions instead of `sys.exit`.
"""

from __future__ import annotations

from pathlib import Path


class AuditorError(Exception):
    """Base of every error the auditor reports to a user."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(AuditorError):
    """A file the user gave us (inventory, rule pack, waivers) is wrong: exit code 2."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = str(path)
            if line is not None:
                where += f":{line}"
            where += ": "
        what = f"{key}: " if key else ""
        super().__init__(f"{where}{what}{message}", hint=hint)
        self.path = None if path is None else str(path)
        self.line = line
        self.key = key


class UsageError(AuditorError):
    """Command-line arguments that cannot work together: exit code 2."""


class ScopeError(AuditorError):
    """An address outside the inventory's scope was about to be touched.

    Raised before any packet is sent; it is a programming or input error, never a finding.
    """
