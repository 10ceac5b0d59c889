"""`auditor history` and `auditor diff`: what earlier runs found and what changed."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.base import cli, user_errors
from auditor.cli.emit import listing_width
from auditor.history import History, default_path, diff, inventory_key
from auditor.reporting.table import fit, grid


@cli.command("history")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="History database.")
@click.option("-n", "--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@user_errors
def history_command(db: Path | None, limit: int) -> None:
    """List recorded runs, newest first."""
    store = History(db or default_path())
    rows = [
        [str(r.id), r.started[:19], r.status, r.verdict or "-", r.inventory]
        for r in store.runs(limit)
    ]
    _table(["run", "started (UTC)", "status", "verdict", "inventory"], rows)


@cli.command("diff")
@click.argument("run_a", type=int, required=False)
@click.argument("run_b", type=int, required=False)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="History database.")
@click.option("--inventory", "inventory_path", help="Compare the last two runs of this inventory.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@user_errors
def diff_command(
    run_a: int | None, run_b: int | None, db: Path | None, inventory_path: str | None, fmt: str
) -> None:
    """Show new, resolved, waived and still-open failing findings between two runs.

    \b
    Default: the last two finished runs of the same inventory.
    Examples:
      auditor diff
      auditor diff 12 15 -f json
    """
    store = History(db or default_path())
    if run_a is None or run_b is None:
        if run_a is not None or run_b is not None:
            raise click.UsageError("give two runs, or none for the last two")
        run_a, run_b = store.last_two(inventory_key(inventory_path) if inventory_path else None)
    first, second = store.run(run_a), store.run(run_b)
    for run in (first, second):
        if run.finished is None:
            raise click.UsageError(
                f"run {run.id} was interrupted: it did not judge every server, so a diff "
                "against it would call findings resolved that were never checked"
            )
    if first.inventory != second.inventory:
        raise click.UsageError(
            f"runs {run_a} and {run_b} audited different inventories ({first.inventory} and "
            f"{second.inventory}): compare runs of one inventory (--inventory FILE)"
        )
    changes = diff(store.findings(run_a), store.findings(run_b), store.complete_targets(run_b))
    if fmt == "json":
        payload = {"from": run_a, "to": run_b, "changes": [c.__dict__ for c in changes]}
        click.echo(json.dumps(payload, indent=2))
        return
    order = {"new": 0, "open": 1, "unverified": 2, "waived": 3, "resolved": 4}
    rows = [
        [c.target, c.change, c.severity, c.rule, c.resource, c.message]
        for c in sorted(changes, key=lambda c: (c.target, order[c.change], c.rule))
    ]
    click.echo(f"run {run_a} → run {run_b}")
    _table(["server", "change", "severity", "rule", "resource", "message"], rows)
    counts = {k: sum(c.change == k for c in changes) for k in order}
    click.echo(
        f"{counts['new']} new, {counts['resolved']} resolved, {counts['waived']} waived "
        f"(still failing), {counts['open']} still open, "
        f"{counts['unverified']} not re-checked (errors or missing in run {run_b})"
    )


def _table(headers: list[str], rows: list[list[str]]) -> None:
    """The report table's renderer: every cell made safe, the last column fit to the
    terminal."""
    widths = fit(headers, rows, listing_width())
    click.echo("\n".join(grid(headers, rows, widths)))
