"""Host reads as data: what the host root reads beyond its own facts, declared in YAML.

A read file (format 1, shipped in `rules/hostreads/`) names reads. Each read has:
- `id`: where its facts go, as `host.reads.<id>`;
- `command`: one of the fixed, read-only commands below, with its `args` validated against
  that command's pattern before they reach a command line;
- `parse`: one of the parsers below that can read that command's output.

Rules judge the facts in CEL, so a new sysctl key, file mode, package, unit, PAM option or
account check needs no Python. Every read of a server runs in the host root's one batch
(one channel), and only the reads some rule of the server reads run (`reads_read`). A
read whose command fails or whose output cannot be parsed is named in `host.unavailable`
and left out, so the rules that read it are `error`, never `pass`. docs/host.md lists the
commands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.probes.ssh.commands import (
    MODULE,
    MOUNT_PATH,
    PACKAGE,
    READ_PATH,
    SYSCTL_KEY,
    UNIT,
    UnsafeCommand,
    command,
)
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
    parsers: frozenset[str]
    """The parsers that can read this command's output."""
    param: str = "keys"
    """The allowlisted command's argument the read's args fill, space-separated."""


def _parsers(*parsers: str) -> frozenset[str]:
    return frozenset(parsers)


COMMANDS: Mapping[str, ReadCommand] = {
    "sysctl": ReadCommand("sysctl_keys", False, SYSCTL_KEY, _parsers("key-value")),
    "sudoers": ReadCommand("sudoers_rules", True, None, _parsers("sudo-rules", "sudo-defaults")),
    "mounts": ReadCommand("mount_options", False, MOUNT_PATH, _parsers("mounts"), "paths"),
    "stat": ReadCommand("file_stat", True, READ_PATH, _parsers("modes"), "paths"),
    "files": ReadCommand("file_text", True, READ_PATH, _parsers("lines", "assignments"), "paths"),
    "units": ReadCommand("unit_states", False, UNIT, _parsers("units"), "units"),
    "packages": ReadCommand("package_states", False, PACKAGE, _parsers("packages"), "packages"),
    "processes": ReadCommand("process_list", False, None, _parsers("processes")),
    "modules": ReadCommand("kernel_modules", False, MODULE, _parsers("modules"), "modules"),
    "accounts": ReadCommand("account_database", True, None, _parsers("accounts")),
    "homes": ReadCommand("home_directories", True, None, _parsers("homes")),
    "filesystem": ReadCommand("filesystem_scan", True, None, _parsers("filesystem")),
    "firewall": ReadCommand("firewall_rules", True, None, _parsers("ruleset")),
    "log_files": ReadCommand("open_log_files", True, None, _parsers("count-paths")),
    "weak_moduli": ReadCommand("weak_moduli", False, None, _parsers("count-paths")),
}


def _key_values(text: str, _args: Sequence[str] = ()) -> dict[str, str]:
    """`key = value` lines (sysctl's own output)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            found[key.strip()] = value.strip()
    return found


def _sudoers_lines(text: str) -> list[str]:
    """sudoers as sudo reads it: continuation lines joined, comments and `#include`
    lines dropped, blanks around each line stripped."""
    joined = re.sub(r"\\\n", " ", text)
    return [
        raw.split("#", 1)[0].strip()
        for raw in joined.splitlines()
        if not raw.lstrip().startswith("#include")
    ]


def _sudo_rules(text: str, _args: Sequence[str] = ()) -> list[str]:
    """The user specifications of sudoers: comments, `Defaults` and aliases left out,
    continuation lines joined, blanks collapsed (`%sudo ALL=(ALL:ALL) NOPASSWD: ALL`)."""
    rules = []
    for line in _sudoers_lines(text):
        if not line or line.startswith(("Defaults", "@include")):
            continue
        if re.match(r"^(User|Runas|Host|Cmnd)_Alias\b", line):
            continue
        rules.append(" ".join(line.split()))
    return rules


def _mounts(text: str, _args: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
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


PERMISSION_BITS = (
    (0o4000, "setuid"),
    (0o2000, "setgid"),
    (0o1000, "sticky"),
    (0o400, "ur"),
    (0o200, "uw"),
    (0o100, "ux"),
    (0o040, "gr"),
    (0o020, "gw"),
    (0o010, "gx"),
    (0o004, "or"),
    (0o002, "ow"),
    (0o001, "ox"),
)
"""Mode bits by name, so that CEL (which has no bitwise operators) can ask
`f.perms.all(p, p in ['ur', 'uw', 'gr'])`: "0640 or stricter"."""


def permissions(mode: int) -> list[str]:
    return [name for bit, name in PERMISSION_BITS if mode & bit]


def _mode(text: str, where: str) -> dict[str, Any]:
    """`mode` (four octal digits) and `perms` from stat's `%a`."""
    if not re.fullmatch(r"[0-7]{1,4}", text):
        raise ValueError(f"unexpected mode {text!r} for {where}")
    return {"mode": f"{int(text, 8):04o}", "perms": permissions(int(text, 8))}


