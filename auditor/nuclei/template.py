"""A nuclei template, read into what this auditor can run read-only, or the reason not.

Only the read-only subset runs (docs/nuclei.md): one `http` block of GET/HEAD requests to
`{{BaseURL}}` or `{{RootURL}}` paths, with no body, no headers and no payloads; or one
`tcp`/`network` block whose inputs are all in the read-only list of the check files
(`READ_ONLY_SENDS`); matchers `word`, `regex`, `status`, `binary` and `size` (with
`condition`, `negative`, `part` and `matchers-condition`); extractors `regex`, `json` (plain
`.key.path`) and `kval`. Anything else (POST, raw requests, fuzzing, DSL, code, headless,
interactsh, flows, workflows, variables) is a skip with its reason: never half-run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.probes.services.checkfile import READ_ONLY_SENDS
from auditor.probes.services.wire import MAX_READ
from auditor.userregex import RegexError, UserRegex, compile_user_regex
from auditor.yamlsource import load_yaml

SEVERITIES = ("info", "low", "medium", "high", "critical", "unknown")
UNSUPPORTED_PROTOCOLS = (
    "code", "headless", "javascript", "dns", "file", "ssl", "websocket", "whois",
    "workflows", "flow", "requests", "self-contained", "multi-protocol",
)  # fmt: skip
_PATH = re.compile(r"^\{\{(?:BaseURL|RootURL)\}\}(/[\x21-\x7e]{0,500})?$")
_TCP_HOST = re.compile(r"^(?:tls://)?\{\{(?:Hostname|Host)\}\}(?::(\d{1,5}))?$")
_JSON_PATH = re.compile(r"^\.[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$")


class Skip(Exception):
    """Why a template is not run (its reason is counted in the report)."""


@dataclass(frozen=True)
class Matcher:
    kind: str  # word, regex, status, binary, size
    part: str  # body, header, all
    values: tuple[Any, ...]
    all_of: bool
    negative: bool


@dataclass(frozen=True)
class Extractor:
    kind: str  # regex, json, kval
    part: str
    values: tuple[Any, ...]
    group: int = 0


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    severity: str
    protocol: str  # http or tcp
    requests: tuple[tuple[str, str | bytes], ...]
    """(method, path) for http; ("SEND", bytes) for tcp, in order."""
    ports: tuple[int, ...]
    """tcp: the ports its `host` entries name."""
    tls: bool
    matchers: tuple[Matcher, ...]
    all_matchers: bool
    extractors: tuple[Extractor, ...]
    read_size: int
    source: str


def load(path: Path) -> Template:
    """The runnable template in `path`; raises Skip with the reason otherwise."""
    try:
        data = load_yaml(path)
    except InputError:
        raise Skip("not readable as YAML (or over the size and depth limits)") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise Skip("not a template (no id)")
    if "{{interactsh-url}}" in str(data):
        raise Skip("interactsh (out-of-band)")
    for key in UNSUPPORTED_PROTOCOLS:
        if key in data:
            raise Skip(f"protocol {key}")
    if "variables" in data:
        raise Skip("variables")
    raw_info = data.get("info")
    info: Mapping[str, Any] = raw_info if isinstance(raw_info, Mapping) else {}
    severity = str(info.get("severity", "unknown")).lower()
    if severity not in SEVERITIES:
        severity = "unknown"
    blocks = [(k, data[k]) for k in ("http", "tcp", "network") if k in data]
    if len(blocks) != 1 or not isinstance(blocks[0][1], list) or len(blocks[0][1]) != 1:
        raise Skip("not exactly one http or tcp request block")
    kind, (block,) = blocks[0][0], blocks[0][1]
    if not isinstance(block, Mapping):
        raise Skip("malformed request block")
    common = _common(block)
    name = str(info.get("name", data["id"]))[:120]
    if kind == "http":
        return Template(str(data["id"])[:80], name, severity, "http", _http(block), (), False,
                        *common, str(path))  # fmt: skip
    ports, tls, sends = _tcp(block)
    return Template(str(data["id"])[:80], name, severity, "tcp", sends, ports, tls, *common,
                    str(path))  # fmt: skip


_HTTP_KEYS = {
    "method", "path", "matchers", "matchers-condition", "extractors", "stop-at-first-match",
    "max-size", "redirects", "max-redirects", "host-redirects", "id", "name",
}  # fmt: skip
_TCP_KEYS = {"inputs", "host", "port", "read-size", "matchers", "matchers-condition",
             "extractors", "read-all", "id", "name"}  # fmt: skip


def _http(block: Mapping[str, Any]) -> tuple[tuple[str, str | bytes], ...]:
    if "raw" in block:
        raise Skip("raw requests")
    method = str(block.get("method", "GET")).upper()
    if method not in ("GET", "HEAD"):
        raise Skip(f"method {method}")
    for key in ("payloads", "attack", "fuzzing"):
        if key in block:
            raise Skip("payloads or fuzzing")
    if "body" in block:
        raise Skip("request body")
    if "headers" in block:
        raise Skip("custom headers")
    unknown = set(block) - _HTTP_KEYS
    if unknown:
        raise Skip(f"http option {sorted(unknown)[0]}")
    paths = block.get("path")
    if not isinstance(paths, list) or not 1 <= len(paths) <= 8:
        raise Skip("no path list (or more than 8 paths)")
    requests: list[tuple[str, str | bytes]] = []
    for raw in paths:
        found = _PATH.match(str(raw))
        if found is None:
            raise Skip("a path with variables other than {{BaseURL}}")
        requests.append((method, found.group(1) or "/"))
    return tuple(requests)


def _tcp(
    block: Mapping[str, Any],
) -> tuple[tuple[int, ...], bool, tuple[tuple[str, str | bytes], ...]]:
    unknown = set(block) - _TCP_KEYS
    if unknown:
        raise Skip(f"tcp option {sorted(unknown)[0]}")
    hosts = block.get("host", [])
    ports: list[int] = []
    tls = False
    for host in hosts if isinstance(hosts, list) else []:
        found = _TCP_HOST.match(str(host))
        if found is None:
            raise Skip("a tcp host other than {{Hostname}}")
        tls = tls or str(host).startswith("tls://")
        if found.group(1):
            ports.append(int(found.group(1)))
    for port in str(block.get("port", "")).split(","):
        if port.strip().isascii() and port.strip().isdigit():
            ports.append(int(port.strip()))
    if not ports or not all(1 <= p <= 65535 for p in ports):
        raise Skip("no port to run on")
    sends: list[tuple[str, str | bytes]] = []
    for item in block.get("inputs", []) or []:
        if not isinstance(item, Mapping) or set(item) - {"data", "type", "read", "name"}:
            raise Skip("tcp input options")
        data = str(item.get("data", ""))
        try:
            payload = bytes.fromhex(data) if item.get("type") == "hex" else data.encode("latin-1")
        except (ValueError, UnicodeEncodeError):
            raise Skip("tcp input not decodable") from None
        if payload not in READ_ONLY_SENDS:
            raise Skip("tcp input not in the read-only list")
        sends.append(("SEND", payload))
    if len(sends) > 1:
        raise Skip("more than one tcp input")
    return tuple(dict.fromkeys(ports)), tls, tuple(sends) or (("SEND", b""),)


def _common(
    block: Mapping[str, Any],
) -> tuple[tuple[Matcher, ...], bool, tuple[Extractor, ...], int]:
    raw_matchers = block.get("matchers")
    if not isinstance(raw_matchers, list) or not raw_matchers:
        raise Skip("no matchers")
    matchers = tuple(_matcher(m) for m in raw_matchers)
    condition = str(block.get("matchers-condition", "or")).lower()
    extractors = tuple(_extractor(e) for e in block.get("extractors", []) or [])
    size = block.get("read-size", block.get("max-size", MAX_READ))
    read_size = min(int(size), MAX_READ) if str(size).isdigit() else MAX_READ
    return matchers, condition == "and", extractors, max(1, read_size)


def _part(item: Mapping[str, Any]) -> str:
    part = str(item.get("part", "body")).lower()
    if part in ("body", "data", "raw_data"):
        return "body"
    if part in ("header", "all_headers"):
        return "header"
    if part in ("all", "response", "raw"):
        return "all"
    raise Skip(f"matcher part {part}")


def _matcher(item: Any) -> Matcher:
    if not isinstance(item, Mapping):
        raise Skip("malformed matcher")
    kind = str(item.get("type", ""))
    if kind == "dsl":
        raise Skip("dsl")
    all_of = str(item.get("condition", "or")).lower() == "and"
    negative = bool(item.get("negative", False))
    case_insensitive = bool(item.get("case-insensitive", False))
    if kind == "word":
        words = _strings(item.get("words"))
        if item.get("encoding") == "hex":
            raise Skip("hex-encoded words")
        values: tuple[Any, ...] = tuple(
            (w.lower() if case_insensitive else w).encode("utf-8") for w in words
        )
        kind = "iword" if case_insensitive else "word"
    elif kind == "regex":
        values = tuple(_regex(r) for r in _strings(item.get("regex")))
    elif kind == "status":
        values = tuple(int(s) for s in item.get("status", []) if str(s).isdigit())
    elif kind == "binary":
        try:
            values = tuple(bytes.fromhex(b) for b in _strings(item.get("binary")))
        except ValueError:
            raise Skip("binary matcher not hex") from None
    elif kind == "size":
        values = tuple(int(s) for s in item.get("size", []) if str(s).isdigit())
    else:
        raise Skip(f"matcher {kind or 'without a type'}")
    if not values:
        raise Skip(f"empty {kind} matcher")
    return Matcher(kind, _part(item), values, all_of, negative)


def _extractor(item: Any) -> Extractor:
    if not isinstance(item, Mapping):
        raise Skip("malformed extractor")
    kind = str(item.get("type", ""))
    if item.get("internal"):
        raise Skip("internal extractor (multi-step)")
    if kind == "regex":
        group = int(item.get("group", 0)) if str(item.get("group", 0)).isdigit() else 0
        return Extractor(
            "regex", _part(item), tuple(_regex(r) for r in _strings(item.get("regex"))), group
        )
    if kind == "json":
        paths = _strings(item.get("json"))
        if not all(_JSON_PATH.match(p) for p in paths):
            raise Skip("json extractor beyond .key paths")
        return Extractor("json", "body", tuple(paths))
    if kind == "kval":
        return Extractor(
            "kval", "header", tuple(k.lower().replace("_", "-") for k in _strings(item.get("kval")))
        )
    raise Skip(f"extractor {kind or 'without a type'}")


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > 64:
        raise Skip("matcher or extractor list missing or too long")
    return [str(v) for v in value]


def _regex(pattern: str) -> UserRegex:
    try:
        return compile_user_regex(pattern)
    except RegexError:
        raise Skip("regex RE2 cannot run") from None


def find(directories: Iterable[Path]) -> list[Path]:
    """Every *.yaml under the folders, sorted (a template folder is a tree)."""
    found: list[Path] = []
    for directory in directories:
        if not directory.is_dir():
            raise InputError(
                "nuclei templates folder not found",
                path=directory,
                hint="give --nuclei-templates an existing folder of nuclei templates",
            )
        found += sorted(p for p in directory.rglob("*.yaml") if p.is_file() and not p.is_symlink())
    return found
