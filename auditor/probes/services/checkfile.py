"""Network checks as data (docs/network-checks.md): YAML files validated into frozen specs.

A check file says which ports and protocols a check applies to, the bounded exchange it
makes, the matchers that prove open access or protection, what to extract as evidence and
what to redact. Everything is validated here, before any probe runs, with `file:line: key`
errors (exit 2), as rule packs are.

Read-only by construction: an HTTP request is a GET or HEAD of a path, with no body and no
headers of the author's choosing; raw bytes may only be one of `READ_ONLY_SENDS`, requests
that the protocols themselves define as read-only. There is no way to write a command that
changes a server; a test loads every shipped check to prove it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.errors import InputError
from auditor.probes.services.wire import MAX_READ
from auditor.userregex import RegexError, UserRegex, compile_user_regex
from auditor.yamlsource import Node, load_yaml, read_text

CHECK_FORMAT = 1
FILE_KEYS = {"format", "description", "checks"}
CHECK_KEYS = {
    "id",
    "protocol",
    "ports",
    "names",
    "tls",
    "reference",
    "rule",
    "steps",
    "otherwise",
    "evidence",
    "redact",
    "default_login",
    "any_port",
}
STEP_KEYS = {"http", "send", "read", "require", "protected", "open", "extract"}
MATCHER_KEYS = {"match", "status", "words", "regex", "prefix", "json", "header", "length"}
HTTP_METHODS = {"GET", "HEAD"}
_ID = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_PATH = re.compile(r"^/[\x21-\x7e]{0,500}$")
BUILTIN_VALUES = ("status", "port", "bytes")
"""Placeholders every evidence template may use besides its extractors' names."""

READ_ONLY_SENDS: dict[bytes, str] = {
    b"": "nothing: read what the server says first (a banner)",
    b"stat": "ZooKeeper four-letter word: server statistics",
    b"srvr": "ZooKeeper four-letter word: server details",
    b"envi": "ZooKeeper four-letter word: environment",
    b"conf": "ZooKeeper four-letter word: configuration",
    b"mntr": "ZooKeeper four-letter word: monitoring variables",
    b"ruok": "ZooKeeper four-letter word: liveness",
    b"version\r\n": "memcached: version",
    b"stats\r\n": "memcached: statistics",
    b"PING\r\n": "Redis inline PING",
    b"INFO\r\n": "Redis inline INFO",
    b"*1\r\n$4\r\nINFO\r\n": "Redis RESP INFO",
    b"*1\r\n$4\r\nPING\r\n": "Redis RESP PING",
    b"HELP\r\n": "line protocols' HELP (SMTP, POP3-style)",
    b"QUIT\r\n": "line protocols' QUIT",
    b"\r\n": "an empty line (many text protocols answer with a prompt or an error)",
    b"help\r\n": "Apache Dubbo's telnet console: its command list",
    b"nVERSION\n": "clamd: the engine and signature versions",
    b"vp3": "Voldemort: protocol negotiation (client-server v3)",
    # RocketMQ remoting, JSON header, request code 26 GET_BROKER_CONFIG (nuclei's template
    # sends 25, UPDATE_BROKER_CONFIG, which writes; this reads the same access decision)
    b'\x00\x00\x00d\x00\x00\x00`{"code":26,"flag":0,"language":"JAVA","opaque":0,'
    b'"serializeTypeCurrentRPC":"JSON","version":433}': "RocketMQ: GET_BROKER_CONFIG",
    # ClickHouse native protocol: client Hello as user `default`, no password, no database
    b"\x00\x11ClickHouse client\x15\x08\xb1\xa9\x03\x00\x07default\x00": (
        "ClickHouse native: client Hello as the default user"
    ),
    # SAProuter administration: an information request (opcode 2, protocol version 40)
    b'\x00\x00\x00"ROUTER_ADM\x00(\x02' + bytes(21): "SAProuter: information request",
    # ADB: CNXN (version 0x01000001, max payload 1 MiB, "host::"): adbd answers with its
    # own CNXN and device banner, or with AUTH when it wants a key
    b"CNXN\x01\x00\x00\x01\x00\x00\x10\x00\x07\x00\x00\x002\x02\x00\x00"
    b"\xbc\xb1\xa7\xb1host::\x00": "ADB: connection handshake (CNXN)",
}
"""The only raw payloads a check file may send. Each is read-only by its protocol's own
definition; adding one is a code change, reviewed like one (docs/network-checks.md)."""


