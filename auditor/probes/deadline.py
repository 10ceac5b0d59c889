"""A deadline shared by every step of one probe's conversation with one server."""

from __future__ import annotations

import time


class Deadline:
    def __init__(self, seconds: float, *, end: float | None = None) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds if end is None else end

    def sub(self, seconds: float) -> Deadline:
        """A deadline for one step: at most `seconds`, and never past this one."""
        end = min(self.end, time.monotonic() + seconds)
        return Deadline(min(seconds, self.seconds), end=end)

    def remaining(self) -> float:
        """Seconds left for the next step; TimeoutError once the deadline has passed."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete answer within {self.seconds:g}s")
        return left
