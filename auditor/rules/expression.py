"""The one module that knows which CEL binding we use.

CEL is side-effect free, terminates, and cannot reach Python objects, so a rule pack from a
third party cannot run code in the auditor. We use `common-expression-language` (Rust core):
measured here at ~0.01 ms per rule evaluation when handed only the facts the rule reads.
Swapping the binding means changing only
this file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any


def _load_binding() -> Any:
    """The binding's compiled core, without its package's `__init__`.

    `import cel` runs `cel/__init__.py`, which imports the binding's own REPL (typer, rich,
    prompt_toolkit): about 0.2 s of start-up for every `auditor` command and every worker
    process, for code we never call. The Rust extension `cel.cel` holds everything we use
    (`compile`, `Context`); loading it by its file skips that. If the layout ever changes,
    the ordinary import still works.
    """
    import importlib.machinery
    import importlib.util
    import sys
    from pathlib import Path

    loaded = sys.modules.get("cel.cel")
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("cel")
    for folder in (package.submodule_search_locations or []) if package else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"cel{suffix}"
            if not path.is_file():
                continue
            spec = importlib.util.spec_from_file_location("cel.cel", path)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules["cel.cel"] = module
            return module
    import cel  # pragma: no cover - another layout of the binding

    return cel


cel = _load_binding()

# Comprehension macros bind a variable: `list.exists(x, ...)`. The binding reports such
# names among the expression's variables, so we collect them to tell them from unknown facts.
_MACRO_BINDING = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_PATH = re.compile(r"(?<![\w.])([A-Za-z_]\w*)((?:\s*\.\s*[A-Za-z_]\w*)+)(\s*\()?")
_SUBSCRIPT = re.compile(r"(\w+|\])(\s*\[\s*)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*\]")
"""A map subscript by a string literal (`sysctl['net.ipv4.ip_forward']`), part of a path."""
_PAREN_TOKEN = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(|\(|\)")

MAX_SOURCE = 2000
"""Longest expression accepted, in characters."""
MAX_NESTING = 2
"""Deepest nesting of comprehension macros (`all`, `exists`, `map`...). Cost grows as the
list size to the power of the nesting (measured: 10-item lists, depth 5 → 0.27 s, each
level x10), so with facts lists capped at 1,000 items, depth 2 bounds an evaluation at
about a million steps. Every built-in rule fits."""
MAX_MACROS = 16
EVALUATION_BUDGET = 1.0
"""Seconds one evaluation may take before its result is thrown away as an error."""


_MISSING = object()


def pick(into: dict[str, Any], key: str, value: Any, fields: Sequence[str]) -> None:
    """Copy `value` at `fields` into `into[key]`, keeping only that path. A list, or a
    field that is not a mapping, is taken whole (macros read its items), and a shorter
    path, which takes a value whole, wins over a longer one. Never writes into `value`."""
    branch = into.get(key, _MISSING)
    if not fields or not isinstance(value, Mapping):
        into[key] = value
        return
    if branch is value:  # already taken whole
        return
    if branch is _MISSING:  # made even when the next field is absent: `has()` needs it
        branch = into[key] = {}
    elif not isinstance(branch, dict):
        return
    head, rest = fields[0], fields[1:]
    if head in value:
        pick(branch, head, value[head], rest)


def _unkey(field: str, keys: list[str]) -> str:
    found = re.fullmatch(r"__key(\d+)__", field)
    return keys[int(found.group(1))] if found else field


class ExpressionError(Exception):
    """A rule expression does not compile; `column` is 1-based when the binding says."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class ExpressionTooCostly(ExpressionError):
    """An expression refused by the load-time bounds (length, comprehension nesting)."""


class EvaluationError(Exception):
    """An expression failed on real facts (a missing fact, a type mismatch)."""