@dataclass(frozen=True)
class Matcher:
    """Conditions on one reply, combined with `all` (default) or `any`."""

    any: bool = False
    status: tuple[int, ...] = ()
    words: tuple[bytes, ...] = ()
    regex: tuple[UserRegex, ...] = ()
    prefix: bytes | None = None
    json: tuple[str, ...] = ()
    """Dotted key paths that must exist in a JSON body."""
    header: tuple[tuple[str, UserRegex], ...] = ()
    length: tuple[int, int | None] | None = None


@dataclass(frozen=True)
class Extractor:
    name: str
    json: str | None = None
    regex: UserRegex | None = None
    header: str | None = None


@dataclass(frozen=True)
class Step:
    method: str | None
    """HTTP method (GET or HEAD) when this step is an HTTP request, else None."""
    path: str
    send: bytes
    until: tuple[bytes, ...]
    """Stop reading once any of these appears (a reply without a terminator of its own:
    its success and its refusal each end differently)."""
    max_bytes: int
    require: Matcher | None
    protected: Matcher | None
    open: Matcher | None
    extract: tuple[Extractor, ...]
    login: bool = False
    """Send the check's `default_login` (HTTP Basic). Such a step runs only under
    `--try-default-credentials`; otherwise it is skipped and the record says `not tried`."""
    byte_range: int | None = None
    """Ask for the first N bytes only (`Range: bytes=0-N-1`): a dump or an archive is
    proven by its first bytes, never downloaded."""

    def describe(self) -> str:
        if self.method:
            suffix = f" (first {self.byte_range} bytes)" if self.byte_range else ""
            return f"{self.method} {self.path}{suffix}"
        return "banner" if not self.send else repr(self.send)[2:-1]


@dataclass(frozen=True)
class NetworkCheck:
    id: str
    protocol: str
    ports: tuple[int, ...]
    names: tuple[str, ...]
    tls: bool
    reference: str
    rule: str
    """The rule that judges this check's records, when one is dedicated to it; else the
    services pack's generic `services.open-access` does."""
    steps: tuple[Step, ...]
    otherwise: str
    """What no matcher deciding means: `error` (default: fail closed) or `protected`."""
    evidence: str
    redact: tuple[UserRegex, ...]
    default_login: tuple[str, str] | None = None
    """A product's documented default user and password (RabbitMQ's guest/guest), for the
    steps marked `login: default`. A well-known default, never a secret of the user's."""
    any_port: bool = False
    """Run on every port identified as HTTP or HTTPS, not only on the product's port, its
    nmap name or a declared name: admin consoles and dumps hide behind any web server.
    Its `require` proves the product; where it does not match, the check leaves no
    record."""
    source: str = field(default="", compare=False)
    """file:line, for messages."""


def builtin_checks_dir() -> Path:
    from auditor.rules.loader import builtin_rules_dir

    return builtin_rules_dir() / "checks"


def load_check_dirs(directories: Iterable[Path]) -> tuple[NetworkCheck, ...]:
    """Every check in the shipped folder and in each `--service-checks-dir`, validated.

    Ids are unique across all of them: a user file cannot silently replace a shipped check.
    """
    checks: list[NetworkCheck] = []
    seen: dict[str, str] = {}
    for directory in (builtin_checks_dir(), *directories):
        if not directory.is_dir():
            raise InputError(
                "service checks folder not found",
                path=directory,
                hint="give --service-checks-dir an existing folder of .yaml check files",
            )
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            for check in load_check_file(path):
                if check.id in seen:
                    raise InputError(
                        f"check id '{check.id}' is already defined at {seen[check.id]}",
                        path=check.source,
                        hint="give the check another id",
                    )
                seen[check.id] = check.source
                checks.append(check)
    return tuple(checks)


def load_check_file(path: Path) -> tuple[NetworkCheck, ...]:
    root = Node.root(load_yaml(path, read_text(path, "check file")), path)
    if not isinstance(root.value, dict) or not {"format", "checks"} & set(root.value):
        raise InputError(
            "not a network check file: no `format:` or `checks:` key (nothing of it is quoted)",
            path=path,
            hint="keep only check files in a --service-checks-dir folder",
        )
    root.mapping(FILE_KEYS)
    version = root.require("format").as_(int, "an integer")
    if version != CHECK_FORMAT:
        raise root.require("format").error(
            f"unsupported check format {version}", hint=f"this auditor reads format {CHECK_FORMAT}"
        )
    return tuple(_check(node) for node in root.require("checks").items())


