"""What a reporter is: it receives the finished report and only renders it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from auditor.models import Report


class Reporter(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def render(self, report: Report) -> str:
        """The whole output as text, ending with a newline."""
