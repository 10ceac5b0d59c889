"""The digest of every input that decides what a run audits and how.

Shards of one run must have audited one thing one way: `auditor merge` refuses reports whose
inputs differ (a shard run with another `--ansible` file, other `--only`, `--param` or
waivers once merged into a GO for a server no shard audited). Each input is digested
separately so that a refusal can name the one that differs. Files are read once, before any
probe runs: a file edited during the run cannot change what the report claims.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

INPUT_NAMES = {
    "auditor": "the auditor version",
    "inventory": "the inventory file",
    "ansible": "the --ansible inventory",
    "terraform": "the --terraform state",
    "rules": "the rule packs and the rules selected (--only/--skip, --rules-dir)",
    "params": "the rule parameters (--param)",
    "waivers": "the waivers (--waivers, --max-waiver-days)",
    "service_checks": "the network check files (--service-checks-dir)",
    "probing": "how servers are probed (--fail-on, --timeout, --scanner, "
    "--service-detection, --try-default-credentials)",
}
"""Every input a shard report digests, and how a refusal names it."""


def file_digest(path: Path | str | None) -> str:
    """sha256 of a file's bytes; "" for no file or a name that is not a file (`<command
    line>`)."""
    if path is None or str(path).startswith("<"):
        return ""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _value_digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _folder_digest(folders: Iterable[Path]) -> str:
    files = {
        str(path.relative_to(folder)): file_digest(path)
        for folder in folders
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }
    return _value_digest(files) if files else ""


def input_digests(
    *,
    version: str,
    inventory: str,
    ansible: Path | None,
    terraform: Path | None,
    rules: Mapping[str, Any],
    params: Mapping[str, Any],
    waivers: Path | None,
    max_waiver_days: int,
    service_checks: Iterable[Path],
    probing: Mapping[str, Any],
) -> dict[str, str]:
    """One digest per name of INPUT_NAMES; `inventory` is the digest of the text that was
    parsed (`Inventory.digest`), not the file read again."""
    digests = {
        "auditor": _value_digest(version),
        "inventory": inventory,
        "ansible": file_digest(ansible),
        "terraform": file_digest(terraform),
        "rules": _value_digest(rules),
        "params": _value_digest(params),
        "waivers": _value_digest([file_digest(waivers), max_waiver_days]),
        "service_checks": _folder_digest(service_checks),
        "probing": _value_digest(probing),
    }
    assert set(digests) == set(INPUT_NAMES)
    return digests
