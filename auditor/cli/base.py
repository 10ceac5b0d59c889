"""The `auditor` command group and what every subcommand shares: one place where an
AuditorError becomes one line on stderr and exit code 2."""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor import __version__
from auditor.errors import AuditorError
from auditor.exitcodes import ExitCode

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("auditor")


def user_errors(func: F) -> F:
    """Turn an AuditorError into one line on stderr and exit code 2 (bad input)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AuditorError as exc:
            click.echo(f"auditor: error: {exc}", err=True)
            sys.exit(ExitCode.BAD_INPUT)

    return wrapper  # type: ignore[return-value]


class LazyGroup(click.Group):
    """A command group that imports a command's module only when that command runs.

    The audit command pulls in paramiko, boto3, the CEL binding and every probe; `auditor
    --help`, `auditor verify` or shell completion should not pay for that. Each command is
    declared here by name, module and one-line help; its module registers it with
    `@cli.command()` when imported.
    """

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            importlib.import_module(self.lazy[cmd_name][0])
        return self.commands.get(cmd_name)

    def _short(self, name: str) -> str:
        return self.commands[name].get_short_help_str()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, self.lazy[name][1] if name in self.lazy else self._short(name))
            for name in self.list_commands(ctx)
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("auditor.cli.audit", "Audit every server of an inventory and gate its launch."),
    "scan": ("auditor.cli.audit", "Ad-hoc audit of HOSTS without an inventory."),
    "merge": ("auditor.cli.merge", "Merge shard reports into one verdict."),
    "diff": ("auditor.cli.history", "What changed between two runs."),
    "history": ("auditor.cli.history", "Recent runs recorded in the history."),
    "inventory": ("auditor.cli.inventory", "Inventory commands (check)."),
    "rules": ("auditor.cli.rules", "Rule pack commands (list, show)."),
    "verify": ("auditor.cli.verify", "Verify a signed evidence bundle."),
}
"""Every command: the module that defines it, and its line in `auditor --help`."""


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
@click.option("-v", "--verbose", count=True, help="More log detail on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Agentless audit of newly built servers: GO / NO-GO before they go live.

    \b
    Exit codes: 0 GO, 1 NO-GO (findings), 2 bad input, 3 incomplete audit,
    4 internal error (a bug: see the log it names).
    Examples:
      auditor audit inventories/lab.yaml
      auditor scan 127.0.0.1 --ports 22,80,6379
      auditor rules list
    """
    logging.basicConfig(stream=sys.stderr, format="auditor: %(levelname)s: %(message)s")
    ctx.obj = {"quiet": False, "verbose": 0}
    verbosity(ctx, verbose, quiet)


def verbosity(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Apply -v/-q, given before the command or after it (`auditor audit -q inv.yaml`)."""
    obj = ctx.find_root().obj
    obj["verbose"] = max(obj.get("verbose", 0), verbose)
    obj["quiet"] = obj.get("quiet", False) or quiet
    level = (
        logging.ERROR
        if obj["quiet"]
        else [logging.WARNING, logging.INFO, logging.DEBUG][min(obj["verbose"], 2)]
    )
    logging.getLogger().setLevel(level)
    # paramiko logs a traceback for every refused handshake, which the SSH probes cause on
    # purpose (one per host-key type); the probes report real failures as error facts.
    paramiko_level = logging.DEBUG if obj["verbose"] >= 2 else logging.CRITICAL
    logging.getLogger("paramiko").setLevel(paramiko_level)


def _after_command(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if param.name == "verbose" and value:
        verbosity(ctx, int(value), False)
    elif param.name == "quiet" and value:
        verbosity(ctx, 0, True)
    return value


verbosity_options = [
    click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_after_command,
        help="More log detail on stderr (-vv for debug); also accepted before the command.",
    ),
    click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_after_command,
        help="Only errors on stderr; no progress; also accepted before the command.",
    ),
]


rules_dir_option = click.option(
    "--rules-dir",
    "rules_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Extra folder of rule packs, searched before the built-in ones.",
)
