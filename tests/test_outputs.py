"""Where reports go (-f, -o) and how report files are written: fast, in-process, no lab."""

from __future__ import annotations

import os
import re
import shlex
import stat
import threading
from pathlib import Path

import click
import pytest

from auditor.cli.base import cli
from auditor.cli.outputs import Output, destinations


def _route(*args: str) -> list[tuple[str, str | None]]:
    formats = tuple(args[i + 1] for i, a in enumerate(args) if a == "-f")
    outputs = tuple(Path(args[i + 1]) for i, a in enumerate(args) if a == "-o")
    return sorted((fmt, None if p is None else str(p)) for fmt, p in destinations(formats, outputs))


def test_one_rule_for_f_and_o() -> None:
    """Issue 23: `auditor audit --help`'s own example and `-f table -o a.html -o b.json`
    exited 2; -o takes its format from the extension and may repeat."""
    assert _route("-f", "table", "-f", "json", "-o", "report.json") == [
        ("json", "report.json"),
        ("table", None),
    ]
    assert _route("-f", "table", "-o", "a.html", "-o", "b.json") == [
        ("html", "a.html"),
        ("json", "b.json"),
        ("table", None),
    ]
    # The table stays on stdout unless redirected...
    assert _route("-o", "r.sarif") == [("sarif", "r.sarif"), ("table", None)]
    assert _route() == [("table", None)]
    # ...or unless another format takes stdout, or the table goes to a file.
    assert _route("-f", "json") == [("json", None)]
    assert _route("-o", "t.txt") == [("table", "t.txt")]
    assert _route("-f", "json=-") == [("json", None)]
    assert _route("-f", "sarif=x.sarif", "-f", "json") == [("json", None), ("sarif", "x.sarif")]
    # The old positional pairing still works where an extension names nothing.
    assert _route("-f", "junit", "-o", "report.junit") == [
        ("junit", "report.junit"),
        ("table", None),
    ]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("-f", "json", "-f", "sarif"), "only one format can go to stdout"),
        (("-o", "x", "-o", "y"), "cannot tell the format"),
        (("-o", "x"), "cannot tell the format"),
        (("-f", "yaml"), "unknown format"),
        (("-f", "json=a.json", "-o", "a.json"), "same file"),
        (("-f", "json="), "give a file"),
    ],
)
def test_requests_that_cannot_be_honoured_are_refused(args: tuple[str, ...], said: str) -> None:
    with pytest.raises(click.UsageError, match=said):
        _route(*args)


def _examples(command: click.Command) -> list[list[str]]:
    text = command.help or ""
    block = text.split("Examples:", 1)[1] if "Examples:" in text else ""
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("auditor ")]
    return [shlex.split(line.split("&&")[-1].strip())[1:] for line in lines]


def test_every_help_example_parses_and_routes() -> None:
    """The help's examples are run through the real parser and the output rule."""
    context = click.Context(cli)
    checked = 0
    for name in ("audit", "scan", "merge"):
        command = cli.get_command(context, name)
        assert command is not None
        for example in _examples(command):
            assert example[0] == name, example
            parsed = command.make_context(name, example[1:], parent=context)
            params = parsed.params
            destinations(params.get("formats", ()), params.get("outputs", ()))
            checked += 1
    assert checked >= 6


def test_the_readme_examples_route(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    lines = re.findall(r"^auditor (?:audit|scan|merge) [^#\n]*", readme, flags=re.M)
    context = click.Context(cli)
    assert len(lines) >= 8
    for line in lines:
        words = shlex.split(line)[1:]
        command = cli.get_command(context, words[0])
        assert command is not None
        params = command.make_context(words[0], words[1:], parent=context).params
        destinations(params.get("formats", ()), params.get("outputs", ()))


def _write(path: Path, text: str = "{}\n") -> None:
    output = Output(path)
    output.finish(lambda sink: sink.write(text) and None)


@pytest.mark.skipif(os.geteuid() != 0, reason="replacing /dev/null needs root, as CI runs")
def test_a_device_is_written_never_replaced() -> None:
    """Issue 24 #15: `-f json=/dev/null` as root replaced /dev/null with a regular file."""
    _write(Path("/dev/null"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert Path("/dev/null").read_bytes() == b""


def test_a_symlink_and_a_fifo_stay_what_they_are(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    _write(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    _write(fifo, "through the pipe\n")
    reader.join(10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_regular_file_is_replaced_whole_with_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("a much longer earlier report\n")
    _write(target, "{}\n")
    assert target.read_text() == "{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
