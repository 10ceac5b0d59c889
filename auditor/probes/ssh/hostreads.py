"""Host reads as data: what the host root reads beyond its own facts, declared in YAML.

A read file (format 1, shipped in `rules/hostreads/`) names reads. Each read has:
- `id`: where its facts go, as `host.reads.<id>`;
- `command`: one of the fixed, read-only commands below, with its `args` validated against
  that command's pattern before they reach a command line;
- `parse`: one of the parsers below.

Rules judge the facts in CEL, so a new sysctl key or sudoers check needs no Python. Every
read of a server runs in the host root's one batch (one channel). A read whose command
fails or whose output cannot be parsed is named in `host.unavailable` and left out, so the
rules that read it are `error`, never `pass`. docs/host.md lists the commands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.probes.ssh.commands import MOUNT_PATH, SYSCTL_KEY
from auditor.rules.loader import builtin_rules_dir
from auditor.yamlsource import Node, load_yaml

READ_FORMAT = 1
FILE_KEYS = {"format", "description", "reads"}
READ_KEYS = {"id", "command", "args", "parse", "description"}
MAX_ARGS = 64
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class ReadCommand:
    """An allowlisted command a read may name: its `ssh_commands` name, whether it needs
    root (then `sudo -n` when the audit user is not root), and its arguments' check."""

    name: str
    privileged: bool
    arg: re.Pattern[str] | None
    """The pattern every argument must match; None for a command that takes none."""
    param: str = "keys"
    """The allowlisted command's argument the read's args fill, space-separated."""


COMMANDS: Mapping[str, ReadCommand] = {
    "sysctl": ReadCommand("sysctl_keys", False, SYSCTL_KEY),
    "sudoers": ReadCommand("sudoers_rules", True, None),
    "mounts": ReadCommand("mount_options", False, MOUNT_PATH, "paths"),
}


def _key_values(text: str) -> dict[str, str]:
    """`key = value` lines (sysctl's own output)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            found[key.strip()] = value.strip()
    return found


def _sudo_rules(text: str) -> list[str]:
    """The user specifications of sudoers: comments, `Defaults` and aliases left out,
    continuation lines joined, blanks collapsed (`%sudo ALL=(ALL:ALL) NOPASSWD: ALL`)."""
    joined = re.sub(r"\\\n", " ", text)
    rules = []
    for raw in joined.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#include") else ""
        if not line or line.startswith(("Defaults", "@include")):
            continue
        if re.match(r"^(User|Runas|Host|Cmnd)_Alias\b", line):
            continue
        rules.append(" ".join(line.split()))
    return rules


def _mounts(text: str) -> dict[str, dict[str, Any]]:
    """`PATH MOUNTPOINT OPTIONS` lines: for each path, the mount point of the file system
    that holds it (the path itself when it is a mount of its own) and its options."""
    found: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) != 3:
            raise ValueError(f"unexpected findmnt line {line[:80]!r}")
        path, mount, options = fields
        found[path] = {"mount": mount.replace("\\x20", " "), "options": options.split(",")}
    return found


PARSERS: Mapping[str, Callable[[str], Any]] = {
    "key-value": _key_values,
    "sudo-rules": _sudo_rules,
    "mounts": _mounts,
}


@dataclass(frozen=True)
class HostRead:
    id: str
    command: ReadCommand
    args: tuple[str, ...]
    parse: str
    where: str
    """`file:line` of the read, for error messages."""


def builtin_reads_dir() -> Path:
    return builtin_rules_dir() / "hostreads"


def load_reads(folders: Sequence[Path] = ()) -> tuple[HostRead, ...]:
    """Every read of the shipped files and of `folders`; a bad file is one InputError
    naming file, line and key."""
    reads: dict[str, HostRead] = {}
    for folder in (builtin_reads_dir(), *folders):
        if not folder.is_dir():
            raise InputError("host reads folder not found", path=folder)
        for path in sorted(folder.glob("*.yaml")):
            for read in _load_file(path):
                if read.id in reads:
                    raise InputError(
                        f"read {read.id!r} is declared twice (first at {reads[read.id].where})",
                        path=path,
                    )
                reads[read.id] = read
    return tuple(reads.values())


def _load_file(path: Path) -> list[HostRead]:
    root = Node.root(load_yaml(path), path)
    root.mapping(FILE_KEYS)
    if root.require("format").as_(int) != READ_FORMAT:
        raise root.require("format").error(f"unsupported format (this auditor reads {READ_FORMAT})")
    found = []
    for node in root.require("reads").items():
        node.mapping(READ_KEYS)
        read_id = node.require("id").string()
        if not _ID.match(read_id):
            raise node.require("id").error("ids are lower case letters, digits and _")
        command = COMMANDS[node.require("command").choice(set(COMMANDS))]
        args = _args(node, command)
        parse = node.require("parse").choice(set(PARSERS))
        found.append(HostRead(read_id, command, args, parse, f"{path}:{node.line}"))
    return found


def _args(node: Node, command: ReadCommand) -> tuple[str, ...]:
    """A read's arguments, each matching its command's pattern."""
    args_node = node.get("args")
    if args_node is None:
        return ()
    args = args_node.string_list()
    if command.arg is None and args:
        raise args_node.error("this command takes no args")
    if len(args) > MAX_ARGS:
        raise args_node.error(f"at most {MAX_ARGS} args")
    for arg in args:
        if command.arg is not None and not command.arg.match(arg):
            raise args_node.error(f"{arg!r} is not a valid argument")
    return args


def arguments(read: HostRead, sudo: str) -> dict[str, str]:
    """The allowlisted command's arguments for this read."""
    args: dict[str, str] = {}
    if read.command.privileged:
        args["sudo"] = sudo
    if read.command.arg is not None:
        args[read.command.param] = " ".join(read.args)
    return args


def parse_output(read: HostRead, text: str) -> Any:
    return PARSERS[read.parse](text)
