"""The `auditor` command. Only this package prints errors and chooses exit codes."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import click

from auditor.cli.base import cli
from auditor.exitcodes import ExitCode

_NO_ARGS: type[click.UsageError] = getattr(click.exceptions, "NoArgsIsHelpError", click.UsageError)


def main() -> None:
    """Run the command; a bug becomes exit 4 with one line, never a traceback or a verdict.

    Exit 1 means NO-GO to every pipeline, so an unexpected exception must not exit 1: it
    exits INTERNAL_ERROR with the path of a log holding the traceback.
    """
    try:
        # Every option can also come from the environment: AUDITOR_<COMMAND>_<OPTION>, e.g.
        # AUDITOR_AUDIT_FAIL_ON=medium (docs/ci.md).
        code = cli.main(prog_name="auditor", standalone_mode=False, auto_envvar_prefix="AUDITOR")
    except click.UsageError as exc:
        if type(exc) is not click.UsageError and isinstance(exc, _NO_ARGS):
            click.echo(exc.format_message(), err=True)  # `auditor` alone: its help
            sys.exit(ExitCode.BAD_INPUT)
        # One line, like every other bad input (docs/exit-codes.md), naming the help.
        command = exc.ctx.command_path if exc.ctx else "auditor"
        click.echo(f"auditor: error: {exc.format_message()} (see `{command} --help`)", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    except click.ClickException as exc:
        click.echo(f"auditor: error: {exc.format_message()}", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    except click.exceptions.Abort:
        sys.exit(130)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - the last line of defence
        log = _crash_log()
        sys.stderr.write(
            f"auditor: internal error: {type(exc).__name__}: {str(exc)[:200]} "
            f"(this is a bug; the traceback is in {log}; please report it)\n"
        )
        sys.exit(ExitCode.INTERNAL_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


def _crash_log() -> str:
    """Write the current traceback to a private file and return its path."""
    folder = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
    folder = folder / "server-auditor"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
        path.touch(mode=0o600)
    except OSError:
        fd, name = tempfile.mkstemp(prefix="auditor-crash-", suffix=".log")
        os.close(fd)
        path = Path(name)
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return str(path)


__all__ = ["cli", "main"]
