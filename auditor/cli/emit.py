"""Printing a report: every requested format, the verdict line, the exit code."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from dataclasses import replace
from typing import NoReturn

import click

from auditor.cli.base import log
from auditor.cli.outputs import Destination, Terminal
from auditor.exitcodes import ExitCode
from auditor.gate import exit_code
from auditor.models import Report, Severity, Status, TargetResult
from auditor.reporting import REPORTERS
from auditor.reporting.base import Reporter
from auditor.reporting.common import verdict_line
from auditor.reporting.files import Output
from auditor.reporting.json import JsonReporter
from auditor.reporting.serialize import LATEST
from auditor.reporting.table import TableReporter
from auditor.spool import mapped


def emit(
    report: Report,
    destinations: list[Destination],
    writers: list[Output | None],
    color: str,
    show_severity: str | None,
    report_schema: int = LATEST,
    alert_failures: int = 0,
) -> NoReturn:
    """Render every requested format, say the verdict, exit with its code (5 when the
    verdict is rendered but a drift alert could not be delivered)."""
    shown = _shown(report, Severity(show_severity)) if show_severity else report
    for (name, path), writer in zip(destinations, writers, strict=True):
        reporter: Reporter
        if name == "table":
            reporter = TableReporter(
                width=terminal_width(), color=writer is None and _colour(color)
            )
        elif name == "json":
            reporter = JsonReporter(report_schema)
        else:
            reporter = REPORTERS[name]()
        if writer is None:
            reporter.write(shown, Terminal())
        else:
            writer.finish(functools.partial(reporter.write, shown))
            log.info("wrote %s report to %s", name, path)
    quiet = click.get_current_context().obj["quiet"]
    if ("table", None) not in destinations and not quiet:  # a person still sees the verdict
        click.echo(f"auditor: {verdict_line(report)}", err=True)
    if alert_failures:
        sys.exit(ExitCode.ALERT_NOT_DELIVERED)
    sys.exit(exit_code(report))


def _shown(report: Report, least: Severity) -> Report:
    """The report with findings below `least` left out of what is shown; errors stay (they
    say what was not checked), and verdicts are the real ones."""

    def view(r: TargetResult) -> TargetResult:
        shown = (f for f in r.findings if f.status is Status.ERROR or f.severity.at_least(least))
        return replace(r, findings=tuple(shown))

    return replace(report, results=mapped(report.results, view))


def listing_width() -> int:
    """A plain listing's width (`history`, `rules list`): the terminal's, and no limit when
    piped, so that grep sees every title whole."""
    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return terminal_width()
    return 100_000


def terminal_width() -> int:
    """The table's width: $COLUMNS, else the terminal's, else 80 (piped or a file)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return 80


def _colour(choice: str) -> bool:
    """--color always|never wins; auto colours a terminal unless NO_COLOR is set (no-color.org)."""
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")