def _check(node: Node) -> NetworkCheck:
    node.mapping(CHECK_KEYS)
    check_id = node.require("id").string()
    if not _ID.match(check_id):
        raise node.require("id").error(
            f"'{check_id}' is not a check id", hint="lower-case letters, digits and '-'"
        )
    ports = tuple(_port(p) for p in _items(node.get("ports")))
    steps = tuple(_step(s) for s in node.require("steps").items())
    if not steps:
        raise node.require("steps").error("a check needs at least one step")
    if len(steps) > 4:
        raise node.require("steps").error("at most 4 steps: a check proves, it does not browse")
    protocol = node.require("protocol").string().lower()
    tls = _bool(node.get("tls")) or protocol == "https"
    if any(s.method is None for s in steps) and any(s.method for s in steps):
        raise node.require("steps").error("steps of one check are all HTTP or all raw")
    names = {e.name for s in steps for e in s.extract}
    evidence = node.get("evidence")
    template = evidence.string() if evidence else ""
    for name in _PLACEHOLDER.findall(template):
        if name not in names and name not in BUILTIN_VALUES:
            raise evidence.error(  # type: ignore[union-attr]
                f"placeholder {{{name}}} is not an extractor of this check",
                hint=f"known: {', '.join(sorted(names | set(BUILTIN_VALUES)))}",
            )
    otherwise = node.get("otherwise")
    rule = node.get("rule")
    login = _default_login(node.get("default_login"))
    if any(s.login for s in steps) and login is None:
        raise node.require("steps").error(
            "a step has `login: default` but the check has no `default_login`"
        )
    if login is not None and not any(s.login for s in steps):
        raise node.require("default_login").error(
            "no step uses it", hint="mark the step that logs in with `login: default`"
        )
    return NetworkCheck(
        id=check_id,
        protocol=protocol,
        ports=ports,
        names=tuple(n.string().lower() for n in _items(node.get("names"))),
        tls=tls,
        reference=node.require("reference").string(),
        rule=rule.string() if rule else "",
        steps=steps,
        otherwise=otherwise.choice({"error", "protected"}) if otherwise else "error",
        evidence=template,
        redact=tuple(_regex(r) for r in _items(node.get("redact"))),
        default_login=login,
        any_port=_bool(node.get("any_port")),
        source=f"{node.path}:{node.line}",
    )


def _step(node: Node) -> Step:
    node.mapping(STEP_KEYS)
    http, send = node.get("http"), node.get("send")
    if (http is None) == (send is None):
        raise node.error("a step has exactly one of `http` (a request) or `send` (raw bytes)")
    method: str | None = None
    path = ""
    payload = b""
    login = False
    byte_range: int | None = None
    if http is not None:
        http.mapping({"method", "path", "login", "range"})
        login_node = http.get("login")
        login = login_node.choice({"default"}) == "default" if login_node else False
        method_node = http.get("method")
        method = method_node.choice(HTTP_METHODS) if method_node else "GET"
        range_node = http.get("range")
        if range_node is not None:
            byte_range = range_node.as_(int, "a byte count")
            if not 1 <= byte_range <= MAX_READ:
                raise range_node.error(f"range is 1 to {MAX_READ} bytes")
        path_node = http.require("path")
        path = path_node.string()
        if not _PATH.match(path):
            raise path_node.error(
                "an HTTP path starts with '/' and has no spaces or control characters"
            )
    else:
        assert send is not None
        payload = _escaped(send)
        if payload not in READ_ONLY_SENDS:
            raise send.error(
                "not a known read-only request",
                hint="use `http:` (GET/HEAD), an empty send (read a banner), or one of the "
                "read-only payloads in docs/network-checks.md",
            )
    read = node.get("read")
    until: tuple[bytes, ...] = ()
    max_bytes = 4096
    if read is not None:
        read.mapping({"until", "max_bytes"})
        until_node = read.get("until")
        if until_node is not None:
            until = tuple(_escaped(n) for n in _items(until_node) if n.value != "")
        size = read.get("max_bytes")
        if size is not None:
            max_bytes = size.as_(int)
            if not 1 <= max_bytes <= MAX_READ:
                raise size.error(f"max_bytes must be 1 to {MAX_READ}")
    extract = node.get("extract")
    matchers = {
        k: _matcher(m) if (m := node.get(k)) else None for k in ("require", "protected", "open")
    }
    if not any(matchers.values()):
        raise node.error("a step needs at least one of `require`, `protected` or `open`")
    return Step(
        method=method,
        path=path,
        send=payload,
        until=until,
        max_bytes=max_bytes,
        extract=tuple(_extractor(n, e) for n, e in extract.entries()) if extract else (),
        login=login,
        byte_range=byte_range,
        **matchers,
    )


