"""The `auditor` command. Only this package prints errors and chooses exit codes."""

from auditor.cli import audit, history, inventory, rules  # noqa: F401 - registers the commands
from auditor.cli.base import cli


def main() -> None:
    cli(prog_name="auditor")


__all__ = ["cli", "main"]
