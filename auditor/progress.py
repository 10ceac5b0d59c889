"""Progress on stderr for long runs; silent when stderr is not a terminal (CI logs)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.done = 0
        self.enabled = enabled and total > 0 and self.stream.isatty()
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def advance(self, label: str) -> None:
        with self._lock:
            self.done += 1
            if self.enabled:
                elapsed = time.monotonic() - self._started
                self.stream.write(
                    f"\r\033[K[{self.done}/{self.total}] {elapsed:5.1f}s  {label[:60]}"
                )
                self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
