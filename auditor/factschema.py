"""How the fact catalogue is written down: roots of named fields, lists of records.

Kept apart from the catalogue itself (facts.py) so that each cloud provider can declare its
own roots (auditor/cloud/<provider>/facts.py) without importing the catalogue it joins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A field spec is either a description string (a scalar or a list of scalars) or a nested
# mapping (an object); `ListOf` marks a list of objects.


@dataclass(frozen=True)
class ListOf:
    item: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True)
class FactRoot:
    name: str
    provided_by: str | None
    """Probe name, or None when it comes from the inventory itself."""
    description: str
    fields: Mapping[str, Any] | ListOf
