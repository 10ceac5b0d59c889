"""How a report (or any file the user asked for) is written.

Written to a temporary file and renamed over the target only when the target is a regular
file or does not exist: `-o /dev/null` run as root once replaced `/dev/null` with a
regular file. Anything else (a device, a FIFO, a symlink such as `/dev/stdout`) is opened
and written as a shell redirection would.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from auditor.errors import InputError
from auditor.reporting.base import Sink

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once, at import, before any thread exists


class Output:
    """A report file, checked before probing (a bad path costs nothing), written at the end.

    A regular file (or a new one) is written to a temporary file beside it and renamed into
    place, so a reader never sees half a report. Anything else that exists is written in
    place and never replaced.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            info: os.stat_result | None = path.lstat()
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise self._error(exc) from None
        self.in_place = info is not None and not stat.S_ISREG(info.st_mode)
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise InputError("is a folder, not a file", path=path, hint="give a file name")
        self._handle: IO[str] | None = None
        if self.in_place:
            if not os.access(path, os.W_OK):
                raise self._error(PermissionError(13, "Permission denied"))
            return  # opened at the end: opening a FIFO waits for its reader
        try:
            self._handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open until finish
                "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
            )
        except OSError as exc:
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> InputError:
        return InputError(
            f"cannot write the report: {exc.strerror or exc}",
            path=self.path,
            hint="choose a writable -o/--output path",
        )

    def finish(self, write: Callable[[Sink], None]) -> None:
        """Let `write` stream the report out, then put it in place."""
        if self._handle is None:
            try:
                with self.path.open("w", encoding="utf-8") as handle:
                    write(handle)
            except OSError as exc:
                raise self._error(exc) from None
            return
        temporary = Path(self._handle.name)
        try:
            with self._handle:
                write(self._handle)
            temporary.chmod(0o666 & ~_UMASK)  # as if created directly (temp files are 0600)
            temporary.replace(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise self._error(exc) from None

    def discard(self) -> None:
        """Remove the temporary file of a report that will not be written."""
        if self._handle is not None:
            self._handle.close()
            with contextlib.suppress(OSError):
                Path(self._handle.name).unlink()
