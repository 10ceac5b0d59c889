"""`auditor merge`: one report and one verdict from the JSON reports of `--shard K/N` runs."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.audit import REPORT_SCHEMA, _destinations, _open_outputs, emit
from auditor.cli.base import cli, user_errors
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
@user_errors
def merge_command(
    reports: tuple[Path, ...],
    formats: tuple[str, ...],
    outputs: tuple[Path, ...],
    color: str,
    report_schema: int,
) -> None:
    """Merge the JSON reports of every shard of one run into one report and verdict.

    \b
    Reads reports of schema 1 or 2. Refused (exit 2): reports of another inventory,
    rule packs or auditor version, a shard missing or given twice, a server in two
    shards. Exit code: as `audit` (0/1/3).
    Example:
      auditor merge shard-1.json shard-2.json shard-3.json -f table -f sarif=merged.sarif
    """
    destinations = _destinations(formats, outputs)
    writers = _open_outputs(destinations)
    emit(merge(list(reports)), destinations, writers, color, None, report_schema)
