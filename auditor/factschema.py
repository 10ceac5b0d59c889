"""How the fact catalogue is written down: roots of typed fields, lists of records.

A field is declared once, as `"type: meaning"` (type one of TYPES), a nested mapping (an
object) or `ListOf` (a list of objects). The same declaration checks rule packs at load
(auditor/rules/loader.py), checks what the probes really return (`problems`, run against
the lab's real servers by the tests) and is docs/facts.md (`python -m auditor.facts`).

Kept apart from the catalogue itself (facts.py) so that each cloud provider can declare its
own roots (auditor/cloud/<provider>/facts.py) without importing the catalogue it joins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TYPES: Mapping[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "list": (list, tuple),
    "map": (dict,),
    "any": (object,),
}
"""A field's type as declared, and the Python values a probe may give for it."""


@dataclass(frozen=True)
class ListOf:
    item: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True)
class FactRoot:
    name: str
    provided_by: str | None
    """The fact root whose probe must succeed for these facts to exist (often this one);
    None when it comes from the inventory itself."""
    description: str
    fields: Mapping[str, Any] | ListOf


@dataclass(frozen=True)
class Field:
    type: str
    meaning: str


def field_of(spec: str) -> Field:
    """`"int: port number"` as a Field; a spec without a known type is a bug of ours."""
    kind, sep, meaning = spec.partition(": ")
    if not sep or kind not in TYPES:
        raise ValueError(f"fact spec {spec!r} does not start with one of {', '.join(TYPES)}")
    return Field(kind, meaning)


def problems(spec: Mapping[str, Any] | ListOf | str, value: Any, path: str) -> list[str]:
    """Where `value` differs from its declaration: a field of the wrong type, an
    undeclared field, a declared field missing (unless the facts' own `unavailable` map
    says why it could not be read)."""
    if isinstance(spec, str):
        field = field_of(spec)
        allowed = TYPES[field.type]
        if isinstance(value, bool) and field.type == "int":
            return [f"{path}: declared int, is bool"]
        return (
            []
            if isinstance(value, allowed)
            else [f"{path}: declared {field.type}, is {type(value).__name__}"]
        )
    if isinstance(spec, ListOf):
        if not isinstance(value, list | tuple):
            return [f"{path}: declared a list of records, is {type(value).__name__}"]
        found: list[str] = []
        for index, item in enumerate(value):
            found += problems(spec.item, item, f"{path}[{index}]")
        return found
    if not spec:  # an object whose keys are free (`params`)
        return [] if isinstance(value, Mapping) else [f"{path}: declared a map"]
    if not isinstance(value, Mapping):
        return [f"{path}: declared an object, is {type(value).__name__}"]
    unavailable = value.get("unavailable", {})
    found = [f"{path}.{key}: not declared" for key in value if key not in spec]
    for key, inner in spec.items():
        if key in value:
            found += problems(inner, value[key], f"{path}.{key}")
        elif not (isinstance(unavailable, Mapping) and key in unavailable):
            found.append(f"{path}.{key}: declared, missing")
    return found


def leaves(spec: Mapping[str, Any] | ListOf | str, path: str) -> list[tuple[str, Field]]:
    """Every declared scalar field under `spec`, with its dotted path (`[]` for lists)."""
    if isinstance(spec, str):
        return [(path, field_of(spec))]
    if isinstance(spec, ListOf):
        return leaves(spec.item, f"{path}[]")
    found: list[tuple[str, Field]] = []
    for key, inner in spec.items():
        found += leaves(inner, f"{path}.{key}")
    return found
