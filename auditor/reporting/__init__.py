"""Output formats. This registry is the one place a format is added (`--format` choices)."""

from __future__ import annotations

from auditor.reporting.base import Reporter
from auditor.reporting.html import HtmlReporter
from auditor.reporting.json import JsonReporter
from auditor.reporting.junit import JunitReporter
from auditor.reporting.markdown import MarkdownReporter
from auditor.reporting.sarif import SarifReporter
from auditor.reporting.table import TableReporter

REPORTERS: dict[str, type[Reporter]] = {
    reporter.name: reporter
    for reporter in (
        TableReporter,
        JsonReporter,
        SarifReporter,
        JunitReporter,
        MarkdownReporter,
        HtmlReporter,
    )
}

__all__ = ["REPORTERS", "Reporter"]
