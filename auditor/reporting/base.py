"""What a reporter is: it receives the finished report and only renders it.

`write` is what the CLI calls: a format that can stream (JSON) writes server by server as it
reads the spooled results, so a 10,000-server report never exists whole in memory; the
others render to text first (`render`), which costs a few KB per server.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Protocol

from auditor.models import Report


class Sink(Protocol):
    """Where a reporter writes: a text file, or the terminal."""

    def write(self, text: str, /) -> int: ...


class Reporter(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def render(self, report: Report) -> str:
        """The whole output as text, ending with a newline."""

    def write(self, report: Report, out: Sink) -> None:
        out.write(self.render(report))
