"""`auditor merge`: one report and one verdict from the JSON reports of `--shard K/N` runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from auditor import __version__
from auditor.cli.base import cli, log, user_errors
from auditor.cli.emit import emit
from auditor.cli.options import HISTORY, NO_HISTORY, REPORT_SCHEMA
from auditor.cli.outputs import destinations as output_destinations
from auditor.cli.outputs import open_outputs
from auditor.history import History, default_path, inventory_key
from auditor.merge import merge


@cli.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    metavar="FORMAT[=FILE]",
    help="Output format, to stdout or as FORMAT=FILE; repeatable (as for `audit`).",
)
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(path_type=Path))
@click.option(
    "--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True
)
@REPORT_SCHEMA
@HISTORY
@NO_HISTORY
@user_errors
def merge_command(
    reports: tuple[Path, ...],
    formats: tuple[str, ...],
    outputs: tuple[Path, ...],
    color: str,
    report_schema: int,
    history_path: Path | None,
    no_history: bool,
) -> None:
    """Merge the JSON reports of every shard of one run into one report and verdict.

    \b
    Reads reports of schema 1 or 2. Refused (exit 2): reports of another inventory,
    rule packs or auditor version, a shard missing or given twice, a server in two
    shards. Exit code: as `audit` (0/1/3). The merged run is recorded in the run
    history (as `audit` does), so `auditor diff` compares it with earlier runs.
    Example:
      auditor merge shard-1.json shard-2.json shard-3.json -f table -f sarif=merged.sarif
    """
    destinations = output_destinations(formats, outputs)
    report = merge(list(reports))
    writers = open_outputs(destinations)
    if not no_history:  # the merged run is a run of the inventory, as if audited at once
        history = History(history_path or default_path())
        run_id = history.start(inventory_key(report.inventory), _time(report.started), __version__)
        for result in report.results:
            history.record_target(run_id, result)
        history.finish(run_id, report)
        history.close()
        log.info("recorded the merged run as run %s in %s", run_id, history.path)
    emit(report, destinations, writers, color, None, report_schema)


def _time(moment: datetime) -> str:
    return moment.isoformat()
