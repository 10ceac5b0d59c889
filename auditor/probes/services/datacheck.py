"""Running a network check from a check file: its steps, in order, under the deadline.

Each step makes its one bounded exchange, then, in this order:
1. extracts its values (redacted at once: nothing unredacted is ever stored);
2. `require` does not match → this is not the service the check is for (`NotThisService`);
3. `protected` matches → the service asked for credentials: done, not open;
4. `open` matches → open access, proven by the evidence: done.
When every step has run and none decided, the check's `otherwise` says what that means:
`error` by default, because a reply nobody foresaw must never read as a pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.checkfile import Extractor, Matcher, NetworkCheck, Step
from auditor.probes.services.wire import (
    HttpResponse,
    NotThisService,
    ServiceError,
    connect,
    http_request,
    json_lookup,
    parse_json,
    printable,
    recv_until,
    send,
)

REDACTED = b"<redacted>"
MAX_VALUE = 120
"""Characters kept of an extracted value: evidence proves, it does not copy data."""


class _Reply:
    """One step's reply, whatever the transport: status and headers for HTTP, body bytes."""

    def __init__(self, body: bytes, http: HttpResponse | None = None) -> None:
        self.body = body
        self.http = http
        self._json: object = _UNPARSED

    @property
    def status(self) -> int:
        return self.http.status if self.http else 0

    def json(self) -> object:
        if self._json is _UNPARSED:
            try:
                self._json = parse_json(self.body)
            except ServiceError:
                self._json = None
        return self._json

    def summary(self, spec: NetworkCheck) -> str:
        """What came back, in a few words: the status, or the first bytes (redacted)."""
        if self.http is not None:
            return f"HTTP {self.http.status}"
        return f"{len(self.body)} bytes: {_redacted(spec, self.body[:200])[:80]!r}"


_UNPARSED = object()


def service_check(spec: NetworkCheck, try_default_credentials: bool = False) -> ServiceCheck:
    """The check file's check, behind the same interface as the Python checks.

    Steps marked `login: default` run only with `try_default_credentials`."""

    def run(ip: str, port: int, deadline: Deadline) -> Answer:
        return _run(spec, ip, port, deadline, try_default_credentials)

    secure = replace(spec, tls=True)

    def run_over_tls(ip: str, port: int, deadline: Deadline) -> Answer:
        return _run(secure, ip, port, deadline, try_default_credentials)

    return ServiceCheck(
        spec.id,
        run,
        ports=spec.ports,
        names=spec.names,
        reference=spec.reference,
        protocol=spec.protocol,
        rule=spec.rule or GENERIC_RULE,
        any_port=spec.any_port,
        over_tls=run_over_tls if spec.any_port and spec.protocol == "http" else None,
    )


GENERIC_RULE = "services.open-access"


NOT_TRIED = "not tried"
"""`details.login` of a check whose login steps were skipped: the rules on it do not apply."""


def _run(
    spec: NetworkCheck, ip: str, port: int, deadline: Deadline, try_login: bool = False
) -> Answer:
    values: dict[str, str] = {"port": str(port)}
    last = ""
    skipped = False
    proven = False
    for step in spec.steps:
        if step.login and not try_login:
            skipped = True
            continue
        if step.login:
            values["login"] = f"default ({spec.default_login[0] if spec.default_login else '?'})"
        reply = _exchange(spec, step, ip, port, deadline)
        values["status"] = str(reply.status)
        values["bytes"] = str(len(reply.body))
        for extractor in step.extract:
            found = _extract(extractor, reply)
            if found is not None:
                values[extractor.name] = _redacted(spec, found)
        last = f"{step.describe()} → {reply.summary(spec)}"
        if step.require and not _matches(step.require, reply):
            raise NotThisService(f"not a {spec.id} answer ({last})")
        proven = proven or step.require is not None
        if step.protected and _matches(step.protected, reply):
            # The evidence template describes open access: a refusal is shown as it came.
            return Answer(False, last, _details(values))
        if step.open and _matches(step.open, reply):
            return Answer(True, _evidence(spec, values, last), _details(values))
    if spec.any_port and not proven:
        # looked for everywhere (a dump in the web root), found nowhere: nothing to record
        raise NotThisService(f"no {spec.id} here ({last})")
    if skipped:
        values["login"] = NOT_TRIED
        note = "default login not tried (give --try-default-credentials to try it once)"
        return Answer(False, note, _details(values))
    if spec.otherwise == "protected":
        return Answer(False, last, _details(values))
    raise ServiceError(f"no matcher decided ({last})")


def _exchange(spec: NetworkCheck, step: Step, ip: str, port: int, deadline: Deadline) -> _Reply:
    if step.method is not None:
        login = spec.default_login if step.login else None
        response = http_request(
            ip, port, step.method, step.path, deadline, spec.tls, login, step.byte_range
        )
        return _Reply(response.body[: step.max_bytes], response)
    with connect(ip, port, deadline, spec.tls) as sock:
        if step.send:
            send(sock, step.send)
        return _Reply(recv_until(sock, step.until, deadline, limit=step.max_bytes))


def _matches(matcher: Matcher, reply: _Reply) -> bool:
    tests: list[bool] = []
    body = reply.body
    if matcher.status:
        tests.append(reply.status in matcher.status)
    tests += [word in body for word in matcher.words]
    tests += [pattern.search(body) is not None for pattern in matcher.regex]
    if matcher.prefix is not None:
        tests.append(body.startswith(matcher.prefix))
    tests += [json_lookup(reply.json(), key) is not None for key in matcher.json]
    headers = reply.http.headers if reply.http else {}
    tests += [p.search_text(headers.get(name, "")) for name, p in matcher.header]
    if matcher.length is not None:
        low, high = matcher.length
        tests.append(low <= len(body) and (high is None or len(body) <= high))
    return any(tests) if matcher.any else all(tests)


def _extract(extractor: Extractor, reply: _Reply) -> bytes | None:
    if extractor.json is not None:
        value = json_lookup(reply.json(), extractor.json)
        if value is None or isinstance(value, dict | list):
            return None
        return str(value).encode("utf-8", "replace")
    if extractor.regex is not None:
        match = extractor.regex.search(reply.body)
        return match.group(1) if match else None
    if extractor.header is not None and reply.http is not None:
        value = reply.http.headers.get(extractor.header)
        return value.encode("latin-1", "replace") if value is not None else None
    return None


def _redacted(spec: NetworkCheck, value: bytes) -> str:
    for pattern in spec.redact:
        value = pattern.sub(REDACTED, value)
    return printable(value, MAX_VALUE)


def _evidence(spec: NetworkCheck, values: Mapping[str, str], last: str) -> str:
    if not spec.evidence:
        return last
    return re.sub(r"\{([a-z_][a-z0-9_]*)\}", lambda m: values.get(m.group(1), "?"), spec.evidence)


def _details(values: Mapping[str, str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in ("port", "bytes")}