@dataclass(frozen=True)
class Expression:
    source: str
    _program: Any

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickled as its source and compiled again on the other side: the binding's
        program cannot cross a process boundary (rules are judged in worker processes)."""
        return (compile_expression, (self.source,))

    @cached_property
    def variables(self) -> frozenset[str]:
        """Top-level names the expression reads, without names bound by macros."""
        bound = set(_MACRO_BINDING.findall(self.source))
        return frozenset(set(self._program.variables()) - bound)

    @cached_property
    def reads(self) -> frozenset[str]:
        """Every top-level name in the expression, macro-bound ones included: the binding
        converts each value it is handed on every evaluation (a whole server's facts cost
        ~5 ms, this subset microseconds), so it is handed only these."""
        return frozenset(self._program.variables())

    @cached_property
    def bound_names(self) -> frozenset[str]:
        return frozenset(_MACRO_BINDING.findall(self.source))

    @cached_property
    def field_paths(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Dotted fact paths the expression reads (`port.number` → ("port", ("number",))),
        string literals and macro-bound names left out; a path that ends in a method call
        (`.exists(`) stops before it, so `ports.exists(...)` reads the whole `ports`. A
        subscript by a string literal is a field of the path (`packages['telnet'].installed`
        → ("host", ("reads", "packages", "telnet", "installed")) for `host.reads...`)."""
        keys: list[str] = []

        def as_field(match: re.Match[str]) -> str:
            if match.group(1) == "in":  # `x in ['a']`: a list, not a subscript
                return match.group(0)
            keys.append(re.sub(r"\\(.)", r"\1", match.group(3)[1:-1]))
            return f"{match.group(1)}.__key{len(keys) - 1}__"

        text = _STRING_LITERAL.sub("''", _SUBSCRIPT.sub(as_field, self.source))
        found: dict[tuple[str, tuple[str, ...]], None] = {}
        for match in _PATH.finditer(text):
            root = match.group(1)
            if root in self.bound_names:
                continue
            fields = [_unkey(f.strip(), keys) for f in match.group(2).split(".")[1:]]
            if match.group(3):  # the last segment is a method call such as `.exists(`
                fields = fields[:-1]
            found[(root, tuple(fields))] = None
        for name in self.variables:  # a root used bare (`size(ports)`) is read whole
            if not any(root == name for root, _ in found):
                found[(name, ())] = None
        return tuple(found)

    @cached_property
    def bare_roots(self) -> frozenset[str]:
        """Top-level names used as a whole somewhere (`size(ports)`, `x in host`), not only
        through a dotted or subscripted path: those are handed whole."""
        text = _STRING_LITERAL.sub("''", self.source)
        return frozenset(
            name
            for name in self.variables
            if re.search(rf"(?<![\w.]){re.escape(name)}\b(?!\s*[.\[])", text)
        )

    def activation(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """What the binding is handed: the fact paths the expression reads and no more.
        The binding converts every value it is given on every evaluation, so a rule that
        reads `host.reads.packages['telnet'].installed` is handed that, not the server's
        every host fact (230 hardening rules cost 3 s of CPU a server that way). A name
        used whole, or reached through a computed subscript, is handed whole from there."""
        handed: dict[str, Any] = {}
        for root, fields in self.field_paths:
            if root in context:
                pick(handed, root, context[root], fields if root not in self.bare_roots else ())
        for name in self.reads:
            if name in context and name not in handed:
                handed[name] = context[name]
        return handed

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            result = self._program.execute(self.activation(context))
        except KeyError as exc:
            raise EvaluationError(f"no such fact: {exc.args[0]!r}") from None
        except Exception as exc:  # noqa: BLE001 - any failure of the binding is an error finding
            # The binding raises RuntimeError, TypeError, ValueError, ZeroDivisionError...;
            # whatever it is, the rule could not be judged, which must never read as a pass.
            raise EvaluationError(_first_line(str(exc)) or type(exc).__name__) from None
        elapsed = time.perf_counter() - started
        if elapsed > EVALUATION_BUDGET:
            raise EvaluationError(
                f"evaluation took {elapsed:.1f}s, over the budget of {EVALUATION_BUDGET:g}s"
            )
        return result


def check_bounds(source: str) -> None:
    """Refuse expressions whose cost could explode, before compiling them."""
    if len(source) > MAX_SOURCE:
        raise ExpressionTooCostly(f"{len(source)} characters, over {MAX_SOURCE}")
    text = _STRING_LITERAL.sub("''", source)
    depth = deepest = macros = 0
    stack: list[bool] = []  # for each open parenthesis: does it open a macro call?
    for token in _PAREN_TOKEN.finditer(text):
        if token.group() == ")":
            if stack and stack.pop():
                depth -= 1
            continue
        is_macro = token.group() != "("
        stack.append(is_macro)
        if is_macro:
            macros += 1
            depth += 1
            deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        raise ExpressionTooCostly(
            f"comprehensions nested {deepest} deep, over {MAX_NESTING}: its cost could explode"
        )
    if macros > MAX_MACROS:
        raise ExpressionTooCostly(f"{macros} comprehensions in one expression, over {MAX_MACROS}")


def compile_expression(source: str) -> Expression:
    check_bounds(source)
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise _describe(str(exc)) from None
    return Expression(source, program)


def _describe(text: str) -> ExpressionError:
    match = _POSITION.search(text)
    if match:
        return ExpressionError(
            _first_line(match.group(3)), line=int(match.group(1)), column=int(match.group(2))
        )
    return ExpressionError(_first_line(text))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
