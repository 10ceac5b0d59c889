"""Daemon configuration files read the way their daemons read them.

A config judged by other rules than its daemon's is a wrong verdict waiting to happen:
`protected-mode yes` followed by `PROTECTED-MODE no` passed, though Redis 7 runs with
protected mode off (keywords are case-insensitive and the last occurrence wins). Each
parser here follows its daemon's documented reading and is tested against the real
daemon's own answer (`CONFIG GET` for Redis) in tests/test_daemon_configs.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

REDIS_CONF = "/etc/redis/redis.conf"
MAX_INCLUDE_DEPTH = 5


class ConfigError(ValueError):
    """The file cannot be read as its daemon would: the fact is unknown, never a pass."""


def redis_split(line: str) -> list[str]:
    """One config line split as Redis's `sdssplitargs` does: blanks separate words;
    "double quotes" take \\n \\r \\t \\b \\a \\\\ \\" and \\xHH escapes; 'single quotes' take \\'
    only; a closing quote must be followed by a blank or the end. Raises ConfigError where
    Redis refuses the line ("Unbalanced quotes in configuration line")."""
    words: list[str] = []
    i, n = 0, len(line)
    escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}
    while True:
        while i < n and line[i] in " \t\r\n\v\f":
            i += 1
        if i >= n:
            return words
        word: list[str] = []
        quote = ""
        while True:
            if quote == '"':
                if i >= n:
                    raise ConfigError("unbalanced quotes")
                c = line[i]
                hexa = line[i + 2 : i + 4]
                if c == "\\" and i + 3 < n and line[i + 1] == "x" and _is_hex(hexa):
                    word.append(chr(int(hexa, 16)))
                    i += 3
                elif c == "\\" and i + 1 < n:
                    word.append(escapes.get(line[i + 1], line[i + 1]))
                    i += 1
                elif c == '"':
                    if i + 1 < n and line[i + 1] not in " \t\r\n\v\f":
                        raise ConfigError("closing quote not followed by a blank")
                    i += 1
                    break
                else:
                    word.append(c)
            elif quote == "'":
                if i >= n:
                    raise ConfigError("unbalanced quotes")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    word.append("'")
                    i += 1
                elif c == "'":
                    if i + 1 < n and line[i + 1] not in " \t\r\n\v\f":
                        raise ConfigError("closing quote not followed by a blank")
                    i += 1
                    break
                else:
                    word.append(c)
            else:
                if i >= n or line[i] in " \t\r\n\v\f":
                    break
                if line[i] in "\"'":
                    quote = line[i]
                else:
                    word.append(line[i])
            i += 1
        words.append("".join(word))


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def redis_directives(
    text: str, read_include: Callable[[str], str], depth: int = 0
) -> dict[str, list[str]]:
    """Every directive's arguments, last occurrence winning, `include`s read in place (as
    Redis does: an included file's directives override earlier ones, later ones override
    it). Keywords are lower-cased (Redis compares them case-insensitively)."""
    if depth > MAX_INCLUDE_DEPTH:
        raise ConfigError(f"includes nested deeper than {MAX_INCLUDE_DEPTH}")
    found: dict[str, list[str]] = {}
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = redis_split(line)
        if not words:
            continue
        keyword, args = words[0].lower(), words[1:]
        if keyword == "include":
            if len(args) != 1:
                raise ConfigError("an include takes one path")
            if any(c in args[0] for c in "*?["):
                raise ConfigError(f"include with a wildcard ({args[0][:80]}) is not read")
            found.update(redis_directives(read_include(args[0]), read_include, depth + 1))
        else:
            found[keyword] = args
    return found


def redis_facts(text: str, read_include: Callable[[str], str]) -> dict[str, Any]:
    """`host.redis_conf` from the output of the `redis_config` command (secrets already
    reduced to `<set>` or `""` on the host)."""
    if text.strip() == "missing":
        return {"found": False, "protected_mode": "", "requirepass_set": False, "bind": ""}
    body, marker, _ = text.rpartition("__found__")
    if not marker:
        raise ConfigError("the config was cut short")
    directives = redis_directives(body, lambda path: _body(read_include(path)))
    protected = (directives.get("protected-mode") or ["yes"])[0].lower()
    if protected not in ("yes", "no"):
        raise ConfigError("protected-mode is neither yes nor no: Redis refuses to start")
    password = directives.get("requirepass") or [""]
    return {
        "found": True,
        "protected_mode": protected,
        "requirepass_set": password[0] != "",
        "bind": " ".join(directives.get("bind", [])),
    }


def _body(text: str) -> str:
    if text.strip() == "missing":
        raise ConfigError("an included file does not exist: Redis refuses to start")
    body, marker, _ = text.rpartition("__found__")
    if not marker:
        raise ConfigError("an included file was cut short")
    return body


MONGOD_CONF = "/etc/mongod.conf"
ELASTICSEARCH_CONF = "/etc/elasticsearch/elasticsearch.yml"


def yaml_setting(text: str, dotted: str, *, flat_keys: bool) -> dict[str, Any]:
    """`{found, value}` for one setting of a YAML config, from the `config_file` command.

    mongod reads nested mappings only (`security: {authorization: enabled}`); Elasticsearch
    also takes flat dotted keys (`xpack.security.enabled: false`) and the two forms mixed.
    A key given twice, at any level, is refused (both daemons refuse such a file), and a
    file that is not YAML is unknown, never a pass."""
    from auditor.errors import InputError
    from auditor.yamlsource import load_yaml

    if text.strip() == "missing":
        return {"found": False, "value": ""}
    body, marker, _ = text.rpartition("__found__")
    if not marker:
        raise ConfigError("the config was cut short")
    try:
        data = load_yaml(Path(dotted), body) if body.strip() else {}
    except InputError as exc:
        raise ConfigError(f"not YAML the daemon can read: {exc.message}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("not a mapping of settings")
    value = _dotted(data, dotted.split("."), flat_keys)
    shown = (
        ""
        if value is None
        else str(value).lower()
        if not isinstance(value, bool)
        else ("true" if value else "false")
    )
    return {"found": True, "value": shown.strip("'\"")}


def _dotted(data: Any, parts: list[str], flat_keys: bool) -> Any:
    """The value at `parts`, trying every split of the path into flat dotted keys when the
    daemon allows them (`xpack.security.enabled`, `xpack: {security.enabled: ...}`)."""
    if not parts:
        return data
    if not isinstance(data, dict):
        return None
    found = []
    for cut in range(1, len(parts) + 1) if flat_keys else (1,):
        key = ".".join(parts[:cut])
        if key in data:
            value = _dotted(data[key], parts[cut:], flat_keys)
            if value is not None:
                found.append(value)
    if len(found) > 1:
        raise ConfigError(f"{'.'.join(parts)} is set twice (nested and flat)")
    return found[0] if found else None
