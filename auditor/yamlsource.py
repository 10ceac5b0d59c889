"""YAML loading that remembers where every value came from, with YAML 1.2 meanings.

Users edit inventories and rule packs by hand; an error must name the file, the line and the
key. PyYAML's plain loaders forget positions and silently keep the last of two duplicate
keys, so this module builds mappings and lists that carry their line numbers and rejects
duplicates.

PyYAML implements YAML 1.1, where `no` is `false`, `0777` is 511 and `2026-12-01` is a
date: a deny-list `[no]` in a rule pack would then never match `permitrootlogin no`. Every
YAML the auditor reads goes through this module's YAML 1.2 core schema instead: only
`true`/`false` are booleans, only `null`/`~`/empty is null, integers are decimal (or `0o`,
`0x`), and everything else, dates and `yes`/`on` included, stays a string. A number with a
leading zero (`0777`) is kept as a string too, so that a typed key refuses it with
file:line instead of guessing octal or decimal.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from auditor.errors import InputError
from auditor.untrusted import json_too_deep

T = TypeVar("T")


class YamlMap(dict[str, Any]):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int
    key_lines: dict[str, int]


class YamlList(list[Any]):
    """A list that knows its own line and the line of each item (1-based)."""

    line: int
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    """Safe YAML 1.2 loading (no Python objects) that keeps positions and refuses duplicate
    keys. Its implicit types are the YAML 1.2 core schema's, not SafeLoader's YAML 1.1 ones
    (https://yaml.org/spec/1.2.2/#1032-tag-resolution)."""

    yaml_implicit_resolvers = {}  # noqa: RUF012 - PyYAML's own class-level registry


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])

