"""Ansible inventories (INI or YAML) as a source of servers.

Maps what Ansible users already keep: `ansible_host` → address, `ansible_port`,
`ansible_user` and `ansible_ssh_private_key_file` → `ssh`, a ProxyJump in
`ansible_ssh_common_args` (`-o ProxyJump=…` or `-J …`) → `ssh.proxy_jump`, and group
membership → the tag `ansible_groups`. Variables come from the inventory itself and from
`group_vars/` and `host_vars/` beside it, in Ansible's order (all < group < host). Host
ranges (`web[01:03]`, `db-[a:c]`, `[1:9:2]`) expand as Ansible expands them; a test
compares the result with `ansible-inventory --list`.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError
from auditor.yamlsource import load_plain, read_text

_JUMP = re.compile(r"(?:-o\s*ProxyJump=|-J\s*)(\S+)")
_RANGE = re.compile(r"\[([^\[\]:]*):([^\[\]:]*)(?::([^\[\]:]*))?\]")
MAX_RANGE_HOSTS = 65536
"""Hosts one pattern may expand to: a typo such as `[1:999999]` is an error, not a hang."""


def expand_hosts(pattern: str) -> list[str]:
    """Every host name of an Ansible host pattern, in Ansible's order: the first
    `[begin:end(:step)]` expands (numbers, zero-padded to `begin`'s width when it starts
    with 0; or letters), then each result's next range."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    begin, end, step_text = match.group(1) or "0", match.group(2), match.group(3) or "1"
    if not end:
        raise ValueError(f"host range {match.group(0)} has no end")
    if not (step_text.isascii() and step_text.isdigit() and int(step_text) > 0):
        raise ValueError(f"host range {match.group(0)}: step must be a positive number")
    step = int(step_text)
    values: list[str]
    if begin.isascii() and begin.isalpha() and end.isascii() and end.isalpha():
        if len(begin) != 1 or len(end) != 1 or begin > end:
            raise ValueError(f"host range {match.group(0)}: letters run from one to a later one")
        values = [chr(c) for c in range(ord(begin), ord(end) + 1, step)]
    elif begin.isascii() and begin.isdigit() and end.isascii() and end.isdigit():
        width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
        if width and len(end) != width:
            raise ValueError(f"host range {match.group(0)}: begin and end differ in width")
        if int(end) - int(begin) > MAX_RANGE_HOSTS * step:
            raise ValueError(f"host range {match.group(0)} is over {MAX_RANGE_HOSTS} hosts")
        values = [str(n).zfill(width) for n in range(int(begin), int(end) + 1, step)]
    else:
        raise ValueError(f"host range {match.group(0)} is neither numbers nor letters")
    head, tail = pattern[: match.start()], pattern[match.end() :]
    found = [host for value in values for host in expand_hosts(head + value + tail)]
    if len(found) > MAX_RANGE_HOSTS:
        raise ValueError(f"host pattern {pattern} is over {MAX_RANGE_HOSTS} hosts")
    return found


def ansible_servers(path: Path) -> list[dict[str, Any]]:
    """Server entries from an Ansible inventory; anything malformed is one InputError."""
    try:
        return _servers(path)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        raise InputError(
            f"unexpected structure or value for an Ansible inventory ({type(exc).__name__}: "
            f"{str(exc)[:80]})",
            path=path,
            hint="check it with `ansible-inventory -i FILE --list`",
        ) from None


