"""Where each report goes (`-f`, `-o`) and how a report file is written.

One rule (docs/ci.md#reports):
- `-o FILE` takes its format from the extension and may repeat;
- `-f FORMAT=FILE` is explicit;
- a plain `-f FORMAT` goes to stdout, unless an `-o FILE` already writes that format, in
  which case it is that file (so `-f table -f json -o report.json` means what it says);
- the table stays on stdout unless another format was sent there or the table itself was
  sent to a file.

How a report file is written (never renamed over a device, FIFO or symlink) is
auditor/reporting/files.py; `-` is stdout.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from auditor.reporting import REPORTERS
from auditor.reporting.files import Output

EXTENSIONS = {
    ".json": "json",
    ".sarif": "sarif",
    ".xml": "junit",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "table",
}
"""The format a report file's extension names (`-o report.sarif`)."""

STDOUT = Path("-")
"""`-o -` / `-f json=-`: the report goes to standard output."""

Destination = tuple[str, Path | None]
"""(format, file); None is standard output."""


def destinations(formats: tuple[str, ...], outputs: tuple[Path, ...]) -> list[Destination]:
    """Where each report goes, by the rule in this module's docstring; a request that
    cannot be honoured exactly is refused before anything is probed."""
    named: list[Destination] = []
    plain: list[str] = []
    for item in formats:
        fmt, sep, target = item.partition("=")
        fmt = fmt.strip().lower()
        if fmt not in REPORTERS:
            raise click.UsageError(
                f"-f {item!r}: unknown format {fmt!r} (choose from {', '.join(sorted(REPORTERS))})"
            )
        if sep:
            if not target:
                raise click.UsageError(f"-f {item!r}: give a file after '='")
            named.append((fmt, Path(target)))
        elif fmt not in plain:
            plain.append(fmt)
    unknown = [path for path in outputs if EXTENSIONS.get(path.suffix.lower()) is None]
    by_extension = [(EXTENSIONS[p.suffix.lower()], p) for p in outputs if p not in unknown]
    written = {fmt for fmt, _ in (*named, *by_extension)}
    to_stdout = [fmt for fmt in plain if fmt not in written]
    if unknown:
        # The old positional contract: `-f json -o out` with an extension that names nothing.
        if len(unknown) != 1 or len(to_stdout) != 1:
            raise click.UsageError(
                f"-o {unknown[0]}: cannot tell the format from its extension "
                f"({' '.join(sorted(EXTENSIONS))}); write -f FORMAT={unknown[0]}"
            )
        by_extension.append((to_stdout.pop(), unknown[0]))
    pairs: list[Destination] = [*named, *by_extension]
    pairs = [(fmt, None if path == STDOUT else path) for fmt, path in pairs]
    if len(to_stdout) > 1:
        raise click.UsageError(
            f"only one format can go to stdout ({', '.join(to_stdout)} asked): write the "
            "others as -o FILE or -f FORMAT=FILE"
        )
    pairs += [(fmt, None) for fmt in to_stdout]
    if not any(path is None for _, path in pairs) and "table" not in {f for f, _ in pairs}:
        pairs.append(("table", None))
    if sum(path is None for _, path in pairs) > 1:
        raise click.UsageError(
            "only one format can go to stdout: write the others as -o FILE or -f FORMAT=FILE"
        )
    files = [os.path.realpath(path) for _, path in pairs if path is not None]
    if len(files) != len(set(files)):
        raise click.UsageError("two reports would go to the same file")
    return pairs


def open_outputs(pairs: list[Destination]) -> list[Output | None]:
    """A writer per file destination (None for stdout), each checked now."""
    return [None if path is None else Output(path) for _, path in pairs]


class Terminal:
    """Standard output for a streaming reporter: through click, whose colour handling
    (already decided by --color) and encoding fallbacks the table relies on."""

    def write(self, text: str) -> int:
        click.echo(text, nl=False, color=True)
        return len(text)