_SPECIAL_FLOATS = {".inf": float("inf"), ".nan": float("nan")}


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node))
    sign = -1.0 if text.startswith("-") else 1.0
    special = _SPECIAL_FLOATS.get(text.lstrip("+-").lower())
    return sign * special if special is not None else float(text)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YamlMap:
    loader.flatten_mapping(node)
    result = YamlMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise InputError(
                f"duplicate key (first at line {result.key_lines[key]})",
                path=loader.name,
                line=line,
                key=key,
                hint="remove one of them",
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> YamlList:
    result = YamlList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


MAX_INPUT_BYTES = int(os.environ.get("AUDITOR_MAX_INPUT_BYTES", str(4 * 1024 * 1024)))
"""Largest YAML file the auditor reads (inventory, rule pack, waivers, Ansible vars)."""
MAX_NODES = 200_000
"""Most values a document may expand to, aliases counted at every place they are used."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists."""

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def read_text(path: Path, what: str = "file") -> str:
    """A user file as text, refused (InputError) when too large or not UTF-8."""
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputError(
                f"{what} is {size:,} bytes, more than the limit of {MAX_INPUT_BYTES:,}",
                path=path,
                hint="split it, or raise AUDITOR_MAX_INPUT_BYTES",
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise InputError("file not found", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", path=path) from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError(f"{what} is larger than {MAX_INPUT_BYTES:,} bytes", path=path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", path=path, line=line, hint="save it as UTF-8") from None


def read_json(path: Path, what: str) -> Any:
    """A user's JSON file, bounded like every other input: size (read_text) and depth."""
    text = read_text(path, what)
    if json_too_deep(text):
        raise InputError(f"JSON nested too deeply for {what}", path=path)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"not JSON ({what}): {exc}", path=path) from None


def check_printable(text: str, path: Path | str) -> None:
    """Refuse control characters (but tab and newlines) and bidi overrides, with the line:
    they hide what a reviewer of the file sees, and they would reach terminals."""
    match = _FORBIDDEN.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise InputError(
            f"non-printable character U+{ord(match.group()):04X}",
            path=path,
            line=line,
            hint='remove it; YAML escapes like "\\x1b" are not needed in these files',
        )


def _check_size(node: yaml.Node, path: Path | str) -> None:
    """Refuse alias bombs and deep nesting before anything is constructed (linear time:
    each node's expanded size is computed once, however many aliases point at it)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 1, False)]
    while stack:
        current, depth, done = stack.pop()
        key = id(current)
        if done:
            children = _children(current)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_NODES:
                raise InputError(
                    f"the document expands to more than {MAX_NODES:,} values "
                    "(aliases counted where they are used)",
                    path=path,
                    line=current.start_mark.line + 1,
                    hint="avoid nesting aliases of aliases",
                )
            continue
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            raise InputError(
                f"nested deeper than {MAX_DEPTH} levels",
                path=path,
                line=current.start_mark.line + 1,
            )
        sizes[key] = 0  # in progress: a recursive alias adds nothing more
        stack.append((current, depth, True))
        for child in _children(current):
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(path: Path, text: str | None = None) -> Any:
    """Parse one YAML document, turning any problem into a one-line `InputError`.

    Bounded: the file's size, its characters, the values it expands to and its depth are
    checked before anything is built from it.
    """
    if text is None:
        text = read_text(path)
    elif len(text) > MAX_INPUT_BYTES:
        raise InputError(f"larger than {MAX_INPUT_BYTES:,} bytes", path=path)
    check_printable(text, path)
    return _load(text, str(path), path)


def _load(text: str, name: str, path: Path | str) -> Any:
    loader = _Loader(text)
    loader.name = name
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, path)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = _QUOTED.sub("'…'", exc.problem or exc.context or "invalid YAML")
        raise InputError(
            f"YAML syntax error: {problem}", path=path, line=line, hint="fix the YAML syntax"
        ) from None
    except yaml.YAMLError as exc:
        first = _QUOTED.sub("'…'", str(exc).splitlines()[0])
        raise InputError(f"YAML error: {first}", path=path) from None
    except RecursionError:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", path=path) from None
    finally:
        loader.dispose()


_KEY_LIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,40}$")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
"""What PyYAML quotes of the file in its messages: never repeated to the user."""


class Node:
    """A cursor into loaded YAML that validates types and reports errors with positions.

    Validation code reads `node.require("name", str)` instead of indexing dicts, so every
    wrong type, missing key or unknown key is reported as `file:line: key.path: message`.
    """

    def __init__(self, value: Any, path: Path, key: str, line: int | None) -> None:
        self.value = value
        self.path = path
        self.key = key
        self.line = line

    @classmethod
    def root(cls, value: Any, path: Path) -> Node:
        return cls(value, path, "", getattr(value, "line", 1))

    def error(self, message: str, hint: str | None = None) -> InputError:
        return InputError(message, path=self.path, line=self.line, key=self.key or None, hint=hint)

    def _child_key(self, name: str | int) -> str:
        if isinstance(name, int):
            return f"{self.key}[{name}]"
        return f"{self.key}.{name}" if self.key else name

    def mapping(self, allowed: set[str] | None = None) -> YamlMap:
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, got {kind_of(self.value)}")
        value: YamlMap = self.value  # type: ignore[assignment]
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    # A key is quoted only when it looks like one: a file that is not what
                    # we expected (a shadow file in --rules-dir) must not be echoed.
                    shown = isinstance(key, str) and _KEY_LIKE.match(key) is not None
                    raise InputError(
                        "unknown key" if shown else "unknown key (not quoted: not a key name)",
                        path=self.path,
                        line=_key_lines(value).get(key, self.line),
                        key=self._child_key(key) if shown else self.key or None,
                        hint=f"allowed keys: {', '.join(sorted(allowed))}",
                    )
        return value

    def get(self, name: str) -> Node | None:
        mapping = self.mapping()
        if name not in mapping or mapping[name] is None:
            return None
        return Node(
            mapping[name],
            self.path,
            self._child_key(name),
            _key_lines(mapping).get(name, self.line),
        )

    def require(self, name: str) -> Node:
        node = self.get(name)
        if node is None:
            raise self.error(f"missing required key '{name}'")
        return node

    def items(self) -> Iterator[Node]:
        if not isinstance(self.value, list):
            raise self.error(f"expected a list, got {kind_of(self.value)}")
        lines = getattr(self.value, "item_lines", [])
        for index, item in enumerate(self.value):
            line = lines[index] if index < len(lines) else self.line
            yield Node(item, self.path, self._child_key(index), line)

    def entries(self) -> Iterator[tuple[str, Node]]:
        mapping = self.mapping()
        for key, value in mapping.items():
            yield (
                key,
                Node(
                    value, self.path, self._child_key(key), _key_lines(mapping).get(key, self.line)
                ),
            )

    def as_(self, kind: type[T], what: str | None = None) -> T:
        value = self.value
        if kind is int and isinstance(value, bool):
            raise self.error(f"expected {what or 'an integer'}, got a boolean")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return value  # type: ignore[return-value]
        if not isinstance(value, kind):
            raise self.error(f"expected {what or _article(kind)}, got {kind_of(value)}")
        return value

    def string(self) -> str:
        text = self.as_(str, "a string")
        if not text.strip():
            raise self.error("must not be empty")
        return text

    def string_list(self) -> tuple[str, ...]:
        if isinstance(self.value, str):
            return (self.string(),)
        return tuple(item.string() for item in self.items())

    def choice(self, choices: set[str]) -> str:
        text = self.string()
        if text not in choices:
            raise self.error(f"'{text}' is not one of: {', '.join(sorted(choices))}")
        return text

    def convert(self, func: Callable[[Any], T], what: str) -> T:
        try:
            return func(self.value)
        except (TypeError, ValueError) as exc:
            raise self.error(f"expected {what}: {exc}") from None


def load_plain(text: str, name: str = "<string>") -> Any:
    """YAML 1.2 text as plain values (for --param values and imported files), with the
    same bounds as `load_yaml`; every problem is an InputError naming `name`."""
    if len(text) > MAX_INPUT_BYTES:
        raise InputError(f"larger than {MAX_INPUT_BYTES:,} bytes", path=name)
    check_printable(text, name)
    return plain(_load(text, name, name))


def plain(value: Any) -> Any:
    """Loaded YAML as ordinary dicts and lists (positions dropped), e.g. for parameters."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _key_lines(mapping: object) -> dict[str, int]:
    """Positions of keys; none for data that did not come from a YAML file (imports)."""
    return getattr(mapping, "key_lines", {})


def kind_of(value: object) -> str:
    """What a loaded value is, in words for an error message ("a list", "a boolean")."""
    if value is None:
        return "nothing"
    names = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }
    for kind, name in names.items():
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return name
    return type(value).__name__


def _article(kind: type) -> str:
    return {str: "a string", int: "an integer", bool: "a boolean", list: "a list"}.get(
        kind, kind.__name__
    )