def _servers(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError("Ansible inventory not found", path=path)
    text = read_text(path, "Ansible inventory")
    hosts, groups, group_vars = (
        _parse_yaml(path, text) if path.suffix in (".yml", ".yaml") else _parse_ini(path, text)
    )
    for group, values in _vars_dir(path.parent / "group_vars").items():
        group_vars[group] = {**values, **group_vars.get(group, {})}
    host_files = _vars_dir(path.parent / "host_vars")
    servers = []
    for name in hosts:
        member_of = sorted(g for g, members in groups.items() if name in members)
        merged: dict[str, Any] = dict(group_vars.get("all", {}))
        for group in member_of:
            merged.update(group_vars.get(group, {}))
        merged.update(host_files.get(name, {}))
        merged.update(hosts[name])
        servers.append(_server(name, merged, member_of))
    return servers


def _server(name: str, values: dict[str, Any], groups: list[str]) -> dict[str, Any]:
    ssh: dict[str, Any] = {}
    if "ansible_user" in values:
        ssh["user"] = str(values["ansible_user"])
    if "ansible_port" in values:
        port = values["ansible_port"]
        if isinstance(port, bool) or not str(port).isascii() or not str(port).isdigit():
            raise ValueError(f"ansible_port of {name} is {str(port)[:20]!r}, not a port number")
        ssh["port"] = int(port)
    if "ansible_ssh_private_key_file" in values:
        ssh["identity_file"] = str(values["ansible_ssh_private_key_file"])
    jump = _JUMP.search(str(values.get("ansible_ssh_common_args", "")))
    if jump:
        ssh["proxy_jump"] = jump.group(1).strip("'\"")
    server: dict[str, Any] = {"name": name, "address": str(values.get("ansible_host", name))}
    if ssh:
        server["ssh"] = ssh
    groups = [g for g in groups if g not in ("all", "ungrouped")]
    if groups:
        server["tags"] = {"ansible_groups": ",".join(groups)}
    return server


def _parse_ini(
    path: Path, text: str
) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]], dict[str, dict[str, Any]]]:
    hosts: dict[str, dict[str, Any]] = {}
    groups: dict[str, set[str]] = defaultdict(set)
    children: dict[str, set[str]] = defaultdict(set)
    group_vars: dict[str, dict[str, Any]] = defaultdict(dict)
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise InputError("unclosed section header", path=path, line=number)
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise InputError(f"cannot parse line: {exc}", path=path, line=number) from None
        if kind == "hosts":
            values = _pairs(words[1:], path, number)
            try:
                names = expand_hosts(words[0])
            except ValueError as exc:
                raise InputError(str(exc), path=path, line=number) from None
            for name in names:
                hosts.setdefault(name, {}).update(values)
                groups[section].add(name)
        elif kind == "vars":
            group_vars[section].update(_pairs(words, path, number))
        elif kind == "children":
            children[section].add(words[0])
    _expand_children(groups, children)
    return hosts, groups, group_vars


def _pairs(words: list[str], path: Path, number: int) -> dict[str, Any]:
    values = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise InputError(f"expected key=value, got {word!r}", path=path, line=number)
        values[key] = _scalar(value, path, number) if value else ""
    return values


def _scalar(text: str, path: Path, number: int) -> Any:
    """An INI value read as YAML 1.2 (`ansible_port=2222` is a number, `no` stays a word)."""
    try:
        return load_plain(text, str(path))
    except InputError:
        return text


def _parse_yaml(
    path: Path, text: str
) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]], dict[str, dict[str, Any]]]:
    try:
        data = load_plain(text, str(path)) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {exc}", path=path) from None
    hosts: dict[str, dict[str, Any]] = {}
    groups: dict[str, set[str]] = defaultdict(set)
    group_vars: dict[str, dict[str, Any]] = defaultdict(dict)

    def walk(group: str, node: dict[str, Any] | None) -> set[str]:
        node = node or {}
        members = set()
        for pattern, values in (node.get("hosts") or {}).items():
            for name in expand_hosts(str(pattern)):
                hosts.setdefault(name, {}).update(values or {})
                members.add(name)
        group_vars[group].update(node.get("vars") or {})
        for child, child_node in (node.get("children") or {}).items():
            members |= walk(child, child_node)
        groups[group] |= members
        return members

    for group, node in data.items():
        walk(group, node)
    return hosts, groups, group_vars


def _expand_children(groups: dict[str, set[str]], children: dict[str, set[str]]) -> None:
    changed = True
    while changed:
        changed = False
        for parent, kids in children.items():
            for kid in kids:
                if not groups[kid] <= groups[parent]:
                    groups[parent] |= groups[kid]
                    changed = True


def _vars_dir(folder: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if path.suffix in (".yml", ".yaml") and path.is_file():
            try:
                found[path.stem] = load_plain(read_text(path), str(path)) or {}
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read variables: {exc}", path=path) from None
    return found