def _modes(text: str, _args: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """`OWNER GROUP MODE TYPE|PATH` or `missing|PATH` lines: path → exists, owner, group,
    mode (octal text), perms (named bits) and type."""
    found: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        head, sep, path = line.partition("|")
        if not sep or not path.startswith("/"):
            raise ValueError(f"unexpected stat line {line[:80]!r}")
        if head == "missing":
            found[path] = {
                "exists": False,
                "owner": "",
                "group": "",
                "mode": "",
                "perms": [],
                "type": "",
            }
            continue
        owner, group, mode, kind = [*head.split(" ", 3), "", "", ""][:4]
        found[path] = {
            "exists": True,
            "owner": owner,
            "group": group,
            **_mode(mode, path),
            "type": kind,
        }
    return found


def _text_files(text: str) -> list[tuple[str, list[str]]]:
    """file_text's output: each file's path and its lines, in the order read."""
    files: list[tuple[str, list[str]]] = []
    ended = False
    for line in text.splitlines():
        if ended:
            raise ValueError("text after the end marker")
        if line == "== end":
            ended = True
        elif line.startswith("== /"):
            files.append((line[3:], []))
        elif line.startswith("|") and files:
            files[-1][1].append(line[1:])
        else:
            raise ValueError(f"unexpected line {line[:80]!r}")
    if not ended:
        raise ValueError("the listing was cut short (no end marker)")
    return files


def _meaningful(line: str) -> str:
    """A line without its comment and surrounding blanks (`#` starts a comment, as in
    every file these reads name; PAM, login.defs, systemd, chrony, sudoers), each run of
    blanks one space: PAM, login.defs and nft separate fields with tabs, which the rules'
    `\\s` must see as the daemon does (and which reports would otherwise escape)."""
    stripped = line.strip()
    return "" if stripped.startswith(("#", ";")) else re.sub(r"[ \t]+", " ", stripped)


def _lines(text: str, _args: Sequence[str] = ()) -> dict[str, Any]:
    """Every file's meaningful lines: `files` (path → lines) and `lines` (all of them, in
    the order read), for rules that match them with regular expressions."""
    files = {path: [m for m in map(_meaningful, lines) if m] for path, lines in _text_files(text)}
    return {
        "files": sorted(files),
        "by_file": files,
        "lines": [x for v in files.values() for x in v],
    }


_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=\s*|\s+)(.*)$")


def _assignments(text: str, _args: Sequence[str] = ()) -> dict[str, Any]:
    """`Key=value`, `key = value` or `KEY value` settings, in the order the files were read
    (a drop-in after its main file), the last one winning as it does for systemd,
    login.defs and pwquality; `[Section]` headers ignored; quotes around a value removed."""
    values: dict[str, str] = {}
    files = _text_files(text)
    for _path, lines in files:
        for line in lines:
            meaningful = _meaningful(line)
            if not meaningful or meaningful.startswith("["):
                continue
            match = _ASSIGNMENT.match(meaningful)
            if match:
                value = match.group(2).strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                    value = value[1:-1]
                values[match.group(1)] = value
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", meaningful):
                values[meaningful] = ""  # a bare flag (pwquality's `enforce_for_root`)
    return {"files": [p for p, _ in files], "values": values}


def _sudo_defaults(text: str, _args: Sequence[str] = ()) -> list[str]:
    """sudo's `Defaults` entries, one per setting (`Defaults use_pty, logfile="/x"` gives
    `use_pty` and `logfile="/x"`), scoped ones (`Defaults:user`) kept with their scope."""
    found = []
    for line in _sudoers_lines(text):
        match = re.match(r"^(Defaults\S*)\s+(.*)$", line)
        if match:
            scope = match.group(1)[len("Defaults") :]
            for setting in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", match.group(2)):
                setting = " ".join(setting.split())
                if setting:
                    found.append(f"{scope} {setting}".strip() if scope else setting)
    return found


UNIT_STATES = frozenset(
    {
        *("enabled", "enabled-runtime", "linked", "linked-runtime", "alias", "masked"),
        *("masked-runtime", "static", "indirect", "disabled", "generated", "transient", "bad"),
    }
)