_LOGIN_PART = re.compile(r"^[\x21-\x7e]{1,64}$")


def _default_login(node: Node | None) -> tuple[str, str] | None:
    """`{user: guest, password: guest}`: printable ASCII, no ':' in the user name."""
    if node is None:
        return None
    node.mapping({"user", "password"})
    user, password = node.require("user"), node.require("password")
    for part in (user, password):
        if not _LOGIN_PART.match(part.string()):
            raise part.error("1 to 64 printable ASCII characters, no spaces")
    if ":" in user.string():
        raise user.error("a Basic-auth user name has no ':'")
    return user.string(), password.string()


def _matcher(node: Node) -> Matcher:
    node.mapping(MATCHER_KEYS)
    match = node.get("match")
    length = node.get("length")
    bounds: tuple[int, int | None] | None = None
    if length is not None:
        length.mapping({"min", "max"})
        low, high = length.get("min"), length.get("max")
        bounds = (low.as_(int) if low else 0, high.as_(int) if high else None)
    json_node = node.get("json")
    header = node.get("header")
    matcher = Matcher(
        any=(match.choice({"all", "any"}) == "any") if match else False,
        status=tuple(_status(s) for s in _items(node.get("status"))),
        words=tuple(_escaped(w) for w in _items(node.get("words"))),
        regex=tuple(_regex(r) for r in _items(node.get("regex"))),
        prefix=_escaped(p) if (p := node.get("prefix")) else None,
        json=tuple(k.string() for k in _items(json_node)),
        header=tuple((name.lower(), _text_regex(v)) for name, v in header.entries())
        if header
        else (),
        length=bounds,
    )
    if matcher == Matcher(any=matcher.any):
        raise node.error("an empty matcher matches everything", hint="give it a condition")
    return matcher


def _extractor(name: str, node: Node) -> Extractor:
    if not re.match(r"^[a-z_][a-z0-9_]*$", name) or name in BUILTIN_VALUES:
        raise node.error(f"'{name}' cannot name an extractor")
    node.mapping({"json", "regex", "header"})
    found = [k for k in ("json", "regex", "header") if node.get(k) is not None]
    if len(found) != 1:
        raise node.error("an extractor has exactly one of `json`, `regex` or `header`")
    json_node, regex_node, header_node = node.get("json"), node.get("regex"), node.get("header")
    pattern = _regex(regex_node) if regex_node else None
    if pattern is not None and pattern.groups != 1:
        raise regex_node.error("an extractor's regex has exactly one (group)")  # type: ignore[union-attr]
    return Extractor(
        name,
        json=json_node.string() if json_node else None,
        regex=pattern,
        header=header_node.string().lower() if header_node else None,
    )


def _items(node: Node | None) -> list[Node]:
    if node is None:
        return []
    if not isinstance(node.value, list):
        return [node]
    return list(node.items())


def _bool(node: Node | None) -> bool:
    return bool(node.as_(bool, "true or false")) if node else False


def _port(node: Node) -> int:
    port = node.as_(int, "a port number")
    if not 1 <= port <= 65535:
        raise node.error("a port is 1 to 65535")
    return port


def _status(node: Node) -> int:
    status = node.as_(int, "an HTTP status")
    if not 100 <= status <= 599:
        raise node.error("an HTTP status is 100 to 599")
    return status


def _regex(node: Node, *, ignore_case: bool = False) -> UserRegex:
    """A user pattern, compiled for RE2 (linear time: a server's reply cannot make a match
    outlive the probe's deadline)."""
    try:
        return compile_user_regex(node.string(), ignore_case=ignore_case)
    except RegexError as exc:
        raise node.error(str(exc)) from None


def _text_regex(node: Node) -> UserRegex:
    return _regex(node, ignore_case=True)


_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[rnt0\\])")
_SIMPLE = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\x00", b"\\": b"\\"}


def _escaped(node: Node) -> bytes:
    r"""Bytes from a string with `\r \n \t \0 \\ \xNN` escapes; any other backslash is an
    error (a typo must not send something else than the author meant)."""
    text = node.as_(str, "a string")
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raise node.error("only ASCII and \\xNN escapes") from None
    if re.search(rb"\\(?!x[0-9a-fA-F]{2}|[rnt0\\])", raw):
        raise node.error("unknown escape", hint=r"use \r \n \t \0 \\ or \xNN")
    return _ESCAPE.sub(lambda m: _SIMPLE.get(m.group(1)) or bytes([int(m.group(1)[1:], 16)]), raw)
