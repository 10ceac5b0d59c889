"""`auditor inventory check`: validate an inventory and its rule packs without probing."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.base import cli, rules_dir_option, user_errors
from auditor.inventory import load_inventory
from auditor.rules import catalog_for


@cli.group()
def inventory() -> None:
    """Validate inventories without probing anything."""


@inventory.command("check")
@click.argument("inventory_file", type=click.Path(path_type=Path))
@rules_dir_option
@user_errors
def inventory_check(inventory_file: Path, rules_dirs: tuple[Path, ...]) -> None:
    """Check an inventory and the rule packs it names; exit 2 with the first error."""
    inv = load_inventory(inventory_file)
    catalog = catalog_for(inv, search=rules_dirs)
    click.echo(
        f"{inventory_file}: ok: {len(inv.targets)} server(s), scope {inv.scope}, "
        f"{len(catalog.all_rules())} rule(s) from {len(catalog.packs)} pack(s)"
    )