def _units(text: str, _args: Sequence[str] = ()) -> dict[str, dict[str, str]]:
    """`UNIT|STATE|ACTIVE` lines: unit → state (`not-found` when systemd has no such unit
    file) and active (`unknown` when systemd is not running)."""
    found: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        unit, state, active = [*line.split("|", 2), "", ""][:3]
        if "No such file or directory" in state or state == "not-found":
            state = "not-found"
        elif state not in UNIT_STATES:
            raise ValueError(f"systemctl is-enabled {unit}: {state[:100]!r}")
        active = active.strip()
        if not re.fullmatch(r"[a-z-]{1,20}", active):
            raise ValueError(f"systemctl is-active {unit}: {active[:100]!r}")
        found[unit] = {"state": state, "active": active}
    return found


def _packages(text: str, _args: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """`NAME|WANT+STATE VERSION` or `NAME|not-found`: name → installed (dpkg's state is
    anything but not-installed or config-files), status and version."""
    found: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition("|")
        if not sep:
            raise ValueError(f"unexpected dpkg-query line {line[:80]!r}")
        if rest == "not-found":
            found[name] = {"installed": False, "status": "not-found", "version": ""}
            continue
        status, _, version = rest.partition(" ")
        status = status.strip()
        version = version.strip()
        if len(status) < 2:
            raise ValueError(f"unexpected dpkg status {rest[:80]!r}")
        found[name] = {"installed": status[1] not in "nc", "status": status, "version": version}
    return found


def _processes(text: str, _args: Sequence[str] = ()) -> list[dict[str, str]]:
    """`USER NAME` lines of ps: each running process's owner and command name."""
    found = []
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            found.append({"user": parts[0], "name": parts[1].strip()})
    if not found:
        raise ValueError("ps listed no process")
    return found


def _module_name(name: str) -> str:
    return name.replace("-", "_")


def _modules(text: str, args: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """modprobe's config, the loaded modules and the available ones: for each module
    named, whether this kernel has it (`available`), whether it is `loaded`, its `install`
    command (`/bin/false` disables loading) and whether it is `blacklisted`."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("== "):
            current = line[3:]
            sections[current] = []
        elif current:
            sections[current].append(line)
    if set(sections) != {"config", "loaded", "available", "end"}:
        raise ValueError("the module listing was cut short")
    install: dict[str, str] = {}
    blacklisted: set[str] = set()
    for line in sections["config"]:
        fields = line.split(None, 2)
        if len(fields) >= 2 and fields[0] == "blacklist":
            blacklisted.add(_module_name(fields[1]))
        elif len(fields) == 3 and fields[0] == "install":
            install[_module_name(fields[1])] = fields[2].strip()
    loaded = {_module_name(m.strip()) for m in sections["loaded"] if m.strip()}
    available = {_module_name(m.strip()) for m in sections["available"] if m.strip()}
    return {
        name: {
            "available": _module_name(name) in available,
            "loaded": _module_name(name) in loaded,
            "install": install.get(_module_name(name), ""),
            "blacklisted": _module_name(name) in blacklisted,
        }
        for name in args
    }


def _number_or(value: str, absent: int = -1) -> int:
    value = value.strip()
    if not value:
        return absent
    if not value.lstrip("-").isdigit():
        raise ValueError(f"{value!r} is not a number")
    return int(value)


def _accounts(text: str, _args: Sequence[str] = ()) -> dict[str, Any]:
    """passwd, group and shadow, secret-free: `users` (name, password x/empty/other, uid,
    gid, home, shell), `groups` (name, gid, members), `shadow` (name, password kind:
    empty/locked/hash-ID/other, last_change, min, max, warn, inactive; -1 when empty) and
    `today` (days since 1970, the host's clock)."""
    users: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    shadow: list[dict[str, Any]] = []
    today = -1
    for line in text.splitlines():
        kind, _, rest = line.partition("|")
        fields = rest.split("|")
        if kind == "passwd" and len(fields) == 6:
            name, password, uid, gid, home, shell = fields
            users.append(
                {
                    "name": name,
                    "password": password,
                    "uid": _number_or(uid),
                    "gid": _number_or(gid),
                    "home": home,
                    "shell": shell,
                }
            )
        elif kind == "group" and len(fields) == 3:
            members = [m for m in fields[2].split(",") if m]
            groups.append({"name": fields[0], "gid": _number_or(fields[1]), "members": members})
        elif kind == "shadow" and len(fields) == 7:
            name, password, last, low, high, warn, inactive = fields
            shadow.append(
                {
                    "name": name,
                    "password": password,
                    "last_change": _number_or(last),
                    "min": _number_or(low),
                    "max": _number_or(high),
                    "warn": _number_or(warn),
                    "inactive": _number_or(inactive),
                }
            )
        elif kind == "today" and len(fields) == 1:
            today = _number_or(fields[0])
        else:
            raise ValueError(f"unexpected account line {kind!r}")
    if today < 0 or not users:
        raise ValueError("the account listing was cut short")
    return {"users": users, "groups": groups, "shadow": shadow, "today": today}


def _homes(text: str, _args: Sequence[str] = ()) -> list[dict[str, Any]]:
    """`USER|OWNER MODE|DOTFILES` or `USER|missing`: each interactive account's home."""
    found = []
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) == 2 and fields[1] == "missing":
            found.append(
                {
                    "user": fields[0],
                    "exists": False,
                    "owner": "",
                    "mode": "",
                    "perms": [],
                    "risky_dotfiles": [],
                }
            )
            continue
        if len(fields) != 3:
            raise ValueError(f"unexpected home line {line[:80]!r}")
        owner, _, mode = fields[1].partition(" ")
        found.append(
            {
                "user": fields[0],
                "exists": True,
                "owner": owner,
                **_mode(mode, f"the home of {fields[0]}"),
                "risky_dotfiles": fields[2].split(),
            }
        )
    return found


def _filesystem(text: str, _args: Sequence[str] = ()) -> dict[str, Any]:
    """The file-system walk: world-writable and unowned paths (count and first 20 paths)
    and every set-UID/GID file."""
    found: dict[str, Any] = {
        "world_writable": {"count": 0, "paths": []},
        "unowned": {"count": 0, "paths": []},
        "setid": [],
    }
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "count":
            name, _, number = rest.partition(" ")
            key = name.replace("-", "_")
            if key in ("world_writable", "unowned"):
                found[key]["count"] = _number_or(number)
        elif kind in ("world-writable", "unowned"):
            found[kind.replace("-", "_")]["paths"].append(rest)
        elif kind == "setid":
            found["setid"].append(rest)
        elif line.strip():
            raise ValueError(f"unexpected line {line[:80]!r}")
    return found


def _ruleset(text: str, _args: Sequence[str] = ()) -> dict[str, Any]:
    """firewall_rules' output: the `tool` (nft, iptables, none) and the ruleset's lines,
    stripped, for rules that match them."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("tool="):
        raise ValueError("the firewall listing does not name its tool")
    return {"tool": lines[0][5:], "lines": [m for m in map(_meaningful, lines[1:]) if m]}


def _count_paths(text: str, _args: Sequence[str] = ()) -> dict[str, Any]:
    """`count N` then up to 20 paths: how many matched, and the first ones."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("count "):
        raise ValueError("the listing does not start with its count")
    return {"count": _number_or(lines[0][6:]), "paths": lines[1:21]}


PARSERS: Mapping[str, Callable[[str, Sequence[str]], Any]] = {
    "key-value": _key_values,
    "sudo-rules": _sudo_rules,
    "sudo-defaults": _sudo_defaults,
    "mounts": _mounts,
    "modes": _modes,
    "lines": _lines,
    "assignments": _assignments,
    "units": _units,
    "packages": _packages,
    "processes": _processes,
    "modules": _modules,
    "accounts": _accounts,
    "homes": _homes,
    "filesystem": _filesystem,
    "ruleset": _ruleset,
    "count-paths": _count_paths,
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
        read_command = COMMANDS[node.require("command").choice(set(COMMANDS))]
        args = _args(node, read_command)
        parse = node.require("parse").choice(set(read_command.parsers))
        read = HostRead(read_id, read_command, args, parse, f"{path}:{node.line}")
        try:  # the command's own validators, now rather than on every server at run time
            command_line(read)
        except UnsafeCommand as exc:
            raise (node.get("args") or node).error(str(exc)) from None
        found.append(read)
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


def command_line(read: HostRead, sudo: str = "sudo -n ") -> str:
    """The shell line this read runs (UnsafeCommand if an argument fails validation)."""
    return command(read.command.name, **arguments(read, sudo))


def arguments(read: HostRead, sudo: str) -> dict[str, str]:
    """The allowlisted command's arguments for this read."""
    args: dict[str, str] = {}
    if read.command.privileged:
        args["sudo"] = sudo
    if read.command.arg is not None:
        args[read.command.param] = " ".join(read.args)
    return args


def reads_read(paths: Iterable[tuple[str, tuple[str, ...]]]) -> frozenset[str] | None:
    """The ids of the host reads these fact paths read; None for all of them (a rule that
    reads `host` or `host.reads` whole)."""
    ids: set[str] = set()
    for root, fields in paths:
        if root != "host" or (fields and fields[0] != "reads"):
            continue
        if len(fields) < 2:
            return None
        ids.add(fields[1])
    return frozenset(ids)


def parse_output(read: HostRead, text: str) -> Any:
    return PARSERS[read.parse](text, read.args)
